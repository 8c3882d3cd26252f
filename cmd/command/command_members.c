/* Membership routes:
 *   POST   /api/v1/conversations/{id}/members {user_id}          admin+
 *   PATCH  /api/v1/conversations/{id}/members/{user_id} {role}   owner
 *   DELETE /api/v1/conversations/{id}/members/{user_id}          admin+, or self
 *   POST   /api/v1/conversations/{id}/join                        public groups */
#include "command_group.h"
#include "pl_history.h"

#include <errno.h>
#include <string.h>

/* The target's role in conv (ROLE_NONE if not a member), or -EIO. */
static int member_role(PGconn *pg, const char *conv, const char *user)
{
    const char *p[] = {conv, user};
    PGresult *res = NULL;
    int r = pl_pg_exec(pg, &res, NULL, 0,
                       "SELECT role FROM history.members"
                       " WHERE conversation_id = $1 AND user_id = $2",
                       2, p);
    if (r == 0)
        r = PQntuples(res) ? command_role_parse(PQgetvalue(res, 0, 0)) : ROLE_NONE;
    PQclear(res);
    return r;
}

static int user_exists(PGconn *pg, const char *user)
{
    PGresult *res = NULL;
    int r = pl_pg_exec(pg, &res, NULL, 0, "SELECT 1 FROM auth.users WHERE id = $1", 1, &user);
    if (r == 0)
        r = PQntuples(res) > 0;
    PQclear(res);
    return r;
}

/* Path ids, or a 404 reply and NULL. */
static const char *conv_param(pl_http_req *req)
{
    const char *conv = pl_http_param(req, "id");
    if (pl_id_valid(conv))
        return conv;
    pl_http_reply_error(req, 404, "not_found", "no such conversation");
    return NULL;
}

static int full(pl_http_req *req, const command_group *g)
{
    if (g->members < command_group_cap())
        return 0;
    pl_http_reply_error(req, 409, "group_full", "the group has reached its size limit");
    return 1;
}

/* Pre-checks an add; writes the event's data. Replies on failure. */
static int add_check(PGconn *pg, pl_http_req *req, const char *conv, const char *user,
                     pl_jw *w)
{
    command_group g;
    int r = command_group_authorise(pg, req, conv, ROLE_ADMIN, &g);

    if (r || full(req, &g))
        return -EPERM;
    r = user_exists(pg, user);
    if (r == 1)
        r = member_role(pg, conv, user);
    else if (r == 0)
        r = -ENOENT;
    if (r == -ENOENT)
        pl_http_reply_error(req, 400, "bad_request", "user_id names an unknown user");
    else if (r > 0)
        pl_http_reply_error(req, 409, "conflict", "already a member");
    else if (r < 0)
        pl_http_reply_error(req, 503, "unavailable", "database unavailable; retry");
    else if ((r = command_group_event(w, req, "member.added", conv)) != 0)
        pl_http_reply_internal(req, r);
    else {
        pl_jw_kstr(w, "user_id", user);
        pl_jw_kstr(w, "role", "member");
        pl_jw_kstr(w, "via", "admin");
        if ((r = command_group_summary(pg, conv, w)) != 0)
            pl_http_reply_error(req, 503, "unavailable", "database unavailable; retry");
        return r;
    }
    return -EPERM;
}

void command_add_member(pl_http_req *req, void *ctx)
{
    command *cmd = ctx;
    const char *conv = conv_param(req), *user;
    yajl_val body = NULL;
    PGconn *pg = NULL;
    pl_jw w = {0};
    int r;

    if (!conv || pl_http_body_json(req, &body) != 0)
        return;
    user = pl_json_str(body, "user_id");
    if (!pl_id_valid(user)) {
        pl_http_reply_error(req, 400, "bad_request", "user_id must be a user id");
        goto out;
    }
    if (!command_rate_ok(cmd, req) || !(pg = command_pg(cmd, req)))
        goto out;
    r = add_check(pg, req, conv, user, &w);
    pl_pg_release(cmd->pool, pg);
    if (r == 0)
        command_group_produce(cmd, req, conv, &w);
out:
    pl_jw_free(&w);
    yajl_tree_free(body);
}

/* Owner only; role "owner" transfers ownership (the owner becomes admin). */
static int role_check(PGconn *pg, pl_http_req *req, const char *conv, const char *user)
{
    command_group g;
    int r = command_group_authorise(pg, req, conv, ROLE_OWNER, &g);

    if (r)
        return r;
    if (!strcmp(user, pl_http_claims(req)->sub)) {
        pl_http_reply_error(req, 400, "bad_request",
                            "the owner changes their own role by transferring ownership");
        return -EINVAL;
    }
    r = member_role(pg, conv, user);
    if (r == ROLE_NONE)
        pl_http_reply_error(req, 404, "not_found", "no such member");
    else if (r < 0)
        pl_http_reply_error(req, 503, "unavailable", "database unavailable; retry");
    return r > ROLE_NONE ? 0 : -EPERM;
}

