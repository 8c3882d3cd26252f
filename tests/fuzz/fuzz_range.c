/* pl_range_parse: any header against any size either says "send it all",
 * "unsatisfiable", or names a non-empty range inside the representation.
 * The first 8 bytes pick the size; the rest is the header. */
#include "fuzz.h"
#include "pl_range.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t len_total = 0, off = 0, len = 0;
    char *h;
    int k;

    if (size >= 8) {
        memcpy(&len_total, data, 8);
        data += 8;
        size -= 8;
    }
    h = fuzz_cstr(data, size);
    k = pl_range_parse(h, len_total, &off, &len);
    if (k != PL_RANGE_NONE && k != PL_RANGE_PARTIAL && k != PL_RANGE_UNSATISFIABLE)
        abort();
    if (k == PL_RANGE_PARTIAL && (len == 0 || off >= len_total || len > len_total - off))
        abort();
    free(h);
    return 0;
}
