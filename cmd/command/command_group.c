/* Helpers shared by the group routes, and the join path (join, invite). */
#include "command_group.h"
#include "pl_cfg.h"
#include "pl_event.h"
#include "pl_history.h"
#include "pl_log.h"
#include "pl_num.h"
#include "pl_time.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static long long group_cap;
static pthread_once_t group_cap_once = PTHREAD_ONCE_INIT;

static void group_cap_load(void)
{
    if (pl_cfg_int("PARLEY_GROUP_MAX_MEMBERS", 1000, 2, 10000, &group_cap) != 0) {
        pl_warn("config", "setting=PARLEY_GROUP_MAX_MEMBERS msg=\"2-10000; using 1000\"");
        group_cap = 1000;
    }
}

long long command_group_cap(void)
{
    pthread_once(&group_cap_once, group_cap_load);
    return group_cap;
}

int command_role_parse(const char *name)
{
    if (!name)
        return ROLE_NONE;
    if (!strcmp(name, "owner"))
        return ROLE_OWNER;
    if (!strcmp(name, "admin"))
        return ROLE_ADMIN;
    if (!strcmp(name, "member"))
        return ROLE_MEMBER;
    return ROLE_NONE;
}

int command_group_get(PGconn *pg, const char *conv, const char *user, command_group *g)
{
    const char *p[] = {conv, user};
    PGresult *res = NULL;
    int r = pl_pg_exec(pg, &res, NULL, 0,
                       "SELECT c.kind, m.role, c.public,"
                       " (SELECT count(*) FROM history.members WHERE conversation_id = c.id)"
                       " FROM history.conversations c"
                       " LEFT JOIN history.members m"
                       "  ON m.conversation_id = c.id AND m.user_id = $2"
                       " WHERE c.id = $1 AND c.deleted_at IS NULL",
                       2, p);
    if (r == 0 && PQntuples(res) != 1)
        r = -ENOENT;
    if (r == 0) {
        memset(g, 0, sizeof(*g));
        strncpy(g->kind, PQgetvalue(res, 0, 0), sizeof(g->kind) - 1);
        g->role = PQgetisnull(res, 0, 1) ? ROLE_NONE : command_role_parse(PQgetvalue(res, 0, 1));
        g->is_public = PQgetvalue(res, 0, 2)[0] == 't';
        pl_num_parse_ll(PQgetvalue(res, 0, 3), 0, INT64_MAX, &g->members);
    }
    PQclear(res);
    return r;
}

int command_group_authorise(PGconn *pg, pl_http_req *req, const char *conv, int min_role,
                            command_group *g)
{
    int r = command_group_get(pg, conv, pl_http_claims(req)->sub, g);

    if (r == -ENOENT || (r == 0 && g->role == ROLE_NONE)) {
        pl_http_reply_error(req, 404, "not_found", "no such conversation");
        return -ENOENT;
    }
    if (r) {
        pl_http_reply_error(req, 503, "unavailable", "database unavailable; retry");
        return r;
    }
    if (strcmp(g->kind, "group") != 0) {
        pl_http_reply_error(req, 400, "bad_request",
                            "a direct conversation has no roles or membership changes");
        return -EINVAL;
    }
    if (g->role < min_role) {
        pl_http_reply_error(req, 403, "forbidden",
                            min_role == ROLE_OWNER ? "only the owner may do this"
                                                   : "only an admin or the owner may do this");
        return -EPERM;
    }
    return 0;
}

int command_group_event(pl_jw *w, pl_http_req *req, const char *type, const char *conv)
{
    return pl_event_begin(w, type, NULL, pl_http_claims(req)->sub, conv, pl_time_real_ms());
}

void command_group_produce_with(command *cmd, pl_http_req *req, const char *conv, pl_jw *w,
                          command_done_fn done, void *data)
{
    command_op *op = calloc(1, sizeof(*op));
    char *ev = NULL;
    size_t len = 0;
    int r = pl_event_end(w, &ev, &len);

    if (r == 0 && len > PL_EVENT_MAX)
        r = -E2BIG;
    if (r || !op) {
        pl_http_reply_internal(req, r ? r : -ENOMEM);
        free(data);
        free(op);
        free(ev);
        return;
    }
    *op = (command_op){.cmd = cmd, .req = req, .done = done, .data = data};
    command_produce(op, conv, ev, len);
    free(ev);
}

