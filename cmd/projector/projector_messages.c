/* Message events: the history rows themselves. */
#include "projector_events.h"
#include "pl_buf.h"
#include "pl_id.h"
#include "pl_pg.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define MENTIONS_MAX 50

int apply_mentions_check(apply_ctx *a, yajl_val *out)
{
    yajl_val arr = pl_json_get(a->ev->data, "mentions");
    size_t n = YAJL_IS_ARRAY(arr) ? arr->u.array.len : 0;

    *out = NULL;
    /* Absent is fine: events from before mentions existed have none. */
    if ((arr && !YAJL_IS_ARRAY(arr)) || n > MENTIONS_MAX) {
        snprintf(a->err, a->errlen, "%s has a bad mentions array", a->ev->type);
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        yajl_val v = arr->u.array.values[i];
        if (!YAJL_IS_STRING(v) || !pl_id_valid(v->u.string)) {
            snprintf(a->err, a->errlen, "%s mentions a bad user id", a->ev->type);
            return -EINVAL;
        }
    }
    *out = arr;
    return 0;
}

int apply_mentions_array(apply_ctx *a, pl_buf *out)
{
    yajl_val arr;
    int r = apply_mentions_check(a, &arr);

    if (r)
        return r;
    r = pl_buf_puts(out, "{");
    for (size_t i = 0; arr && i < arr->u.array.len && !r; i++)
        r = pl_buf_printf(out, "%s%s", i ? "," : "", arr->u.array.values[i]->u.string);
    if (!r)
        r = pl_buf_puts(out, "}");
    return r ? -ENOMEM : 0;
}

int message_created_check(apply_ctx *a, msg_created *f)
{
    const pl_event *ev = a->ev;
    yajl_val reply = pl_json_get(ev->data, "reply_to");

    *f = (msg_created){.mid = pl_json_str(ev->data, "message_id"),
                       .cmid = pl_json_str(ev->data, "client_msg_id"),
                       .text = pl_json_str(ev->data, "text"),
                       .reply_to = YAJL_IS_STRING(reply) ? reply->u.string : NULL};
    if (!pl_id_valid(f->mid) || !f->cmid || !f->text ||
        (reply && !YAJL_IS_NULL(reply) && !pl_id_valid(f->reply_to))) {
        snprintf(a->err, a->errlen,
                 "message.created lacks message_id/client_msg_id/text or has a bad reply_to");
        return -EINVAL;
    }
    if (apply_mentions_check(a, &f->mentions) != 0)
        return -EINVAL;
    return apply_attachments_check(a, &f->attachments);
}

int apply_message_created(apply_ctx *a)
{
    const pl_event *ev = a->ev;
    PGresult *res = NULL;
    msg_created f;
    pl_buf men;
    int r = message_created_check(a, &f);

    if (r)
        return r;
    pl_buf_init(&men, 4096);
    r = apply_mentions_array(a, &men);
    if (r)
        goto out;
    const char *p[] = {f.mid, ev->conversation_id, ev->actor, f.cmid, f.text, a->ts,
                       ev->id, a->partition, a->offset, f.reply_to, men.data};
    /* The membership test makes the projection enforce, in stream order,
     * what the command API checked before producing. A reply keeps its
     * target only if that is a message of the same conversation, hot or
     * archived (archive.search lists every archived message); mentions
     * are stored only with the message's first insert (a replay must not
     * undo a later edit's mentions) and only for members. */
    r = pl_pg_exec(a->pg, &res, a->err, a->errlen,
        "WITH ins AS ("
        " INSERT INTO messages (id, conversation_id, sender_id, client_msg_id,"
        "  text, created_at, event_id, partition, \"offset\", reply_to)"
        " SELECT $1, $2, $3, $4, $5, to_timestamp($6::bigint / 1000.0), $7, $8, $9,"
        "  coalesce((SELECT q.id FROM messages q"
        "            WHERE q.id = $10::uuid AND q.conversation_id = $2),"
        "   (SELECT t.message_id FROM archive.search t"
        "    WHERE t.message_id = $10::uuid AND t.conversation_id = $2))"
        " WHERE EXISTS (SELECT 1 FROM members"
        "               WHERE conversation_id = $2 AND user_id = $3)"
        " ON CONFLICT (id) DO NOTHING RETURNING id, created_at),"
        " men AS ("
        " INSERT INTO mentions (message_id, conversation_id, user_id, \"offset\")"
        " SELECT ins.id, $2, u.id, $9 FROM ins, unnest($11::uuid[]) AS u(id)"
        " WHERE EXISTS (SELECT 1 FROM members"
        "               WHERE conversation_id = $2 AND user_id = u.id)"
        " ON CONFLICT DO NOTHING)"
        " UPDATE conversations c"
        " SET last_message_id = ins.id, last_activity_at = ins.created_at"
        " FROM ins WHERE c.id = $2",
        11, p);
    r = apply_result(a, res, r);
    if (r == 0)
        r = apply_message_attachments(a, &f);
out:
    pl_buf_free(&men);
    return r;
}
