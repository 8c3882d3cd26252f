/* pl_http_route_match against the service routes: a match must be
 * explainable, i.e. putting the params back into the pattern gives the
 * path exactly, and every param is bounded. */
#include "fuzz.h"
#include "pl_http_route.h"

#include <stdlib.h>
#include <string.h>

static const char *const patterns[] = {
    "/",
    "/healthz",
    "/api/v1/auth/logout",
    "/api/v1/users/{id}",
    "/api/v1/conversations",
    "/api/v1/conversations/{id}",
    "/api/v1/conversations/{id}/messages",
    "/a/{p1}/{p2}/{p3}/{p4}",
    "/a/{p1}/{p2}/{p3}/{p4}/{p5}",
    "/{x}/",
    "/{aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}",
};

/* The path the pattern and params stand for; 0 when it cannot be rebuilt. */
static int rebuild(const char *pattern, const pl_http_params *p, char *out, size_t cap)
{
    size_t o = 0, k = 0;

    while (*pattern) {
        size_t n = strcspn(pattern + 1, "/") + 1; /* '/' and the segment */
        const char *seg = pattern + 1;
        const char *src = pattern;
        size_t srclen = n;
        char tmp[PL_HTTP_MAX_SEGMENT + 2];

        if (*pattern != '/')
            return 0;
        if (n >= 3 && seg[0] == '{' && seg[n - 2] == '}') {
            if (k >= p->n || strlen(p->name[k]) != n - 3 ||
                memcmp(p->name[k], seg + 1, n - 3) != 0)
                return 0;
            tmp[0] = '/';
            srclen = strlen(p->value[k]) + 1;
            memcpy(tmp + 1, p->value[k], srclen - 1);
            src = tmp;
            k++;
        }
        if (o + srclen >= cap)
            return 0;
        memcpy(out + o, src, srclen);
        o += srclen;
        pattern += n;
    }
    out[o] = '\0';
    return k == p->n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *path = fuzz_cstr(data, size), *back = malloc(size + 2);
    pl_http_params p;

    if (!back)
        abort();
    for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
        if (!pl_http_route_match(patterns[i], path, &p))
            continue;
        if (p.n > PL_HTTP_MAX_PARAMS)
            abort();
        for (size_t k = 0; k < p.n; k++) {
            size_t vl = strlen(p.value[k]);
            if (vl == 0 || vl > PL_HTTP_MAX_SEGMENT || strchr(p.value[k], '/'))
                abort();
        }
        if (!rebuild(patterns[i], &p, back, size + 2) || strcmp(back, path) != 0)
            abort();
    }
    free(back);
    free(path);
    return 0;
}
