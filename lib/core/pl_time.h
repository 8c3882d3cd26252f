/* pl_time: clocks and the one timestamp format we emit (RFC 3339, UTC, ms). */
#ifndef PL_TIME_H
#define PL_TIME_H

#include <stdint.h>

#define PL_TIME_ISO_LEN 32

int64_t pl_time_real_ms(void);
int64_t pl_time_mono_ms(void);
double pl_time_mono_s(void);
void pl_time_iso(char out[PL_TIME_ISO_LEN], int64_t real_ms);
void pl_time_sleep_ms(int64_t ms);
/* Parses an RFC 3339 timestamp, "2024-05-01T12:00:00Z", with optional
 * fraction (milliseconds kept, more digits truncated) and "Z" or a
 * "+hh:mm"/"-hh:mm" offset; 't' and 'z' are accepted as RFC 3339 allows.
 * From 1970 to the end of 9999 UTC. *ms is Unix milliseconds. 0 or -EINVAL. */
int pl_time_parse_iso(const char *s, int64_t *ms);

#endif
