/* POST /api/v1/exports and GET /api/v1/exports/{id}. An export belongs to
 * the user who asked for it: anyone else gets the same 404 as for an id
 * that does not exist (or has expired). */
#include "export.h"
#include "pl_history.h"
#include "pl_log.h"
#include "pl_time.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The columns export_write reads, in its order. */
#define STATUS_COLS                                                            \
    "id, scope, conversation_id, state, done, total, size, error,"            \
    " (extract(epoch from created_at)*1000)::bigint,"                         \
    " (extract(epoch from expires_at)*1000)::bigint,"                         \
    " (extract(epoch from finished_at)*1000)::bigint"
enum { S_ID, S_SCOPE, S_CONV, S_STATE, S_DONE, S_TOTAL, S_SIZE, S_ERROR, S_CREATED,
       S_EXPIRES, S_FINISHED };

static const char *col(const PGresult *res, int c)
{
    return PQgetisnull(res, 0, c) ? NULL : PQgetvalue(res, 0, c);
}

static void time_or_null(pl_jw *w, const char *key, const PGresult *res, int c)
{
    char iso[PL_TIME_ISO_LEN];

    pl_jw_key(w, key);
    if (PQgetisnull(res, 0, c)) {
        pl_jw_null(w);
        return;
    }
    pl_time_iso(iso, atoll(PQgetvalue(res, 0, c)));
    pl_jw_str(w, iso);
}

static void export_reply(pl_http_req *req, int status, const PGresult *res)
{
    char url[96];
    int done = strcmp(PQgetvalue(res, 0, S_STATE), "done") == 0;
    pl_jw w;

    if (pl_jw_init(&w) != 0) {
        pl_http_reply_internal(req, -ENOMEM);
        return;
    }
    snprintf(url, sizeof(url), "/api/v1/exports/%s/download", PQgetvalue(res, 0, S_ID));
    pl_jw_obj(&w);
    pl_jw_kstr(&w, "export_id", PQgetvalue(res, 0, S_ID));
    pl_jw_kstr(&w, "scope", PQgetvalue(res, 0, S_SCOPE));
    pl_jw_kstr(&w, "conversation_id", col(res, S_CONV));
    pl_jw_kstr(&w, "state", PQgetvalue(res, 0, S_STATE));
    pl_jw_key(&w, "progress");
    pl_jw_obj(&w);
    pl_jw_kint(&w, "done", atoll(PQgetvalue(res, 0, S_DONE)));
    pl_jw_kint(&w, "total", atoll(PQgetvalue(res, 0, S_TOTAL)));
    pl_jw_end_obj(&w);
    pl_jw_key(&w, "size");
    if (col(res, S_SIZE))
        pl_jw_int(&w, atoll(PQgetvalue(res, 0, S_SIZE)));
    else
        pl_jw_null(&w);
    pl_jw_kstr(&w, "error", col(res, S_ERROR));
    time_or_null(&w, "created_at", res, S_CREATED);
    time_or_null(&w, "finished_at", res, S_FINISHED);
    time_or_null(&w, "expires_at", res, S_EXPIRES);
    pl_jw_kstr(&w, "download_url", done ? url : NULL);
    pl_jw_end_obj(&w);
    pl_http_reply_jw(req, status, &w);
}

/* What to export, from the body. 0, or -EINVAL after replying 400. */
static int export_target(pl_http_req *req, char *conv)
{
    yajl_val v = NULL;
    const char *scope, *id;
    int r = pl_http_body_json(req, &v);

    if (r)
        return r;
    scope = pl_json_str(v, "scope");
    id = pl_json_str(v, "conversation_id");
    conv[0] = '\0';
    if (id && pl_id_valid(id) && (!scope || strcmp(scope, "conversation") == 0))
        memcpy(conv, id, PL_ID_LEN);
    else if (!(scope && strcmp(scope, "account") == 0 && !pl_json_get(v, "conversation_id")))
        r = -EINVAL;
    yajl_tree_free(v);
    if (r)
        pl_http_reply_error(req, 400, "bad_request",
                            "give {\"conversation_id\": <id>} or {\"scope\": \"account\"}");
    return r;
}

