/* pl_svc: what every service's main() does the same way: logging set-up,
 * signal handling, the common settings, Postgres start-up with retry. */
#ifndef PL_SVC_H
#define PL_SVC_H

#include <sodium.h>

#include "pl_http.h"
#include "pl_pg.h"
#include "pl_revoked_feed.h"

typedef struct pl_svc_common {
    const char *instance;
    const char *pg_dsn;
    const char *kafka_brokers;
    const char *events_topic;
    const char *http_addr;
    long long http_port;
    long long http_threads;
    long long pg_pool;
    unsigned char pubkey[crypto_sign_PUBLICKEYBYTES];
} pl_svc_common;

/* Initialises libsodium and logging, blocks SIGINT/SIGTERM in every thread
 * created after it (pl_svc_wait_signal collects them), and reads the common
 * settings. need_pubkey loads PARLEY_AUTH_PUBLIC_KEY_FILE. Returns 0, or
 * -EINVAL after logging which setting is wrong. */
int pl_svc_init(pl_svc_common *c, const char *component, int default_port,
                int need_pubkey);
/* Returns the signal received, or 0 after timeout_ms. */
int pl_svc_wait_signal(int timeout_ms);
/* Retries pl_pg_migrate for up to timeout_s while Postgres is starting. */
int pl_svc_migrate(pl_pg_pool *pool, const char *component,
                   const char *const *steps, int n, int timeout_s);
/* The same for steps with unqualified names, applied inside schema. */
int pl_svc_migrate_in(pl_pg_pool *pool, const char *component, const char *schema,
                      const char *const *steps, int n, int timeout_s);
/* For workers with no API: a one-thread server answering /healthz,
 * /readyz (ready(ctx) == 0) and /metrics. Logs and returns nonzero when
 * it cannot listen. */
int pl_svc_ops_server(pl_http_server **out, const pl_svc_common *c, pl_metrics *m,
                      int (*ready)(void *ctx), void *ctx);
/* Starts the revoked-sessions feed every service that takes access tokens
 * runs (sessions topic PARLEY_SESSIONS_TOPIC, window PARLEY_ACCESS_TTL_S
 * plus a minute of clock skew). *out is the caller's (pl_revoked_feed_free).
 * Logs and returns nonzero on a bad setting or when the feed cannot start. */
int pl_svc_revoked_feed(pl_revoked_feed **out, const pl_svc_common *c);
/* pl_svc_revoked_feed, wired into hc, so PL_HTTP_AUTH routes refuse a
 * revoked session's tokens and /readyz waits until the feed has caught
 * up. Free *out after pl_http_stop. */
int pl_svc_revocations(pl_revoked_feed **out, const pl_svc_common *c, pl_http_config *hc);
/* Fills an http config from the common settings. */
void pl_svc_http_config(const pl_svc_common *c, pl_http_config *cfg);

#endif
