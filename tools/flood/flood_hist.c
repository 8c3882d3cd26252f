#include "flood_hist.h"

#include <string.h>

#define SUB 128 /* linear sub-buckets per power of two above 256 us */

void flood_hist_reset(flood_hist *h)
{
    memset(h, 0, sizeof(*h));
}

static int msb64(uint64_t v)
{
    return 63 - __builtin_clzll(v);
}

static int bucket_of(int64_t us)
{
    if (us < 2 * SUB)
        return (int)us;
    if (us >= FLOOD_HIST_MAX_US)
        return FLOOD_HIST_BUCKETS - 1;
    int shift = msb64((uint64_t)us) - 7; /* us >> shift lies in [128, 255] */
    return 2 * SUB + (shift - 1) * SUB + (int)((us >> shift) - SUB);
}

/* Lowest value and width of bucket i. */
static void bucket_range(int i, int64_t *lo, int64_t *width)
{
    if (i < 2 * SUB) {
        *lo = i;
        *width = 1;
        return;
    }
    int shift = (i - 2 * SUB) / SUB + 1;
    int64_t sub = (i - 2 * SUB) % SUB + SUB;
    *lo = sub << shift;
    *width = (int64_t)1 << shift;
}

void flood_hist_add(flood_hist *h, int64_t us)
{
    if (us < 0)
        us = 0;
    if (h->count == 0 || us < h->min)
        h->min = us;
    if (us > h->max)
        h->max = us;
    h->count++;
    h->sum += (double)us;
    h->b[bucket_of(us)]++;
}

void flood_hist_merge(flood_hist *dst, const flood_hist *src)
{
    if (src->count == 0)
        return;
    if (dst->count == 0 || src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    dst->count += src->count;
    dst->sum += src->sum;
    for (int i = 0; i < FLOOD_HIST_BUCKETS; i++)
        dst->b[i] += src->b[i];
}

int64_t flood_hist_pct(const flood_hist *h, double p)
{
    if (h->count == 0)
        return 0;
    if (p >= 100.0)
        return h->max;
    /* The rank-th smallest value, 1-based, rounding up like HdrHistogram. */
    uint64_t rank = (uint64_t)((p / 100.0) * (double)h->count + 0.999999);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (int i = 0; i < FLOOD_HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= rank) {
            int64_t lo, w;
            bucket_range(i, &lo, &w);
            int64_t v = lo + w / 2;
            if (v < h->min)
                v = h->min;
            if (v > h->max)
                v = h->max;
            return v;
        }
    }
    return h->max;
}

double flood_hist_mean(const flood_hist *h)
{
    return h->count ? h->sum / (double)h->count : 0.0;
}
