/* archive_catalog: the archive's catalog in Postgres (schema "archive"):
 * which segments exist, their hashes and chain, the per-conversation index,
 * and how far each partition is archived. A segment and the partition's
 * new archived end commit in one transaction. */
#ifndef ARCHIVE_CATALOG_H
#define ARCHIVE_CATALOG_H

#include <libpq-fe.h>
#include <stdint.h>

#include "pl_archive_schema.h"
#include "pl_segment.h"

typedef struct archive_segment_row {
    const char *topic;
    int32_t partition;
    int64_t start, end;
    int64_t count;
    const char *store_key;
    const char *hash, *prev_hash;
    int64_t bytes, raw_bytes;
    const pl_segment_conv *convs;
    size_t nconvs;
} archive_segment_row;

/* Where the partition's archive ends and the hash of its last segment.
 * A partition never archived gives *next = -1 and an empty hash. */
int archive_catalog_position(PGconn *pg, const char *topic, int32_t partition,
                             int64_t *next, char hash[PL_SEGMENT_HASH_HEX]);
/* Records a written segment. -EEXIST when the range was already recorded
 * (another instance got there: this one must not continue), -EIO else. */
int archive_catalog_commit(PGconn *pg, const archive_segment_row *s);

#endif
