/* Profiles, user search, password change and the session list: the
 * account routes beyond register/login/refresh (auth_routes.c). */
#include "auth_profile.h"
#include "auth_events.h"
#include "auth_input.h"
#include "auth_limit.h"
#include "auth_password.h"
#include "auth_presence.h"
#include "auth_store.h"
#include "pl_log.h"
#include "pl_num.h"
#include "pl_time.h"
#include "pl_utf8.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SEARCH_DEFAULT 20
#define SEARCH_MAX 50
#define SESSIONS_MAX 100

static void store_error(pl_http_req *req, int r)
{
    if (r == -EAGAIN)
        pl_http_reply_error(req, 503, "unavailable", "database unavailable, try again");
    else
        pl_http_reply_internal(req, r);
}

static void jw_time(pl_jw *w, const char *key, int64_t ms)
{
    char ts[PL_TIME_ISO_LEN];

    pl_time_iso(ts, ms);
    pl_jw_kstr(w, key, ts);
}

static void jw_presence(pl_jw *w, const auth_ctx *ctx, const auth_profile *p)
{
    int64_t seen = p->last_seen_ms;
    int online = auth_presence_online(ctx->presence, p->u.id, &seen);

    pl_jw_key(w, "presence");
    pl_jw_obj(w);
    pl_jw_kstr(w, "status", online ? "online" : "offline");
    if (seen > 0)
        jw_time(w, "last_seen", seen);
    else
        pl_jw_kstr(w, "last_seen", NULL);
    pl_jw_end_obj(w);
}

static void reply_profile(pl_http_req *req, const auth_ctx *ctx, const auth_profile *p)
{
    pl_jw w;
    int r = pl_jw_init(&w);

    if (r) {
        pl_http_reply_internal(req, r);
        return;
    }
    pl_jw_obj(&w);
    pl_jw_key(&w, "user");
    pl_jw_obj(&w);
    pl_jw_kstr(&w, "id", p->u.id);
    pl_jw_kstr(&w, "username", p->u.username);
    pl_jw_kstr(&w, "display_name", p->u.display_name);
    pl_jw_kstr(&w, "bio", p->bio);
    pl_jw_kstr(&w, "avatar_id", p->avatar_id[0] ? p->avatar_id : NULL);
    jw_time(&w, "created_at", p->u.created_ms);
    jw_presence(&w, ctx, p);
    pl_jw_end_obj(&w);
    pl_jw_end_obj(&w);
    pl_http_reply_jw(req, 200, &w);
}

static void profile_get(pl_http_req *req, const auth_ctx *ctx, const char *id)
{
    auth_profile *p = calloc(1, sizeof(*p));
    int r = p ? -ENOENT : -ENOMEM;

    /* Not a UUID cannot name a user: 404 without asking Postgres. */
    if (p && pl_id_valid(id))
        r = auth_store_profile_get(ctx->pool, id, p);
    if (r == -ENOENT)
        pl_http_reply_error(req, 404, "not_found", "no such user");
    else if (r)
        store_error(req, r);
    else
        reply_profile(req, ctx, p);
    free(p);
}

void auth_h_user_get(pl_http_req *req, void *arg)
{
    profile_get(req, arg, pl_http_param(req, "id"));
}

void auth_h_me_get(pl_http_req *req, void *arg)
{
    profile_get(req, arg, pl_http_claims(req)->sub);
}

