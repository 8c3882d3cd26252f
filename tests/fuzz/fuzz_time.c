/* pl_time_parse_iso: whatever parses is a real instant, and our own
 * format of it parses back to the same millisecond. */
#include "fuzz.h"
#include "pl_time.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size), text[PL_TIME_ISO_LEN];
    int64_t ms, again;

    if (pl_time_parse_iso(s, &ms) == 0) {
        if (ms < 0 || ms > 253402300799999LL)
            abort();
        pl_time_iso(text, ms);
        if (pl_time_parse_iso(text, &again) != 0 || again != ms)
            abort();
    }
    free(s);
    return 0;
}