void command_change_role(pl_http_req *req, void *ctx)
{
    command *cmd = ctx;
    const char *conv = conv_param(req), *user = pl_http_param(req, "user_id");
    yajl_val body = NULL;
    PGconn *pg = NULL;
    pl_jw w = {0};
    int role, r;

    if (!conv || pl_http_body_json(req, &body) != 0)
        return;
    role = command_role_parse(pl_json_str(body, "role"));
    if (!pl_id_valid(user)) {
        pl_http_reply_error(req, 404, "not_found", "no such member");
        goto out;
    }
    if (role == ROLE_NONE) {
        pl_http_reply_error(req, 400, "bad_request", "role must be owner, admin or member");
        goto out;
    }
    if (!command_rate_ok(cmd, req) || !(pg = command_pg(cmd, req)))
        goto out;
    r = role_check(pg, req, conv, user);
    pl_pg_release(cmd->pool, pg);
    if (r)
        goto out;
    if ((r = command_group_event(&w, req, "member.role_changed", conv)) != 0) {
        pl_http_reply_internal(req, r);
        goto out;
    }
    pl_jw_kstr(&w, "user_id", user);
    pl_jw_kstr(&w, "role", pl_json_str(body, "role"));
    if (role == ROLE_OWNER) /* the same event demotes the old owner to admin */
        pl_jw_kstr(&w, "previous_owner_id", pl_http_claims(req)->sub);
    command_group_produce(cmd, req, conv, &w);
out:
    pl_jw_free(&w);
    yajl_tree_free(body);
}

/* Leaving needs membership and not being the owner; removing needs admin
 * (members only) or owner (anyone but themselves). */
static int remove_check(PGconn *pg, pl_http_req *req, const char *conv, const char *user,
                        int self)
{
    command_group g;
    int r = command_group_authorise(pg, req, conv, self ? ROLE_MEMBER : ROLE_ADMIN, &g);

    if (r)
        return r;
    if (self) {
        if (g.role != ROLE_OWNER)
            return 0;
        pl_http_reply_error(req, 409, "owner_must_transfer",
                            "the owner must transfer ownership before leaving");
        return -EPERM;
    }
    r = member_role(pg, conv, user);
    if (r == ROLE_NONE)
        pl_http_reply_error(req, 404, "not_found", "no such member");
    else if (r < 0)
        pl_http_reply_error(req, 503, "unavailable", "database unavailable; retry");
    else if (r == ROLE_OWNER || (r == ROLE_ADMIN && g.role != ROLE_OWNER))
        pl_http_reply_error(req, 403, "forbidden",
                            "only the owner removes an admin; nobody removes the owner");
    else
        return 0;
    return -EPERM;
}

void command_remove_member(pl_http_req *req, void *ctx)
{
    command *cmd = ctx;
    const char *conv = conv_param(req), *user = pl_http_param(req, "user_id");
    PGconn *pg = NULL;
    pl_jw w = {0};
    int self, r;

    if (!conv)
        return;
    if (!pl_id_valid(user)) {
        pl_http_reply_error(req, 404, "not_found", "no such member");
        return;
    }
    self = !strcmp(user, pl_http_claims(req)->sub);
    if (!command_rate_ok(cmd, req) || !(pg = command_pg(cmd, req)))
        return;
    r = remove_check(pg, req, conv, user, self);
    pl_pg_release(cmd->pool, pg);
    if (r)
        return;
    if ((r = command_group_event(&w, req, "member.removed", conv)) != 0) {
        pl_http_reply_internal(req, r);
        return;
    }
    pl_jw_kstr(&w, "user_id", user);
    pl_jw_kstr(&w, "reason", self ? "left" : "removed");
    command_group_produce(cmd, req, conv, &w);
}

/* Public groups only; a private or missing one is 404 alike. */
static int join_check(PGconn *pg, pl_http_req *req, const char *conv, pl_jw *w)
{
    command_group g;
    int r = command_group_get(pg, conv, pl_http_claims(req)->sub, &g);

    if (r == 0 && (strcmp(g.kind, "group") || (!g.is_public && g.role == ROLE_NONE)))
        r = -ENOENT;
    if (r == -ENOENT)
        pl_http_reply_error(req, 404, "not_found", "no such conversation");
    else if (r)
        pl_http_reply_error(req, 503, "unavailable", "database unavailable; retry");
    else if (g.role != ROLE_NONE)
        return 1; /* already in: answer like a join */
    else if (full(req, &g))
        r = -EPERM;
    else if ((r = command_group_event(w, req, "member.added", conv)) != 0)
        pl_http_reply_internal(req, r);
    else {
        pl_jw_kstr(w, "user_id", pl_http_claims(req)->sub);
        pl_jw_kstr(w, "role", "member");
        pl_jw_kstr(w, "via", "join");
        if ((r = command_group_summary(pg, conv, w)) != 0)
            pl_http_reply_error(req, 503, "unavailable", "database unavailable; retry");
    }
    return r;
}

void command_join(pl_http_req *req, void *ctx)
{
    command *cmd = ctx;
    const char *conv = conv_param(req);
    PGconn *pg = NULL;
    pl_jw w = {0};
    int r;

    if (!conv || !command_rate_ok(cmd, req) || !(pg = command_pg(cmd, req)))
        return;
    r = join_check(pg, req, conv, &w);
    if (r == 1)
        command_group_reply_conversation(cmd, req, pg, conv);
    pl_pg_release(cmd->pool, pg);
    if (r == 0)
        command_group_join(cmd, req, conv, NULL, &w);
    pl_jw_free(&w);
}
