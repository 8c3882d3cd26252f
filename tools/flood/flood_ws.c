#include "flood_ws.h"
#include "flood_http.h"
#include "flood_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RX_MAX 65536
#define TICK_US 10000
#define TOKEN_MAX 2048
#define RESUME_MAX 60000 /* the server takes client frames up to 64 KiB */

enum { S_IDLE, S_CONNECTING, S_AUTH, S_READY, S_DONE };

typedef struct wsc {
    flood_ws *w;
    struct lws *wsi;
    size_t idx;
    int state, sent_auth;
    int was_ready, flapping, close_code;
    int64_t t0, ready_at, retry_at;
    char *rx;
    size_t rxlen;
} wsc;

typedef struct wsurl {
    char host[64];
    char path[128];
    int port;
    int loopback; /* target in 127.0.0.0/8: spread over source addresses */
} wsurl;

struct flood_ws {
    flood_ws_cfg cfg;
    wsurl *urls;
    wsc *c;
    char (*src)[20];
    struct lws_context *ctx;
    pthread_t thread;
    int started;
    atomic_int stop;
    size_t next;        /* next client to connect */
    atomic_long pending; /* connecting or authenticating */
    atomic_long settled;
    int64_t last_connect_us, last_tick_us;
    double credit;
    flood_rng rng;       /* reconnect jitter (ws thread) */
    flood_hist connect;
    flood_ws_stats st;
    lws_sorted_usec_list_t sul;
    struct lws_protocols protocols[2];
};

/* A connect attempt ended. A client's first attempt settles it. */
static void finish(wsc *c, int ok)
{
    flood_ws *w = c->w;

    atomic_fetch_sub(&w->pending, 1);
    if (ok) {
        atomic_fetch_add(&w->st.ready, 1);
        c->ready_at = flood_now_us();
    }
    if (c->was_ready) {
        if (ok)
            atomic_fetch_add(&w->st.reconnects, 1);
        return;
    }
    atomic_fetch_add(&w->settled, 1);
    if (ok) {
        flood_hist_add(&w->connect, flood_now_us() - c->t0);
        atomic_fetch_add(&w->st.ever_ready, 1);
    }
}

static void on_text(wsc *c, const char *d, size_t n)
{
    flood_ws *w = c->w;
    atomic_fetch_add(&w->st.frames, 1);
    atomic_fetch_add(&w->st.bytes, (long)n);
    if (c->state == S_AUTH) {
        if (memmem(d, n, "\"type\":\"ready\"", 14)) {
            c->state = S_READY;
            finish(c, 1);
            c->was_ready = 1;
        }
        return;
    }
    if (c->state == S_READY && w->cfg.on_frame)
        w->cfg.on_frame(w->cfg.opaque, c->idx, d, n);
}

/* The connection is gone for good (lws will not call back for it again).
 * With reconnect_ms, a client that was ready once comes back later. */
static void on_gone(wsc *c, int code)
{
    flood_ws *w = c->w;
    int retry = w->cfg.reconnect_ms > 0 && !atomic_load(&w->stop) && c->was_ready;

    if (c->state == S_CONNECTING || c->state == S_AUTH) {
        if (!c->was_ready)
            atomic_fetch_add(code == 4401 ? &w->st.auth_failed : &w->st.connect_failed, 1);
        finish(c, 0);
    } else if (c->state == S_READY) {
        atomic_fetch_sub(&w->st.ready, 1);
        if (c->flapping)
            atomic_fetch_add(&w->st.flaps, 1);
        else if (!atomic_load(&w->stop))
            atomic_fetch_add(code == 1008 ? &w->st.slow_dropped : &w->st.closed, 1);
    }
    c->state = retry ? S_IDLE : S_DONE;
    c->retry_at = retry ? flood_now_us() + (int64_t)w->cfg.reconnect_ms * 1000 +
                              (int64_t)flood_rng_below(&w->rng,
                                                       (uint64_t)w->cfg.reconnect_ms * 1000 + 1)
                        : 0;
    c->flapping = 0;
    c->close_code = 0;
    c->wsi = NULL;
    free(c->rx);
    c->rx = NULL;
    c->rxlen = 0;
}

static int send_auth(wsc *c, struct lws *wsi)
{
    flood_ws *w = c->w;
    size_t cap = TOKEN_MAX + RESUME_MAX + 64;
    unsigned char *buf = malloc(LWS_PRE + cap);
    char *p = buf ? (char *)buf + LWS_PRE : NULL;
    int n, m = 0, r = -1;

    if (!buf)
        return -1;
    n = snprintf(p, TOKEN_MAX + 40, "{\"type\":\"auth\",\"access_token\":\"%s\"",
                 w->cfg.tokens[c->idx]);
    if (n < 0 || n >= TOKEN_MAX + 40)
        goto out;
    if (w->cfg.resume) {
        memcpy(p + n, ",\"resume\":", 10);
        m = w->cfg.resume(w->cfg.opaque, c->idx, p + n + 10, RESUME_MAX);
        if (m < 0)
            goto out;
        n += m > 0 ? 10 + m : 0;
    }
    p[n++] = '}';
    if (lws_write(wsi, (unsigned char *)p, (size_t)n, LWS_WRITE_TEXT) < n)
        goto out;
    c->sent_auth = 1;
    r = 0;
out:
    free(buf);
    return r;
}