/* Queues the job unless the user already has max_active open ones.
 * 0 and *res, -EAGAIN (too many open), -EIO. */
static int export_insert(media *m, PGconn *pg, const char *user, const char *conv,
                         PGresult **res)
{
    char id[PL_ID_LEN], ttl[24], max[24];
    const char *p[5] = {id, user, *conv ? conv : NULL, ttl, max};
    int r;

    pl_id_random(id);
    snprintf(ttl, sizeof(ttl), "%lld", m->ex.ttl_hours);
    snprintf(max, sizeof(max), "%lld", m->ex.max_active);
    r = pl_pg_exec(pg, res, NULL, 0,
                   "INSERT INTO media.exports (id, user_id, scope, conversation_id, expires_at)"
                   " SELECT $1, $2, CASE WHEN $3::uuid IS NULL THEN 'account'"
                   "  ELSE 'conversation' END, $3::uuid,"
                   "  now() + make_interval(hours => $4::int)"
                   " WHERE (SELECT count(*) FROM media.exports WHERE user_id = $2"
                   "  AND state IN ('queued','running') AND expires_at > now()) < $5::int"
                   " RETURNING " STATUS_COLS,
                   5, p);
    if (r == 0 && PQntuples(*res) == 0)
        r = -EAGAIN;
    return r ? (r == -EAGAIN ? r : -EIO) : 0;
}

static void create_reply(pl_http_req *req, media *m, const char *user, const char *conv)
{
    PGresult *res = NULL;
    PGconn *pg = pl_pg_acquire(m->pool, 2000);
    int member = 1, r = pg ? 0 : -EIO;

    if (r == 0 && *conv && (member = pl_history_is_member(pg, conv, user)) < 0)
        r = -EIO;
    if (r == 0 && member)
        r = export_insert(m, pg, user, conv, &res);
    if (pg)
        pl_pg_release(m->pool, pg);
    if (r == 0 && !member) {
        pl_http_reply_error(req, 404, "not_found", "no such conversation");
    } else if (r == 0) {
        media_exporter_kick(m->exporter);
        pl_info("export_queued", "id=%s user=%s", PQgetvalue(res, 0, S_ID), user);
        export_reply(req, 202, res);
    } else if (r == -EAGAIN) {
        pl_http_set_header(req, "Retry-After", "60");
        pl_http_reply_error(req, 429, "too_many_exports",
                            "an export of yours is still running; wait for it");
    } else {
        pl_http_reply_error(req, 503, "unavailable", "database unavailable; retry");
    }
    PQclear(res);
}

void media_export_create(pl_http_req *req, void *ctx)
{
    media *m = ctx;
    const char *user = pl_http_claims(req)->sub;
    char conv[PL_ID_LEN];

    if (!pl_rate_take(m->export_rate, user, pl_time_mono_ms())) {
        pl_http_set_header(req, "Retry-After", "60");
        pl_http_reply_error(req, 429, "rate_limited", "too many exports; try again later");
        return;
    }
    if (export_target(req, conv) != 0)
        return;
    create_reply(req, m, user, conv);
}

void media_export_status(pl_http_req *req, void *ctx)
{
    media *m = ctx;
    const char *id = pl_http_param(req, "id");
    const char *p[2] = {id, pl_http_claims(req)->sub};
    PGresult *res = NULL;
    PGconn *pg;
    int r;

    if (!pl_id_valid(id)) {
        pl_http_reply_error(req, 404, "not_found", "no such export");
        return;
    }
    if (!(pg = pl_pg_acquire(m->pool, 2000))) {
        pl_http_reply_error(req, 503, "unavailable", "database unavailable; retry");
        return;
    }
    r = pl_pg_exec(pg, &res, NULL, 0,
                   "SELECT " STATUS_COLS " FROM media.exports"
                   " WHERE id = $1 AND user_id = $2 AND expires_at > now()",
                   2, p);
    pl_pg_release(m->pool, pg);
    if (r)
        pl_http_reply_error(req, 503, "unavailable", "database unavailable; retry");
    else if (PQntuples(res) != 1)
        pl_http_reply_error(req, 404, "not_found", "no such export");
    else
        export_reply(req, 200, res);
    PQclear(res);
}
