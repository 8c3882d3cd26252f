/* PATCH|DELETE /api/v1/conversations/{id}/messages/{mid}
 * PUT|DELETE   /api/v1/conversations/{id}/messages/{mid}/reactions/{emoji}
 * Each answers 202 {position} once Kafka has the event, or 200
 * {"position":null} when the projection shows there is nothing to change. */
#include "command_message.h"
#include "pl_event.h"
#include "pl_time.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void noop_reply(pl_http_req *req)
{
    pl_jw w;
    if (pl_jw_init(&w) != 0) {
        pl_http_reply_internal(req, -ENOMEM);
        return;
    }
    pl_jw_obj(&w);
    pl_jw_key(&w, "position");
    pl_jw_null(&w);
    pl_jw_end_obj(&w);
    pl_http_reply_jw(req, 200, &w);
}

/* Event with data {message_id, <key>: <ISO time of the event>, ...}; the
 * caller adds fields and ends it. */
static int event_begin(pl_jw *w, pl_http_req *req, const char *type, const char *conv,
                       const char *mid, const char *time_key)
{
    int64_t now = pl_time_real_ms();
    char iso[PL_TIME_ISO_LEN];
    int r = pl_event_begin(w, type, NULL, pl_http_claims(req)->sub, conv, now);

    if (r == 0) {
        pl_jw_kstr(w, "message_id", mid);
        if (time_key) {
            pl_time_iso(iso, now);
            pl_jw_kstr(w, time_key, iso);
        }
    }
    return r;
}

/* data: {message_id, text, edited_at, mentions:[user ids]} */
static int edit_event(command *cmd, pl_http_req *req, const char *conv, const char *mid,
                      const char *text, char **ev, size_t *len)
{
    PGconn *pg;
    pl_jw w;
    int r;

    if (!(pg = command_pg(cmd, req)))
        return -EIO;
    r = event_begin(&w, req, "message.edited", conv, mid, "edited_at");
    if (r == 0) {
        pl_jw_kstr(&w, "text", text);
        r = command_mentions_write(pg, conv, text, &w);
        if (r == 0)
            r = pl_event_end(&w, ev, len);
        else
            pl_jw_free(&w);
    }
    pl_pg_release(cmd->pool, pg);
    if (r)
        pl_http_reply_error(req, 503, "unavailable", "database unavailable; retry");
    return r;
}

void command_edit_message(pl_http_req *req, void *ctx)
{
    command *cmd = ctx;
    const char *conv = pl_http_param(req, "id"), *mid = pl_http_param(req, "mid");
    yajl_val body = NULL;
    command_msg m;
    char *ev = NULL;
    size_t len;

    if (command_msg_load(cmd, req, conv, mid, NULL, &m) != 0)
        return;
    if (m.deleted) {
        pl_http_reply_error(req, 404, "not_found", "no such message");
        return;
    }
    if (strcmp(m.sender, pl_http_claims(req)->sub) != 0) {
        pl_http_reply_error(req, 403, "forbidden", "only the sender may edit a message");
        return;
    }
    if (pl_http_body_json(req, &body) != 0)
        return;
    if (command_text_ok(req, pl_json_str(body, "text")) == 0 && command_rate_ok(cmd, req) &&
        edit_event(cmd, req, conv, mid, pl_json_str(body, "text"), &ev, &len) == 0)
        command_produce_position(cmd, req, conv, ev, len);
    yajl_tree_free(body);
}

void command_delete_message(pl_http_req *req, void *ctx)
{
    command *cmd = ctx;
    const char *conv = pl_http_param(req, "id"), *mid = pl_http_param(req, "mid");
    command_msg m;
    char *ev = NULL;
    size_t len;
    pl_jw w;

    if (command_msg_load(cmd, req, conv, mid, NULL, &m) != 0)
        return;
    if (m.deleted) {
        noop_reply(req);
        return;
    }
    /* In a group an owner or admin moderates; in a direct chat only the
     * sender takes a message back. */
    if (strcmp(m.sender, pl_http_claims(req)->sub) != 0 &&
        !(m.group && (strcmp(m.role, "owner") == 0 || strcmp(m.role, "admin") == 0))) {
        pl_http_reply_error(req, 403, "forbidden",
                            "only the sender or a group owner or admin may delete a message");
        return;
    }
    if (!command_rate_ok(cmd, req))
        return;
    if (event_begin(&w, req, "message.deleted", conv, mid, "deleted_at") != 0 ||
        pl_event_end(&w, &ev, &len) != 0) {
        pl_http_reply_internal(req, -ENOMEM);
        return;
    }
    command_produce_position(cmd, req, conv, ev, len);
}

static void reaction(pl_http_req *req, command *cmd, int add)
{
    const char *conv = pl_http_param(req, "id"), *mid = pl_http_param(req, "mid");
    const char *emoji = pl_http_param(req, "emoji");
    command_msg m;
    char *ev = NULL;
    size_t len;
    pl_jw w;

    if (!pl_text_emoji_ok(emoji)) {
        pl_http_reply_error(req, 400, "bad_request",
                            "emoji must be 1-16 characters without spaces or control characters");
        return;
    }
    if (command_msg_load(cmd, req, conv, mid, emoji, &m) != 0)
        return;
    if (m.deleted) {
        pl_http_reply_error(req, 404, "not_found", "no such message");
        return;
    }
    /* One of each emoji per user: a repeat changes nothing, so nothing is
     * produced and no duplicate frame reaches the members. */
    if (m.reacted == add) {
        noop_reply(req);
        return;
    }
    if (add && m.reactions >= PL_TEXT_REACTIONS_MAX) {
        pl_http_reply_error(req, 409, "too_many_reactions",
                            "at most 20 different reactions per user on a message");
        return;
    }
    if (!command_rate_ok(cmd, req))
        return;
    if (event_begin(&w, req, add ? "reaction.added" : "reaction.removed", conv, mid, NULL) ||
        (pl_jw_kstr(&w, "emoji", emoji), pl_event_end(&w, &ev, &len)) != 0) {
        pl_http_reply_internal(req, -ENOMEM);
        return;
    }
    command_produce_position(cmd, req, conv, ev, len);
}

void command_add_reaction(pl_http_req *req, void *ctx)
{
    reaction(req, ctx, 1);
}

void command_remove_reaction(pl_http_req *req, void *ctx)
{
    reaction(req, ctx, 0);
}
