/* pl_snapshot: the history snapshot format, the cold tier of history.
 *
 * A snapshot holds the final state (edits, deletion, reactions,
 * attachments, reply folded in) of a contiguous run of one conversation's
 * messages, as zstd-compressed JSON Lines:
 *
 *   {"format":"parley-history-snapshot","version":1,"conversation_id":"..",
 *    "partition":P,"first":O1,"last":O2,"count":N}
 *   {"o":<offset>,"m":<message>}      ... one line per message, by offset
 *
 * <message> is the read API's message object except that times are epoch
 * milliseconds (created_ms, edited_ms, deleted_ms), the position is
 * "partition"/"offset", and each reaction lists its "users" rather than a
 * count and a per-reader "me" (pl_archive_message_write derives both).
 * Snapshots are immutable; SHA-256 over the compressed bytes is recorded
 * in archive.snapshots and checked on every read. */
#ifndef PL_SNAPSHOT_H
#define PL_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "pl_buf.h"
#include "pl_json.h"
#include "pl_segment.h"

typedef struct pl_snapshot_header {
    char conversation_id[64];
    int32_t partition;
    int64_t first, last, count;
} pl_snapshot_header;

/* Appends one message line to lines (the caller's buffer). */
int pl_snapshot_line(pl_buf *lines, int64_t offset, const char *msg_json, size_t len);
/* Compresses header + lines into *out (caller frees) and hashes it. */
int pl_snapshot_encode(const pl_snapshot_header *h, const pl_buf *lines, pl_buf *out,
                       char hash[PL_SEGMENT_HASH_HEX]);

/* Parses a slice of a snapshot (a line's message: not NUL-terminated)
 * into *out (caller frees with yajl_tree_free). 0 or -EINVAL. */
int pl_snapshot_json(const char *s, size_t len, yajl_val *out);

/* Called per message line with the raw JSON of "m"; nonzero stops. */
typedef int (*pl_snapshot_fn)(void *arg, int64_t offset, const char *msg, size_t len);
/* Walks a decompressed snapshot. 0, the callback's nonzero value, or
 * -EINVAL on anything malformed. */
int pl_snapshot_scan(const char *raw, size_t len, pl_snapshot_header *h, pl_snapshot_fn fn,
                     void *arg);

#endif
