/* parley-projector: applies the events topic to the history projection in
 * Postgres. Scale by running more instances (up to the partition count):
 * the consumer group splits the partitions between them. */
#include "migrations.h"
#include "pl_archive_schema.h"
#include "projector.h"
#include "pl_cfg.h"
#include "pl_log.h"

#include <stdio.h>
#include <stdlib.h>

static int ready(void *ctx)
{
    return projector_ready(ctx) ? 0 : -1;
}

static void metrics_declare(pl_metrics *m)
{
    pl_metrics_declare(m, "projector_events_applied_total", PL_METRIC_COUNTER,
                       "Events applied to the history projection");
    pl_metrics_declare(m, "projector_events_rejected_total", PL_METRIC_COUNTER,
                       "Malformed events skipped");
    pl_metrics_declare(m, "projector_events_skipped_total", PL_METRIC_COUNTER,
                       "Events already applied (redelivered, or a rebalance's zombie)");
    pl_metrics_declare(m, "projector_batch_seconds", PL_METRIC_HISTOGRAM,
                       "Time to apply and commit one batch");
    pl_metrics_declare(m, "projector_consumer_lag", PL_METRIC_GAUGE,
                       "Events behind the log end on the assigned partitions");
    pl_metrics_declare(m, "projector_assigned_partitions", PL_METRIC_GAUGE,
                       "Partitions this instance owns");
}

int main(void)
{
    pl_svc_common c;
    pl_metrics *m = NULL;
    pl_pg_pool *pool = NULL;
    pl_http_server *http = NULL;
    projector *p = NULL;
    long long batch;
    char err[512];
    int r, code = 1;

    if (pl_svc_init(&c, "projector", 8085, 0) != 0 ||
        pl_cfg_int("PARLEY_PROJECTOR_BATCH", 500, 1, 10000, &batch) != 0)
        return 2;
    if (pl_metrics_new(&m) || pl_pg_pool_new(&pool, c.pg_dsn, 1))
        goto out;
    metrics_declare(m);
    /* Replies to archived messages look their target up in the archive
     * schema, which this service may be first to create. */
    if (pl_svc_migrate_in(pool, "history", HISTORY_SCHEMA, history_migrations,
                          history_migrations_count, 120) ||
        pl_svc_migrate(pool, "archive", archive_migrations, archive_migrations_count, 120))
        goto out;
    r = projector_new(&p, &c, m, (int)batch, err, sizeof(err));
    if (r) {
        pl_error("kafka", "msg=\"%s\"", err);
        goto out;
    }
    if (pl_svc_ops_server(&http, &c, m, ready, p) != 0)
        goto out;
    pl_info("start", "topic=%s port=%lld batch=%lld", c.events_topic, c.http_port, batch);
    r = projector_run(p);
    code = r ? 1 : 0;
    pl_info("stop", "result=%d", r);
out:
    projector_free(p);
    pl_http_stop(http);
    pl_pg_pool_free(pool);
    pl_metrics_free(m);
    return code;
}
