#include "pl_history.h"
#include "pl_num.h"
#include "pl_pg.h"
#include "pl_pos.h"
#include "pl_time.h"

#include <errno.h>
#include <stdlib.h>

int pl_history_is_member(PGconn *c, const char *conversation_id, const char *user_id)
{
    const char *p[2] = {conversation_id, user_id};
    PGresult *res = NULL;
    int r;

    r = pl_pg_exec(c, &res, NULL, 0,
                   "SELECT 1 FROM history.members WHERE conversation_id=$1 AND user_id=$2",
                   2, p);
    if (r == 0)
        r = PQntuples(res) > 0;
    PQclear(res);
    return r;
}

static long long col_ll(const PGresult *res, int row, int col)
{
    long long v = 0;
    pl_num_parse_ll(PQgetvalue(res, row, col), INT64_MIN, INT64_MAX, &v);
    return v;
}

static void pos_write(pl_jw *w, const PGresult *res, int row, int col)
{
    char pos[PL_POS_LEN];
    pl_pos p = {.partition = (int32_t)col_ll(res, row, col),
                .offset = col_ll(res, row, col + 1)};
    pl_pos_format(pos, p);
    pl_jw_kstr(w, "position", pos);
}

static void time_write(pl_jw *w, const char *key, const PGresult *res, int row, int col)
{
    char iso[PL_TIME_ISO_LEN];
    pl_time_iso(iso, col_ll(res, row, col));
    pl_jw_kstr(w, key, iso);
}

void pl_history_message_write(pl_jw *w, const PGresult *res, int row, int col0)
{
    pl_jw_obj(w);
    pl_jw_kstr(w, "id", PQgetvalue(res, row, col0));
    pl_jw_kstr(w, "conversation_id", PQgetvalue(res, row, col0 + 1));
    pl_jw_kstr(w, "client_msg_id", PQgetvalue(res, row, col0 + 2));
    pl_jw_kstr(w, "sender_id", PQgetvalue(res, row, col0 + 3));
    pl_jw_kstr(w, "text", PQgetvalue(res, row, col0 + 4));
    time_write(w, "created_at", res, row, col0 + 5);
    pos_write(w, res, row, col0 + 6);
    pl_jw_end_obj(w);
}

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

int pl_history_conversation_write(PGconn *c, const char *id, pl_jw *w)
{
    PGresult *res = NULL;
    int r = pl_pg_exec(c, &res, NULL, 0,
                       "SELECT c.id, c.kind, c.title, c.created_by,"
                       " (extract(epoch from c.created_at)*1000)::bigint,"
                       " c.partition, c.\"offset\","
                       " (extract(epoch from c.last_activity_at)*1000)::bigint, "
                       PL_HISTORY_MESSAGE_COLS
                       " FROM history.conversations c"
                       " LEFT JOIN history.messages m ON m.id = c.last_message_id"
                       " WHERE c.id=$1",
                       1, &id);
    if (r)
        goto out;
    if (PQntuples(res) == 0) {
        r = -ENOENT;
        goto out;
    }
    pl_jw_obj(w);
    pl_jw_kstr(w, "id", PQgetvalue(res, 0, 0));
    pl_jw_kstr(w, "kind", PQgetvalue(res, 0, 1));
    pl_jw_kstr(w, "title", PQgetisnull(res, 0, 2) ? NULL : PQgetvalue(res, 0, 2));
    pl_jw_kstr(w, "created_by", PQgetvalue(res, 0, 3));
    time_write(w, "created_at", res, 0, 4);
    pos_write(w, res, 0, 5);
    time_write(w, "last_activity_at", res, 0, 7);
    r = members_write(c, id, w);
    pl_jw_key(w, "last_message");
    if (PQgetisnull(res, 0, 8))
        pl_jw_null(w);
    else
        pl_history_message_write(w, res, 0, 8);
    pl_jw_end_obj(w);
out:
    PQclear(res);
    return r;
}
