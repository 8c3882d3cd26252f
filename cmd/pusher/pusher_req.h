/* pusher_req: parsing one client frame. Pure, any thread; also the
 * libFuzzer target's subject (tests/fuzz/fuzz_req.c).
 *
 * Client frames (schemas/ws-frames.schema.json):
 *   {"type":"auth","access_token":"...","resume":{"<conversation id>":"p3.o1234",...}}
 *   {"type":"ping"}
 * resume is optional: the last position the client saw per conversation.
 * Unknown keys are ignored; an unknown type parses (type PUSHER_REQ_OTHER)
 * so the caller can answer it. */
#ifndef PUSHER_REQ_H
#define PUSHER_REQ_H

#include <stddef.h>

#include "pl_id.h"
#include "pl_pos.h"

/* A 64 KiB frame holds about 1,100 resume entries; more is refused. */
#define PUSHER_REQ_MAX_RESUME 1024

typedef enum { PUSHER_REQ_OTHER, PUSHER_REQ_AUTH, PUSHER_REQ_PING } pusher_req_type;

typedef struct pusher_req_resume {
    char conversation_id[PL_ID_LEN];
    pl_pos pos;
} pusher_req_resume;

typedef struct pusher_req {
    pusher_req_type type;
    char *access_token;        /* owned; NULL when absent or not a string */
    pusher_req_resume *resume; /* owned, nresume entries, no conversation twice */
    size_t nresume;
} pusher_req;

/* msg must be NUL-terminated at msg[len]. 0 on success (free with
 * pusher_req_free); -EINVAL when msg is not a JSON object; -EBADMSG when
 * the resume field is malformed (not an object, a key that is not a
 * conversation id, a value that is not a canonical position, a
 * conversation twice, or over PUSHER_REQ_MAX_RESUME entries); -ENOMEM.
 * err gets a short reason on failure. *out is zeroed on every failure. */
int pusher_req_parse(const char *msg, size_t len, pusher_req *out, char *err, size_t errlen);
/* Frees what parse allocated and zeroes r. Accepts a zeroed r. */
void pusher_req_free(pusher_req *r);

#endif
