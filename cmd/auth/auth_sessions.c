/* The caller's sessions: list, revoke one, and password change (which
 * revokes all but the caller's). Every revocation is committed in Postgres
 * first, then announced on Kafka (auth_events.h) so pushers close the
 * session's sockets. */
#include "auth_events.h"
#include "auth_input.h"
#include "auth_limit.h"
#include "auth_password.h"
#include "auth_profile.h"
#include "auth_store.h"
#include "pl_log.h"
#include "pl_time.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SESSIONS_MAX 100

static void store_error(pl_http_req *req, int r)
{
    if (r == -EAGAIN)
        pl_http_reply_error(req, 503, "unavailable", "database unavailable, try again");
    else
        pl_http_reply_internal(req, r);
}

static void jw_session(pl_jw *w, const auth_session *s, const char *current)
{
    char ts[PL_TIME_ISO_LEN];

    pl_jw_obj(w);
    pl_jw_kstr(w, "id", s->id);
    pl_jw_kstr(w, "user_agent", s->user_agent);
    pl_time_iso(ts, s->created_ms);
    pl_jw_kstr(w, "created_at", ts);
    pl_time_iso(ts, s->last_used_ms);
    pl_jw_kstr(w, "last_used_at", ts);
    pl_jw_key(w, "current");
    pl_jw_bool(w, strcmp(s->id, current) == 0);
    pl_jw_end_obj(w);
}

void auth_h_sessions_list(pl_http_req *req, void *arg)
{
    auth_ctx *ctx = arg;
    const pl_token_claims *c = pl_http_claims(req);
    auth_session *s = calloc(SESSIONS_MAX, sizeof(*s));
    int n = 0, r = s ? 0 : -ENOMEM;
    pl_jw w;

    if (!r)
        r = auth_store_sessions_list(ctx->pool, c->sub, SESSIONS_MAX, s, &n);
    if (!r)
        r = pl_jw_init(&w);
    if (r) {
        store_error(req, r);
        goto out;
    }
    pl_jw_obj(&w);
    pl_jw_key(&w, "sessions");
    pl_jw_arr(&w);
    for (int i = 0; i < n; i++)
        jw_session(&w, &s[i], c->sid);
    pl_jw_end_arr(&w);
    pl_jw_end_obj(&w);
    pl_http_reply_jw(req, 200, &w);
out:
    free(s);
}

void auth_h_session_delete(pl_http_req *req, void *arg)
{
    auth_ctx *ctx = arg;
    const pl_token_claims *c = pl_http_claims(req);
    const char *sid = pl_http_param(req, "id");
    int r = -ENOENT;

    /* Someone else's session answers like a missing one. */
    if (pl_id_valid(sid))
        r = auth_store_session_revoke_own(ctx->pool, sid, c->sub);
    if (r == -ENOENT) {
        pl_http_reply_error(req, 404, "not_found", "no such session");
        return;
    }
    if (r) {
        store_error(req, r);
        return;
    }
    pl_info("session_revoked", "user=%s session=%s by=%s", c->sub, sid, c->sid);
    auth_events_session_revoked(ctx, c->sub, sid);
    pl_http_reply(req, 204, NULL);
}

typedef struct revoked_arg {
    const auth_ctx *ctx;
    const char *user_id;
} revoked_arg;

static void on_revoked(void *arg, const char *sid)
{
    revoked_arg *a = arg;

    pl_info("session_revoked", "user=%s session=%s by=password_change", a->user_id, sid);
    auth_events_session_revoked(a->ctx, a->user_id, sid);
}

/* 0 when pw is the current password of the caller, -EACCES when not. */
static int password_check(const auth_ctx *ctx, const pl_token_claims *c, const char *pw)
{
    auth_user u;
    size_t len = pw ? strlen(pw) : 0;
    int r = auth_store_user_by_name(ctx->pool, c->usr, &u);

    if (r && r != -ENOENT)
        return r;
    if (r || strcmp(u.id, c->sub) != 0 || len > AUTH_PASSWORD_MAX ||
        auth_password_verify(u.hash, pw, len) != 0)
        return -EACCES;
    return 0;
}

void auth_h_password(pl_http_req *req, void *arg)
{
    auth_ctx *ctx = arg;
    const pl_token_claims *c = pl_http_claims(req);
    const char *cur, *pw, *why = NULL;
    char hash[AUTH_HASH_LEN];
    revoked_arg ra = {ctx, c->sub};
    yajl_val body = NULL;
    int r;

    if (pl_http_body_json(req, &body) != 0)
        return;
    cur = pl_json_str(body, "current_password");
    pw = pl_json_str(body, "new_password");
    if (!cur || auth_input_password(pw, &why)) {
        pl_http_reply_error(req, 400, "bad_request",
                            cur ? why : "current_password is required");
        goto out;
    }
    /* A stolen access token must not be a password oracle either. */
    if (!auth_limit_ok(req, ctx, c->sub))
        goto out;
    r = password_check(ctx, c, cur);
    if (r == -EACCES) {
        pl_info("password_change_refused", "user=%s", c->sub);
        pl_http_reply_error(req, 403, "invalid_credentials", "current password is wrong");
        goto out;
    }
    if (!r)
        r = auth_password_hash(pw, strlen(pw), hash);
    if (!r)
        r = auth_store_password_change(ctx->pool, c->sub, c->sid, hash, on_revoked, &ra);
    if (r) {
        store_error(req, r);
        goto out;
    }
    pl_info("password_changed", "user=%s session=%s", c->sub, c->sid);
    pl_http_reply(req, 204, NULL);
out:
    yajl_tree_free(body);
}
