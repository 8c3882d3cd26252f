/* parley-auth: accounts, passwords, sessions and access tokens.
 * main() only wires things: configuration, keys, Postgres, the HTTP server
 * and signals. Exit codes: 0 clean stop, 1 runtime failure, 2 bad config. */
#include "auth.h"
#include "auth_limit.h"
#include "auth_presence.h"
#include "auth_routes.h"
#include "migrations.h"
#include "pl_cfg.h"
#include "pl_http.h"
#include "pl_log.h"
#include "pl_svc.h"
#include "pl_token.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PG_WAIT_S 60         /* how long a start waits for Postgres */
#define MAX_BODY (16 << 10)  /* the largest valid request is well below */

static int cmd_keygen(const char *dir)
{
    static const char *const names[] = {"ed25519.key", "ed25519.pub"};
    char path[4096];
    int r;

    if (sodium_init() < 0) {
        fprintf(stderr, "parley-auth: keygen: libsodium failed to initialise\n");
        return 1;
    }
    /* pl_token_keygen stops at an existing file but may have written the
     * other one by then; refuse before touching anything. */
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (access(path, F_OK) == 0) {
            fprintf(stderr, "parley-auth: keygen: %s already exists, not overwriting\n",
                    path);
            return 1;
        }
    }
    r = pl_token_keygen(dir);
    if (r) {
        fprintf(stderr, "parley-auth: keygen: cannot write keys to %s: %s\n", dir,
                strerror(-r));
        return 1;
    }
    printf("wrote %s/ed25519.key (secret, 0600) and %s/ed25519.pub\n", dir, dir);
    return 0;
}

/* Loads the key pair and checks that its halves belong together: a
 * mismatch would issue tokens that no service (ourselves included) accepts. */
static int keys_load(auth_ctx *ctx, const pl_svc_common *c)
{
    unsigned char derived[crypto_sign_PUBLICKEYBYTES];
    const char *sk_file = pl_cfg_str("PARLEY_AUTH_SECRET_KEY_FILE", NULL);
    int r = sk_file ? pl_token_load_secret(sk_file, ctx->sk) : -ENOENT;

    if (r) {
        pl_error("config", "setting=PARLEY_AUTH_SECRET_KEY_FILE msg=\"cannot load a base64 "
                           "Ed25519 secret key (make one: parley-auth keygen DIR)\"");
        return r;
    }
    memcpy(ctx->pk, c->pubkey, sizeof(ctx->pk));
    crypto_sign_ed25519_sk_to_pk(derived, ctx->sk);
    if (sodium_memcmp(derived, ctx->pk, sizeof(derived)) != 0) {
        pl_error("config", "msg=\"the public key is not the secret key's\"");
        return -EINVAL;
    }
    return 0;
}

static int ready(void *arg)
{
    auth_ctx *ctx = arg;
    return pl_pg_ping(ctx->pool);
}

/* The producer connects lazily: auth starts and serves while Kafka is
 * down, and revocations are published once it is back (within the
 * producer's message timeout). */
static int producer_build(auth_ctx *ctx, const pl_svc_common *c)
{
    char err[512];
    int r;

    ctx->sessions_topic = pl_cfg_str("PARLEY_SESSIONS_TOPIC", "parley.sessions");
    r = pl_kafka_producer_new(&ctx->producer, c->kafka_brokers, c->instance, err,
                              sizeof(err));
    if (r)
        pl_error("kafka", "msg=\"%s\"", err);
    return r;
}

/* The presence view for user objects; its thread replays the topic while
 * auth starts, and reads offline for everyone until then. */
static int presence_build(auth_ctx *ctx, const pl_svc_common *c)
{
    const char *topic = pl_cfg_str("PARLEY_PRESENCE_TOPIC", "parley.presence");
    long long ttl;
    char err[512];
    int r;

    if (pl_cfg_int("PARLEY_PRESENCE_TTL_MS", 30000, 300, 600000, &ttl)) {
        pl_error("config", "msg=\"PARLEY_PRESENCE_TTL_MS is 300-600000\"");
        return -EINVAL;
    }
    err[0] = '\0';
    r = auth_presence_new(&ctx->presence, c->kafka_brokers, c->instance, topic, ttl, err,
                          sizeof(err));
    if (r)
        pl_error("kafka", "what=presence msg=\"%s\"", err);
    return r;
}

