/* The export job queue in media.exports. A job is claimed by taking its
 * lease in one statement (FOR UPDATE SKIP LOCKED, so workers never wait on
 * each other) and bumping attempt; a worker that dies stops renewing, and
 * once lease_until passes any worker takes the job over and starts it
 * again from the beginning (the archive is written anew under the same
 * key, so nothing half-written is ever visible). */
#include "export.h"
#include "pl_log.h"
#include "pl_time.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* One statement on a pooled connection; the caller clears *out. */
static int run(media *m, PGresult **out, const char *sql, int n, const char *const *p)
{
    char err[256] = "";
    PGconn *pg = pl_pg_acquire(m->pool, 5000);
    int r;

    if (!pg)
        return -EIO;
    r = pl_pg_exec(pg, out, err, sizeof(err), sql, n, p);
    pl_pg_release(m->pool, pg);
    if (r)
        pl_warn("export_sql", "msg=\"%.*s\"", (int)strcspn(err, "\n\""), err);
    return r;
}

/* 0 when the statement changed a row, -ESTALE when none (the job is not
 * ours any more). */
static int affected(media *m, const char *sql, int n, const char *const *p)
{
    PGresult *res = NULL;
    int r = run(m, &res, sql, n, p);
    if (r == 0)
        r = strcmp(PQcmdTuples(res), "0") == 0 ? -ESTALE : 0;
    PQclear(res);
    return r;
}

int export_claim(media *m, const char *owner, export_job *j)
{
    char lease[24];
    const char *p[2] = {owner, lease};
    PGresult *res = NULL;
    int r;

    snprintf(lease, sizeof(lease), "%lld", m->ex.lease_s);
    r = run(m, &res,
            "UPDATE media.exports e SET state = 'running', attempt = e.attempt + 1,"
            " lease_owner = $1, lease_until = now() + make_interval(secs => $2::int),"
            " done = 0, total = 0"
            " WHERE e.id = (SELECT id FROM media.exports"
            "  WHERE (state = 'queued' OR (state = 'running' AND lease_until < now()))"
            "  AND expires_at > now() ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)"
            " RETURNING e.id, e.user_id, coalesce(e.conversation_id::text, ''), e.attempt",
            2, p);
    if (r == 0 && PQntuples(res) == 1) {
        memset(j, 0, sizeof(*j));
        snprintf(j->id, sizeof(j->id), "%s", PQgetvalue(res, 0, 0));
        snprintf(j->user, sizeof(j->user), "%s", PQgetvalue(res, 0, 1));
        snprintf(j->conv, sizeof(j->conv), "%s", PQgetvalue(res, 0, 2));
        snprintf(j->attempt, sizeof(j->attempt), "%s", PQgetvalue(res, 0, 3));
        j->account = j->conv[0] == '\0';
        j->checkpoint_ms = pl_time_mono_ms();
        r = 1;
    }
    PQclear(res);
    return r;
}

int export_checkpoint(media *m, export_job *j)
{
    char done[24], total[24], lease[24];
    const char *p[5] = {j->id, j->attempt, done, total, lease};
    int r;

    snprintf(done, sizeof(done), "%lld", j->done);
    snprintf(total, sizeof(total), "%lld", j->total);
    snprintf(lease, sizeof(lease), "%lld", m->ex.lease_s);
    r = affected(m,
                 "UPDATE media.exports SET done = $3, total = $4,"
                 " lease_until = now() + make_interval(secs => $5::int)"
                 " WHERE id = $1 AND attempt = $2 AND state = 'running'",
                 5, p);
    if (r == 0)
        j->checkpoint_ms = pl_time_mono_ms();
    return r;
}

int export_finish(media *m, const export_job *j, uint64_t size)
{
    char sz[24];
    const char *p[3] = {j->id, j->attempt, sz};

    snprintf(sz, sizeof(sz), "%llu", (unsigned long long)size);
    return affected(m,
                    "UPDATE media.exports SET state = 'done', size = $3, done = total,"
                    " finished_at = now(), lease_until = NULL"
                    " WHERE id = $1 AND attempt = $2 AND state = 'running'",
                    3, p);
}

int export_fail(media *m, const export_job *j, const char *why)
{
    const char *p[3] = {j->id, j->attempt, why};
    return affected(m,
                    "UPDATE media.exports SET state = 'failed', error = $3,"
                    " finished_at = now(), lease_until = NULL"
                    " WHERE id = $1 AND attempt = $2 AND state = 'running'",
                    3, p);
}

int export_release(media *m, const export_job *j)
{
    const char *p[2] = {j->id, j->attempt};
    return affected(m,
                    "UPDATE media.exports SET state = 'queued', attempt = attempt - 1,"
                    " lease_until = NULL, lease_owner = NULL"
                    " WHERE id = $1 AND attempt = $2 AND state = 'running'",
                    2, p);
}

void export_sweep(media *m)
{
    PGresult *res = NULL;

    if (run(m, &res,
            "SELECT id FROM media.exports WHERE expires_at <= now()"
            " ORDER BY expires_at LIMIT 100", 0, NULL) != 0) {
        PQclear(res); /* a failed statement still leaves its error result */
        return;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        const char *id = PQgetvalue(res, i, 0);
        int r = pl_store_delete(m->exports, id);
        if (r) {
            pl_warn("export_expire", "id=%s msg=\"%s\"", id, strerror(-r));
            continue; /* keep the row, so the file is retried next time */
        }
        run(m, NULL, "DELETE FROM media.exports WHERE id = $1", 1, &id);
        pl_info("export_expired", "id=%s", id);
    }
    PQclear(res);
}
