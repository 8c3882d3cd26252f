/* GET /api/v1/conversations/{id}/messages?before=&after=&around=&limit=&min_position=
 * Pages by position, oldest first. Inside a conversation every event sits
 * on one partition, so offsets order them. around=<message id> gives
 * limit/2 messages before it, it, and the rest after it. */
#include "read.h"
#include "pl_history.h"
#include "pl_num.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_DEFAULT 50
#define PAGE_MAX 200

/* The conversation's partition if user is a member: 0, -ENOENT, -EIO. */
static int member_partition(PGconn *pg, const read_query *q, int32_t *partition)
{
    const char *p[2] = {q->conv, q->user};
    PGresult *res = NULL;
    long long part;
    int r = pl_pg_exec(pg, &res, NULL, 0,
                       "SELECT c.partition FROM history.conversations c"
                       " JOIN history.members m ON m.conversation_id = c.id"
                       " WHERE c.id = $1 AND m.user_id = $2",
                       2, p);
    if (r == 0 && (PQntuples(res) != 1 ||
                   pl_num_parse_ll(PQgetvalue(res, 0, 0), 0, INT32_MAX, &part) != 0))
        r = -ENOENT;
    if (r == 0)
        *partition = (int32_t)part;
    PQclear(res);
    return r;
}

/* Newest-first when paging back (before, or the latest page), else
 * oldest-first; rows come one past the limit to tell if there is more. */
static int page_fetch(PGconn *pg, const read_query *q, PGresult **res)
{
    char before[24], after[24], limit[16];
    const char *p[5] = {q->conv, q->has_before ? before : NULL,
                        q->has_after ? after : NULL, limit, q->user};
    int backwards = q->has_before || !q->has_after;

    snprintf(before, sizeof(before), "%" PRId64, q->before.offset);
    snprintf(after, sizeof(after), "%" PRId64, q->after.offset);
    snprintf(limit, sizeof(limit), "%d", q->limit + 1);
    return pl_pg_exec(pg, res, NULL, 0,
                      backwards
                          ? "SELECT " PL_HISTORY_MESSAGE_COLS_FOR("$5")
                            " FROM history.messages m"
                            " WHERE m.conversation_id = $1"
                            " AND ($2::bigint IS NULL OR m.\"offset\" < $2::bigint)"
                            " AND ($3::bigint IS NULL OR m.\"offset\" > $3::bigint)"
                            " ORDER BY m.\"offset\" DESC LIMIT $4::int"
                          : "SELECT " PL_HISTORY_MESSAGE_COLS_FOR("$5")
                            " FROM history.messages m"
                            " WHERE m.conversation_id = $1"
                            " AND ($2::bigint IS NULL OR m.\"offset\" < $2::bigint)"
                            " AND ($3::bigint IS NULL OR m.\"offset\" > $3::bigint)"
                            " ORDER BY m.\"offset\" ASC LIMIT $4::int",
                      5, p);
}

/* The window around a message: up to limit/2 older ones (newest first,
 * one extra to tell if there are more) then the message and newer ones
 * (one extra too); the side column says which half a row is in. -ENOENT
 * when the message is not in this conversation. */
static int around_fetch(PGconn *pg, const read_query *q, PGresult **res)
{
    char before[16], after[16];
    const char *p[5] = {q->conv, q->around, before, after, q->user};
    int r;

    snprintf(before, sizeof(before), "%d", q->limit / 2 + 1);
    snprintf(after, sizeof(after), "%d", q->limit - q->limit / 2 + 1);
    r = pl_pg_exec(pg, res, NULL, 0,
        "WITH t AS (SELECT \"offset\" FROM history.messages"
        "           WHERE id = $2 AND conversation_id = $1)"
        " (SELECT " PL_HISTORY_MESSAGE_COLS_FOR("$5") ", 0 AS side"
        "  FROM history.messages m, t WHERE m.conversation_id = $1"
        "  AND m.\"offset\" < t.\"offset\" ORDER BY m.\"offset\" DESC LIMIT $3::int)"
        " UNION ALL"
        " (SELECT " PL_HISTORY_MESSAGE_COLS_FOR("$5") ", 1 AS side"
        "  FROM history.messages m, t WHERE m.conversation_id = $1"
        "  AND m.\"offset\" >= t.\"offset\" ORDER BY m.\"offset\" ASC LIMIT $4::int)",
        5, p);
    /* The message itself is always in the second half. */
    if (r == 0) {
        int found = 0;
        for (int i = 0; i < PQntuples(*res) && !found; i++)
            found = strcmp(PQgetvalue(*res, i, PL_HISTORY_MESSAGE_NCOLS), "1") == 0;
        if (!found)
            r = -ESRCH;
    }
    return r;
}

