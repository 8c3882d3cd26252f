#include "pl_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *log_component = "parley";
static const char *log_instance = "";
static pl_log_level log_min = PL_LOG_INFO;

void pl_log_init(const char *component, const char *instance, pl_log_level min)
{
    log_component = component;
    log_instance = instance ? instance : "";
    log_min = min;
}

int pl_log_level_parse(const char *s, pl_log_level *out)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (pl_log_level)i;
            return 0;
        }
    return -1;
}

void pl_log(pl_log_level lvl, const char *event, const char *fmt, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    char line[2048];
    struct timespec ts;
    struct tm tm;
    size_t n;
    va_list ap;

    if (lvl < log_min)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(line, sizeof(line), "ts=%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof(line) - n,
                          ".%03ldZ level=%s component=%s instance=%s event=%s ",
                          ts.tv_nsec / 1000000, names[lvl], log_component,
                          log_instance, event);
    if (n < sizeof(line) && fmt) {
        va_start(ap, fmt);
        vsnprintf(line + n, sizeof(line) - n, fmt, ap);
        va_end(ap);
    }
    /* One fputs per line keeps lines whole across threads. */
    fprintf(stderr, "%s\n", line);
}
