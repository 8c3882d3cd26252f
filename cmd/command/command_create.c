/* POST /api/v1/conversations {kind, title?, member_ids} */
#include "command.h"
#include "pl_event.h"
#include "pl_history.h"
#include "pl_log.h"
#include "pl_time.h"
#include "pl_utf8.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MEMBERS_MAX 256
#define TITLE_MAX_CHARS 128

typedef struct create_state {
    char id[PL_ID_LEN];
    char kind[8];
    char *title;
    int64_t ts_ms;
    size_t n;
    char members[MEMBERS_MAX + 1][PL_ID_LEN]; /* [0] is the creator, the owner */
    pl_pos pos;
} create_state;

static void create_free(create_state *s)
{
    if (s)
        free(s->title);
    free(s);
}

static void conversation_write(pl_jw *w, const create_state *s)
{
    char pos[PL_POS_LEN], iso[PL_TIME_ISO_LEN];

    pl_pos_format(pos, s->pos);
    pl_time_iso(iso, s->ts_ms);
    pl_jw_obj(w);
    pl_jw_key(w, "conversation");
    pl_jw_obj(w);
    pl_jw_kstr(w, "id", s->id);
    pl_jw_kstr(w, "kind", s->kind);
    pl_jw_kstr(w, "title", s->title);
    pl_jw_kstr(w, "created_by", s->members[0]);
    pl_jw_kstr(w, "created_at", iso);
    pl_jw_kstr(w, "position", pos);
    pl_jw_kstr(w, "last_activity_at", iso);
    pl_jw_key(w, "members");
    pl_jw_arr(w);
    for (size_t i = 0; i < s->n; i++) {
        pl_jw_obj(w);
        pl_jw_kstr(w, "user_id", s->members[i]);
        pl_jw_kstr(w, "role", i ? "member" : "owner");
        pl_jw_end_obj(w);
    }
    pl_jw_end_arr(w);
    pl_jw_key(w, "last_message");
    pl_jw_null(w);
    pl_jw_end_obj(w);
    pl_jw_end_obj(w);
}

/* Answers once the projection has the conversation, so the creator's next
 * request (a send, a read) already finds it. */
static void on_projected(void *opaque, int reached)
{
    command_op *op = opaque;
    create_state *s = op->data;
    pl_jw w;

    if (!reached)
        pl_warn("create_unprojected", "conversation=%s msg=\"answering before the "
                "projection caught up\"", s->id);
    if (pl_jw_init(&w) == 0) {
        conversation_write(&w, s);
        pl_http_reply_jw(op->req, 201, &w);
    } else {
        pl_http_reply_internal(op->req, -ENOMEM);
    }
    create_free(s);
    free(op);
}

static void create_done(command_op *op, int err, pl_pos pos)
{
    create_state *s = op->data;

    if (err) {
        pl_http_reply_error(op->req, 503, "unavailable", "not accepted; retry");
    } else {
        s->pos = pos;
        if (pl_history_wait_add(op->cmd->wait, pos, (int)op->cmd->wait_ms, on_projected,
                                op) == 0)
            return;
        on_projected(op, 0);
        return;
    }
    create_free(s);
    free(op);
}

static int create_members(pl_http_req *req, yajl_val ids, create_state *s)
{
    if (!YAJL_IS_ARRAY(ids) || ids->u.array.len > MEMBERS_MAX) {
        pl_http_reply_error(req, 400, "bad_request", "member_ids must be an array of at "
                                                     "most 256 user ids");
        return -EINVAL;
    }
    for (size_t i = 0; i < ids->u.array.len; i++) {
        yajl_val v = ids->u.array.values[i];
        int dup = 0;
        if (!YAJL_IS_STRING(v) || !pl_id_valid(v->u.string)) {
            pl_http_reply_error(req, 400, "bad_request", "member_ids holds a malformed id");
            return -EINVAL;
        }
        for (size_t j = 0; j < s->n && !dup; j++)
            dup = strcmp(s->members[j], v->u.string) == 0;
        if (!dup)
            memcpy(s->members[s->n++], v->u.string, PL_ID_LEN);
    }
    return 0;
}

