/* pl_snapshot: history snapshots are read back from storage that may have
 * been tampered with (the hash is checked first, but the parser must not
 * depend on it). The input is tried as decompressed text and as a zstd
 * frame; every message slice must parse or be refused, never crash. */
#include "fuzz.h"
#include "pl_snapshot.h"

static int each(void *arg, int64_t offset, const char *msg, size_t len)
{
    yajl_val v = NULL;
    (void)arg;
    (void)offset;
    pl_snapshot_json(msg, len, &v);
    yajl_tree_free(v);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pl_snapshot_header h;
    pl_buf raw;

    pl_snapshot_scan((const char *)data, size, &h, each, NULL);
    if (pl_segment_decompress(data, size, &raw) == 0) {
        pl_snapshot_scan(raw.data, raw.len, &h, each, NULL);
        pl_buf_free(&raw);
    }
    return 0;
}
