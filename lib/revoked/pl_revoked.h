/* pl_revoked: the sessions auth revoked while access tokens of theirs may
 * still be unexpired.
 *
 * Access tokens are verified offline, so a logout, a refresh-token reuse or
 * a password change would otherwise leave the session's tokens valid until
 * exp. Auth publishes session.revoked on the sessions topic; every service
 * folds those into this set (see pl_revoked_feed) and refuses a token whose
 * sid is in it. An entry lives until no token of its session can still be
 * valid (revoked at + access TTL + skew), then pruning drops it, so the set
 * holds one access-TTL's worth of revocations.
 *
 * Thread-safe: one writer (the feed thread) adds and prunes while any
 * thread looks up. */
#ifndef PL_REVOKED_H
#define PL_REVOKED_H

#include <stddef.h>
#include <stdint.h>

#include "pl_id.h"

typedef struct pl_revoked pl_revoked;

/* One session.revoked record of the sessions topic. */
typedef struct pl_revoked_event {
    char user_id[PL_ID_LEN];
    char session_id[PL_ID_LEN];
    int64_t ts_ms; /* when auth revoked it; 0 when the record has no ts */
} pl_revoked_event;

/* -ENOMEM. The caller frees *out with pl_revoked_free. */
int pl_revoked_new(pl_revoked **out);
/* Accepts NULL. */
void pl_revoked_free(pl_revoked *s);

/* Adds sid until until_ms (an existing entry keeps the later time). 0,
 * -EINVAL when sid is not an id, -ENOMEM. */
int pl_revoked_add(pl_revoked *s, const char *sid, int64_t until_ms);
/* 1 if sid is in the set and now_ms < its until, else 0. NULL s: 0. */
int pl_revoked_has(pl_revoked *s, const char *sid, int64_t now_ms);
/* Drops entries whose until has passed; returns how many are left. */
size_t pl_revoked_prune(pl_revoked *s, int64_t now_ms);
size_t pl_revoked_count(pl_revoked *s);

/* Parses one record (len bytes, NUL at json[len]) of the sessions topic:
 * {"type":"session.revoked","user_id":id,"session_id":id,"ts":ms}. 0,
 * -ENOTSUP for a well-formed record of another type (skip it), -EINVAL for
 * anything malformed. */
int pl_revoked_parse(const char *json, size_t len, pl_revoked_event *out);

#endif
