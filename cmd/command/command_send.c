/* POST /api/v1/conversations/{id}/messages {client_msg_id, text, reply_to?} */
#include "command.h"
#include "command_message.h"
#include "command_attach.h"
#include "pl_event.h"
#include "pl_history.h"
#include "pl_num.h"
#include "pl_time.h"
#include "pl_utf8.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CLIENT_ID_MAX 64

typedef struct send_state {
    char message_id[PL_ID_LEN];
    const char *conv, *cmid, *text, *reply_to; /* borrowed from the request */
    command_attach *att;                       /* borrowed from the request */
    char *ev;                                  /* the event, once built */
    size_t len;
} send_state;

static void send_reply(pl_http_req *req, const char *message_id, pl_pos pos)
{
    char p[PL_POS_LEN];
    pl_jw w;

    pl_pos_format(p, pos);
    if (pl_jw_init(&w) != 0) {
        pl_http_reply_internal(req, -ENOMEM);
        return;
    }
    pl_jw_obj(&w);
    pl_jw_kstr(&w, "message_id", message_id);
    pl_jw_kstr(&w, "position", p);
    pl_jw_end_obj(&w);
    pl_http_reply_jw(req, 202, &w);
}

static void send_done(command_op *op, int err, pl_pos pos)
{
    send_state *s = op->data;
    if (err)
        pl_http_reply_error(op->req, 503, "unavailable",
                            "the message was not accepted; retry with the same client_msg_id");
    else
        send_reply(op->req, s->message_id, pos);
    free(s);
    free(op);
}

static int valid_client_id(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > CLIENT_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x21 || s[i] > 0x7e)
            return 0;
    return 1;
}

/* 1 and *pos if the statement found the message's (partition, offset),
 * 0 if not. */
static int send_found(int r, PGresult *res, pl_pos *pos)
{
    long long part, off;

    if (r || PQntuples(res) != 1 ||
        pl_num_parse_ll(PQgetvalue(res, 0, 0), 0, INT32_MAX, &part) != 0 ||
        pl_num_parse_ll(PQgetvalue(res, 0, 1), 0, INT64_MAX, &off) != 0)
        return 0;
    pos->partition = (int32_t)part;
    pos->offset = off;
    return 1;
}

/* 1 and *pos if this sender already sent client_msg_id here, hot or since
 * moved into the archive; 0 if not, -EIO on a database error. Before the
 * archiver first ran its tables do not exist: nothing is archived. */
static int send_existing(PGconn *pg, const char *conv, const char *message_id, pl_pos *pos)
{
    const char *p[2] = {conv, message_id};
    PGresult *res = NULL;
    int r = pl_pg_exec(pg, &res, NULL, 0,
                       "SELECT partition, \"offset\" FROM history.messages"
                       " WHERE id = $2 AND conversation_id = $1", 2, p);
    int found = send_found(r, res, pos);

    PQclear(res);
    res = NULL;
    if (r || found)
        return r ? -EIO : 1;
    r = pl_pg_exec(pg, &res, NULL, 0,
                   "SELECT s.partition, a.\"offset\" FROM archive.search a"
                   " JOIN archive.snapshots s ON s.id = a.snapshot_id"
                   " WHERE a.message_id = $2 AND a.conversation_id = $1", 2, p);
    found = send_found(r, res, pos);
    if (r && strcmp(pl_pg_sqlstate(res), "42P01") == 0) /* undefined_table */
        r = 0;
    PQclear(res);
    return r ? -EIO : found;
}

static int send_event(pl_http_req *req, PGconn *pg, send_state *s)
{
    /* A retry of the same request is the same event: the pushers drop the
     * second one by its id, so a retry after a timeout is not pushed twice. */
    const char *parts[] = {s->message_id, s->text, s->reply_to ? s->reply_to : ""};
    char event_id[PL_ID_LEN];
    pl_jw w;
    int r;

    pl_id_derive(event_id, "parley.message.created", parts, 3);
    r = pl_event_begin(&w, "message.created", event_id, pl_http_claims(req)->sub, s->conv,
                       pl_time_real_ms());
    if (r)
        return r;
    pl_jw_kstr(&w, "message_id", s->message_id);
    pl_jw_kstr(&w, "client_msg_id", s->cmid);
    pl_jw_kstr(&w, "text", s->text);
    if (s->reply_to)
        pl_jw_kstr(&w, "reply_to", s->reply_to);
    command_attach_write(&w, s->att);
    r = command_mentions_write(pg, s->conv, s->text, &w);
    if (r) {
        pl_jw_free(&w);
        return r;
    }
    return pl_event_end(&w, &s->ev, &s->len);
}

