#include "projector_batch.h"
#include "projector_msgrun.h"
#include "pl_log.h"
#include "pl_num.h"
#include "pl_pg.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define PARTS_MAX_LEN (PROJECTOR_MAX_PARTITIONS * 6 + 3)
#define NEXTS_MAX_LEN (PROJECTOR_MAX_PARTITIONS * 21 + 3)

/* The batch's partitions as an int[] literal into parts, and each one's
 * next offset (its last event's + 1) as a bigint[] literal into nexts,
 * both in the same order. A partition's events come in offset order, so
 * walking backwards meets each partition's last event first. */
static int partition_arrays(const projector_event *evs, int n, char parts[PARTS_MAX_LEN],
                            char nexts[NEXTS_MAX_LEN], int *count)
{
    unsigned char seen[PROJECTOR_MAX_PARTITIONS] = {0};
    size_t pu = 1, nu = 1;

    *count = 0;
    parts[0] = nexts[0] = '{';
    for (int i = n - 1; i >= 0; i--) {
        int32_t k = evs[i].partition;
        if (k < 0 || k >= PROJECTOR_MAX_PARTITIONS)
            return -EINVAL;
        if (seen[k])
            continue;
        seen[k] = 1;
        pu += (size_t)snprintf(parts + pu, PARTS_MAX_LEN - pu, "%s%" PRId32,
                               *count ? "," : "", k);
        nu += (size_t)snprintf(nexts + nu, NEXTS_MAX_LEN - nu, "%s%" PRId64,
                               *count ? "," : "", evs[i].offset + 1);
        (*count)++;
    }
    memcpy(parts + pu, "}", 2);
    memcpy(nexts + nu, "}", 2);
    return 0;
}

/* Locks the stored position of every partition in the batch for this
 * transaction and reads it into applied[]. A zombie member (paused past
 * its session timeout while its partitions moved on) then finds its events
 * already applied and skips them, rather than replaying old events over
 * newer state; two members never apply the same partition at once. The
 * first statement of every batch touches the offsets table, which is what
 * parley-admin's schema swap waits on (see admin_swap.c). Rows are locked
 * in partition order, and a partition never seen before gets its row
 * first (a second round trip only then). */
static int offsets_read(PGconn *pg, const char *const *params, int nparts,
                        int64_t *applied)
{
    PGresult *res = NULL;
    int r = pl_pg_exec(pg, &res, NULL, 0,
                       "SELECT partition, next_offset FROM offsets"
                       " WHERE topic = $1 AND partition = ANY($2::int[])"
                       " ORDER BY partition FOR UPDATE", 2, params) ? -EIO : 0;

    for (int i = 0; !r && i < PQntuples(res); i++) {
        long long k, v;
        if (pl_num_parse_ll(PQgetvalue(res, i, 0), 0, PROJECTOR_MAX_PARTITIONS - 1, &k) ||
            pl_num_parse_ll(PQgetvalue(res, i, 1), 0, INT64_MAX, &v))
            r = -EIO;
        else
            applied[k] = v;
    }
    if (!r && PQntuples(res) != nparts)
        r = 1; /* some partition has no row yet */
    PQclear(res);
    return r;
}

static int offsets_lock(PGconn *pg, const char *topic, const projector_event *evs, int n,
                        int64_t *applied)
{
    char parts[PARTS_MAX_LEN], nexts[NEXTS_MAX_LEN];
    const char *params[2] = {topic, parts};
    int nparts = 0, r = partition_arrays(evs, n, parts, nexts, &nparts);

    if (!r)
        r = offsets_read(pg, params, nparts, applied);
    if (r == 1)
        r = pl_pg_exec(pg, NULL, NULL, 0,
                       "INSERT INTO offsets (topic, partition, next_offset)"
                       " SELECT $1, unnest($2::int[]), 0 ON CONFLICT DO NOTHING",
                       2, params) ? -EIO : offsets_read(pg, params, nparts, applied);
    return r == 1 ? -EIO : r;
}

static int offsets_store(PGconn *pg, const char *topic, const projector_event *evs, int n)
{
    char parts[PARTS_MAX_LEN], nexts[NEXTS_MAX_LEN];
    const char *params[3] = {topic, parts, nexts};
    int nparts = 0, r = partition_arrays(evs, n, parts, nexts, &nparts);

    if (r)
        return r;
    return pl_pg_exec(pg, NULL, NULL, 0,
                      "INSERT INTO offsets (topic, partition, next_offset)"
                      " SELECT $1, p, o FROM unnest($2::int[], $3::bigint[]) AS u(p, o)"
                      " ON CONFLICT (topic, partition) DO UPDATE"
                      " SET next_offset = GREATEST(offsets.next_offset,"
                      "  EXCLUDED.next_offset), updated_at = now()",
                      3, params) ? -EIO : 0;
}

