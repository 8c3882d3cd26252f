/* parley-media: wiring only. Exit codes: 0 clean stop, 1 runtime failure,
 * 2 bad config. */
#include "media.h"
#include "pl_archive_schema.h"
#include "pl_cfg.h"
#include "pl_log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define PG_WAIT_S 60

static const pl_http_route routes[] = {
    {"POST", "/api/v1/attachments", media_upload, PL_HTTP_AUTH | PL_HTTP_STREAM},
    {"GET", "/api/v1/attachments/{id}", media_download, PL_HTTP_AUTH},
    {"POST", "/api/v1/exports", media_export_create, PL_HTTP_AUTH},
    {"GET", "/api/v1/exports/{id}", media_export_status, PL_HTTP_AUTH},
    {"GET", "/api/v1/exports/{id}/download", media_export_download, PL_HTTP_AUTH},
};

static int ready(void *ctx)
{
    media *m = ctx;
    return pl_pg_ping(m->pool);
}

/* PARLEY_EXPORT_*: see the README's settings table. */
static int export_settings(media *m)
{
    media_export_cfg *x = &m->ex;
    long long per_hour, burst;

    if (pl_cfg_int("PARLEY_EXPORT_TTL_HOURS", 72, 1, 8760, &x->ttl_hours) ||
        pl_cfg_int("PARLEY_EXPORT_MAX_BYTES", 2LL << 30, 1 << 20, 0xFFFFFFFFLL, &x->max_bytes) ||
        pl_cfg_int("PARLEY_EXPORT_WORKERS", 1, 1, 16, &x->workers) ||
        pl_cfg_int("PARLEY_EXPORT_MAX_ACTIVE", 2, 1, 100, &x->max_active) ||
        pl_cfg_int("PARLEY_EXPORT_LEASE_S", 30, 2, 3600, &x->lease_s) ||
        pl_cfg_int("PARLEY_EXPORT_PACE_MS", 0, 0, 10000, &x->pace_ms) ||
        pl_cfg_int("PARLEY_EXPORT_RATE_PER_HOUR", 10, 1, 1000000, &per_hour) ||
        pl_cfg_int("PARLEY_EXPORT_RATE_BURST", 5, 1, 1000000, &burst)) {
        pl_error("config", "msg=\"a PARLEY_EXPORT_* setting is out of range (see README)\"");
        return -EINVAL;
    }
    return pl_rate_new(&m->export_rate, (double)per_hour / 3600.0, (double)burst, 65536);
}

/* The exports store: PARLEY_EXPORT_DIR, by default beside the
 * attachments (same volume in compose and Kubernetes). */
static int export_store(media *m, const char *attachment_dir)
{
    const char *d = pl_cfg_str("PARLEY_EXPORT_DIR", NULL);
    char dir[2048];
    int n = d && *d ? snprintf(dir, sizeof(dir), "%s", d)
                    : snprintf(dir, sizeof(dir), "%s/exports", attachment_dir);
    int r = n < 0 || (size_t)n >= sizeof(dir) ? -EINVAL : pl_store_fs_new(&m->exports, dir);

    if (r)
        pl_error("store", "dir=\"%s\" msg=\"%s\"", dir, strerror(-r));
    return r;
}

/* Archived history (downloads and exports of archived messages): the
 * snapshots under PARLEY_ARCHIVE_DIR, read only, with the read API's
 * default, and the archive schema, which this service may be first to
 * create. */
static int archive_open(media *m)
{
    const char *dir = pl_cfg_str("PARLEY_ARCHIVE_DIR", "archive");
    int r = pl_store_fs_new(&m->archive, dir);

    if (r)
        pl_error("store", "dir=\"%s\" msg=\"cannot open the archive directory: %s\"", dir,
                 strerror(-r));
    return r;
}