static int receive(wsc *c, struct lws *wsi, const char *in, size_t len)
{
    int final = lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0;
    if (final && c->rxlen == 0) {
        on_text(c, in, len);
        return 0;
    }
    if (c->rxlen + len > RX_MAX)
        return -1;
    char *nb = realloc(c->rx, c->rxlen + len + 1);
    if (!nb)
        return -1;
    c->rx = nb;
    memcpy(c->rx + c->rxlen, in, len);
    c->rxlen += len;
    if (final) {
        on_text(c, c->rx, c->rxlen);
        c->rxlen = 0;
    }
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                    void *in, size_t len)
{
    wsc *c = user;

    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (c) {
            c->state = S_AUTH;
            lws_callback_on_writable(wsi);
        }
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (c && atomic_load(&c->w->stop)) {
            lws_close_reason(wsi, LWS_CLOSE_STATUS_GOINGAWAY, NULL, 0);
            return -1;
        }
        if (c && !c->sent_auth)
            return send_auth(c, wsi);
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (c)
            return receive(c, wsi, in, len);
        break;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        /* CLIENT_CLOSED follows; only then may the client reconnect. */
        if (c && len >= 2)
            c->close_code = (((const unsigned char *)in)[0] << 8) |
                            ((const unsigned char *)in)[1];
        break;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (c && c->state != S_DONE && c->state != S_IDLE)
            on_gone(c, c->close_code);
        break;
    default:
        break;
    }
    return 0;
}

static void connect_client(flood_ws *w, wsc *c)
{
    const wsurl *u = &w->urls[c->idx % w->cfg.nurls];
    struct lws_client_connect_info ci;

    memset(&ci, 0, sizeof(ci));
    ci.context = w->ctx;
    ci.address = u->host;
    ci.port = u->port;
    ci.path = u->path;
    ci.host = u->host;
    /* Spreading over 127.1.x.y only works towards loopback; an allowed
     * in-cluster host gets the pod's own address. */
    ci.iface = u->loopback ? w->src[c->idx % (size_t)w->cfg.nsrc] : NULL;
    ci.protocol = NULL;
    ci.local_protocol_name = "flood";
    ci.userdata = c;
    ci.pwsi = &c->wsi;
    c->state = S_CONNECTING;
    c->sent_auth = 0;
    c->t0 = flood_now_us();
    atomic_fetch_add(&w->pending, 1);
    if (!lws_client_connect_via_info(&ci) && c->state == S_CONNECTING)
        on_gone(c, 0);
}

/* Reconnects the clients whose time has come, within the inflight cap,
 * and drops the sockets that have been up flap_ms (they come back). */
static void reconnect_and_flap(flood_ws *w, int64_t now)
{
    for (size_t i = 0; i < w->next; i++) {
        wsc *c = &w->c[i];
        if (c->state == S_IDLE && c->retry_at && now >= c->retry_at &&
            atomic_load(&w->pending) < w->cfg.inflight) {
            c->retry_at = 0;
            connect_client(w, c);
        } else if (w->cfg.flap_ms && c->state == S_READY && c->wsi && !c->flapping &&
                   now - c->ready_at >= (int64_t)w->cfg.flap_ms * 1000) {
            c->flapping = 1;
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
        }
    }
}

/* Paces connects and runs the caller's tick. Reschedules itself. */
static void on_sul(lws_sorted_usec_list_t *sul)
{
    flood_ws *w = lws_container_of(sul, flood_ws, sul);
    int64_t now = flood_now_us();

    if (!atomic_load(&w->stop)) {
        if (w->last_connect_us)
            w->credit += (double)(now - w->last_connect_us) * w->cfg.connect_rate / 1e6;
        w->last_connect_us = now;
        if (w->credit > w->cfg.inflight)
            w->credit = w->cfg.inflight;
        while (w->next < w->cfg.nclients && w->credit >= 1.0 &&
               atomic_load(&w->pending) < w->cfg.inflight) {
            w->credit -= 1.0;
            connect_client(w, &w->c[w->next++]);
        }
        reconnect_and_flap(w, now);
        /* Handshakes that hang count as failures. */
        int64_t lim = (int64_t)w->cfg.timeout_s * 1000000;
        for (size_t i = 0; i < w->next; i++) {
            wsc *c = &w->c[i];
            if ((c->state == S_CONNECTING || c->state == S_AUTH) && now - c->t0 > lim &&
                c->wsi) {
                lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
                c->t0 = now; /* once */
            }
        }
    }
    if (w->cfg.on_tick && now - w->last_tick_us >= 100000) {
        w->last_tick_us = now;
        w->cfg.on_tick(w->cfg.opaque);
    }
    lws_sul_schedule(w->ctx, 0, &w->sul, on_sul, TICK_US);
}

