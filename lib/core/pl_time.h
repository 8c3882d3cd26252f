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

#endif