/* Builds what the handlers share, beyond the keys. */
static int ctx_build(auth_ctx *ctx, const pl_svc_common *c)
{
    int r;

    if (pl_cfg_int("PARLEY_ACCESS_TTL_S", 900, 10, 86400, &ctx->access_ttl_s) ||
        pl_cfg_int("PARLEY_REFRESH_TTL_S", 30LL * 86400, 60, 365LL * 86400,
                   &ctx->refresh_ttl_s)) {
        pl_error("config", "msg=\"PARLEY_ACCESS_TTL_S is 10-86400, "
                           "PARLEY_REFRESH_TTL_S 60-31536000\"");
        return -EINVAL;
    }
    r = pl_metrics_new(&ctx->metrics);
    if (!r)
        r = auth_routes_metrics(ctx->metrics);
    /* One spare connection beyond the HTTP threads for /readyz. */
    if (!r)
        r = pl_pg_pool_new(&ctx->pool, c->pg_dsn, (int)c->http_threads + 1);
    if (!r)
        r = auth_password_dummy(ctx->dummy_hash);
    if (!r)
        r = auth_limit_init(ctx);
    if (!r)
        r = producer_build(ctx, c);
    if (!r)
        r = presence_build(ctx, c);
    if (r)
        pl_error("init_failed", "errno=%d", -r);
    return r;
}

/* Serves until SIGTERM or SIGINT. */
static int run(auth_ctx *ctx, const pl_svc_common *c)
{
    pl_http_server *srv = NULL;
    pl_revoked_feed *revoked = NULL;
    pl_http_config hc;
    int r = pl_svc_migrate(ctx->pool, "auth", auth_migrations, auth_migrations_count,
                           PG_WAIT_S);

    if (r == -EINTR)
        return 0;
    if (r)
        return r;
    pl_svc_http_config(c, &hc);
    hc.max_body = MAX_BODY;
    hc.routes = auth_routes;
    hc.nroutes = auth_routes_count;
    hc.ctx = ctx;
    hc.metrics = ctx->metrics;
    hc.pubkey = ctx->pk;
    hc.ready = ready;
    r = pl_svc_revocations(&revoked, c, &hc);
    if (r)
        return r;
    r = pl_http_start(&srv, &hc);
    if (r) {
        pl_error("listen", "port=%lld msg=\"cannot listen\"", c->http_port);
        pl_revoked_feed_free(revoked);
        return r;
    }
    pl_info("started", "addr=%s port=%lld threads=%lld", c->http_addr, c->http_port,
            c->http_threads);
    while (!pl_svc_wait_signal(60000))
        ;
    pl_http_quiesce(srv);
    pl_http_stop(srv); /* waits for the threads, so in-flight replies finish */
    pl_revoked_feed_free(revoked);
    pl_kafka_producer_free(ctx->producer, 5000); /* revocations still queued */
    ctx->producer = NULL;
    pl_info("stopped", "msg=\"clean\"");
    return 0;
}

int main(int argc, char **argv)
{
    pl_svc_common c;
    auth_ctx ctx;
    int rc = 1;

    if (argc == 3 && strcmp(argv[1], "keygen") == 0)
        return cmd_keygen(argv[2]);
    if (argc != 1) {
        fprintf(stderr, "usage: parley-auth            (configured by PARLEY_* variables)\n"
                        "       parley-auth keygen DIR\n");
        return 2;
    }
    memset(&ctx, 0, sizeof(ctx));
    if (pl_svc_init(&c, "auth", 8081, 1) != 0 || keys_load(&ctx, &c) != 0) {
        rc = 2;
        goto out;
    }
    if (ctx_build(&ctx, &c) == 0 && run(&ctx, &c) == 0)
        rc = 0;
out:
    auth_presence_free(ctx.presence);
    pl_kafka_producer_free(ctx.producer, 5000);
    auth_limit_free(&ctx);
    pl_pg_pool_free(ctx.pool);
    pl_metrics_free(ctx.metrics);
    sodium_memzero(ctx.sk, sizeof(ctx.sk));
    return rc;
}
