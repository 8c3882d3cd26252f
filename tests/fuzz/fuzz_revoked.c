/* pl_revoked_parse on records of the sessions topic: whatever it accepts
 * has two valid ids and a non-negative time, and an accepted session id
 * goes into the set and is found there. */
#include "fuzz.h"
#include "pl_revoked.h"

#include <errno.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *json = fuzz_cstr(data, size);
    pl_revoked_event ev;
    pl_revoked *set = NULL;
    int r = pl_revoked_parse(json, size, &ev);

    if (r != 0 && r != -EINVAL && r != -ENOTSUP)
        abort();
    if (r == 0) {
        if (!pl_id_valid(ev.user_id) || !pl_id_valid(ev.session_id) || ev.ts_ms < 0)
            abort();
        if (pl_revoked_new(&set) || pl_revoked_add(set, ev.session_id, 10) ||
            !pl_revoked_has(set, ev.session_id, 9) || pl_revoked_has(set, ev.session_id, 10))
            abort();
        pl_revoked_free(set);
    }
    free(json);
    return 0;
}