/* Checks the write against the projection and builds its event into s.
 * Replies and returns nonzero when the write may not go ahead. */
static int send_authorise(command *cmd, pl_http_req *req, send_state *s)
{
    const char *user = pl_http_claims(req)->sub;
    PGconn *pg = command_pg(cmd, req);
    pl_pos pos;
    int r;

    if (!pg)
        return -EIO;
    r = pl_history_is_member(pg, s->conv, user);
    if (r == 1)
        r = send_existing(pg, s->conv, s->message_id, &pos);
    else if (r == 0)
        r = -ENOENT;
    /* reply_to is not checked here: the message it names may be delivered
     * but not yet projected. The projector keeps it only if it names an
     * earlier message of this conversation, in stream order. */
    if (r == 0)
        r = send_event(req, pg, s) ? -EIO : 0;
    pl_pg_release(cmd->pool, pg);
    if (r == 0)
        return 0;
    if (r == 1) /* a retry: same id, same position, stored once */
        send_reply(req, s->message_id, pos);
    else if (r == -ENOENT)
        pl_http_reply_error(req, 404, "not_found", "no such conversation");
    else
        pl_http_reply_error(req, 503, "unavailable", "database unavailable; retry");
    return -EPERM;
}

static int send_validate(pl_http_req *req, yajl_val body, send_state *s)
{
    yajl_val reply = pl_json_get(body, "reply_to");

    s->cmid = pl_json_str(body, "client_msg_id");
    s->text = pl_json_str(body, "text");
    if (!valid_client_id(s->cmid)) {
        pl_http_reply_error(req, 400, "bad_request",
                            "client_msg_id must be 1-64 printable ASCII characters");
        return -EINVAL;
    }
    if (!s->text && command_attach_present(body))
        s->text = ""; /* attachments alone make a message */
    if ((!command_attach_present(body) || pl_utf8_has_text(s->text)) &&
        command_text_ok(req, s->text) != 0)
        return -EINVAL;
    if (command_attach_parse(req, body, s->att) != 0)
        return -EINVAL;
    if (reply && !YAJL_IS_NULL(reply)) {
        s->reply_to = YAJL_IS_STRING(reply) ? reply->u.string : NULL;
        if (!pl_id_valid(s->reply_to)) {
            pl_http_reply_error(req, 400, "bad_request", "reply_to must be a message id");
            return -EINVAL;
        }
    }
    return 0;
}

void command_send_message(pl_http_req *req, void *ctx)
{
    command *cmd = ctx;
    const char *conv = pl_http_param(req, "id");
    yajl_val body = NULL;
    command_op *op = NULL;
    send_state *s = NULL;
    command_attach att = {0};

    if (!pl_id_valid(conv)) {
        pl_http_reply_error(req, 404, "not_found", "no such conversation");
        return;
    }
    if (pl_http_body_json(req, &body) != 0)
        return;
    op = calloc(1, sizeof(*op));
    s = calloc(1, sizeof(*s));
    if (!op || !s) {
        pl_http_reply_internal(req, -ENOMEM);
        goto out;
    }
    s->conv = conv;
    s->att = &att;
    if (send_validate(req, body, s) != 0 || !command_rate_ok(cmd, req))
        goto out;
    /* The id is derived from what identifies the intent, so a retry after a
     * timeout names the same message and the projection stores it once. */
    const char *parts[] = {conv, pl_http_claims(req)->sub, s->cmid};
    pl_id_derive(s->message_id, "parley.message", parts, 3);
    if (command_attach_check(cmd, req, &att) != 0 || send_authorise(cmd, req, s) != 0)
        goto out;
    s->att = NULL; /* written into the event; att dies with this call */
    char *ev = s->ev;
    size_t len = s->len;
    s->ev = NULL;
    *op = (command_op){.cmd = cmd, .req = req, .done = send_done, .data = s};
    command_produce(op, conv, ev, len);
    free(ev);
    op = NULL;
    s = NULL;
out:
    command_attach_free(&att);
    if (s)
        free(s->ev);
    free(op);
    free(s);
    yajl_tree_free(body);
}
