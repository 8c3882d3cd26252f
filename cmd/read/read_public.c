/* GET /api/v1/conversations/public?query=&limit=&cursor=
 *
 * Public groups whose title contains query (case-insensitive), by title.
 * Anyone signed in may search, so each hit shows only what a stranger
 * may see: no members, no messages. cursor is the last hit's id. */
#include "read.h"
#include "pl_history.h"
#include "pl_num.h"
#include "pl_time.h"
#include "pl_utf8.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUERY_MAX_CHARS 128
#define LIMIT_DEFAULT 20
#define LIMIT_MAX 100

/* LIKE pattern: the query with \ % _ escaped, inside % wildcards. */
static char *like_pattern(const char *q)
{
    size_t n = strlen(q);
    char *p = malloc(2 * n + 3), *o = p;

    if (!p)
        return NULL;
    *o++ = '%';
    for (size_t i = 0; i < n; i++) {
        if (q[i] == '\\' || q[i] == '%' || q[i] == '_')
            *o++ = '\\';
        *o++ = q[i];
    }
    *o++ = '%';
    *o = '\0';
    return p;
}

static void hits_write(pl_jw *w, const PGresult *res, int n)
{
    char iso[PL_TIME_ISO_LEN];
    long long v;

    pl_jw_key(w, "conversations");
    pl_jw_arr(w);
    for (int i = 0; i < n; i++) {
        pl_jw_obj(w);
        pl_jw_kstr(w, "id", PQgetvalue(res, i, 0));
        pl_jw_kstr(w, "kind", "group");
        pl_jw_kstr(w, "title", PQgetvalue(res, i, 1));
        pl_jw_kstr(w, "description", PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2));
        pl_jw_kstr(w, "avatar_id", PQgetisnull(res, i, 3) ? NULL : PQgetvalue(res, i, 3));
        pl_jw_key(w, "public");
        pl_jw_bool(w, 1);
        pl_num_parse_ll(PQgetvalue(res, i, 4), INT64_MIN, INT64_MAX, &v);
        pl_time_iso(iso, v);
        pl_jw_kstr(w, "created_at", iso);
        pl_num_parse_ll(PQgetvalue(res, i, 5), 0, INT64_MAX, &v);
        pl_jw_kint(w, "member_count", v);
        pl_jw_end_obj(w);
    }
    pl_jw_end_arr(w);
}

static void serve_public(read_api *api, pl_http_req *req, const read_query *q)
{
    const char *cursor = pl_http_query(req, "cursor");
    char limit[16], *pattern = like_pattern(pl_http_query(req, "query") ?
                                            pl_http_query(req, "query") : "");
    const char *p[] = {pattern, cursor && *cursor ? cursor : NULL, limit};
    PGresult *res = NULL;
    PGconn *pg = NULL;
    pl_jw w;
    int r = pattern ? 0 : -ENOMEM, n;

    snprintf(limit, sizeof(limit), "%d", q->limit + 1);
    if (!r && !(pg = pl_pg_acquire(api->pool, 2000)))
        r = -EIO;
    if (!r)
        r = pl_pg_exec(pg, &res, NULL, 0,
            "SELECT c.id, c.title, c.description, c.avatar_id,"
            " (extract(epoch from c.created_at)*1000)::bigint,"
            " (SELECT count(*) FROM history.members WHERE conversation_id = c.id)"
            " FROM history.conversations c"
            " WHERE c.public AND c.deleted_at IS NULL AND c.kind = 'group'"
            " AND lower(c.title) LIKE lower($1) ESCAPE '\\'"
            " AND ($2::uuid IS NULL OR (lower(c.title), c.id) >"
            "      (SELECT lower(title), id FROM history.conversations WHERE id = $2::uuid))"
            " ORDER BY lower(c.title), c.id LIMIT $3::int",
            3, p);
    if (pg)
        pl_pg_release(api->pool, pg);
    free(pattern);
    if (!r)
        r = pl_jw_init(&w);
    if (r) {
        PQclear(res);
        pl_http_reply_error(req, 503, "unavailable", "database unavailable; retry");
        return;
    }
    n = PQntuples(res) > q->limit ? q->limit : PQntuples(res);
    pl_jw_obj(&w);
    hits_write(&w, res, n);
    pl_jw_kstr(&w, "next_cursor", PQntuples(res) > q->limit ? PQgetvalue(res, n - 1, 0) : NULL);
    pl_jw_end_obj(&w);
    PQclear(res);
    pl_http_reply_jw(req, 200, &w);
}

void read_public_conversations(pl_http_req *req, void *ctx)
{
    const char *text = pl_http_query(req, "query");
    const char *cursor = pl_http_query(req, "cursor");
    const char *limit = pl_http_query(req, "limit");
    long long lim = LIMIT_DEFAULT;
    read_query *q;

    if (text && (!pl_utf8_printable(text) || pl_utf8_len(text) > QUERY_MAX_CHARS)) {
        pl_http_reply_error(req, 400, "bad_request", "query must be at most 128 printable "
                                                     "characters");
        return;
    }
    if (cursor && *cursor && !pl_id_valid(cursor)) {
        pl_http_reply_error(req, 400, "bad_request", "cursor must come from next_cursor");
        return;
    }
    if (limit && pl_num_parse_ll(limit, 1, LIMIT_MAX, &lim) != 0) {
        pl_http_reply_error(req, 400, "bad_request", "limit must be 1-100");
        return;
    }
    q = calloc(1, sizeof(*q));
    if (!q) {
        pl_http_reply_internal(req, -ENOMEM);
        return;
    }
    q->api = ctx;
    q->req = req;
    q->serve = serve_public;
    q->limit = (int)lim;
    memcpy(q->user, pl_http_claims(req)->sub, PL_ID_LEN);
    read_dispatch(q);
}
