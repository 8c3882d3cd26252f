/* pl_zip: writes a ZIP archive front to back through a callback, never
 * seeking back, so it can stream into a pl_store writer or a socket.
 *
 * Every entry carries a data descriptor (general purpose flag bit 3): the
 * local header says "sizes follow" and the CRC-32 and sizes come after the
 * data; the central directory at the end repeats them. Names are UTF-8
 * (flag bit 11). Methods: stored, or raw deflate (zlib, window bits -15).
 * No ZIP64: an archive stays under 4 GiB and 65535 entries (-EFBIG past
 * either), which the caller bounds anyway. Times are written as UTC.
 *
 *   pl_zip_new -> (pl_zip_begin -> pl_zip_write... -> pl_zip_end)... ->
 *   pl_zip_finish -> pl_zip_free
 *
 * Errors are negative errno and sticky: after one, every call returns it.
 * The writer owns copies of the names; out's ctx is borrowed. */
#ifndef PL_ZIP_H
#define PL_ZIP_H

#include <stddef.h>
#include <stdint.h>

#define PL_ZIP_STORE 0
#define PL_ZIP_DEFLATE 8
#define PL_ZIP_MAX_ENTRIES 65535
#define PL_ZIP_MAX_BYTES 0xFFFFFFFFull

typedef struct pl_zip pl_zip;

/* Receives the archive's bytes in order; 0, or a negative errno that
 * stops the archive. */
typedef int (*pl_zip_out)(void *ctx, const void *p, size_t n);

/* max_bytes (at most PL_ZIP_MAX_BYTES) bounds the whole archive: a write
 * that would pass it fails with -EFBIG. 0 or -ENOMEM. */
int pl_zip_new(pl_zip **out, pl_zip_out fn, void *ctx, uint64_t max_bytes);
/* Starts an entry. name: relative, '/'-separated, no "." or ".." parts,
 * no backslash, 1-1024 bytes (-EINVAL otherwise). mtime_ms: Unix ms. */
int pl_zip_begin(pl_zip *z, const char *name, int method, int64_t mtime_ms);
int pl_zip_write(pl_zip *z, const void *p, size_t n);
/* Closes the entry: flushes the compressor, writes the data descriptor. */
int pl_zip_end(pl_zip *z);
/* begin + write + end for data already in memory. */
int pl_zip_add(pl_zip *z, const char *name, int method, int64_t mtime_ms, const void *p,
               size_t n);
/* Writes the central directory and its end record. */
int pl_zip_finish(pl_zip *z);
/* Bytes handed to out so far. */
uint64_t pl_zip_bytes(const pl_zip *z);
/* Accepts NULL. */
void pl_zip_free(pl_zip *z);

#endif
