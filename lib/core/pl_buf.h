/* pl_buf: a growable byte buffer with a hard size limit, for anything an
 * untrusted peer can grow. The buffer owns data; pl_buf_free releases it,
 * pl_buf_steal hands it (NUL-terminated) to the caller. */
#ifndef PL_BUF_H
#define PL_BUF_H

#include <stddef.h>

typedef struct pl_buf {
    char *data; /* always NUL-terminated once non-NULL */
    size_t len;
    size_t cap;
    size_t max; /* appends past this fail with -E2BIG */
} pl_buf;

void pl_buf_init(pl_buf *b, size_t max);
/* -E2BIG past max, -ENOMEM on allocation failure; b is unchanged then. */
int pl_buf_append(pl_buf *b, const void *p, size_t n);
int pl_buf_puts(pl_buf *b, const char *s);
int pl_buf_printf(pl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pl_buf_reset(pl_buf *b);
/* Returns data (caller frees) and leaves b empty; never NULL unless OOM. */
char *pl_buf_steal(pl_buf *b);
void pl_buf_free(pl_buf *b);

#endif
