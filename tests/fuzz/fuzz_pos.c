/* pl_pos_parse: only canonical text parses, so format(parse(s)) == s.
 * The parser sees a C string, so input after a NUL byte is not its input. */
#include "fuzz.h"
#include "pl_pos.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size), text[PL_POS_LEN];
    pl_pos p, q;

    if (pl_pos_parse(s, &p) == 0) {
        if (p.partition < 0 || p.offset < 0)
            abort();
        pl_pos_format(text, p);
        if (strcmp(text, s) != 0)
            abort(); /* not canonical, or the format lost something */
        if (pl_pos_parse(text, &q) != 0 || q.partition != p.partition || q.offset != p.offset)
            abort();
    }
    free(s);
    return 0;
}
