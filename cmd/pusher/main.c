/* parley-pusher: WebSocket fan-out of the events topic.
 * Wiring only: config, the hub, the Kafka feed, the lws server, signals. */
#include "pl_cfg.h"
#include "pl_log.h"
#include "pl_metrics.h"
#include "pl_svc.h"
#include "pl_token.h"
#include "pusher_feed.h"
#include "pusher_hub.h"
#include "pusher_presence.h"
#include "pusher_replay.h"
#include "pusher_util.h"
#include "pusher_ws.h"

#include <errno.h>
#include <pthread.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#define HUB_MAX_QUEUE 8192
#define REPLAY_MAX_QUEUE 4096 /* resume entries waiting for the worker */
#define EXIT_CONFIG 2

typedef struct app {
    pl_metrics *metrics;
    pusher_hub *hub;
    pusher_feed *feed;
    pusher_presence *presence;
    pusher_replay *replay;
    pusher_ws *ws;
    pl_revoked_feed *revoked;
    long long resume_max_convs, drain_jitter_ms, resume_buffer;
} app;

static pusher_ws *signal_ws; /* set once before signals are installed */

static void on_signal(int sig)
{
    (void)sig;
    if (signal_ws)
        pusher_ws_stop(signal_ws);
}

/* pl_svc_init blocked these for sigwait-style services; lws sleeps in
 * poll(), so here a handler wakes it instead. */
