/* pl_segment: archive segments are read back from storage that may have
 * been tampered with. The input is tried both as decompressed text and as
 * a zstd frame; neither may crash, and events must come out in order. */
#include "fuzz.h"
#include "pl_segment.h"

#include <stdlib.h>

static int check_order(void *arg, int64_t offset, int64_t ts, const char *key,
                       const char *ev, size_t len)
{
    int64_t *prev = arg;
    (void)ts;
    (void)key;
    (void)ev;
    (void)len;
    if (offset <= *prev)
        abort();
    *prev = offset;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pl_segment_header h;
    int64_t prev = INT64_MIN;
    pl_buf raw;

    pl_segment_parse((const char *)data, size, &h, check_order, &prev);
    if (pl_segment_decompress(data, size, &raw) == 0) {
        prev = INT64_MIN;
        pl_segment_parse(raw.data, raw.len, &h, check_order, &prev);
        pl_buf_free(&raw);
    }
    return 0;
}