/* Validates the PATCH body; NULL outputs mean "leave as is". */
static const char *patch_validate(yajl_val body, char *name, const char **bio,
                                  const char **avatar)
{
    yajl_val v = pl_json_get(body, "display_name");
    const char *why = NULL;

    if (v && (!YAJL_IS_STRING(v) || auth_input_display_name(v->u.string, name, &why)))
        return why ? why : "display_name must be a string";
    if (!v)
        name[0] = '\0';
    v = pl_json_get(body, "bio");
    if (v && !YAJL_IS_STRING(v))
        return "bio must be a string";
    if (v && (pl_utf8_len(v->u.string) > AUTH_BIO_MAX_CHARS ||
              strlen(v->u.string) > AUTH_BIO_MAX_BYTES))
        return "bio must be at most 500 characters";
    *bio = v ? v->u.string : NULL;
    v = pl_json_get(body, "avatar_id");
    if (v && !YAJL_IS_NULL(v) && (!YAJL_IS_STRING(v) || !pl_id_valid(v->u.string)))
        return "avatar_id must be an attachment id (UUID) or null";
    *avatar = !v ? NULL : YAJL_IS_NULL(v) ? "" : v->u.string;
    return NULL;
}

void auth_h_me_patch(pl_http_req *req, void *arg)
{
    auth_ctx *ctx = arg;
    const char *sub = pl_http_claims(req)->sub, *bio = NULL, *avatar = NULL, *why;
    char name[AUTH_DISPLAY_MAX_BYTES + 1];
    yajl_val body = NULL;
    int r;

    if (pl_http_body_json(req, &body) != 0)
        return;
    why = patch_validate(body, name, &bio, &avatar);
    if (why) {
        pl_http_reply_error(req, 400, "bad_request", why);
        goto out;
    }
    r = auth_store_profile_update(ctx->pool, sub, name[0] ? name : NULL, bio, avatar);
    if (r == -ENOENT)
        pl_http_reply_error(req, 404, "not_found", "no such user");
    else if (r)
        store_error(req, r);
    else
        profile_get(req, ctx, sub);
out:
    yajl_tree_free(body);
}

static void reply_user_list(pl_http_req *req, const auth_user *users, int n)
{
    pl_jw w;
    int r = pl_jw_init(&w);

    if (r) {
        pl_http_reply_internal(req, r);
        return;
    }
    pl_jw_obj(&w);
    pl_jw_key(&w, "users");
    pl_jw_arr(&w);
    for (int i = 0; i < n; i++) {
        pl_jw_obj(&w);
        pl_jw_kstr(&w, "id", users[i].id);
        pl_jw_kstr(&w, "username", users[i].username);
        pl_jw_kstr(&w, "display_name", users[i].display_name);
        pl_jw_end_obj(&w);
    }
    pl_jw_end_arr(&w);
    pl_jw_end_obj(&w);
    pl_http_reply_jw(req, 200, &w);
}

/* GET /users?query=: username prefix OR display-name prefix, both
 * case-insensitive. A query outside the username alphabet can still be a
 * display-name prefix, so only the display pattern must be valid. */
void auth_h_users_search(pl_http_req *req, void *arg)
{
    auth_ctx *ctx = arg;
    char name_pat[AUTH_LIKE_MAX + 1], disp_pat[AUTH_DISPLAY_LIKE_MAX + 1];
    const char *why = NULL, *ls = pl_http_query(req, "limit"), *q = pl_http_query(req, "query");
    long long limit = SEARCH_DEFAULT;
    auth_user *users = NULL;
    int n = 0, r, by_name;

    if (auth_input_display_prefix(q, disp_pat, &why) != 0) {
        pl_http_reply_error(req, 400, "bad_request", why);
        return;
    }
    if (ls && pl_num_parse_ll(ls, 1, SEARCH_MAX, &limit) != 0) {
        pl_http_reply_error(req, 400, "bad_request", "limit must be an integer from 1 to 50");
        return;
    }
    by_name = auth_input_like_prefix(q, name_pat, NULL) == 0;
    users = calloc((size_t)limit, sizeof(*users));
    if (!users) {
        pl_http_reply_internal(req, -ENOMEM);
        return;
    }
    r = auth_store_users_search2(ctx->pool, by_name ? name_pat : NULL, disp_pat, (int)limit,
                                 users, &n);
    if (r)
        store_error(req, r);
    else
        reply_user_list(req, users, n);
    free(users);
}
