/* pl_utf8: checking and measuring user text. */
#ifndef PL_UTF8_H
#define PL_UTF8_H

#include <stddef.h>

/* 1 if s[0..len) is well-formed UTF-8 (RFC 3629): no overlong forms, no
 * surrogates, nothing above U+10FFFF. yajl lets all three through, and
 * Postgres refuses them later, after the write was acknowledged. */
int pl_utf8_valid(const char *s, size_t len);

/* Code points in s (valid UTF-8) (continuation bytes are not counted). */
size_t pl_utf8_len(const char *s);
/* 1 if s holds anything but ASCII whitespace. */
int pl_utf8_has_text(const char *s);
/* 1 if s has no control characters (below 0x20, or 0x7f). */
int pl_utf8_printable(const char *s);

#endif
