#include "pl_time.h"

#include <stdio.h>
#include <time.h>

int64_t pl_time_real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t pl_time_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double pl_time_mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void pl_time_iso(char out[PL_TIME_ISO_LEN], int64_t real_ms)
{
    time_t sec = (time_t)(real_ms / 1000);
    struct tm tm;
    size_t n;

    gmtime_r(&sec, &tm);
    n = strftime(out, PL_TIME_ISO_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, PL_TIME_ISO_LEN - n, ".%03dZ", (int)(real_ms % 1000));
}

void pl_time_sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0)
        ;
}
