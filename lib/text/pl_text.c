#include "pl_text.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

/* Decodes one code point of strict UTF-8 (no overlongs, surrogates or
 * values past U+10FFFF). Returns its length in bytes, 0 when invalid. */
static size_t utf8_next(const unsigned char *s, uint32_t *cp)
{
    size_t n;
    uint32_t min;

    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xe0) == 0xc0)
        n = 2, min = 0x80, *cp = s[0] & 0x1f;
    else if ((s[0] & 0xf0) == 0xe0)
        n = 3, min = 0x800, *cp = s[0] & 0x0f;
    else if ((s[0] & 0xf8) == 0xf0)
        n = 4, min = 0x10000, *cp = s[0] & 0x07;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        *cp = (*cp << 6) | (s[i] & 0x3f);
    }
    if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
        return 0;
    return n;
}

/* Whitespace (Unicode White_Space), C0/C1 controls, and characters that
 * reorder or hide text (bidi controls, line separators) have no place in a
 * reaction key. */
static int emoji_bad_cp(uint32_t c)
{
    return c <= 0x20 || c == '/' || (c >= 0x7f && c <= 0xa0) || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200a) || (c >= 0x2028 && c <= 0x202f) ||
           (c >= 0x2066 && c <= 0x2069) || c == 0x205f || c == 0x3000 || c == 0xfeff;
}

int pl_text_emoji_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t count = 0;

    if (!s || !*s)
        return 0;
    while (*p) {
        uint32_t cp;
        size_t n = utf8_next(p, &cp);
        if (n == 0 || emoji_bad_cp(cp) || ++count > PL_TEXT_EMOJI_MAX)
            return 0;
        p += n;
    }
    return 1;
}

static int name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.';
}

static int seen(char names[][PL_TEXT_NAME_MAX + 1], int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return 1;
    return 0;
}

int pl_text_mentions(const char *text, char names[][PL_TEXT_NAME_MAX + 1], int max)
{
    const unsigned char *s = (const unsigned char *)text;
    int n = 0;

    for (size_t i = 0; s[i] && n < max; i++) {
        /* Anything name-like (or non-ASCII, or another '@') before the '@'
         * makes it part of a word or an address, not a mention. */
        if (s[i] != '@' || (i > 0 && (name_char(s[i - 1]) || s[i - 1] == '@' ||
                                      s[i - 1] >= 0x80)))
            continue;
        size_t len = 0;
        while (name_char(s[i + 1 + len]))
            len++;
        size_t use = len;
        while (use > 0 && s[i + use] == '.') /* "@bob." ends a sentence */
            use--;
        if (use >= PL_TEXT_NAME_MIN && use <= PL_TEXT_NAME_MAX) {
            char name[PL_TEXT_NAME_MAX + 1];
            for (size_t k = 0; k < use; k++) {
                unsigned char c = s[i + 1 + k];
                name[k] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
            }
            name[use] = '\0';
            if (!seen(names, n, name))
                memcpy(names[n++], name, use + 1);
        }
        i += len;
    }
    return n;
}

static int word_byte(unsigned char c)
{
    return c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
}

int pl_text_tsquery_terms(const char *q, pl_buf *out)
{
    const unsigned char *s = (const unsigned char *)q;
    size_t starts[PL_TEXT_TERMS_MAX], lens[PL_TEXT_TERMS_MAX];
    int n = 0, r = 0;

    for (size_t i = 0; s[i];) {
        if (!word_byte(s[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (s[j] && word_byte(s[j]))
            j++;
        if (n == PL_TEXT_TERMS_MAX)
            return -E2BIG;
        starts[n] = i;
        lens[n++] = j - i;
        i = j;
    }
    if (n == 0)
        return -ENOENT;
    /* Words hold no quote, backslash, brace or comma, so neither the array
     * literal nor the tsquery syntax needs escaping. */
    r |= pl_buf_puts(out, "{");
    for (int k = 0; k < n; k++) {
        r |= pl_buf_puts(out, k ? ",\"'" : "\"'");
        r |= pl_buf_append(out, q + starts[k], lens[k]);
        r |= pl_buf_puts(out, k == n - 1 ? "':*\"" : "'\"");
    }
    r |= pl_buf_puts(out, "}");
    return r ? -ENOMEM : 0;
}
