/* read.updated: a member's read marker, which only moves forward. */
#include "projector_events.h"
#include "pl_num.h"
#include "pl_pg.h"
#include "pl_pos.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Only a member at this point of the stream moves a marker, and GREATEST
 * keeps replays and late duplicates from moving it back. */
static const char read_sql[] =
    "INSERT INTO read_markers (conversation_id, user_id, \"offset\", updated_at)"
    " SELECT $1, $2, $3, to_timestamp($4::double precision / 1000)"
    " WHERE EXISTS (SELECT 1 FROM members"
    "  WHERE conversation_id = $1 AND user_id = $2)"
    " ON CONFLICT (conversation_id, user_id) DO UPDATE"
    " SET \"offset\" = greatest(read_markers.\"offset\", EXCLUDED.\"offset\"),"
    " updated_at = EXCLUDED.updated_at";

int apply_read_updated(apply_ctx *a)
{
    const pl_event *ev = a->ev;
    const char *pos = pl_json_str(ev->data, "last_read_position");
    const char *user = pl_json_str(ev->data, "user_id");
    long long part = -1, off = -1;
    char offset[24];
    PGresult *res = NULL;
    pl_pos p;
    int r;

    pl_num_parse_ll(a->partition, 0, INT32_MAX, &part);
    pl_num_parse_ll(a->offset, 0, INT64_MAX, &off);
    /* A marker names an earlier event of this conversation: its partition,
     * below this event's own offset. That bounds it by what the reader can
     * have seen, so a made-up huge position cannot silence the counts. */
    if (!pos || pl_pos_parse(pos, &p) != 0 || p.partition != part || p.offset >= off ||
        !user || strcmp(user, ev->actor) != 0) {
        snprintf(a->err, a->errlen, "read.updated has a bad last_read_position or user_id");
        return -EINVAL;
    }
    snprintf(offset, sizeof(offset), "%" PRId64, p.offset);
    const char *params[4] = {ev->conversation_id, ev->actor, offset, a->ts};
    r = pl_pg_exec(a->pg, &res, NULL, 0, read_sql, 4, params);
    return apply_result(a, res, r);
}
