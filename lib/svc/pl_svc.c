#include "pl_svc.h"
#include "pl_cfg.h"
#include "pl_log.h"
#include "pl_time.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static int svc_int(const char *name, long long def, long long min, long long max,
                   long long *out)
{
    if (pl_cfg_int(name, def, min, max, out) == 0)
        return 0;
    pl_error("config", "setting=%s msg=\"must be an integer in [%lld, %lld]\"", name,
             min, max);
    return -EINVAL;
}

static int svc_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    signal(SIGPIPE, SIG_IGN);
    return pthread_sigmask(SIG_BLOCK, &set, NULL) ? -errno : 0;
}

int pl_svc_init(pl_svc_common *c, const char *component, int default_port,
                int need_pubkey)
{
    pl_log_level lvl = PL_LOG_INFO;
    const char *lvs = pl_cfg_str("PARLEY_LOG_LEVEL", "info");
    const char *keyfile;
    int r = 0;

    memset(c, 0, sizeof(*c));
    c->instance = pl_cfg_str("PARLEY_INSTANCE", component);
    pl_log_init(component, c->instance, lvl);
    if (pl_log_level_parse(lvs, &lvl) != 0) {
        pl_error("config", "setting=PARLEY_LOG_LEVEL msg=\"use debug|info|warn|error\"");
        return -EINVAL;
    }
    pl_log_init(component, c->instance, lvl);
    if (sodium_init() < 0 || svc_signals() != 0)
        return -EIO;
    c->pg_dsn = pl_cfg_str("PARLEY_PG_DSN", PL_PG_DEFAULT_DSN);
    c->kafka_brokers = pl_cfg_str("PARLEY_KAFKA_BROKERS", "127.0.0.1:9092");
    c->events_topic = pl_cfg_str("PARLEY_EVENTS_TOPIC", "parley.events");
    c->http_addr = pl_cfg_str("PARLEY_HTTP_ADDR", "127.0.0.1");
    r = svc_int("PARLEY_HTTP_PORT", default_port, 1, 65535, &c->http_port);
    if (!r)
        r = svc_int("PARLEY_HTTP_THREADS", 4, 1, 256, &c->http_threads);
    if (!r)
        r = svc_int("PARLEY_PG_POOL", 8, 1, 256, &c->pg_pool);
    if (r || !need_pubkey)
        return r;
    keyfile = pl_cfg_str("PARLEY_AUTH_PUBLIC_KEY_FILE", NULL);
    if (!keyfile || pl_token_load_public(keyfile, c->pubkey) != 0) {
        pl_error("config", "setting=PARLEY_AUTH_PUBLIC_KEY_FILE msg=\"cannot read an "
                           "Ed25519 public key (base64) from '%s'\"", keyfile ? keyfile : "");
        return -EINVAL;
    }
    return 0;
}

int pl_svc_wait_signal(int timeout_ms)
{
    sigset_t set;
    struct timespec ts = {.tv_sec = timeout_ms / 1000,
                          .tv_nsec = (long)(timeout_ms % 1000) * 1000000};
    int sig;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sig = sigtimedwait(&set, NULL, &ts);
    return sig > 0 ? sig : 0;
}

int pl_svc_migrate(pl_pg_pool *pool, const char *component,
                   const char *const *steps, int n, int timeout_s)
{
    return pl_svc_migrate_in(pool, component, NULL, steps, n, timeout_s);
}

int pl_svc_migrate_in(pl_pg_pool *pool, const char *component, const char *schema,
                      const char *const *steps, int n, int timeout_s)
{
    int64_t deadline = pl_time_mono_ms() + (int64_t)timeout_s * 1000;
    char err[512] = "";
    int r = -EIO;

    while (pl_time_mono_ms() < deadline) {
        PGconn *c = pl_pg_acquire(pool, 1000);
        if (c) {
            r = pl_pg_migrate_in(c, component, schema, steps, n, err, sizeof(err));
            pl_pg_release(pool, c);
            if (r == 0)
                return 0;
            pl_error("migrate", "component=%s msg=\"%.*s\"", component,
                     (int)strcspn(err, "\n"), err);
            return r; /* a failing migration will not heal by retrying */
        }
        pl_warn("pg_wait", "msg=\"postgres not reachable yet\"");
        if (pl_svc_wait_signal(1000))
            return -EINTR;
    }
    return r;
}

int pl_svc_ops_server(pl_http_server **out, const pl_svc_common *c, pl_metrics *m,
                      int (*ready)(void *ctx), void *ctx)
{
    pl_http_config hc;
    int r;

    pl_svc_http_config(c, &hc);
    hc.threads = 1;
    hc.metrics = m;
    hc.ctx = ctx;
    hc.ready = ready;
    r = pl_http_start(out, &hc);
    if (r)
        pl_error("listen", "port=%lld msg=\"cannot listen\"", c->http_port);
    return r;
}

#define SVC_TOKEN_SKEW_MS 60000 /* clocks of auth and of us may differ */

static int revoked_has(void *arg, const char *sid)
{
    return pl_revoked_feed_has(arg, sid);
}

static int revoked_ready(void *arg)
{
    return pl_revoked_feed_ready(arg);
}

int pl_svc_revoked_feed(pl_revoked_feed **out, const pl_svc_common *c)
{
    pl_revoked_feed_cfg fc = {.brokers = c->kafka_brokers, .client_id = c->instance};
    long long ttl_s;
    char err[512] = "";
    int r;

    /* The same setting and range auth signs tokens with. */
    if (svc_int("PARLEY_ACCESS_TTL_S", 900, 10, 86400, &ttl_s))
        return -EINVAL;
    *out = NULL;
    fc.topic = pl_cfg_str("PARLEY_SESSIONS_TOPIC", "parley.sessions");
    fc.window_ms = ttl_s * 1000 + SVC_TOKEN_SKEW_MS;
    r = pl_revoked_feed_new(out, &fc, err, sizeof(err));
    if (!r)
        r = pl_revoked_feed_start(*out);
    if (r) {
        pl_error("revocations", "topic=%s errno=%d msg=\"%s\"", fc.topic, -r, err);
        pl_revoked_feed_free(*out);
        *out = NULL;
    }
    return r;
}

int pl_svc_revocations(pl_revoked_feed **out, const pl_svc_common *c, pl_http_config *hc)
{
    int r = pl_svc_revoked_feed(out, c);

    if (r)
        return r;
    hc->revocations.revoked = revoked_has;
    hc->revocations.ready = revoked_ready;
    hc->revocations.arg = *out;
    return 0;
}

void pl_svc_http_config(const pl_svc_common *c, pl_http_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->addr = c->http_addr;
    cfg->port = (int)c->http_port;
    cfg->threads = (int)c->http_threads;
    cfg->max_body = 64 * 1024;
    cfg->pubkey = c->pubkey;
}
