#include "pl_http_route.h"

#include <string.h>

/* Length of the segment starting at s (up to '/' or the end). */
static size_t seg_len(const char *s)
{
    return strcspn(s, "/");
}

int pl_http_route_match(const char *pattern, const char *path, pl_http_params *params)
{
    params->n = 0;
    while (*pattern && *path) {
        size_t pl, sl;
        if (*pattern != '/' || *path != '/')
            return 0;
        pattern++;
        path++;
        pl = seg_len(pattern);
        sl = seg_len(path);
        if (pl >= 2 && pattern[0] == '{' && pattern[pl - 1] == '}') {
            size_t nl = pl - 2;
            if (sl == 0 || sl > PL_HTTP_MAX_SEGMENT || params->n == PL_HTTP_MAX_PARAMS ||
                nl >= sizeof(params->name[0]))
                return 0;
            memcpy(params->name[params->n], pattern + 1, nl);
            params->name[params->n][nl] = '\0';
            memcpy(params->value[params->n], path, sl);
            params->value[params->n][sl] = '\0';
            params->n++;
        } else if (pl != sl || memcmp(pattern, path, pl) != 0) {
            return 0;
        }
        pattern += pl;
        path += sl;
    }
    return *pattern == '\0' && *path == '\0';
}
