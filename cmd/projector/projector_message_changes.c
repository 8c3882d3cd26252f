/* Changes to existing messages: edits, deletion for everyone, reactions.
 * Each checks the actor's right again in stream order (the command API's
 * check is only a pre-check), and each is idempotent under replay. */
#include "projector_events.h"
#include "pl_buf.h"
#include "pl_id.h"
#include "pl_pg.h"
#include "pl_text.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *message_id(apply_ctx *a)
{
    const char *mid = pl_json_str(a->ev->data, "message_id");
    if (!pl_id_valid(mid)) {
        snprintf(a->err, a->errlen, "%s lacks a valid message_id", a->ev->type);
        return NULL;
    }
    return mid;
}

int apply_message_edited(apply_ctx *a)
{
    const pl_event *ev = a->ev;
    const char *mid = message_id(a);
    const char *text = pl_json_str(ev->data, "text");
    PGresult *res = NULL;
    pl_buf men;
    int r;

    if (!mid || !text) {
        if (mid)
            snprintf(a->err, a->errlen, "message.edited lacks text");
        return -EINVAL;
    }
    pl_buf_init(&men, 4096);
    r = apply_mentions_array(a, &men);
    if (r)
        goto out;
    const char *p[] = {mid, ev->conversation_id, ev->actor, text, a->ts, men.data};
    /* Only the sender, still a member, edits a message that still stands.
     * Mentions are replaced: the old ones that the new text lacks go, the
     * new ones come (disjoint sets, so one statement can do both). */
    r = pl_pg_exec(a->pg, &res, a->err, a->errlen,
        "WITH up AS ("
        " UPDATE messages m SET text = $4,"
        "  edited_at = to_timestamp($5::bigint / 1000.0)"
        " WHERE m.id = $1 AND m.conversation_id = $2 AND m.sender_id = $3"
        "  AND m.deleted_at IS NULL"
        "  AND EXISTS (SELECT 1 FROM members"
        "              WHERE conversation_id = $2 AND user_id = $3)"
        " RETURNING m.id, m.\"offset\"),"
        " gone AS ("
        " DELETE FROM mentions x USING up"
        " WHERE x.message_id = up.id AND x.user_id <> ALL ($6::uuid[]))"
        " INSERT INTO mentions (message_id, conversation_id, user_id, \"offset\")"
        " SELECT up.id, $2, u.id, up.\"offset\" FROM up, unnest($6::uuid[]) AS u(id)"
        " WHERE EXISTS (SELECT 1 FROM members"
        "               WHERE conversation_id = $2 AND user_id = u.id)"
        " ON CONFLICT DO NOTHING",
        6, p);
    r = apply_result(a, res, r);
out:
    pl_buf_free(&men);
    return r;
}

int apply_message_deleted(apply_ctx *a)
{
    const pl_event *ev = a->ev;
    const char *mid = message_id(a);
    PGresult *res = NULL;

    if (!mid)
        return -EINVAL;
    const char *p[] = {mid, ev->conversation_id, ev->actor, a->ts};
    /* The sender may delete; so may a group's owner or admin. The
     * tombstone keeps the row (replies still point at it) but not the
     * text, reactions or mentions. */
    int r = pl_pg_exec(a->pg, &res, a->err, a->errlen,
        "WITH up AS ("
        " UPDATE messages m SET text = '',"
        "  deleted_at = to_timestamp($4::bigint / 1000.0)"
        " WHERE m.id = $1 AND m.conversation_id = $2 AND m.deleted_at IS NULL"
        "  AND EXISTS (SELECT 1 FROM members mb"
        "   JOIN conversations c ON c.id = mb.conversation_id"
        "   WHERE mb.conversation_id = $2 AND mb.user_id = $3"
        "   AND (m.sender_id = $3 OR (c.kind = 'group' AND mb.role IN ('owner','admin'))))"
        " RETURNING m.id),"
        " r AS (DELETE FROM reactions x USING up WHERE x.message_id = up.id)"
        " DELETE FROM mentions x USING up WHERE x.message_id = up.id",
        4, p);
    return apply_result(a, res, r);
}

static const char *reaction_emoji(apply_ctx *a)
{
    const char *e = pl_json_str(a->ev->data, "emoji");
    if (!pl_text_emoji_ok(e)) {
        snprintf(a->err, a->errlen, "%s has a bad emoji", a->ev->type);
        return NULL;
    }
    return e;
}

int apply_reaction_added(apply_ctx *a)
{
    const pl_event *ev = a->ev;
    const char *mid = message_id(a);
    const char *emoji = mid ? reaction_emoji(a) : NULL;
    PGresult *res = NULL;

    if (!emoji)
        return -EINVAL;
    const char *p[] = {mid, ev->conversation_id, ev->actor, emoji, a->offset};
    int r = pl_pg_exec(a->pg, &res, a->err, a->errlen,
        "INSERT INTO reactions (message_id, user_id, emoji, \"offset\")"
        " SELECT m.id, $3, $4, $5 FROM messages m"
        " WHERE m.id = $1 AND m.conversation_id = $2 AND m.deleted_at IS NULL"
        " AND EXISTS (SELECT 1 FROM members"
        "             WHERE conversation_id = $2 AND user_id = $3)"
        " AND (SELECT count(*) FROM reactions x"
        "      WHERE x.message_id = m.id AND x.user_id = $3) < "
        PL_TEXT_REACTIONS_MAX_SQL
        " ON CONFLICT DO NOTHING",
        5, p);
    return apply_result(a, res, r);
}

int apply_reaction_removed(apply_ctx *a)
{
    const pl_event *ev = a->ev;
    const char *mid = message_id(a);
    const char *emoji = mid ? reaction_emoji(a) : NULL;
    PGresult *res = NULL;

    if (!emoji)
        return -EINVAL;
    const char *p[] = {mid, ev->conversation_id, ev->actor, emoji};
    int r = pl_pg_exec(a->pg, &res, a->err, a->errlen,
        "DELETE FROM reactions x USING messages m"
        " WHERE x.message_id = $1 AND x.user_id = $3 AND x.emoji = $4"
        " AND m.id = x.message_id AND m.conversation_id = $2"
        " AND EXISTS (SELECT 1 FROM members"
        "             WHERE conversation_id = $2 AND user_id = $3)",
        4, p);
    return apply_result(a, res, r);
}
