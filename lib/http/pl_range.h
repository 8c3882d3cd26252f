/* pl_range: the Range request header (RFC 9110 section 14), one byte
 * range at a time, which is what resuming a download needs. */
#ifndef PL_RANGE_H
#define PL_RANGE_H

#include <stdint.h>

enum {
    PL_RANGE_NONE = 0,          /* absent, malformed, several ranges: send it all (200) */
    PL_RANGE_PARTIAL = 1,       /* send [*off, *off + *len) (206) */
    PL_RANGE_UNSATISFIABLE = 2, /* no byte of it exists (416) */
};

/* Reads "bytes=first-last", "bytes=first-" or "bytes=-suffix" (unit case-
 * insensitive, blanks around the range allowed) against a representation
 * of size bytes; last is clamped to the end. h may be NULL. On
 * PL_RANGE_PARTIAL, 0 < *len and *off + *len <= size. */
int pl_range_parse(const char *h, uint64_t size, uint64_t *off, uint64_t *len);

#endif
