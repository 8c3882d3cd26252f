#include "pl_utf8.h"

size_t pl_utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

int pl_utf8_has_text(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return 1;
    return 0;
}

int pl_utf8_printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

/* Length of the sequence that lead byte b starts, with the allowed range
 * of its second byte (which is what excludes overlongs and surrogates). */
static int seq_len(unsigned char b, unsigned char *lo, unsigned char *hi)
{
    *lo = 0x80;
    *hi = 0xbf;
    if (b < 0x80)
        return 1;
    if (b >= 0xc2 && b <= 0xdf)
        return 2;
    if (b >= 0xe0 && b <= 0xef) {
        if (b == 0xe0)
            *lo = 0xa0;
        else if (b == 0xed)
            *hi = 0x9f;
        return 3;
    }
    if (b >= 0xf0 && b <= 0xf4) {
        if (b == 0xf0)
            *lo = 0x90;
        else if (b == 0xf4)
            *hi = 0x8f;
        return 4;
    }
    return 0;
}

int pl_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < len) {
        unsigned char lo, hi;
        int n = seq_len(p[i], &lo, &hi);
        if (n == 0 || len - i < (size_t)n)
            return 0;
        if (n > 1 && (p[i + 1] < lo || p[i + 1] > hi))
            return 0;
        for (int k = 2; k < n; k++)
            if ((p[i + k] & 0xc0) != 0x80)
                return 0;
        i += (size_t)n;
    }
    return 1;
}
