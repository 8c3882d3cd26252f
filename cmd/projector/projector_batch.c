#include "projector_batch.h"
#include "pl_log.h"
#include "pl_num.h"
#include "pl_pg.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Locks the stored position of every partition in the batch for this
 * transaction and reads it into applied[]. A zombie member (paused past
 * its session timeout while its partitions moved on) then finds its events
 * already applied and skips them, rather than replaying old events over
 * newer state; two members never apply the same partition at once. The
 * first statement of every batch touches the offsets table, which is what
 * parley-admin's schema swap waits on (see admin_swap.c). */
static int offsets_lock(PGconn *pg, const char *topic, const projector_event *evs, int n,
                        int64_t *applied)
{
    char part[16];
    const char *params[2] = {topic, part};
    PGresult *res = NULL;
    long long v;

    for (int i = 0; i < n; i++) {
        int32_t k = evs[i].partition;
        int seen = 0;
        for (int j = 0; j < i && !seen; j++)
            seen = evs[j].partition == k;
        if (seen)
            continue;
        if (k < 0 || k >= PROJECTOR_MAX_PARTITIONS)
            return -EINVAL;
        snprintf(part, sizeof(part), "%" PRId32, k);
        if (pl_pg_exec(pg, NULL, NULL, 0,
                       "INSERT INTO offsets (topic, partition, next_offset)"
                       " VALUES ($1, $2, 0) ON CONFLICT DO NOTHING", 2, params) != 0 ||
            pl_pg_exec(pg, &res, NULL, 0,
                       "SELECT next_offset FROM offsets"
                       " WHERE topic = $1 AND partition = $2 FOR UPDATE", 2, params) != 0 ||
            PQntuples(res) != 1 ||
            pl_num_parse_ll(PQgetvalue(res, 0, 0), 0, INT64_MAX, &v) != 0) {
            PQclear(res);
            return -EIO;
        }
        PQclear(res);
        res = NULL;
        applied[k] = v;
    }
    return 0;
}

static int offsets_store(PGconn *pg, const char *topic, const projector_event *evs, int n)
{
    char part[16], next[24];
    const char *params[3] = {topic, part, next};

    /* Later events of a partition overwrite earlier ones: last wins. */
    for (int i = 0; i < n; i++) {
        int last = 1;
        for (int j = i + 1; j < n && last; j++)
            last = evs[j].partition != evs[i].partition;
        if (!last)
            continue;
        snprintf(part, sizeof(part), "%" PRId32, evs[i].partition);
        snprintf(next, sizeof(next), "%" PRId64, evs[i].offset + 1);
        if (pl_pg_exec(pg, NULL, NULL, 0,
                       "INSERT INTO offsets (topic, partition, next_offset)"
                       " VALUES ($1, $2, $3) ON CONFLICT (topic, partition) DO UPDATE"
                       " SET next_offset = GREATEST(offsets.next_offset,"
                       "  EXCLUDED.next_offset), updated_at = now()",
                       3, params) != 0)
            return -EIO;
    }
    return 0;
}

/* One event behind a savepoint, so a bad event is skipped without losing
 * the rest of the batch. */
static int apply_one(PGconn *pg, const projector_event *m, projector_batch_stats *st)
{
    char err[256] = "";
    int r;

    if (pl_pg_cmd(pg, "SAVEPOINT ev") != 0)
        return -EIO;
    r = projector_apply(pg, m, err, sizeof(err));
    if (r == -EINVAL) {
        st->rejected++;
        pl_warn("event_rejected", "partition=%" PRId32 " offset=%" PRId64 " msg=\"%.*s\"",
                m->partition, m->offset, (int)strcspn(err, "\n\""), err);
        return pl_pg_cmd(pg, "ROLLBACK TO SAVEPOINT ev") ? -EIO : 0;
    }
    if (r)
        return r;
    st->applied++;
    return pl_pg_cmd(pg, "RELEASE SAVEPOINT ev") ? -EIO : 0;
}

int projector_batch_apply(PGconn *pg, const char *topic, const projector_event *evs, int n,
                          int fence, projector_batch_stats *st)
{
    int64_t applied[PROJECTOR_MAX_PARTITIONS];
    int r = offsets_lock(pg, topic, evs, n, applied);

    *st = (projector_batch_stats){0};
    for (int i = 0; i < n && !r; i++) {
        if (fence && evs[i].offset < applied[evs[i].partition]) {
            st->skipped++; /* applied already, by us earlier or by another writer */
            continue;
        }
        r = apply_one(pg, &evs[i], st);
    }
    if (!r)
        r = offsets_store(pg, topic, evs, n);
    return r;
}