static void reject(projector_batch_stats *st, const projector_event *m, const char *err)
{
    st->rejected++;
    pl_warn("event_rejected", "partition=%" PRId32 " offset=%" PRId64 " msg=\"%.*s\"",
            m->partition, m->offset, (int)strcspn(err, "\n\""), err);
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
        reject(st, m, err);
        return pl_pg_cmd(pg, "ROLLBACK TO SAVEPOINT ev") ? -EIO : 0;
    }
    if (r)
        return r;
    st->applied++;
    return pl_pg_cmd(pg, "RELEASE SAVEPOINT ev") ? -EIO : 0;
}

/* One pass over the batch. The fast pass (careful 0) sets no savepoints
 * and gives up with -EINVAL at the first bad event; the careful pass
 * isolates every statement, so a bad event is skipped and counted. */
typedef struct pass {
    PGconn *pg;
    const projector_event *evs;
    msg_run *run;
    int careful;
    projector_batch_stats *st;
} pass;

/* Applies the pending run of message.created events. When its statement
 * fails on a bad row, the careful pass applies the run's events one by
 * one behind their own savepoints instead. */
static int run_flush(pass *p)
{
    char err[256] = "";
    int n = msg_run_len(p->run), r;

    if (n == 0)
        return 0;
    r = p->careful && pl_pg_cmd(p->pg, "SAVEPOINT run") ? -EIO : 0;
    if (!r)
        r = msg_run_exec(p->run, p->pg, err, sizeof(err));
    if (r == 0) {
        p->st->applied += n;
        if (p->careful && pl_pg_cmd(p->pg, "RELEASE SAVEPOINT run"))
            r = -EIO;
    } else if (r == -EINVAL && p->careful) {
        r = pl_pg_cmd(p->pg, "ROLLBACK TO SAVEPOINT run") ? -EIO : 0;
        for (int i = 0; i < n && !r; i++)
            r = apply_one(p->pg, &p->evs[msg_run_index(p->run, i)], p->st);
    }
    msg_run_clear(p->run);
    return r;
}

/* A bad event: the careful pass skips it, the fast one gives up. */
static int bad_event(pass *p, const projector_event *m, const char *err)
{
    if (!p->careful)
        return -EINVAL;
    reject(p->st, m, err);
    return 0;
}

/* Adds a message.created event to the run, or applies any other event
 * after flushing the run, so every event keeps its place in the log. */
static int pass_event(pass *p, int i)
{
    const projector_event *m = &p->evs[i];
    char err[256] = "";
    pl_event ev;
    apply_ctx a;
    msg_created f;
    int r = projector_parse(m, &ev, err, sizeof(err));

    if (r)
        return r == -EINVAL ? bad_event(p, m, err) : r;
    projector_ctx(&a, p->pg, m, &ev, err, sizeof(err));
    if (strcmp(ev.type, "message.created") == 0) {
        r = message_created_check(&a, &f);
        if (r)
            r = bad_event(p, m, err);
        else if (msg_run_fits(p->run, &f) || (r = run_flush(p)) == 0)
            r = msg_run_add(p->run, i, &a, &f);
    } else if ((r = run_flush(p)) == 0) {
        if (p->careful) {
            r = apply_one(p->pg, m, p->st);
        } else {
            r = projector_apply_parsed(p->pg, m, &ev, err, sizeof(err));
            p->st->applied += r == 0;
        }
    }
    pl_event_free(&ev);
    return r;
}

static int pass_run(pass *p, int n, const int64_t *applied, int fence)
{
    int r = 0;

    *p->st = (projector_batch_stats){0};
    for (int i = 0; i < n && !r; i++) {
        if (fence && p->evs[i].offset < applied[p->evs[i].partition])
            p->st->skipped++; /* applied already, by us earlier or by another writer */
        else
            r = pass_event(p, i);
    }
    if (!r)
        r = run_flush(p);
    msg_run_clear(p->run);
    return r;
}

int projector_batch_apply(PGconn *pg, const char *topic, const projector_event *evs, int n,
                          int fence, projector_batch_stats *st)
{
    int64_t applied[PROJECTOR_MAX_PARTITIONS];
    pass p = {.pg = pg, .evs = evs, .st = st};
    int r;

    *st = (projector_batch_stats){0};
    r = offsets_lock(pg, topic, evs, n, applied);
    if (!r)
        r = msg_run_new(&p.run, n);
    /* Almost every batch holds no bad event: try it without per-event
     * savepoints, and only when some event is bad redo it isolated. */
    if (!r)
        r = pl_pg_cmd(pg, "SAVEPOINT batch") ? -EIO : pass_run(&p, n, applied, fence);
    if (r == -EINVAL) {
        p.careful = 1;
        r = pl_pg_cmd(pg, "ROLLBACK TO SAVEPOINT batch") ? -EIO
                                                          : pass_run(&p, n, applied, fence);
    }
    if (!r)
        r = pl_pg_cmd(pg, "RELEASE SAVEPOINT batch") ? -EIO : 0;
    if (!r)
        r = offsets_store(pg, topic, evs, n);
    msg_run_free(p.run);
    return r;
}
