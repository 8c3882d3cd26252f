/* parley-admin replay: rebuilds the history projection from the log.
 *
 * --from earliest: a fresh schema (history_rebuild) is built with the
 * projector's own migrations and apply code from offset 0 of every
 * partition (the archive for what Kafka's retention dropped), then
 * admin_swap fences the live projector and renames it in.
 * --from <time>: a repair of the live projection: every event since that
 * time is applied again through the same idempotent statements. */
#include "admin_replay.h"
#include "pl_archive_tiered.h"
#include "migrations.h"
#include "pl_pg.h"
#include "pl_time.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The rebuild must match what the live projector migrated to, or the
 * swapped-in schema would disagree with its recorded version. */
static int preflight(PGconn *pg)
{
    PGresult *res = NULL;
    long long have = -1;
    int rc = pl_pg_exec(pg, &res, NULL, 0,
                        "SELECT (SELECT count(*) FROM public.schema_migrations"
                        "        WHERE component = 'history'),"
                        " has_database_privilege(current_database(), 'CREATE'),"
                        " coalesce((SELECT pg_has_role(nspowner, 'USAGE') FROM pg_namespace"
                        "           WHERE nspname = 'history'), true)", 0, NULL);
    if (rc) {
        fprintf(stderr, "parley-admin: %s", PQerrorMessage(pg));
        return -EIO;
    }
    have = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    if (strcmp(PQgetvalue(res, 0, 1), "t") != 0 || strcmp(PQgetvalue(res, 0, 2), "t") != 0) {
        fprintf(stderr, "parley-admin: this database role may not create schemas or does"
                " not own schema history; replay needs the admin credential\n");
        rc = -EPERM;
    } else if (have != history_migrations_count) {
        fprintf(stderr, "parley-admin: the projector migrated history to step %lld, this"
                " parley-admin has %d steps; run matching versions\n", have,
                history_migrations_count);
        rc = -EINVAL;
    }
    PQclear(res);
    return rc;
}

/* An empty history_rebuild with the projector's tables. */
static int rebuild_prepare(PGconn *pg)
{
    char err[512] = "";
    int rc = pl_pg_cmd(pg, "DROP SCHEMA IF EXISTS history_rebuild CASCADE");
    if (!rc)
        rc = pl_pg_cmd(pg, "DELETE FROM public.schema_migrations"
                           " WHERE component = 'history_rebuild'");
    if (!rc)
        rc = pl_pg_migrate_in(pg, "history_rebuild", "history_rebuild",
                              history_migrations + HISTORY_FIRST_PORTABLE_STEP,
                              history_migrations_count - HISTORY_FIRST_PORTABLE_STEP, err,
                              sizeof(err));
    if (!rc)
        rc = projector_use_schema(pg, "history_rebuild");
    if (rc)
        fprintf(stderr, "parley-admin: cannot create history_rebuild: %s%s", err,
                PQerrorMessage(pg));
    return rc;
}

static void report(const admin_replay *r, const char *what)
{
    printf("%s: %ld events read (%ld from the archive, %ld from Kafka): %d applied,"
           " %d rejected, %d already there\n", what, r->from_archive + r->from_kafka,
           r->from_archive, r->from_kafka, r->total.applied, r->total.rejected,
           r->total.skipped);
}

static int rebuild(admin_replay *r, int verify)
{
    PGconn *pg = r->ctx->pg;
    int nparts = admin_replay_partitions(r), rc = nparts < 0 ? nparts : 0;
    int64_t *target = NULL, lo, hi;

    if (!rc)
        rc = preflight(pg);
    if (!rc)
        rc = rebuild_prepare(pg);
    if (!rc && !(target = calloc((size_t)nparts, sizeof(*target))))
        rc = -ENOMEM;
    /* verify stops where live stands, so the two can be compared; a swap
     * reads to the end, so live has less to wait for under the lock. */
    if (!rc && verify)
        rc = admin_offsets_read(pg, "history", r->ctx->topic, target, nparts) < 0;
    for (int p = 0; !rc && p < nparts; p++) {
        if (!verify && rd_kafka_query_watermark_offsets(r->rk, r->ctx->topic, p, &lo, &hi,
                                                        10000) == 0)
            target[p] = hi;
        rc = admin_replay_range(r, p, 0, target[p]);
    }
    free(target);
    if (rc)
        return 2;
    report(r, "rebuilt history_rebuild");
    return admin_swap(r, nparts, verify);
}

/* Every event since from_ms again, into the live projection. */
static int repair(admin_replay *r, int64_t from_ms)
{
    int nparts = admin_replay_partitions(r), rc = nparts < 0 ? nparts : 0;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(nparts > 0 ? nparts : 1);
    int64_t lo, hi;

    for (int p = 0; p < nparts; p++)
        rd_kafka_topic_partition_list_add(l, r->ctx->topic, p)->offset = from_ms;
    if (!rc && (projector_use_schema(r->ctx->pg, HISTORY_SCHEMA) != 0 ||
                rd_kafka_offsets_for_times(r->rk, l, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR)) {
        fprintf(stderr, "parley-admin: cannot find the offsets for that time\n");
        rc = -EIO;
    }
    r->min_ts = from_ms;
    for (int p = 0; !rc && p < nparts; p++) {
        int64_t start = l->elems[p].offset;
        rc = rd_kafka_query_watermark_offsets(r->rk, r->ctx->topic, p, &lo, &hi, 10000) ? -EIO
                                                                                        : 0;
        if (rc || start < 0 || start >= hi)
            continue; /* nothing since then */
        /* If the first retained event is already newer, older ones since
         * from_ms may be in the archive: read it from the start, by time. */
        rc = admin_replay_range(r, p, start == lo && lo > 0 ? 0 : start, hi);
    }
    rd_kafka_topic_partition_list_destroy(l);
    /* Re-applied events of archived messages must not come back as hot. */
    if (!rc && pl_archive_drop_tiered(r->ctx->pg, HISTORY_SCHEMA, NULL) != 0) {
        fprintf(stderr, "parley-admin: cannot drop archived rows: %s",
                PQerrorMessage(r->ctx->pg));
        rc = -EIO;
    }
    if (rc)
        return 2;
    report(r, "repaired history");
    return 0;
}

int admin_replay_run(const admin_ctx *ctx, int64_t from_ms, int verify)
{
    admin_replay r;
    int code;

    if (admin_replay_open(&r, ctx, from_ms < 0) != 0)
        return 2;
    code = from_ms < 0 ? rebuild(&r, verify) : repair(&r, from_ms);
    admin_replay_close(&r);
    return code;
}
