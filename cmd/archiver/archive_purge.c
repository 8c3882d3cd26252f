/* Purge: deletes history snapshots (and their search and attachment rows)
 * whose newest message is older than the purge policy, unless a legal
 * hold covers the conversation: an active hold on it, or on any user who
 * was ever a member of it (history.member_log).
 *
 * Each snapshot goes in one transaction that re-checks the holds in the
 * DELETE itself, so a hold committed before it is always honoured, and
 * writes an audit row. The object is removed after the commit: a reader
 * that saw the catalog row a moment earlier finds no object and skips it
 * (pl_archive_read), and a crash in between leaves an orphan object that
 * nothing references (logged with its key).
 *
 * Event segments are not touched: they are the log (verify, replay,
 * export) and mix every conversation of a partition; see README. */
#include "archive_jobs.h"
#include "pl_log.h"
#include "pl_pg.h"

#include <errno.h>
#include <stdio.h>

#define PURGE_PER_PASS 100

#define NO_HOLD(s)                                                                  \
    " NOT EXISTS (SELECT 1 FROM archive.holds h WHERE h.released_at IS NULL"        \
    "  AND ((h.kind = 'conversation' AND h.subject = " s ".conversation_id)"        \
    "   OR (h.kind = 'user' AND EXISTS (SELECT 1 FROM history.member_log ml"        \
    "    WHERE ml.conversation_id = " s ".conversation_id"                          \
    "    AND ml.user_id = h.subject))))"

static int due(PGconn *pg, const archive_policy *pol, PGresult **res)
{
    char purge[24], lim[16];
    const char *p[2] = {purge, lim};

    snprintf(purge, sizeof(purge), "%lld", pol->purge_s);
    snprintf(lim, sizeof(lim), "%d", PURGE_PER_PASS);
    return pl_pg_exec(pg, res, NULL, 0,
        "SELECT s.id FROM archive.snapshots s"
        " LEFT JOIN archive.policies p ON p.conversation_id = s.conversation_id"
        " WHERE coalesce(p.purge_seconds, $1::bigint) > 0"
        " AND s.last_at < now() - make_interval(secs => coalesce(p.purge_seconds, $1::bigint))"
        " AND" NO_HOLD("s") " ORDER BY s.id LIMIT $2::int",
        2, p) ? -EIO : 0;
}

/* 1 purged, 0 held or gone meanwhile, -EIO. */
static int purge_one(PGconn *pg, pl_store *store, const char *id)
{
    PGresult *res = NULL;
    char key[128] = "";
    int r;

    r = pl_pg_exec(pg, &res, NULL, 0,
        "WITH gone AS ("
        " DELETE FROM archive.snapshots s WHERE s.id = $1::bigint AND" NO_HOLD("s")
        " RETURNING s.store_key, s.conversation_id, s.first_offset, s.last_offset,"
        "  s.message_count),"
        " audit AS ("
        " INSERT INTO archive.audit (actor, action, subject, detail)"
        " SELECT 'parley-archiver', 'purge', gone.conversation_id::text,"
        "  format('snapshot %s offsets %s-%s, %s messages (purge policy)',"
        "   gone.store_key, gone.first_offset, gone.last_offset, gone.message_count)"
        " FROM gone)"
        " SELECT store_key FROM gone",
        1, &id);
    if (r == 0 && PQntuples(res) == 1)
        snprintf(key, sizeof(key), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if (r)
        return -EIO;
    if (!key[0])
        return 0;
    r = pl_store_delete(store, key);
    if (r)
        pl_warn("purge_orphan", "key=%s result=%d msg=\"catalog row gone, object kept\"",
                key, r);
    pl_info("purged", "key=%s", key);
    return 1;
}

int archive_purge_pass(PGconn *pg, pl_store *store, const archive_policy *pol,
                       const atomic_int *stop)
{
    PGresult *res = NULL;
    int total = 0, r = due(pg, pol, &res);

    for (int i = 0; r == 0 && i < PQntuples(res) && !atomic_load(stop); i++) {
        int n = purge_one(pg, store, PQgetvalue(res, i, 0));
        if (n < 0)
            r = n;
        else
            total += n;
    }
    PQclear(res);
    return r ? r : total;
}