static void around_write(pl_jw *w, const read_query *q, const PGresult *res)
{
    int n = PQntuples(res), nb = 0, na = 0;
    int want_b = q->limit / 2, want_a = q->limit - q->limit / 2;

    for (int i = 0; i < n; i++)
        if (PQgetvalue(res, i, PL_HISTORY_MESSAGE_NCOLS)[0] == '0')
            nb++;
        else
            na++;
    pl_jw_obj(w);
    pl_jw_key(w, "messages");
    pl_jw_arr(w);
    /* Older rows came newest first, and precede the newer ones. */
    for (int i = (nb > want_b ? want_b : nb) - 1; i >= 0; i--)
        pl_history_message_write(w, res, i, 0);
    for (int i = 0; i < (na > want_a ? want_a : na); i++)
        pl_history_message_write(w, res, nb + i, 0);
    pl_jw_end_arr(w);
    pl_jw_key(w, "has_more_before");
    pl_jw_bool(w, nb > want_b);
    pl_jw_key(w, "has_more_after");
    pl_jw_bool(w, na > want_a);
    pl_jw_end_obj(w);
}

static void page_write(pl_jw *w, const read_query *q, const PGresult *res)
{
    int n = PQntuples(res), more = n > q->limit;
    int backwards = q->has_before || !q->has_after;

    if (more)
        n = q->limit;
    pl_jw_obj(w);
    pl_jw_key(w, "messages");
    pl_jw_arr(w);
    for (int i = 0; i < n; i++)
        pl_history_message_write(w, res, backwards ? n - 1 - i : i, 0);
    pl_jw_end_arr(w);
    pl_jw_key(w, "has_more");
    pl_jw_bool(w, more);
    pl_jw_end_obj(w);
}

static void serve_messages(read_api *api, pl_http_req *req, const read_query *q)
{
    PGconn *pg = pl_pg_acquire(api->pool, 2000);
    PGresult *res = NULL;
    int32_t partition = -1;
    pl_jw w;
    int r = pg ? member_partition(pg, q, &partition) : -EIO;

    if (r == 0 && ((q->has_before && q->before.partition != partition) ||
                   (q->has_after && q->after.partition != partition)))
        r = -EINVAL;
    if (r == 0)
        r = q->has_around ? around_fetch(pg, q, &res) : page_fetch(pg, q, &res);
    if (pg)
        pl_pg_release(api->pool, pg);
    if (r == 0 && (r = pl_jw_init(&w)) == 0) {
        if (q->has_around)
            around_write(&w, q, res);
        else
            page_write(&w, q, res);
        pl_http_reply_jw(req, 200, &w);
    } else if (r == -ENOENT) {
        pl_http_reply_error(req, 404, "not_found", "no such conversation");
    } else if (r == -ESRCH) {
        pl_http_reply_error(req, 404, "not_found", "no such message");
    } else if (r == -EINVAL) {
        pl_http_reply_error(req, 400, "bad_request",
                            "before/after is a position of another conversation");
    } else {
        pl_http_reply_error(req, 503, "unavailable", "database unavailable; retry");
    }
    PQclear(res);
}

/* around= excludes before/after. 0 ok (or absent), -1 replied 400. */
static int around_param(pl_http_req *req, read_query *q)
{
    const char *v = pl_http_query(req, "around");

    if (!v || !*v)
        return 0;
    if (!pl_id_valid(v)) {
        pl_http_reply_error(req, 400, "bad_request", "around must be a message id");
        return -1;
    }
    if (q->has_before || q->has_after) {
        pl_http_reply_error(req, 400, "bad_request",
                            "around cannot be combined with before or after");
        return -1;
    }
    q->has_around = 1;
    memcpy(q->around, v, PL_ID_LEN);
    return 0;
}

void read_messages(pl_http_req *req, void *ctx)
{
    const char *conv = pl_http_param(req, "id");
    const char *lim = pl_http_query(req, "limit");
    long long limit = PAGE_DEFAULT;
    read_query *q;

    if (!pl_id_valid(conv)) {
        pl_http_reply_error(req, 404, "not_found", "no such conversation");
        return;
    }
    if (lim && pl_num_parse_ll(lim, 1, PAGE_MAX, &limit) != 0) {
        pl_http_reply_error(req, 400, "bad_request", "limit must be 1-200");
        return;
    }
    q = calloc(1, sizeof(*q));
    if (!q) {
        pl_http_reply_internal(req, -ENOMEM);
        return;
    }
    *q = (read_query){.api = ctx, .req = req, .serve = serve_messages, .limit = (int)limit};
    memcpy(q->user, pl_http_claims(req)->sub, PL_ID_LEN);
    memcpy(q->conv, conv, PL_ID_LEN);
    if ((q->has_before = read_pos_param(req, "before", &q->before)) < 0 ||
        (q->has_after = read_pos_param(req, "after", &q->after)) < 0 ||
        around_param(req, q) < 0) {
        free(q);
        return;
    }
    read_dispatch(q);
}
