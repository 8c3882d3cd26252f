#include "auth_routes.h"
#include "auth.h"
#include "auth_events.h"
#include "auth_input.h"
#include "auth_limit.h"
#include "auth_password.h"
#include "auth_profile.h"
#include "auth_refresh.h"
#include "auth_store.h"
#include "pl_log.h"
#include "pl_num.h"
#include "pl_time.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int auth_routes_metrics(pl_metrics *m)
{
    int r = pl_metrics_declare(m, "auth_logins_total", PL_METRIC_COUNTER,
                               "Login attempts by result (ok, fail, error)");
    if (!r)
        r = pl_metrics_declare(m, "auth_refresh_total", PL_METRIC_COUNTER,
                               "Refresh attempts by result (ok, unknown, reused, "
                               "revoked, expired, error)");
    return r;
}

/* result must come from a fixed set: it becomes a label value. */
static void count(const auth_ctx *ctx, const char *name, const char *result)
{
    char labels[64];

    snprintf(labels, sizeof(labels), "result=\"%s\"", result);
    pl_metrics_add(ctx->metrics, name, labels, 1);
}

static void reply_store_error(pl_http_req *req, int r)
{
    if (r == -EAGAIN)
        pl_http_reply_error(req, 503, "unavailable", "database unavailable, try again");
    else
        pl_http_reply_internal(req, r);
}

static void jw_user(pl_jw *w, const auth_user *u, int with_created)
{
    char ts[PL_TIME_ISO_LEN];

    pl_jw_obj(w);
    pl_jw_kstr(w, "id", u->id);
    pl_jw_kstr(w, "username", u->username);
    pl_jw_kstr(w, "display_name", u->display_name);
    if (with_created) {
        pl_time_iso(ts, u->created_ms);
        pl_jw_kstr(w, "created_at", ts);
    }
    pl_jw_end_obj(w);
}

/* Replies {"<key>": user} for one user, or {"<key>": [users]} when list;
 * list entries leave out created_at. */
static void reply_users(pl_http_req *req, int status, const char *key,
                        const auth_user *users, int n, int list)
{
    pl_jw w;
    int r = pl_jw_init(&w);

    if (r) {
        pl_http_reply_internal(req, r);
        return;
    }
    pl_jw_obj(&w);
    pl_jw_key(&w, key);
    if (list)
        pl_jw_arr(&w);
    for (int i = 0; i < n; i++)
        jw_user(&w, &users[i], !list);
    if (list)
        pl_jw_end_arr(&w);
    pl_jw_end_obj(&w);
    pl_http_reply_jw(req, status, &w);
}

/* Signs an access token for (u, sid) and replies 200 with the pair.
 * Access tokens are verified offline by every service; a revocation
 * reaches them as session.revoked (pl_revoked_feed), and should that be
 * lost the token lives until it expires: that is why PARLEY_ACCESS_TTL_S is
 * short. */
static void reply_tokens(pl_http_req *req, const auth_ctx *ctx, const auth_user *u,
                         const char *sid, const char *refresh)
{
    pl_token_claims c;
    char *access = NULL;
    pl_jw w;
    int r;

    memset(&c, 0, sizeof(c));
    snprintf(c.sub, sizeof(c.sub), "%s", u->id);
    snprintf(c.sid, sizeof(c.sid), "%s", sid);
    snprintf(c.usr, sizeof(c.usr), "%s", u->username);
    c.iat = pl_time_real_ms() / 1000;
    c.exp = c.iat + ctx->access_ttl_s;
    r = pl_token_sign(ctx->sk, &c, &access);
    if (!r)
        r = pl_jw_init(&w);
    if (r) {
        pl_http_reply_internal(req, r);
        goto out;
    }
    pl_jw_obj(&w);
    pl_jw_kstr(&w, "access_token", access);
    pl_jw_kstr(&w, "refresh_token", refresh);
    pl_jw_kstr(&w, "token_type", "Bearer");
    pl_jw_kint(&w, "expires_in", ctx->access_ttl_s);
    pl_jw_key(&w, "user");
    jw_user(&w, u, 1);
    pl_jw_end_obj(&w);
    pl_http_reply_jw(req, 200, &w);
out:
    free(access);
}

