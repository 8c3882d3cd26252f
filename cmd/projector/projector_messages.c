/* Message events: the history rows themselves. */
#include "projector_events.h"
#include "pl_id.h"
#include "pl_pg.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int apply_message_created(apply_ctx *a)
{
    const pl_event *ev = a->ev;
    const char *mid = pl_json_str(ev->data, "message_id");
    const char *cmid = pl_json_str(ev->data, "client_msg_id");
    const char *text = pl_json_str(ev->data, "text");
    const char *p[] = {mid, ev->conversation_id, ev->actor, cmid, text, a->ts,
                       ev->id, a->partition, a->offset};
    PGresult *res = NULL;

    if (!pl_id_valid(mid) || !cmid || !text) {
        snprintf(a->err, a->errlen, "message.created lacks message_id/client_msg_id/text");
        return -EINVAL;
    }
    /* The membership test makes the projection enforce, in stream order,
     * what the command API checked before producing. */
    int r = pl_pg_exec(a->pg, &res, a->err, a->errlen,
        "WITH ins AS ("
        " INSERT INTO history.messages (id, conversation_id, sender_id, client_msg_id,"
        "  text, created_at, event_id, partition, \"offset\")"
        " SELECT $1, $2, $3, $4, $5, to_timestamp($6::bigint / 1000.0), $7, $8, $9"
        " WHERE EXISTS (SELECT 1 FROM history.members"
        "               WHERE conversation_id = $2 AND user_id = $3)"
        " ON CONFLICT (id) DO NOTHING RETURNING id, created_at)"
        " UPDATE history.conversations c"
        " SET last_message_id = ins.id, last_activity_at = ins.created_at"
        " FROM ins WHERE c.id = $2",
        9, p);
    return apply_result(a, res, r);
}

