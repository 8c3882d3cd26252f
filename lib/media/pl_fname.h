/* pl_fname: file names a client supplied, made safe to store and to send
 * back in a Content-Disposition header. */
#ifndef PL_FNAME_H
#define PL_FNAME_H

#include <stddef.h>

#define PL_FNAME_MAX 200             /* bytes, without the NUL */
#define PL_FNAME_DEFAULT "attachment"
#define PL_FNAME_DISPOSITION_LEN 1024 /* enough for any sanitised name */

/* Writes into out (PL_FNAME_MAX + 1 bytes) the part of in after its last
 * '/' or '\\', without control characters (C0, DEL, C1), bidi overrides or
 * leading dots and spaces, cut to PL_FNAME_MAX bytes at a character
 * boundary; PL_FNAME_DEFAULT when nothing is left or in is NULL. 0, or
 * -EILSEQ when in is not valid UTF-8 (out then holds the default). */
int pl_fname_sanitize(const char *in, char out[PL_FNAME_MAX + 1]);
/* Writes `attachment; filename="ascii"; filename*=UTF-8''pct-encoded`
 * (inline instead of attachment when inl) for a sanitised name. 0, or
 * -E2BIG when len is too small. */
int pl_fname_disposition(const char *name, int inl, char *out, size_t len);

#endif
