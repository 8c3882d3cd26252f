/* pl_archive_object: reading back an immutable archive object (an event
 * segment or a history snapshot) whose SHA-256 the catalog recorded. The
 * read API, parley-admin replay and parley-admin archive verify all trust
 * an object only through this. */
#ifndef PL_ARCHIVE_OBJECT_H
#define PL_ARCHIVE_OBJECT_H

#include "pl_buf.h"
#include "pl_store.h"

#define PL_ARCHIVE_OBJECT_MAX (64u << 20) /* stored (compressed) bytes */

/* Reads key whole, checks it against sha256 (hex) and decompresses it into
 * raw, which is initialised here and freed by the caller whatever the
 * result. 0; -ENOENT missing; -EBADMSG the bytes do not hash to sha256;
 * -EINVAL they do but do not decompress; -EFBIG larger than
 * PL_ARCHIVE_OBJECT_MAX; another negative errno when reading fails. */
int pl_archive_object_load(pl_store *s, const char *key, const char *sha256, pl_buf *raw);

#endif
