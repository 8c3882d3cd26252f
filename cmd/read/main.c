/* parley-read: REST reads over the history projection. Stateless: scale by
 * adding instances behind nginx. */
#include "read.h"
#include "pl_archive_schema.h"
#include "pl_cfg.h"
#include "pl_log.h"

static const pl_http_route routes[] = {
    {"GET", "/api/v1/conversations", read_conversations, PL_HTTP_AUTH},
    /* before {id}: the first matching pattern wins */
    {"GET", "/api/v1/conversations/public", read_public_conversations, PL_HTTP_AUTH},
    {"GET", "/api/v1/conversations/{id}", read_conversation, PL_HTTP_AUTH},
    {"GET", "/api/v1/conversations/{id}/messages", read_messages, PL_HTTP_AUTH},
    {"GET", "/api/v1/search", read_search, PL_HTTP_AUTH},
};

static int ready(void *ctx)
{
    read_api *api = ctx;
    return pl_pg_ping(api->pool);
}

int main(void)
{
    pl_svc_common c;
    read_api api = {.c = &c};
    pl_metrics *m = NULL;
    pl_http_server *http = NULL;
    pl_revoked_feed *revoked = NULL;
    pl_http_config hc;
    const char *archive_dir;
    int code = 1;

    if (pl_svc_init(&c, "read", 8083, 1) != 0)
        return 2;
    if (pl_cfg_int("PARLEY_MIN_POSITION_WAIT_MS", 5000, 0, 60000, &api.wait_ms) != 0) {
        pl_error("config", "setting=PARLEY_MIN_POSITION_WAIT_MS msg=\"0-60000\"");
        return 2;
    }
    if (pl_metrics_new(&m) || pl_pg_pool_new(&api.pool, c.pg_dsn, (int)c.pg_pool) ||
        pl_history_wait_new(&api.wait, api.pool, c.events_topic))
        goto out;
    /* Archived history: snapshots under PARLEY_ARCHIVE_DIR, cataloged in
     * the archive schema, which this service may be first to create. */
    archive_dir = pl_cfg_str("PARLEY_ARCHIVE_DIR", "archive");
    if (pl_store_fs_new(&api.archive, archive_dir) != 0) {
        pl_error("store", "dir=%s msg=\"cannot open the archive directory\"", archive_dir);
        goto out;
    }
    if (pl_svc_migrate(api.pool, "archive", archive_migrations, archive_migrations_count, 120))
        goto out;
    pl_svc_http_config(&c, &hc);
    hc.routes = routes;
    hc.nroutes = sizeof(routes) / sizeof(routes[0]);
    hc.ctx = &api;
    hc.metrics = m;
    hc.ready = ready;
    if (pl_svc_revocations(&revoked, &c, &hc) != 0)
        goto out;
    if (pl_http_start(&http, &hc) != 0) {
        pl_error("listen", "port=%lld msg=\"cannot listen\"", c.http_port);
        goto out;
    }
    pl_info("start", "port=%lld", c.http_port);
    while (!pl_svc_wait_signal(60000))
        ;
    pl_http_quiesce(http);
    code = 0;
    pl_info("stop", "msg=\"shutting down\"");
out:
    /* Waiters answer (503) before the server, which needs every reply. */
    pl_history_wait_free(api.wait);
    pl_http_stop(http);
    pl_revoked_feed_free(revoked);
    pl_pg_pool_free(api.pool);
    pl_store_free(api.archive);
    pl_metrics_free(m);
    return code;
}
