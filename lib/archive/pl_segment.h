/* pl_segment: the archive's segment format.
 *
 * A segment holds a contiguous range [start, end) of one partition of the
 * events topic as zstd-compressed JSON Lines:
 *
 *   {"format":"parley-segment","version":1,"partition":P,"start":S,"end":E,
 *    "count":N,"prev_sha256":"<hex of the previous segment, or empty>"}
 *   {"o":<offset>,"ts":<ms>,"k":"<key>","e":<the event, verbatim JSON>}
 *   ... one line per event ...
 *   {"index":[{"c":"<conversation>","first":O1,"last":O2,"n":N,"t0":T0,"t1":T1},...]}
 *
 * Why JSON Lines + zstd: the events are JSON already, so a segment is
 * readable with zstdcat and jq decades from now, needs no schema registry,
 * and zstd gets most of a binary format's size win. The content hash is
 * SHA-256 over the compressed bytes; each segment names its predecessor's
 * hash, so the segments of a partition form a chain. */
#ifndef PL_SEGMENT_H
#define PL_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "pl_buf.h"

#define PL_SEGMENT_HASH_HEX 65
#define PL_SEGMENT_MAX_RAW (64u << 20) /* decompressed bytes, for readers */

typedef struct pl_segment_builder pl_segment_builder;

typedef struct pl_segment_conv {
    char conversation_id[64];
    int64_t first, last; /* offsets */
    int64_t count;
    int64_t min_ts, max_ts;
} pl_segment_conv;

/* prev_hash is "" for a partition's first segment. */
int pl_segment_builder_new(pl_segment_builder **out, int32_t partition, int64_t start,
                           const char *prev_hash);
void pl_segment_builder_free(pl_segment_builder *b);
/* Appends one event. value need not be valid JSON: anything else is kept
 * as a base64 string under "raw" instead of "e". */
int pl_segment_add(pl_segment_builder *b, int64_t offset, int64_t ts_ms, const char *key,
                   size_t keylen, const void *value, size_t len);
size_t pl_segment_count(const pl_segment_builder *b);
size_t pl_segment_raw_bytes(const pl_segment_builder *b);
/* Seals the range at end (exclusive) and compresses. On success *out is
 * the caller's (pl_buf_free), hash is the hex SHA-256 of *out, and *convs
 * (caller frees) lists each conversation's span. */
int pl_segment_finish(pl_segment_builder *b, int64_t end, pl_buf *out,
                      char hash[PL_SEGMENT_HASH_HEX], pl_segment_conv **convs,
                      size_t *nconvs);

/* zstd-compresses raw into *out (initialised here; caller frees). Shared
 * with the history snapshots (pl_snapshot). */
int pl_segment_compress(const pl_buf *raw, pl_buf *out);

/* Reading. on_event gets each event line's offset, ts, key and raw JSON
 * of "e" (or the "raw" fallback decoded), return nonzero to stop. */
typedef struct pl_segment_header {
    int32_t partition;
    int64_t start, end, count;
    char prev_hash[PL_SEGMENT_HASH_HEX];
} pl_segment_header;

typedef int (*pl_segment_event_fn)(void *arg, int64_t offset, int64_t ts_ms,
                                   const char *key, const char *event_json, size_t len);

/* Decompresses data into *raw (caller frees; NUL-terminated). -EINVAL on a
 * corrupt or oversized frame. */
int pl_segment_decompress(const void *data, size_t len, pl_buf *raw);
/* Parses a decompressed segment: header, then every event in order.
 * -EINVAL names nothing; the caller knows which segment it read. */
int pl_segment_parse(const char *raw, size_t len, pl_segment_header *h,
                     pl_segment_event_fn fn, void *arg);
/* Hex SHA-256 of data. */
void pl_segment_hash(const void *data, size_t len, char hex[PL_SEGMENT_HASH_HEX]);

#endif
