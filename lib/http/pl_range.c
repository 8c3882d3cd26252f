#include "pl_range.h"

#include <strings.h>

/* Digits into *v, saturating at UINT64_MAX (a huge first byte is simply
 * past the end). Returns the number of digits read. */
static int digits(const char **s, uint64_t *v)
{
    int n = 0;

    *v = 0;
    while (**s >= '0' && **s <= '9') {
        unsigned d = (unsigned)(**s - '0');
        *v = *v > (UINT64_MAX - d) / 10 ? UINT64_MAX : *v * 10 + d;
        (*s)++;
        n++;
    }
    return n;
}

static const char *blanks(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

int pl_range_parse(const char *h, uint64_t size, uint64_t *off, uint64_t *len)
{
    uint64_t first = 0, last = UINT64_MAX;
    int suffix;

    if (!h || strncasecmp(h, "bytes=", 6) != 0)
        return PL_RANGE_NONE;
    h = blanks(h + 6);
    suffix = *h == '-';
    if (suffix) {
        h++;
        if (!digits(&h, &last))
            return PL_RANGE_NONE;
    } else {
        if (!digits(&h, &first) || *h++ != '-')
            return PL_RANGE_NONE;
        if (*h >= '0' && *h <= '9' && (digits(&h, &last), last < first))
            return PL_RANGE_NONE; /* an invalid range: ignore the header */
    }
    if (*blanks(h) != '\0')
        return PL_RANGE_NONE; /* several ranges, or junk */
    if (suffix) {
        if (last == 0 || size == 0)
            return PL_RANGE_UNSATISFIABLE;
        *len = last < size ? last : size;
        *off = size - *len;
        return PL_RANGE_PARTIAL;
    }
    if (first >= size)
        return PL_RANGE_UNSATISFIABLE;
    *off = first;
    *len = (last >= size - 1 ? size - 1 : last) - first + 1;
    return PL_RANGE_PARTIAL;
}
