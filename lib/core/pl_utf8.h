/* pl_utf8: measuring user text. Input is already valid UTF-8 (yajl checks). */
#ifndef PL_UTF8_H
#define PL_UTF8_H

#include <stddef.h>

/* Code points in s (continuation bytes are not counted). */
size_t pl_utf8_len(const char *s);
/* 1 if s holds anything but ASCII whitespace. */
int pl_utf8_has_text(const char *s);
/* 1 if s has no control characters (below 0x20, or 0x7f). */
int pl_utf8_printable(const char *s);

#endif
