/* Conversation objects as every API shows them. */
#include "pl_history.h"
#include "pl_history_internal.h"
#include "pl_num.h"
#include "pl_pg.h"
#include "pl_pos.h"
#include "pl_time.h"

#include <errno.h>
#include <stdlib.h>

static int members_write(PGconn *c, const char *id, pl_jw *w)
{
    PGresult *res = NULL;
    int r = pl_pg_exec(c, &res, NULL, 0,
                       "SELECT user_id, role FROM history.members"
                       " WHERE conversation_id=$1 ORDER BY joined_at, user_id",
                       1, &id);
    if (r == 0) {
        pl_jw_key(w, "members");
        pl_jw_arr(w);
        for (int i = 0; i < PQntuples(res); i++) {
            pl_jw_obj(w);
            pl_jw_kstr(w, "user_id", PQgetvalue(res, i, 0));
            pl_jw_kstr(w, "role", PQgetvalue(res, i, 1));
            pl_jw_end_obj(w);
        }
        pl_jw_end_arr(w);
    }
    PQclear(res);
    return r;
}

/* The core columns come first; 8.. are the last message's; the group
 * profile columns follow them (GROUP_COL), then the last message's id
 * (LAST_ID_COL). A deleted group is no more. */
#define GROUP_COL (8 + PL_HISTORY_MESSAGE_NCOLS)
#define LAST_ID_COL (GROUP_COL + 3)
static int conversation_query(PGconn *c, const char *id, PGresult **res)
{
    int r = pl_pg_exec(c, res, NULL, 0,
                       "SELECT c.id, c.kind, c.title, c.created_by,"
                       " (extract(epoch from c.created_at)*1000)::bigint,"
                       " c.partition, c.\"offset\","
                       " (extract(epoch from c.last_activity_at)*1000)::bigint, "
                       PL_HISTORY_MESSAGE_COLS
                       ", c.description, c.avatar_id, c.public, c.last_message_id"
                       " FROM history.conversations c"
                       " LEFT JOIN history.messages m ON m.id = c.last_message_id"
                       " WHERE c.id=$1 AND c.deleted_at IS NULL",
                       1, &id);
    if (r == 0 && PQntuples(*res) == 0)
        r = -ENOENT;
    return r;
}

static const char *col_or_null(const PGresult *res, int col)
{
    return PQgetisnull(res, 0, col) ? NULL : PQgetvalue(res, 0, col);
}

/* Opens the object and writes the fields every conversation shows. */
static void conversation_core(pl_jw *w, const PGresult *res)
{
    pl_jw_obj(w);
    pl_jw_kstr(w, "id", PQgetvalue(res, 0, 0));
    pl_jw_kstr(w, "kind", PQgetvalue(res, 0, 1));
    pl_jw_kstr(w, "title", col_or_null(res, 2));
    pl_jw_kstr(w, "description", col_or_null(res, GROUP_COL));
    pl_jw_kstr(w, "avatar_id", col_or_null(res, GROUP_COL + 1));
    pl_jw_key(w, "public");
    pl_jw_bool(w, PQgetvalue(res, 0, GROUP_COL + 2)[0] == 't');
    pl_jw_kstr(w, "created_by", PQgetvalue(res, 0, 3));
    pl_history_time_write(w, "created_at", res, 0, 4);
    pl_history_pos_write(w, res, 0, 5);
    pl_history_time_write(w, "last_activity_at", res, 0, 7);
}

int pl_history_conversation_summary_write(PGconn *c, const char *id, pl_jw *w)
{
    PGresult *res = NULL;
    int r = conversation_query(c, id, &res);

    if (r == 0) {
        conversation_core(w, res);
        pl_jw_end_obj(w);
    }
    PQclear(res);
    return r;
}

int pl_history_conversation_write(PGconn *c, const char *id, pl_jw *w)
{
    return pl_history_conversation_write_as(c, id, NULL, w);
}

int pl_history_conversation_write_as(PGconn *c, const char *id, const char *viewer,
                                     pl_jw *w)
{
    return pl_history_conversation_write_cold(c, id, viewer, NULL, NULL, w);
}

/* The hot row, else the archived message through cold, else null. */
static int last_message_write(PGconn *c, const PGresult *res, const char *id,
                              const char *viewer, pl_history_cold_fn cold, void *cold_arg,
                              pl_jw *w)
{
    int r = -ENOENT;

    pl_jw_key(w, "last_message");
    if (!PQgetisnull(res, 0, 8)) {
        pl_history_message_write(w, res, 0, 8);
        return 0;
    }
    if (cold && !PQgetisnull(res, 0, LAST_ID_COL))
        r = cold(cold_arg, c, w, id, PQgetvalue(res, 0, LAST_ID_COL), viewer);
    if (r == -ENOENT)
        pl_jw_null(w);
    return r == -ENOENT ? 0 : r;
}

int pl_history_conversation_write_cold(PGconn *c, const char *id, const char *viewer,
                                       pl_history_cold_fn cold, void *cold_arg, pl_jw *w)
{
    PGresult *res = NULL;
    int r = conversation_query(c, id, &res);
    if (r)
        goto out;
    conversation_core(w, res);
    r = members_write(c, id, w);
    if (!r)
        r = last_message_write(c, res, id, viewer, cold, cold_arg, w);
    if (!r && viewer)
        r = pl_history_viewer_write(c, id, viewer, w);
    pl_jw_end_obj(w);
out:
    PQclear(res);
    return r;
}
