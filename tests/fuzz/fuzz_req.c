/* pusher_req_parse: the pusher's client frames (auth with resume, ping).
 * Whatever parses must hold the documented invariants: valid ids, each
 * conversation once, canonical positions, at most PUSHER_REQ_MAX_RESUME. */
#include "fuzz.h"
#include "pusher_req.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size), err[128], text[PL_POS_LEN];
    pusher_req r;
    pl_pos p;

    if (pusher_req_parse(s, size, &r, err, sizeof(err)) == 0) {
        if (r.nresume > PUSHER_REQ_MAX_RESUME || (r.nresume && !r.resume))
            abort();
        for (size_t i = 0; i < r.nresume; i++) {
            if (!pl_id_valid(r.resume[i].conversation_id))
                abort();
            for (size_t j = 0; j < i; j++)
                if (!strcmp(r.resume[i].conversation_id, r.resume[j].conversation_id))
                    abort();
            pl_pos_format(text, r.resume[i].pos);
            if (pl_pos_parse(text, &p) || p.offset != r.resume[i].pos.offset)
                abort();
        }
        pusher_req_free(&r);
    } else if (r.access_token || r.resume || r.nresume) {
        abort(); /* a failure must leave nothing behind */
    }
    free(s);
    return 0;
}