static int create_parse(pl_http_req *req, yajl_val body, create_state *s)
{
    const char *kind = pl_json_str(body, "kind");
    const char *title = pl_json_str(body, "title");

    memcpy(s->members[0], pl_http_claims(req)->sub, PL_ID_LEN);
    s->n = 1;
    if (!kind || (strcmp(kind, "direct") && strcmp(kind, "group"))) {
        pl_http_reply_error(req, 400, "bad_request", "kind must be \"direct\" or \"group\"");
        return -EINVAL;
    }
    snprintf(s->kind, sizeof(s->kind), "%s", kind);
    if (create_members(req, pl_json_get(body, "member_ids"), s) != 0)
        return -EINVAL;
    if (strcmp(kind, "direct") == 0) {
        if (s->n != 2) {
            pl_http_reply_error(req, 400, "bad_request",
                                "a direct conversation has exactly one other member");
            return -EINVAL;
        }
        /* One direct conversation per pair, whoever starts it. */
        int lo = strcmp(s->members[0], s->members[1]) > 0;
        const char *parts[] = {s->members[lo], s->members[!lo]};
        pl_id_derive(s->id, "parley.direct", parts, 2);
        return 0;
    }
    if (!title || !pl_utf8_has_text(title) || !pl_utf8_printable(title) ||
        pl_utf8_len(title) > TITLE_MAX_CHARS) {
        pl_http_reply_error(req, 400, "bad_request",
                            "a group needs a title of 1-128 printable characters");
        return -EINVAL;
    }
    s->title = strdup(title);
    pl_id_random(s->id);
    if (!s->title) {
        pl_http_reply_internal(req, -ENOMEM);
        return -ENOMEM;
    }
    return 0;
}

/* 0 when every other member is a registered user. */
static int create_users_exist(PGconn *pg, const create_state *s)
{
    char arr[(MEMBERS_MAX + 1) * PL_ID_LEN + 4] = "{";
    char want[16];
    const char *p[2] = {arr, want};
    PGresult *res = NULL;
    int r;

    for (size_t i = 1; i < s->n; i++) {
        strcat(arr, s->members[i]);
        strcat(arr, i + 1 < s->n ? "," : "");
    }
    strcat(arr, "}");
    snprintf(want, sizeof(want), "%zu", s->n - 1);
    r = pl_pg_exec(pg, &res, NULL, 0,
                   "SELECT 1 WHERE (SELECT count(*) FROM auth.users"
                   "                WHERE id = ANY($1::uuid[])) = $2::bigint",
                   2, p);
    if (r == 0 && PQntuples(res) != 1)
        r = -ENOENT;
    PQclear(res);
    return r;
}

/* Replies and returns nonzero when nothing should be produced: bad members,
 * or a direct conversation that already exists (200 with it). */
static int create_check(command *cmd, pl_http_req *req, create_state *s)
{
    PGconn *pg = command_pg(cmd, req);
    pl_jw w;
    int r;

    if (!pg)
        return -EIO;
    r = create_users_exist(pg, s);
    if (r == -ENOENT)
        pl_http_reply_error(req, 400, "bad_request", "member_ids names an unknown user");
    if (r == 0 && strcmp(s->kind, "direct") == 0 && pl_jw_init(&w) == 0) {
        pl_jw_obj(&w);
        pl_jw_key(&w, "conversation");
        int e = pl_history_conversation_write(pg, s->id, &w);
        pl_jw_end_obj(&w);
        if (e == 0) {
            pl_http_reply_jw(req, 200, &w);
            r = 1;
        } else {
            pl_jw_free(&w);
        }
    }
    pl_pg_release(cmd->pool, pg);
    if (r < 0 && r != -ENOENT)
        pl_http_reply_error(req, 503, "unavailable", "database unavailable; retry");
    return r;
}

static int create_event(const create_state *s, char **ev, size_t *len)
{
    pl_jw w;
    int r = pl_event_begin(&w, "conversation.created", NULL, s->members[0], s->id, s->ts_ms);
    if (r)
        return r;
    pl_jw_kstr(&w, "kind", s->kind);
    pl_jw_kstr(&w, "title", s->title);
    pl_jw_key(&w, "members");
    pl_jw_arr(&w);
    for (size_t i = 0; i < s->n; i++) {
        pl_jw_obj(&w);
        pl_jw_kstr(&w, "user_id", s->members[i]);
        pl_jw_kstr(&w, "role", i ? "member" : "owner");
        pl_jw_end_obj(&w);
    }
    pl_jw_end_arr(&w);
    return pl_event_end(&w, ev, len);
}

void command_create_conversation(pl_http_req *req, void *ctx)
{
    command *cmd = ctx;
    yajl_val body = NULL;
    create_state *s = NULL;
    command_op *op = NULL;
    char *ev = NULL;
    size_t len;

    if (pl_http_body_json(req, &body) != 0)
        return;
    s = calloc(1, sizeof(*s));
    op = calloc(1, sizeof(*op));
    if (!s || !op) {
        pl_http_reply_internal(req, -ENOMEM);
        goto out;
    }
    if (create_parse(req, body, s) != 0 || !command_rate_ok(cmd, req) ||
        create_check(cmd, req, s) != 0)
        goto out;
    s->ts_ms = pl_time_real_ms();
    if (create_event(s, &ev, &len) != 0) {
        pl_http_reply_internal(req, -ENOMEM);
        goto out;
    }
    *op = (command_op){.cmd = cmd, .req = req, .done = create_done, .data = s};
    command_produce(op, s->id, ev, len);
    op = NULL;
    s = NULL;
out:
    free(ev);
    free(op);
    create_free(s);
    yajl_tree_free(body);
}
