/* pl_json_parse, then pl_jw_value: whatever the parser accepts, the
 * writer must be able to write, the output must parse again, and writing
 * that must give the same text (a fixed point). */
#include "fuzz.h"
#include "pl_json.h"

#include <stdlib.h>
#include <string.h>

static char *write_value(yajl_val v, size_t *len)
{
    pl_jw w;
    char *out = NULL;

    if (pl_jw_init(&w))
        abort();
    pl_jw_value(&w, v);
    if (pl_jw_finish(&w, &out, len))
        abort(); /* the parser accepted something the writer cannot write */
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[128], *s = fuzz_cstr(data, size), *a, *b;
    size_t alen, blen;
    yajl_val v = NULL, v2 = NULL;

    if (pl_json_parse(s, size, &v, err, sizeof(err)) != 0) {
        if (!err[0])
            abort(); /* failures always say why */
        free(s);
        return 0;
    }
    a = write_value(v, &alen);
    if (pl_json_parse(a, alen, &v2, err, sizeof(err)) != 0)
        abort(); /* our own output must parse */
    b = write_value(v2, &blen);
    if (alen != blen || memcmp(a, b, alen) != 0)
        abort();
    yajl_tree_free(v);
    yajl_tree_free(v2);
    free(a);
    free(b);
    free(s);
    return 0;
}
