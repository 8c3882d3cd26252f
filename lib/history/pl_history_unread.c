/* The fields of a conversation that depend on who looks at it. */
#include "pl_history.h"
#include "pl_history_internal.h"
#include "pl_pg.h"
#include "pl_pos.h"

#include <errno.h>
#include <stdint.h>

/* One statement, so both counts and the marker come from one snapshot. */
static const char viewer_sql[] =
    "WITH mk AS (SELECT coalesce((SELECT r.\"offset\" FROM history.read_markers r"
    "  WHERE r.conversation_id = $1 AND r.user_id = $2), -1) AS o)"
    " SELECT mk.o, c.partition,"
    " (SELECT count(*) FROM history.messages m WHERE m.conversation_id = $1"
    "  AND m.\"offset\" > mk.o AND m.sender_id <> $2 AND m.deleted_at IS NULL),"
    " (SELECT count(*) FROM history.mentions x JOIN history.messages m ON m.id = x.message_id"
    "  WHERE x.user_id = $2 AND x.conversation_id = $1 AND x.\"offset\" > mk.o"
    "  AND m.sender_id <> $2 AND m.deleted_at IS NULL)"
    " FROM mk, history.conversations c WHERE c.id = $1";

int pl_history_viewer_write(PGconn *c, const char *conversation_id, const char *viewer,
                            pl_jw *w)
{
    const char *params[2] = {conversation_id, viewer};
    PGresult *res = NULL;
    char pos[PL_POS_LEN];
    int r = pl_pg_exec(c, &res, NULL, 0, viewer_sql, 2, params);

    if (r || PQntuples(res) != 1) {
        r = -EIO;
        goto out;
    }
    pl_jw_kint(w, "unread_count", pl_history_col_ll(res, 0, 2));
    pl_jw_kint(w, "mention_count", pl_history_col_ll(res, 0, 3));
    if (pl_history_col_ll(res, 0, 0) < 0) {
        pl_jw_kstr(w, "last_read_position", NULL);
    } else {
        pl_pos p = {.partition = (int32_t)pl_history_col_ll(res, 0, 1),
                    .offset = pl_history_col_ll(res, 0, 0)};
        pl_pos_format(pos, p);
        pl_jw_kstr(w, "last_read_position", pos);
    }
out:
    PQclear(res);
    return r;
}