static void *run(void *arg)
{
    flood_ws *w = arg;
    lws_sul_schedule(w->ctx, 0, &w->sul, on_sul, 1);
    while (!atomic_load(&w->stop))
        lws_service(w->ctx, 0);
    /* Close politely: each client sends a close frame on its next writeable. */
    for (size_t i = 0; i < w->next; i++)
        if (w->c[i].wsi && w->c[i].state != S_DONE)
            lws_callback_on_writable(w->c[i].wsi);
    int64_t end = flood_now_us() + 2000000;
    while (flood_now_us() < end) {
        size_t open = 0;
        for (size_t i = 0; i < w->next; i++)
            open += w->c[i].state != S_DONE && w->c[i].state != S_IDLE;
        if (!open)
            break;
        lws_service(w->ctx, 0);
    }
    return NULL;
}

static int parse_url(const char *s, wsurl *u)
{
    uint32_t a;
    const char *slash;
    int r = flood_url_parse(s, &a, &u->port);
    if (r)
        return r;
    struct in_addr ia = {.s_addr = a};
    u->loopback = (ntohl(a) >> 24) == 127;
    snprintf(u->host, sizeof(u->host), "%s", inet_ntoa(ia));
    slash = strchr(strstr(s, "://") + 3, '/');
    snprintf(u->path, sizeof(u->path), "%s", slash ? slash : "/api/v1/ws");
    return 0;
}

int flood_ws_new(flood_ws **out, const flood_ws_cfg *cfg)
{
    flood_ws *w;
    struct lws_context_creation_info info;
    int r = -ENOMEM;

    if (!cfg->nurls || !cfg->nclients || cfg->nsrc < 1 || cfg->nsrc > 65000 ||
        cfg->connect_rate < 1 || cfg->inflight < 1)
        return -EINVAL;
    w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->cfg = *cfg;
    w->urls = calloc(cfg->nurls, sizeof(*w->urls));
    w->c = calloc(cfg->nclients, sizeof(*w->c));
    w->src = calloc((size_t)cfg->nsrc, sizeof(*w->src));
    if (!w->urls || !w->c || !w->src)
        goto fail;
    for (size_t i = 0; i < cfg->nurls; i++)
        if ((r = parse_url(cfg->urls[i], &w->urls[i])))
            goto fail;
    for (int i = 0; i < cfg->nsrc; i++)
        snprintf(w->src[i], sizeof(w->src[i]), "127.1.%d.%d", (i + 1) / 250, (i + 1) % 250 + 1);
    for (size_t i = 0; i < cfg->nclients; i++) {
        w->c[i].w = w;
        w->c[i].idx = i;
    }
    flood_hist_reset(&w->connect);
    flood_rng_seed(&w->rng, (uint64_t)flood_now_us());
    w->protocols[0].name = "flood";
    w->protocols[0].callback = callback;
    w->protocols[0].rx_buffer_size = 16384;
    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = w->protocols;
    info.gid = -1;
    info.uid = -1;
    info.fd_limit_per_thread = (unsigned int)(cfg->nclients + 64);
    lws_set_log_level(LLL_ERR, NULL);
    w->ctx = lws_create_context(&info);
    if (!w->ctx) {
        r = -EIO;
        goto fail;
    }
    *out = w;
    return 0;
fail:
    free(w->urls);
    free(w->c);
    free(w->src);
    free(w);
    return r;
}

int flood_ws_start(flood_ws *w)
{
    int r = pthread_create(&w->thread, NULL, run, w);
    if (r)
        return -r;
    w->started = 1;
    return 0;
}

void flood_ws_stop(flood_ws *w)
{
    atomic_store(&w->stop, 1);
    if (w->started) {
        lws_cancel_service(w->ctx);
        pthread_join(w->thread, NULL);
        w->started = 0;
    }
}

void flood_ws_free(flood_ws *w)
{
    if (!w)
        return;
    flood_ws_stop(w);
    lws_context_destroy(w->ctx);
    for (size_t i = 0; i < w->cfg.nclients; i++)
        free(w->c[i].rx);
    free(w->urls);
    free(w->c);
    free(w->src);
    free(w);
}

flood_ws_stats *flood_ws_stats_of(flood_ws *w)
{
    return &w->st;
}

int flood_ws_settled(flood_ws *w)
{
    return (size_t)atomic_load(&w->settled) >= w->cfg.nclients;
}

const flood_hist *flood_ws_connect_hist(flood_ws *w)
{
    return &w->connect;
}

int flood_ws_is_ready(flood_ws *w, size_t client)
{
    return w->c[client].state == S_READY;
}
