/* pl_sniff: what an uploaded file is, from its first bytes only (never its
 * name or the client's Content-Type), and the pixel size of an image.
 *
 * The input is untrusted: every read is bounds-checked against n, loops
 * are bounded by n, nothing is allocated. Types it cannot name are
 * application/octet-stream, so nothing a browser would run (HTML, SVG,
 * scripts) is ever labelled as such. */
#ifndef PL_SNIFF_H
#define PL_SNIFF_H

#include <stddef.h>
#include <stdint.h>

/* How much of the file's start pl_sniff wants to see: enough for a JPEG
 * whose frame header comes after a maximal EXIF segment. */
#define PL_SNIFF_HEAD (128 * 1024)

typedef struct pl_sniff {
    const char *content_type; /* static string, never NULL */
    int has_size;             /* width and height are known */
    uint32_t width, height;
} pl_sniff;

/* Fills out from the first n bytes of a file (n may be 0). */
void pl_sniff_detect(const unsigned char *p, size_t n, pl_sniff *out);
/* 1 for the types a browser may show inline without running anything. */
int pl_sniff_is_image(const char *content_type);

#endif
