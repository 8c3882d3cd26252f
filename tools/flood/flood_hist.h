/* flood_hist: a log-linear latency histogram in microseconds, HDR style.
 * Values from 0 to 2^26 us (67 s) land in 2560 buckets: exact below 256 us,
 * then 128 linear sub-buckets per power of two, so any recorded value is
 * reported within 0.8 %. Larger values clamp into the top bucket. Fixed
 * size, no allocation: one per thread, merged at the end. Not thread-safe. */
#ifndef FLOOD_HIST_H
#define FLOOD_HIST_H

#include <stdint.h>

#define FLOOD_HIST_BUCKETS 2560
#define FLOOD_HIST_MAX_US ((int64_t)1 << 26)

typedef struct flood_hist {
    uint64_t count;
    int64_t min, max;
    double sum;
    uint64_t b[FLOOD_HIST_BUCKETS];
} flood_hist;

void flood_hist_reset(flood_hist *h);
/* Negative values count as 0. */
void flood_hist_add(flood_hist *h, int64_t us);
void flood_hist_merge(flood_hist *dst, const flood_hist *src);
/* The value at percentile p (0..100), the midpoint of its bucket clamped
 * to [min, max]; 0 for an empty histogram. */
int64_t flood_hist_pct(const flood_hist *h, double p);
double flood_hist_mean(const flood_hist *h);

#endif
