#include "pl_fname.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Decodes one UTF-8 sequence at s: its length, or 0 when invalid
 * (overlong, surrogate, past U+10FFFF, truncated). */
static size_t utf8_next(const unsigned char *s, uint32_t *cp)
{
    size_t n;
    uint32_t c = s[0], min;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if ((c & 0xe0) == 0xc0)
        n = 2, c &= 0x1f, min = 0x80;
    else if ((c & 0xf0) == 0xe0)
        n = 3, c &= 0x0f, min = 0x800;
    else if ((c & 0xf8) == 0xf0)
        n = 4, c &= 0x07, min = 0x10000;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
            return 0;
        c = c << 6 | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return n;
}

/* Characters that must not reach a stored name: controls, and the
 * direction marks that make "gpj.exe" display as "exe.jpg". */
static int dropped(uint32_t c)
{
    return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x200e || c == 0x200f ||
           (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

int pl_fname_sanitize(const char *in, char out[PL_FNAME_MAX + 1])
{
    const unsigned char *s;
    size_t o = 0;

    snprintf(out, PL_FNAME_MAX + 1, "%s", PL_FNAME_DEFAULT);
    if (!in)
        return 0;
    for (const char *p = in; *p; p++)
        if (*p == '/' || *p == '\\')
            in = p + 1;
    s = (const unsigned char *)in;
    while (*s) {
        uint32_t c;
        size_t n = utf8_next(s, &c);
        if (n == 0) {
            snprintf(out, PL_FNAME_MAX + 1, "%s", PL_FNAME_DEFAULT);
            return -EILSEQ;
        }
        if (!dropped(c) && !(o == 0 && (c == '.' || c == ' ')) && o + n <= PL_FNAME_MAX) {
            memcpy(out + o, s, n);
            o += n;
        }
        s += n;
    }
    if (o == 0)
        return 0; /* the default stays */
    out[o] = '\0';
    return 0;
}

/* RFC 8187 attr-char: everything else is percent-encoded. */
static int attr_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("!#$&+-.^_`|~", c) != NULL);
}

int pl_fname_disposition(const char *name, int inl, char *out, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = (const unsigned char *)name;
    size_t o;
    int n = snprintf(out, len, "%s; filename=\"", inl ? "inline" : "attachment");

    if (n < 0 || (size_t)n >= len)
        return -E2BIG;
    o = (size_t)n;
    /* The quoted fallback is plain ASCII: anything else becomes '_'. */
    for (size_t i = 0; s[i]; i++) {
        unsigned char c = s[i];
        if ((c & 0xc0) == 0x80)
            continue; /* one '_' per non-ASCII character */
        if (o + 1 >= len)
            return -E2BIG;
        out[o++] = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '%') ? (char)c : '_';
    }
    n = snprintf(out + o, len - o, "\"; filename*=UTF-8''");
    if (n < 0 || (size_t)n >= len - o)
        return -E2BIG;
    o += (size_t)n;
    for (size_t i = 0; s[i]; i++) {
        if (o + 4 > len)
            return -E2BIG;
        if (attr_char(s[i])) {
            out[o++] = (char)s[i];
        } else {
            out[o++] = '%';
            out[o++] = hex[s[i] >> 4];
            out[o++] = hex[s[i] & 15];
        }
    }
    out[o] = '\0';
    return 0;
}
