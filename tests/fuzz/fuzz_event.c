/* pl_event_parse: never crashes, and an accepted event honours the
 * contract its callers rely on. */
#include "fuzz.h"
#include "pl_event.h"
#include "pl_id.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[128], *s = fuzz_cstr(data, size);
    pl_event ev;

    if (pl_event_parse(s, size, &ev, err, sizeof(err)) == 0) {
        if (!ev.tree || !pl_id_valid(ev.id) || !pl_id_valid(ev.actor) ||
            !pl_id_valid(ev.conversation_id) || !ev.type || !YAJL_IS_OBJECT(ev.data) ||
            size > PL_EVENT_MAX)
            abort();
        pl_event_free(&ev);
        if (ev.tree)
            abort();
    } else if (ev.tree || !err[0]) {
        abort();
    }
    free(s);
    return 0;
}
