#include "pl_pos.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

/* Reads a canonical non-negative decimal (no sign, no leading zero). */
static const char *pos_digits(const char *s, int64_t max, int64_t *out)
{
    int64_t v = 0;
    const char *p = s;

    if (*p < '0' || *p > '9' || (*p == '0' && p[1] >= '0' && p[1] <= '9'))
        return NULL;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (max - (*p - '0')) / 10)
            return NULL;
        v = v * 10 + (*p - '0');
    }
    *out = v;
    return p;
}

int pl_pos_parse(const char *s, pl_pos *out)
{
    int64_t part, off;

    if (!s || *s != 'p')
        return -EINVAL;
    s = pos_digits(s + 1, INT32_MAX, &part);
    if (!s || s[0] != '.' || s[1] != 'o')
        return -EINVAL;
    s = pos_digits(s + 2, INT64_MAX, &off);
    if (!s || *s)
        return -EINVAL;
    out->partition = (int32_t)part;
    out->offset = off;
    return 0;
}

void pl_pos_format(char out[PL_POS_LEN], pl_pos pos)
{
    snprintf(out, PL_POS_LEN, "p%" PRId32 ".o%" PRId64, pos.partition, pos.offset);
}
