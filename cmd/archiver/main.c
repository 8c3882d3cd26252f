/* parley-archiver: writes the events topic into immutable, compressed,
 * hash-chained archive segments. Scale by running more instances (up to
 * the partition count); the consumer group splits the partitions.
 * Each instance also runs the retention jobs (tiering and purge, see
 * archive_jobs.h); they take row locks, so instances do not collide.
 * With arguments it is the operator CLI for holds and policies. */
#include "archive_catalog.h"
#include "archive_cli.h"
#include "archive_jobs.h"
#include "archiver.h"
#include "pl_cfg.h"
#include "pl_log.h"

#include <stdio.h>

static int ready(void *ctx)
{
    return archiver_ready(ctx) ? 0 : -1;
}

static void metrics_declare(pl_metrics *m)
{
    pl_metrics_declare(m, "archiver_segments_total", PL_METRIC_COUNTER, "Segments sealed");
    pl_metrics_declare(m, "archiver_events_total", PL_METRIC_COUNTER, "Events archived");
    pl_metrics_declare(m, "archiver_bytes_total", PL_METRIC_COUNTER,
                       "Compressed bytes written");
    pl_metrics_declare(m, "archiver_raw_bytes_total", PL_METRIC_COUNTER,
                       "Uncompressed segment bytes");
    pl_metrics_declare(m, "archiver_messages_tiered_total", PL_METRIC_COUNTER,
                       "Hot history messages moved into snapshots");
    pl_metrics_declare(m, "archiver_snapshots_purged_total", PL_METRIC_COUNTER,
                       "History snapshots deleted by the purge policy");
}

static int policy(archive_policy *pol)
{
    long long hot_days, purge_days;

    if (pl_cfg_int("PARLEY_RETENTION_HOT_DAYS", 90, 1, 36500, &hot_days) ||
        pl_cfg_int("PARLEY_PURGE_DAYS", 0, 0, 36500, &purge_days) ||
        pl_cfg_int("PARLEY_RETENTION_INTERVAL_MS", 3600000, 100, 86400000,
                   &pol->interval_ms) ||
        pl_cfg_int("PARLEY_RETENTION_BATCH", 500, 1, 10000, &pol->batch)) {
        pl_error("config", "msg=\"PARLEY_RETENTION_HOT_DAYS (1-36500), PARLEY_PURGE_DAYS "
                           "(0-36500), _INTERVAL_MS or _BATCH is out of range\"");
        return -1;
    }
    pol->hot_s = hot_days * 86400;
    pol->purge_s = purge_days * 86400;
    return 0;
}

static int limits(archiver_limits *lim, const char **dir)
{
    *dir = pl_cfg_str("PARLEY_ARCHIVE_DIR", "archive");
    if (pl_cfg_int("PARLEY_ARCHIVE_SEGMENT_EVENTS", 10000, 1, 10000000, &lim->events) ||
        pl_cfg_int("PARLEY_ARCHIVE_SEGMENT_BYTES", 8 << 20, 1024, 32 << 20, &lim->bytes) ||
        pl_cfg_int("PARLEY_ARCHIVE_SEGMENT_MS", 30000, 10, 86400000, &lim->age_ms)) {
        pl_error("config", "msg=\"PARLEY_ARCHIVE_SEGMENT_EVENTS, _BYTES (1 KiB-32 MiB) or "
                           "_MS is out of range\"");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    pl_svc_common c;
    archiver_limits lim;
    archive_policy pol;
    archive_jobs *jobs = NULL;
    pl_metrics *m = NULL;
    pl_pg_pool *pool = NULL;
    pl_store *store = NULL;
    pl_http_server *http = NULL;
    archiver *a = NULL;
    const char *dir;
    char err[512];
    int r, code = 1;

    if (pl_svc_init(&c, "archiver", 8087, 0) != 0 || limits(&lim, &dir) != 0 ||
        policy(&pol) != 0)
        return 2;
    if (argc > 1)
        return archive_cli(&c, argc, argv);
    if (pl_metrics_new(&m) || pl_pg_pool_new(&pool, c.pg_dsn, 1))
        goto out;
    metrics_declare(m);
    if (pl_store_fs_new(&store, dir) != 0) {
        pl_error("store", "dir=%s msg=\"cannot open the archive directory\"", dir);
        goto out;
    }
    if (pl_svc_migrate(pool, "archive", archive_migrations, archive_migrations_count, 120))
        goto out;
    r = archiver_new(&a, &c, m, store, lim, err, sizeof(err));
    if (r) {
        pl_error("kafka", "msg=\"%s\"", err);
        goto out;
    }
    if (pl_svc_ops_server(&http, &c, m, ready, a) != 0 ||
        archive_jobs_start(&jobs, &c, m, store, pol) != 0)
        goto out;
    pl_info("start", "dir=%s segment_events=%lld segment_ms=%lld hot_s=%lld purge_s=%lld",
            dir, lim.events, lim.age_ms, pol.hot_s, pol.purge_s);
    r = archiver_run(a);
    code = r ? 1 : 0;
    pl_info("stop", "result=%d", r);
out:
    archive_jobs_stop(jobs);
    archiver_free(a);
    pl_http_stop(http);
    pl_store_free(store);
    pl_pg_pool_free(pool);
    pl_metrics_free(m);
    return code;
}