static void install_signals(void)
{
    struct sigaction sa;
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

/* lws talks on stderr in its own format; give it ours. */
static void lws_to_log(int level, const char *line)
{
    char q[512], buf[480];
    size_t n = strlen(line);

    if (n >= sizeof(buf))
        n = sizeof(buf) - 1;
    memcpy(buf, line, n);
    buf[n] = '\0';
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    pl_log(level == LLL_ERR ? PL_LOG_ERROR : PL_LOG_WARN, "lws", "msg=%s",
           pusher_quote(q, sizeof(q), buf));
}

static void wake_ws(void *arg)
{
    app *a = arg;
    pusher_ws_wake(a->ws);
}

/* Ready once every feed read: a pusher still replaying presence would
 * miss its clients' co-members' changes, and one still reading
 * revocations could let a revoked session in. */
static int feed_ready(void *arg)
{
    app *a = arg;
    return pusher_feed_ready(a->feed) && pusher_presence_ready(a->presence) &&
           pl_revoked_feed_ready(a->revoked);
}

static int64_t log_end(void *arg, int32_t partition)
{
    app *a = arg;
    return pusher_feed_log_end(a->feed, partition);
}

static int session_revoked(void *arg, const char *sid)
{
    app *a = arg;

    if (!pl_revoked_feed_ready(a->revoked))
        return -EAGAIN;
    return pl_revoked_feed_has(a->revoked, sid);
}

static int declare_metrics(pl_metrics *m)
{
    static const struct {
        const char *name;
        pl_metric_kind kind;
        const char *help;
    } defs[] = {
        {"pusher_open_sockets", PL_METRIC_GAUGE, "Open WebSocket connections."},
        {"pusher_frames_sent_total", PL_METRIC_COUNTER, "Frames written to WebSockets."},
        {"pusher_events_consumed_total", PL_METRIC_COUNTER, "Events read from Kafka."},
        {"pusher_events_rejected_total", PL_METRIC_COUNTER,
         "Events not pushed, by reason (invalid, duplicate, unknown_type, no_members)."},
        {"pusher_slow_clients_dropped_total", PL_METRIC_COUNTER,
         "Sessions closed because their queue overflowed."},
        {"pusher_consumer_lag", PL_METRIC_GAUGE, "Messages behind the high watermark."},
        {"pusher_resumes_total", PL_METRIC_COUNTER,
         "Conversations resumed on a socket, by source (memory: the recent deliveries; "
         "log: the replay worker reading Kafka)."},
        {"pusher_delivery_seconds", PL_METRIC_HISTOGRAM,
         "From event time to the frame being queued on the sockets."},
    };
    int r = 0;

    for (size_t i = 0; !r && i < sizeof(defs) / sizeof(defs[0]); i++) {
        r = pl_metrics_declare(m, defs[i].name, defs[i].kind, defs[i].help);
        /* Series exist from the start, so rate() sees the first increment. */
        if (!r && defs[i].kind != PL_METRIC_HISTOGRAM &&
            strcmp(defs[i].name, "pusher_events_rejected_total") != 0 &&
            strcmp(defs[i].name, "pusher_resumes_total") != 0)
            pl_metrics_add(m, defs[i].name, "", 0);
    }
    return r;
}

static int start_feed(app *a, const pl_svc_common *c)
{
    pusher_feed_cfg fc = {
        .brokers = c->kafka_brokers, .topic = c->events_topic,
        .sessions_topic = pl_cfg_str("PARLEY_SESSIONS_TOPIC", "parley.sessions"),
        .ephemeral_topic = pl_cfg_str("PARLEY_EPHEMERAL_TOPIC", "parley.ephemeral"),
        .pg_dsn = c->pg_dsn, .instance = c->instance};
    char err[512], q[560];
    int r;

    /* Resumes are answered from the newest deliveries the pusher keeps; it
     * starts this many records back to have them after a restart too. */
    if (pl_cfg_int("PARLEY_RESUME_BUFFER", 256, 0, 100000, &a->resume_buffer)) {
        pl_error("config_error", "setting=PARLEY_RESUME_BUFFER reason=\"range\"");
        return EXIT_CONFIG;
    }
    fc.warm = a->resume_buffer;
    err[0] = '\0';
    r = pusher_feed_new(&a->feed, &fc, a->hub, a->metrics, err, sizeof(err));
    if (r == -EINVAL) {
        pl_error("config_error", "setting=kafka reason=%s", pusher_quote(q, sizeof(q), err));
        return EXIT_CONFIG;
    }
    return r ? 1 : 0;
}

static int start_presence(app *a, const pl_svc_common *c)
{
    pusher_presence_cfg pc = {
        .brokers = c->kafka_brokers, .instance = c->instance, .pg_dsn = c->pg_dsn,
        .topic = pl_cfg_str("PARLEY_PRESENCE_TOPIC", "parley.presence")};
    long long ttl;
    char err[512], q[560];
    int r;

    /* How long a silent pusher's users still count as online. */
    if (pl_cfg_int("PARLEY_PRESENCE_TTL_MS", 30000, 300, 600000, &ttl)) {
        pl_error("config_error", "setting=PARLEY_PRESENCE_TTL_MS reason=\"300-600000\"");
        return EXIT_CONFIG;
    }
    pc.ttl_ms = ttl;
    err[0] = '\0';
    r = pusher_presence_new(&a->presence, &pc, a->hub, err, sizeof(err));
    if (r == -EINVAL) {
        pl_error("config_error", "setting=kafka reason=%s", pusher_quote(q, sizeof(q), err));
        return EXIT_CONFIG;
    }
    return r ? 1 : 0;
}

/* The resume worker and the settings around resume and drain. */
static int start_replay(app *a, const pl_svc_common *c)
{
    pusher_replay_cfg rc = {.brokers = c->kafka_brokers, .topic = c->events_topic,
                            .pg_dsn = c->pg_dsn, .instance = c->instance, .hub = a->hub,
                            .max_queue = REPLAY_MAX_QUEUE};
    char err[512], q[560];
    int r;

    if (pl_cfg_int("PARLEY_RESUME_MAX_RECORDS", 10000, 0, 10000000, &rc.max_records) ||
        pl_cfg_int("PARLEY_RESUME_MAX_CONVERSATIONS", 100, 0, PUSHER_REQ_MAX_RESUME,
                   &a->resume_max_convs) ||
        pl_cfg_int("PARLEY_DRAIN_JITTER_MS", 2000, 0, 60000, &a->drain_jitter_ms)) {
        pl_error("config_error", "setting=PARLEY_RESUME_MAX_RECORDS,"
                 "PARLEY_RESUME_MAX_CONVERSATIONS,PARLEY_DRAIN_JITTER_MS reason=\"range\"");
        return EXIT_CONFIG;
    }
    err[0] = '\0';
    r = pusher_replay_new(&a->replay, &rc, err, sizeof(err));
    if (r == -EINVAL) {
        pl_error("config_error", "setting=kafka reason=%s", pusher_quote(q, sizeof(q), err));
        return EXIT_CONFIG;
    }
    return r ? 1 : 0;
}

static int start_ws(app *a, const pl_svc_common *c)
{
    const char *origins = pl_cfg_str("PARLEY_WS_ALLOWED_ORIGINS",
                                     "http://127.0.0.1:8080,http://localhost:8080");
    pusher_ws_cfg wc = {.addr = c->http_addr, .port = (int)c->http_port, .origins = origins,
                        .public_key = c->pubkey, .hub = a->hub, .metrics = a->metrics,
                        .presence = a->presence, .replay = a->replay,
                        .resume_max_conversations = a->resume_max_convs,
                        .resume_buffer = a->resume_buffer,
                        .drain_jitter_ms = a->drain_jitter_ms,
                        .ready = feed_ready, .ready_arg = a,
                        .revoked = session_revoked, .revoked_arg = a,
                        .log_end = log_end, .log_end_arg = a};
    int r = pusher_ws_new(&a->ws, &wc);

    if (r == -EINVAL) {
        pl_error("config_error", "setting=PARLEY_WS_ALLOWED_ORIGINS reason=\"empty or more "
                                 "than 32 entries\"");
        return EXIT_CONFIG;
    }
    if (r) {
        pl_error("listen_failed", "addr=%s port=%lld", c->http_addr, c->http_port);
        return 1;
    }
    pl_info("listen", "addr=%s port=%lld path=/api/v1/ws", c->http_addr, c->http_port);
    return 0;
}

static void teardown(app *a)
{
    struct sigaction sa;

    /* The feed first: it wakes the lws context, which must still exist. */
    if (a->hub)
        pusher_hub_close(a->hub);
    pusher_feed_free(a->feed);
    pusher_replay_free(a->replay);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal_ws = NULL;
    pusher_ws_free(a->ws);
    pusher_presence_free(a->presence); /* after the sockets' last -1 */
    pl_revoked_feed_free(a->revoked);
    pusher_hub_free(a->hub);
    pl_metrics_free(a->metrics);
}

int main(void)
{
    pl_svc_common c;
    app a = {0};
    int r, code = 1;

    if (pl_svc_init(&c, "pusher", 8084, 1) != 0)
        return EXIT_CONFIG;
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_to_log);
    pl_info("start", "addr=%s port=%lld brokers=%s topic=%s", c.http_addr, c.http_port,
            c.kafka_brokers, c.events_topic);
    if (pl_metrics_new(&a.metrics) || declare_metrics(a.metrics) ||
        pusher_hub_new(&a.hub, HUB_MAX_QUEUE, wake_ws, &a))
        goto out;
    r = pl_svc_revoked_feed(&a.revoked, &c);
    code = r == -EINVAL ? EXIT_CONFIG : r ? 1 : start_feed(&a, &c);
    if (!code)
        code = start_presence(&a, &c);
    if (!code)
        code = start_replay(&a, &c);
    if (!code)
        code = start_ws(&a, &c);
    if (code)
        goto out;
    signal_ws = a.ws;
    install_signals();
    code = 1;
    r = pusher_feed_start(a.feed);
    if (!r && (r = pusher_presence_start(a.presence)) != 0)
        pl_error("presence_start_failed", "err=%d", r);
    if (!r && (r = pusher_replay_start(a.replay)) != 0)
        pl_error("replay_start_failed", "err=%d", r);
    if (r) {
        pl_error("feed_start_failed", "err=%d", r);
        goto out;
    }
    pusher_ws_run(a.ws);
    code = 0;
out:
    teardown(&a);
    pl_info("shutdown", "phase=done code=%d", code);
    return code;
}
