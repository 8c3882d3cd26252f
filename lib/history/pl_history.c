#include "pl_history.h"
#include "pl_history_internal.h"
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

long long pl_history_col_ll(const PGresult *res, int row, int col)
{
    long long v = 0;
    pl_num_parse_ll(PQgetvalue(res, row, col), INT64_MIN, INT64_MAX, &v);
    return v;
}

void pl_history_pos_write(pl_jw *w, const PGresult *res, int row, int col)
{
    char pos[PL_POS_LEN];
    pl_pos p = {.partition = (int32_t)pl_history_col_ll(res, row, col),
                .offset = pl_history_col_ll(res, row, col + 1)};
    pl_pos_format(pos, p);
    pl_jw_kstr(w, "position", pos);
}

void pl_history_time_write(pl_jw *w, const char *key, const PGresult *res, int row, int col)
{
    char iso[PL_TIME_ISO_LEN];
    pl_time_iso(iso, pl_history_col_ll(res, row, col));
    pl_jw_kstr(w, key, iso);
}

