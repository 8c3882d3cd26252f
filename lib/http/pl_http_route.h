/* pl_http_route: matches a request path against route patterns.
 * Internal to pl_http; separate so it can be unit-tested and fuzzed. */
#ifndef PL_HTTP_ROUTE_H
#define PL_HTTP_ROUTE_H

#include <stddef.h>

#define PL_HTTP_MAX_PARAMS 4
#define PL_HTTP_MAX_SEGMENT 128

typedef struct pl_http_params {
    size_t n;
    char name[PL_HTTP_MAX_PARAMS][32];
    char value[PL_HTTP_MAX_PARAMS][PL_HTTP_MAX_SEGMENT + 1];
} pl_http_params;

/* 1 if path matches pattern (filling params), else 0. */
int pl_http_route_match(const char *pattern, const char *path, pl_http_params *params);

#endif
