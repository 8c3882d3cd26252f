#include "read.h"
#include "pl_archive_read.h"
#include "pl_history.h"
#include "pl_num.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static PGconn *read_pg(read_api *api, pl_http_req *req)
{
    PGconn *c = pl_pg_acquire(api->pool, 2000);
    if (!c)
        pl_http_reply_error(req, 503, "unavailable", "database unavailable; retry");
    return c;
}

static read_query *query_new(read_api *api, pl_http_req *req, read_serve_fn serve)
{
    read_query *q = calloc(1, sizeof(*q));
    if (!q) {
        pl_http_reply_internal(req, -ENOMEM);
        return NULL;
    }
    q->api = api;
    q->req = req;
    q->serve = serve;
    memcpy(q->user, pl_http_claims(req)->sub, PL_ID_LEN);
    return q;
}

static void serve_conversations(read_api *api, pl_http_req *req, const read_query *q)
{
    const char *user = q->user;
    PGresult *res = NULL;
    PGconn *pg = read_pg(api, req);
    int r;
    pl_jw w;

    if (!pg)
        return;
    r = pl_pg_exec(pg, &res, NULL, 0,
                   "SELECT c.id FROM history.members m"
                   " JOIN history.conversations c ON c.id = m.conversation_id"
                   " WHERE m.user_id = $1 ORDER BY c.last_activity_at DESC, c.id LIMIT 200",
                   1, &user);
    if (!r)
        r = pl_jw_init(&w);
    if (!r) {
        pl_jw_obj(&w);
        pl_jw_key(&w, "conversations");
        pl_jw_arr(&w);
        for (int i = 0; i < PQntuples(res) && !r; i++)
            r = pl_history_conversation_write_cold(pg, PQgetvalue(res, i, 0), user,
                                                   pl_archive_last_message, api->archive, &w);
        pl_jw_end_arr(&w);
        pl_jw_end_obj(&w);
        if (r)
            pl_jw_free(&w);
    }
    pl_pg_release(api->pool, pg);
    PQclear(res);
    if (r)
        pl_http_reply_error(req, 503, "unavailable", "database unavailable; retry");
    else
        pl_http_reply_jw(req, 200, &w);
}

void read_conversations(pl_http_req *req, void *ctx)
{
    read_query *q = query_new(ctx, req, serve_conversations);
    if (q)
        read_dispatch(q);
}

static void serve_conversation(read_api *api, pl_http_req *req, const read_query *q)
{
    PGconn *pg = read_pg(api, req);
    pl_jw w;
    int r;

    if (!pg)
        return;
    r = pl_history_is_member(pg, q->conv, q->user);
    if (r == 1 && (r = pl_jw_init(&w)) == 0) {
        pl_jw_obj(&w);
        pl_jw_key(&w, "conversation");
        r = pl_history_conversation_write_cold(pg, q->conv, q->user, pl_archive_last_message,
                                               api->archive, &w);
        pl_jw_end_obj(&w);
        if (r)
            pl_jw_free(&w);
        else
            r = 1;
    }
    pl_pg_release(api->pool, pg);
    if (r == 1)
        pl_http_reply_jw(req, 200, &w);
    else if (r == 0 || r == -ENOENT)
        pl_http_reply_error(req, 404, "not_found", "no such conversation");
    else
        pl_http_reply_error(req, 503, "unavailable", "database unavailable; retry");
}

void read_conversation(pl_http_req *req, void *ctx)
{
    const char *conv = pl_http_param(req, "id");
    read_query *q;

    if (!pl_id_valid(conv)) {
        pl_http_reply_error(req, 404, "not_found", "no such conversation");
        return;
    }
    q = query_new(ctx, req, serve_conversation);
    if (!q)
        return;
    memcpy(q->conv, conv, PL_ID_LEN);
    read_dispatch(q);
}