/* PARLEY_ATTACHMENT_DIR defaults to $PARLEY_DATA_DIR/attachments. */
static int settings(media *m, char *dir, size_t len)
{
    const char *d = pl_cfg_str("PARLEY_ATTACHMENT_DIR", NULL);
    int n;

    long long per_min, burst;

    if (pl_cfg_int("PARLEY_ATTACHMENT_MAX_BYTES", 25LL << 20, 1, 1LL << 40, &m->max_bytes)) {
        pl_error("config", "setting=PARLEY_ATTACHMENT_MAX_BYTES msg=\"not an integer in "
                           "[1, 2^40]\"");
        return -EINVAL;
    }
    if (pl_cfg_int("PARLEY_UPLOAD_RATE_PER_MIN", 30, 1, 1000000, &per_min) ||
        pl_cfg_int("PARLEY_UPLOAD_RATE_BURST", 20, 1, 1000000, &burst) ||
        pl_rate_new(&m->rate, (double)per_min / 60.0, (double)burst, 65536) != 0) {
        pl_error("config", "msg=\"PARLEY_UPLOAD_RATE_PER_MIN and _BURST are 1-1000000\"");
        return -EINVAL;
    }
    if (d && *d)
        n = snprintf(dir, len, "%s", d);
    else
        n = snprintf(dir, len, "%s/attachments",
                     pl_cfg_str("PARLEY_DATA_DIR", ".parley/data"));
    if (n < 0 || (size_t)n >= len) {
        pl_error("config", "setting=PARLEY_ATTACHMENT_DIR msg=\"path too long\"");
        return -EINVAL;
    }
    return 0;
}

static void metrics_declare(pl_metrics *m)
{
    pl_metrics_declare(m, "media_upload_bytes_total", PL_METRIC_COUNTER,
                       "Bytes of attachments stored");
}

int main(void)
{
    pl_svc_common c;
    media m = {.c = &c};
    pl_http_server *http = NULL;
    pl_revoked_feed *revoked = NULL;
    pl_http_config hc;
    char dir[2048];
    int code = 1, r;

    if (pl_svc_init(&c, "media", 8086, 1) != 0 || settings(&m, dir, sizeof(dir)) != 0 ||
        export_settings(&m) != 0)
        goto bad_config;
    r = pl_store_fs_new(&m.store, dir);
    if (r) {
        pl_error("store", "dir=\"%s\" msg=\"%s\"", dir, strerror(-r));
        goto bad_config;
    }
    if (export_store(&m, dir) != 0 || archive_open(&m) != 0)
        goto bad_config;
    if (pl_metrics_new(&m.metrics) || pl_pg_pool_new(&m.pool, c.pg_dsn, (int)c.pg_pool))
        goto out;
    metrics_declare(m.metrics);
    r = pl_svc_migrate(m.pool, "media", media_migrations, media_migrations_count, PG_WAIT_S);
    if (r == 0)
        r = pl_svc_migrate(m.pool, "archive", archive_migrations, archive_migrations_count,
                           PG_WAIT_S);
    if (r) {
        code = r == -EINTR ? 0 : 1; /* stopped while Postgres was starting */
        goto out;
    }
    pl_svc_http_config(&c, &hc);
    hc.routes = routes;
    hc.nroutes = sizeof(routes) / sizeof(routes[0]);
    hc.ctx = &m;
    hc.metrics = m.metrics;
    hc.ready = ready;
    if (pl_svc_revocations(&revoked, &c, &hc) != 0)
        goto out;
    if (pl_http_start(&http, &hc) != 0) {
        pl_error("listen", "port=%lld msg=\"cannot listen\"", c.http_port);
        goto out;
    }
    if (media_exporter_start(&m) != 0) {
        pl_error("export", "msg=\"cannot start the export workers\"");
        goto out;
    }
    pl_info("start", "port=%lld dir=\"%s\" max_bytes=%lld export_workers=%lld", c.http_port,
            dir, m.max_bytes, m.ex.workers);
    while (!pl_svc_wait_signal(1000))
        ;
    pl_http_quiesce(http);
    media_exporter_stop(m.exporter); /* a running job goes back to the queue */
    m.exporter = NULL;
    code = 0;
    pl_info("stop", "msg=\"stopped\"");
out:
    media_exporter_stop(m.exporter);
    pl_http_stop(http);
    pl_revoked_feed_free(revoked);
    pl_pg_pool_free(m.pool);
    pl_metrics_free(m.metrics);
    pl_store_free(m.store);
    pl_store_free(m.exports);
    pl_store_free(m.archive);
    pl_rate_free(m.rate);
    pl_rate_free(m.export_rate);
    return code;
bad_config:
    pl_store_free(m.store);
    pl_store_free(m.exports);
    pl_store_free(m.archive);
    pl_rate_free(m.rate);
    pl_rate_free(m.export_rate);
    return 2;
}
