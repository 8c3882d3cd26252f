/* pl_log: one structured line per event on stderr (logfmt).
 * The component and level are process configuration, set once in main().
 * Library code never logs; cmd/ does. */
#ifndef PL_LOG_H
#define PL_LOG_H

typedef enum { PL_LOG_DEBUG, PL_LOG_INFO, PL_LOG_WARN, PL_LOG_ERROR } pl_log_level;

/* Copies nothing: component and instance must outlive the process. */
void pl_log_init(const char *component, const char *instance, pl_log_level min);
/* Parses "debug|info|warn|error"; returns -1 on anything else. */
int pl_log_level_parse(const char *s, pl_log_level *out);
/* fmt continues the line with more key=value pairs; values with spaces
 * must be quoted by the caller. */
void pl_log(pl_log_level lvl, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define pl_info(ev, ...) pl_log(PL_LOG_INFO, ev, __VA_ARGS__)
#define pl_warn(ev, ...) pl_log(PL_LOG_WARN, ev, __VA_ARGS__)
#define pl_error(ev, ...) pl_log(PL_LOG_ERROR, ev, __VA_ARGS__)
#define pl_debug(ev, ...) pl_log(PL_LOG_DEBUG, ev, __VA_ARGS__)

#endif
