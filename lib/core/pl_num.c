#include "pl_num.h"

#include <errno.h>
#include <stdlib.h>

int pl_num_parse_ll(const char *s, long long min, long long max, long long *out)
{
    char *end;
    long long v;

    if (!s || !*s || (*s != '-' && (*s < '0' || *s > '9')))
        return -EINVAL;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}
