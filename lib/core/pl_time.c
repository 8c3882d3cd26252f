#include "pl_time.h"

#include <errno.h>
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

/* n decimal digits at *s into *out; advances *s. */
static int digits(const char **s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if ((*s)[i] < '0' || (*s)[i] > '9')
            return -EINVAL;
        v = v * 10 + ((*s)[i] - '0');
    }
    *s += n;
    *out = v;
    return 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = y / 400, yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static int month_days(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return days[m - 1] + (m == 2 && leap);
}

/* Offset suffix: Z, or +hh:mm / -hh:mm, as signed minutes east of UTC. */
static int zone(const char *s, int *minutes)
{
    int hh, mm, sign;
    if ((s[0] == 'Z' || s[0] == 'z') && s[1] == '\0') {
        *minutes = 0;
        return 0;
    }
    if (s[0] != '+' && s[0] != '-')
        return -EINVAL;
    sign = s[0] == '-' ? -1 : 1;
    s++;
    if (digits(&s, 2, &hh) || *s++ != ':' || digits(&s, 2, &mm) || *s != '\0' ||
        hh > 23 || mm > 59)
        return -EINVAL;
    *minutes = sign * (hh * 60 + mm);
    return 0;
}

int pl_time_parse_iso(const char *s, int64_t *ms)
{
    int y, mo, d, h, mi, sec, frac = 0, scale = 100, off;

    if (digits(&s, 4, &y) || *s++ != '-' || digits(&s, 2, &mo) || *s++ != '-' ||
        digits(&s, 2, &d) || (*s != 'T' && *s != 't') || (s++, digits(&s, 2, &h)) ||
        *s++ != ':' || digits(&s, 2, &mi) || *s++ != ':' || digits(&s, 2, &sec))
        return -EINVAL;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) || h > 23 ||
        mi > 59 || sec > 59)
        return -EINVAL;
    if (*s == '.') {
        if (*++s < '0' || *s > '9')
            return -EINVAL;
        for (; *s >= '0' && *s <= '9'; s++, scale /= 10)
            frac += (*s - '0') * scale;
    }
    if (zone(s, &off))
        return -EINVAL;
    *ms = ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) - off * 60LL) * 1000 +
          frac;
    /* Inside what pl_time_iso can print back: 1970 to the end of 9999. */
    return *ms < 0 || *ms > 253402300799999LL ? -EINVAL : 0;
}