void command_group_produce(command *cmd, pl_http_req *req, const char *conv, pl_jw *w)
{
    command_group_produce_with(cmd, req, conv, w, command_position_done, NULL);
}

int command_group_summary(PGconn *pg, const char *conv, pl_jw *w)
{
    pl_jw_key(w, "conversation");
    return pl_history_conversation_summary_write(pg, conv, w);
}

void command_group_reply_conversation(command *cmd, pl_http_req *req, PGconn *pg,
                                      const char *conv)
{
    pl_jw w;
    int r = pl_jw_init(&w);
    (void)cmd;

    if (r) {
        pl_http_reply_internal(req, r);
        return;
    }
    pl_jw_obj(&w);
    pl_jw_key(&w, "conversation");
    r = pl_history_conversation_write(pg, conv, &w);
    pl_jw_end_obj(&w);
    if (r) {
        pl_jw_free(&w);
        pl_http_reply_error(req, 503, "unavailable", "database unavailable; retry");
        return;
    }
    pl_http_reply_jw(req, 200, &w);
}

typedef struct join_state {
    char conv[PL_ID_LEN];
    char user[PL_ID_LEN];
    char invite[PL_ID_LEN]; /* "" for a join of a public group */
} join_state;

/* The projector refused the join: say why, as far as we can tell now. */
static void join_refused(PGconn *pg, pl_http_req *req, const join_state *s)
{
    const char *id = s->invite;
    command_group g;
    PGresult *res = NULL;
    int r;

    if (s->invite[0]) {
        r = pl_pg_exec(pg, &res, NULL, 0,
                       "SELECT 1 FROM history.invites WHERE id = $1 AND expires_at > now()"
                       " AND (max_uses IS NULL OR uses < max_uses)",
                       1, &id);
        if (r == 0 && PQntuples(res) == 0)
            r = -ENOENT;
        PQclear(res);
        if (r == -ENOENT)
            pl_http_reply_error(req, 410, "gone", "the invite has expired or been used up");
    } else {
        r = command_group_get(pg, s->conv, s->user, &g);
        if (r == 0 && !g.is_public)
            r = -ENOENT;
        if (r == -ENOENT)
            pl_http_reply_error(req, 404, "not_found", "no such conversation");
    }
    if (r == 0)
        pl_http_reply_error(req, 409, "group_full", "the group has reached its size limit");
    else if (r != -ENOENT)
        pl_http_reply_error(req, 503, "unavailable", "database unavailable; retry");
}

/* Runs on the waiter thread: one short query, then the answer. */
static void join_projected(void *opaque, int reached)
{
    command_op *op = opaque;
    join_state *s = op->data;
    PGconn *pg = pl_pg_acquire(op->cmd->pool, 2000);
    int m = pg ? pl_history_is_member(pg, s->conv, s->user) : -EIO;

    if (m == 1)
        command_group_reply_conversation(op->cmd, op->req, pg, s->conv);
    else if (m < 0)
        pl_http_reply_error(op->req, 503, "unavailable", "database unavailable; retry");
    else if (!reached)
        pl_http_reply_error(op->req, 503, "not_caught_up",
                            "accepted but not applied yet; retry the same request");
    else
        join_refused(pg, op->req, s);
    if (pg)
        pl_pg_release(op->cmd->pool, pg);
    free(s);
    free(op);
}

static void join_done(command_op *op, int err, pl_pos pos)
{
    if (err) {
        pl_http_reply_error(op->req, 503, "unavailable", "not accepted; retry");
        free(op->data);
        free(op);
        return;
    }
    if (pl_history_wait_add(op->cmd->wait, pos, (int)op->cmd->wait_ms, join_projected, op))
        join_projected(op, 0);
}

void command_group_join(command *cmd, pl_http_req *req, const char *conv,
                        const char *invite_id, pl_jw *w)
{
    join_state *s = calloc(1, sizeof(*s));

    if (!s) {
        pl_jw_free(w);
        pl_http_reply_internal(req, -ENOMEM);
        return;
    }
    memcpy(s->conv, conv, PL_ID_LEN);
    memcpy(s->user, pl_http_claims(req)->sub, PL_ID_LEN);
    if (invite_id)
        memcpy(s->invite, invite_id, PL_ID_LEN);
    command_group_produce_with(cmd, req, conv, w, join_done, s);
}