static void h_register(pl_http_req *req, void *arg)
{
    auth_ctx *ctx = arg;
    yajl_val body = NULL;
    const char *why = NULL, *pw;
    auth_user u;
    int r;

    if (!auth_limit_ok(req, ctx, NULL) || pl_http_body_json(req, &body) != 0)
        return;
    pw = pl_json_str(body, "password");
    if (auth_input_username(pl_json_str(body, "username"), u.username, &why) ||
        auth_input_password(pw, &why) ||
        auth_input_display_name(pl_json_str(body, "display_name"), u.display_name,
                                &why)) {
        pl_http_reply_error(req, 400, "bad_request", why);
        goto out;
    }
    r = auth_password_hash(pw, strlen(pw), u.hash);
    if (r) {
        pl_http_reply_internal(req, r);
        goto out;
    }
    pl_id_random(u.id);
    u.created_ms = pl_time_real_ms();
    r = auth_store_user_create(ctx->pool, &u);
    if (r == -EEXIST) {
        pl_http_reply_error(req, 409, "username_taken", "username is already taken");
    } else if (r) {
        reply_store_error(req, r);
    } else {
        pl_info("register", "user=%s username=%s", u.id, u.username);
        reply_users(req, 201, "user", &u, 1, 0);
    }
out:
    yajl_tree_free(body);
}

/* Upgrades a hash made with older parameters. Best effort: the login has
 * already succeeded, and the next one tries again. */
static void rehash(const auth_ctx *ctx, const auth_user *u, const char *pw, size_t len)
{
    char hash[AUTH_HASH_LEN];
    int r = auth_password_hash(pw, len, hash);

    if (!r)
        r = auth_store_user_set_hash(ctx->pool, u->id, hash);
    if (r)
        pl_warn("rehash_failed", "user=%s errno=%d", u->id, -r);
    else
        pl_info("rehash", "user=%s", u->id);
}

/* 0 when (name, pw) are a user's credentials, with u filled; -EACCES when
 * not; a store error otherwise. Every -EACCES costs one full verify, so
 * the time taken does not tell unknown users from wrong passwords. */
static int login_check(const auth_ctx *ctx, const char *name, const char *pw,
                       auth_user *u, const char **reason)
{
    size_t len = strlen(pw);
    int r = -ENOENT;

    if (auth_input_username(name, u->username, NULL) == 0 && len <= AUTH_PASSWORD_MAX)
        r = auth_store_user_by_name(ctx->pool, u->username, u);
    if (r && r != -ENOENT)
        return r;
    *reason = r ? "unknown_user" : "bad_password";
    if (auth_password_verify(r ? ctx->dummy_hash : u->hash, pw, len) != 0 || r)
        return -EACCES;
    if (auth_password_needs_rehash(u->hash))
        rehash(ctx, u, pw, len);
    return 0;
}

/* Opens a session for u and replies with its first token pair. */
static int session_start(pl_http_req *req, const auth_ctx *ctx, const auth_user *u)
{
    char sid[PL_ID_LEN], ua[AUTH_USER_AGENT_MAX + 1];
    char tok[AUTH_REFRESH_LEN], hash[AUTH_REFRESH_HASH_LEN];
    int r;

    pl_id_random(sid);
    auth_input_user_agent(pl_http_header(req, "User-Agent"), ua);
    auth_refresh_new(tok, hash);
    r = auth_store_session_open(ctx->pool, sid, u->id, ua, hash, ctx->refresh_ttl_s);
    if (r)
        reply_store_error(req, r);
    else
        reply_tokens(req, ctx, u, sid, tok);
    sodium_memzero(tok, sizeof(tok));
    if (!r)
        pl_info("login_ok", "user=%s username=%s session=%s", u->id, u->username, sid);
    return r;
}

static void h_login(pl_http_req *req, void *arg)
{
    auth_ctx *ctx = arg;
    yajl_val body = NULL;
    const char *name, *pw, *reason = "";
    auth_user u;
    int r;

    if (pl_http_body_json(req, &body) != 0)
        return;
    name = pl_json_str(body, "username");
    pw = pl_json_str(body, "password");
    if (!name || !pw) {
        pl_http_reply_error(req, 400, "bad_request", "username and password are required");
        goto out;
    }
    /* Before the hash: refused attempts must not cost argon2 time. */
    if (!auth_limit_ok(req, ctx,
                       auth_input_username(name, u.username, NULL) == 0 ? u.username : NULL))
        goto out;
    r = login_check(ctx, name, pw, &u, &reason);
    if (r == -EACCES) {
        count(ctx, "auth_logins_total", "fail");
        /* Only a well-formed name is logged: the raw one is attacker text. */
        pl_info("login_fail", "username=%s reason=%s",
                auth_input_username(name, u.username, NULL) == 0 ? u.username : "-",
                reason);
        pl_http_reply_error(req, 401, "invalid_credentials",
                            "invalid username or password");
        goto out;
    }
    if (!r)
        r = session_start(req, ctx, &u);
    else
        reply_store_error(req, r);
    count(ctx, "auth_logins_total", r ? "error" : "ok");
out:
    yajl_tree_free(body);
}

