/* Shared checks of the message writes. */
#include "command_message.h"
#include "pl_buf.h"
#include "pl_num.h"
#include "pl_utf8.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int command_text_ok(pl_http_req *req, const char *text)
{
    if (!text || !pl_utf8_has_text(text)) {
        pl_http_reply_error(req, 400, "bad_request", "text must be a non-empty string");
        return -EINVAL;
    }
    if (pl_utf8_len(text) > COMMAND_TEXT_MAX_CHARS) {
        pl_http_reply_error(req, 413, "too_large", "text is longer than 4096 characters");
        return -EINVAL;
    }
    return 0;
}

static int msg_query(PGconn *pg, const char *conv, const char *mid, const char *user,
                     const char *emoji, PGresult **res)
{
    const char *p[4] = {conv, mid, user, emoji ? emoji : ""};
    return pl_pg_exec(pg, res, NULL, 0,
        "SELECT m.sender_id, m.deleted_at IS NOT NULL, mb.role, c.kind = 'group',"
        " (SELECT count(*) FROM history.reactions r"
        "  WHERE r.message_id = m.id AND r.user_id = $3),"
        " EXISTS (SELECT 1 FROM history.reactions r"
        "  WHERE r.message_id = m.id AND r.user_id = $3 AND r.emoji = $4)"
        " FROM history.members mb"
        " JOIN history.conversations c ON c.id = mb.conversation_id"
        " LEFT JOIN history.messages m ON m.id = $2 AND m.conversation_id = mb.conversation_id"
        " WHERE mb.conversation_id = $1 AND mb.user_id = $3",
        4, p);
}

/* 1 if mid is a message of conv that retention moved into the archive
 * (final: it can no longer be edited, deleted or reacted to), else 0.
 * Before the archiver first ran the table does not exist: not archived. */
static int msg_archived(PGconn *pg, const char *conv, const char *mid)
{
    const char *p[2] = {conv, mid};
    PGresult *res = NULL;
    int r = pl_pg_exec(pg, &res, NULL, 0,
                       "SELECT 1 FROM archive.search WHERE message_id = $2"
                       " AND conversation_id = $1",
                       2, p);
    r = r == 0 && PQntuples(res) == 1;
    PQclear(res);
    return r;
}

int command_msg_load(command *cmd, pl_http_req *req, const char *conv, const char *mid,
                     const char *emoji, command_msg *out)
{
    PGconn *pg;
    PGresult *res = NULL;
    int r, archived;

    if (!pl_id_valid(conv)) {
        pl_http_reply_error(req, 404, "not_found", "no such conversation");
        return -ENOENT;
    }
    if (!pl_id_valid(mid)) {
        pl_http_reply_error(req, 404, "not_found", "no such message");
        return -ENOENT;
    }
    if (!(pg = command_pg(cmd, req)))
        return -EIO;
    r = msg_query(pg, conv, mid, pl_http_claims(req)->sub, emoji, &res);
    archived = r == 0 && PQntuples(res) == 1 && PQgetisnull(res, 0, 0) &&
               msg_archived(pg, conv, mid);
    pl_pg_release(cmd->pool, pg);
    if (r) {
        pl_http_reply_error(req, 503, "unavailable", "database unavailable; retry");
    } else if (PQntuples(res) != 1) {
        pl_http_reply_error(req, 404, "not_found", "no such conversation");
        r = -ENOENT;
    } else if (archived) {
        pl_http_reply_error(req, 409, "archived",
                            "the message is archived and can no longer change");
        r = -EPERM;
    } else if (PQgetisnull(res, 0, 0)) {
        pl_http_reply_error(req, 404, "not_found", "no such message");
        r = -ENOENT;
    } else {
        memset(out, 0, sizeof(*out));
        snprintf(out->sender, sizeof(out->sender), "%s", PQgetvalue(res, 0, 0));
        out->deleted = PQgetvalue(res, 0, 1)[0] == 't';
        snprintf(out->role, sizeof(out->role), "%s", PQgetvalue(res, 0, 2));
        out->group = PQgetvalue(res, 0, 3)[0] == 't';
        pl_num_parse_ll(PQgetvalue(res, 0, 4), 0, INT64_MAX, &out->reactions);
        out->reacted = PQgetvalue(res, 0, 5)[0] == 't';
    }
    PQclear(res);
    return r;
}

/* {"alice","bob"}: names hold only [a-z0-9_.], nothing to escape. */
static int names_literal(const char *text, pl_buf *b)
{
    char names[PL_TEXT_MENTIONS_MAX][PL_TEXT_NAME_MAX + 1];
    int n = pl_text_mentions(text, names, PL_TEXT_MENTIONS_MAX);
    int r = pl_buf_puts(b, "{");

    for (int i = 0; i < n && !r; i++)
        r = pl_buf_printf(b, "%s\"%s\"", i ? "," : "", names[i]);
    if (!r)
        r = pl_buf_puts(b, "}");
    return r ? -ENOMEM : n;
}

int command_mentions_write(PGconn *pg, const char *conv, const char *text, pl_jw *w)
{
    PGresult *res = NULL;
    pl_buf b;
    int r;

    pl_buf_init(&b, 4096);
    r = names_literal(text, &b);
    pl_jw_key(w, "mentions");
    pl_jw_arr(w);
    if (r > 0) {
        const char *p[2] = {conv, b.data};
        /* Only members can be mentioned: a name of an outsider is text. */
        r = pl_pg_exec(pg, &res, NULL, 0,
                       "SELECT u.id FROM auth.users u"
                       " JOIN history.members m ON m.user_id = u.id AND m.conversation_id = $1"
                       " WHERE u.username = ANY ($2::text[]) ORDER BY u.id",
                       2, p);
        for (int i = 0; r == 0 && i < PQntuples(res); i++)
            pl_jw_str(w, PQgetvalue(res, i, 0));
    }
    pl_jw_end_arr(w);
    PQclear(res);
    pl_buf_free(&b);
    return r < 0 ? -EIO : 0;
}

void command_position_done(command_op *op, int err, pl_pos pos)
{
    char p[PL_POS_LEN];
    pl_jw w;

    if (err) {
        pl_http_reply_error(op->req, 503, "unavailable", "the write was not accepted; retry");
    } else if (pl_jw_init(&w) != 0) {
        pl_http_reply_internal(op->req, -ENOMEM);
    } else {
        pl_pos_format(p, pos);
        pl_jw_obj(&w);
        pl_jw_kstr(&w, "position", p);
        pl_jw_end_obj(&w);
        pl_http_reply_jw(op->req, 202, &w);
    }
    free(op->data);
    free(op);
}

void command_produce_position(command *cmd, pl_http_req *req, const char *conv, char *ev,
                              size_t len)
{
    command_op *op = calloc(1, sizeof(*op));

    if (!op) {
        pl_http_reply_internal(req, -ENOMEM);
    } else {
        *op = (command_op){.cmd = cmd, .req = req, .done = command_position_done};
        command_produce(op, conv, ev, len);
    }
    free(ev);
}