static void refresh_refused(pl_http_req *req, const auth_ctx *ctx,
                            auth_rotate_result res, const char *sid)
{
    static const char *const names[] = {
        [AUTH_ROTATE_OK] = "ok", [AUTH_ROTATE_UNKNOWN] = "unknown",
        [AUTH_ROTATE_REUSED] = "reused", [AUTH_ROTATE_REVOKED] = "revoked",
        [AUTH_ROTATE_EXPIRED] = "expired"};

    count(ctx, "auth_refresh_total", names[res]);
    if (res == AUTH_ROTATE_REUSED) {
        /* A spent token came back: it was stolen, or the client is broken.
         * Either way no token of this session can be trusted any more. */
        pl_warn("refresh_reuse", "session=%s", sid);
        pl_http_reply_error(req, 401, "refresh_reused",
                            "refresh token was already used; the session is revoked");
        return;
    }
    pl_info("refresh_refused", "reason=%s", names[res]);
    pl_http_reply_error(req, 401, "invalid_refresh_token",
                        "refresh token is invalid, expired or revoked");
}

static void h_refresh(pl_http_req *req, void *arg)
{
    auth_ctx *ctx = arg;
    yajl_val body = NULL;
    auth_rotate_result res = AUTH_ROTATE_UNKNOWN;
    char old_hash[AUTH_REFRESH_HASH_LEN], new_hash[AUTH_REFRESH_HASH_LEN];
    char tok[AUTH_REFRESH_LEN], sid[PL_ID_LEN] = "";
    const char *sent;
    auth_user u;
    int r = 0;

    if (pl_http_body_json(req, &body) != 0)
        return;
    sent = pl_json_str(body, "refresh_token");
    if (!sent) {
        pl_http_reply_error(req, 400, "bad_request", "refresh_token is required");
        goto out;
    }
    auth_refresh_new(tok, new_hash);
    if (auth_refresh_hash(sent, old_hash) == 0)
        r = auth_store_refresh_rotate(ctx->pool, old_hash, new_hash, ctx->refresh_ttl_s,
                                      &res, sid, &u);
    if (r) {
        count(ctx, "auth_refresh_total", "error");
        reply_store_error(req, r);
    } else if (res != AUTH_ROTATE_OK) {
        if (res == AUTH_ROTATE_REUSED)
            auth_events_session_revoked(ctx, u.id, sid);
        refresh_refused(req, ctx, res, sid);
    } else {
        count(ctx, "auth_refresh_total", "ok");
        reply_tokens(req, ctx, &u, sid, tok);
    }
    sodium_memzero(tok, sizeof(tok));
out:
    yajl_tree_free(body);
}

/* Revokes the caller's session, which ends its refresh tokens. A body
 * ({"refresh_token": ...}) is accepted and ignored: the session covers it.
 * Its access tokens are refused once session.revoked is read (see
 * reply_tokens). */
static void h_logout(pl_http_req *req, void *arg)
{
    auth_ctx *ctx = arg;
    const pl_token_claims *c = pl_http_claims(req);
    int r = auth_store_session_revoke(ctx->pool, c->sid, c->sub);

    if (r) {
        reply_store_error(req, r);
        return;
    }
    pl_info("logout", "user=%s session=%s", c->sub, c->sid);
    auth_events_session_revoked(ctx, c->sub, c->sid);
    pl_http_reply(req, 204, NULL);
}

const pl_http_route auth_routes[] = {
    {"POST", "/api/v1/auth/register", h_register, PL_HTTP_PUBLIC},
    {"POST", "/api/v1/auth/login", h_login, PL_HTTP_PUBLIC},
    {"POST", "/api/v1/auth/refresh", h_refresh, PL_HTTP_PUBLIC},
    {"POST", "/api/v1/auth/logout", h_logout, PL_HTTP_AUTH},
    {"POST", "/api/v1/auth/password", auth_h_password, PL_HTTP_AUTH},
    {"GET", "/api/v1/auth/sessions", auth_h_sessions_list, PL_HTTP_AUTH},
    {"DELETE", "/api/v1/auth/sessions/{id}", auth_h_session_delete, PL_HTTP_AUTH},
    {"GET", "/api/v1/users", auth_h_users_search, PL_HTTP_AUTH},
    {"GET", "/api/v1/users/me", auth_h_me_get, PL_HTTP_AUTH},
    {"PATCH", "/api/v1/users/me", auth_h_me_patch, PL_HTTP_AUTH},
    {"GET", "/api/v1/users/{id}", auth_h_user_get, PL_HTTP_AUTH},
};

const size_t auth_routes_count = sizeof(auth_routes) / sizeof(auth_routes[0]);
