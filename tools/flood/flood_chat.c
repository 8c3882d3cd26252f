/* The chat scenario: users in conversations of realistic sizes, K
 * WebSocket clients, and an open-loop sender. Each send carries its
 * scheduled time in client_msg_id ("fl.<run>.<seq>.<sched_us>"), so every
 * recipient measures end-to-end latency from when the send was due, not
 * from when a possibly backed-up sender got to it. */
#include "flood.h"
#include "flood_resume.h"
#include "flood_ws.h"
#include "pl_time.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SECONDS 3600
#define RETRY_AFTER_US 300000
#define RETRY_FOR_US 180000000 /* then a send is given up, as a client would */
#define RECONNECT_MS 500

typedef struct sreq sreq;

typedef struct chat {
    flood_opts *o;
    flood_rate rate;
    flood_user *users;
    flood_conv *convs;
    size_t nusers, nconvs, nclients;
    const char **tokens;      /* per client */
    int32_t *ready_per_user;  /* sockets ready per user, fixed at send start */
    flood_ws *ws;
    flood_resume *resume;     /* --resilient */
    flood_http *api;
    flood_errs errs;
    flood_rng rng;
    int64_t t0_us;            /* start of the send phase */
    size_t max_sends;
    /* per send */
    uint16_t *expected;
    atomic_ushort *delivered;
    uint8_t *acked;
    /* sender thread */
    atomic_long sent, accepted;
    flood_hist ack;
    /* ws thread */
    flood_hist e2e;
    flood_hist *per_sec;      /* e2e by second of receipt */
    atomic_long deliveries, dup, foreign, gaps;
    /* --resilient sends: failed ones wait here (sender thread only) */
    sreq *retry_head, *retry_tail;
    long retries, given_up;
    atomic_long sec_deliv[MAX_SECONDS + 1];
    atomic_long sec_accepted[MAX_SECONDS + 1];
    atomic_long sec_sent[MAX_SECONDS + 1];
    atomic_long sec_err[MAX_SECONDS + 1];
    atomic_int sending;
} chat;

struct sreq {
    chat *ch;
    size_t seq;
    int64_t sched, due;
    uint32_t conv, user;
    sreq *next;
};

static long sec_of(const chat *ch, int64_t us)
{
    long s = (long)((us - ch->t0_us) / 1000000);
    return s < 0 ? 0 : (s > MAX_SECONDS ? MAX_SECONDS : s);
}

/* ws thread: one frame for client idx. */
static void on_frame(void *opaque, size_t idx, const char *d, size_t n)
{
    chat *ch = opaque;
    static const char key[] = "\"client_msg_id\":\"fl.";
    const char *p = memmem(d, n, key, sizeof(key) - 1);
    char *end;
    int64_t now = flood_now_us();

    if (ch->resume && flood_resume_frame(ch->resume, idx, d, n))
        atomic_fetch_add(&ch->gaps, 1);
    if (!p || !memmem(d, n < 40 ? n : 40, "message.created", 15))
        return;
    p += sizeof(key) - 1;
    if ((size_t)(d + n - p) < 10 || memcmp(p, ch->o->run, 8) != 0 || p[8] != '.') {
        atomic_fetch_add(&ch->foreign, 1);
        return;
    }
    unsigned long long seq = strtoull(p + 9, &end, 10);
    if (*end != '.' || seq >= ch->max_sends)
        return;
    long long sched = strtoll(end + 1, &end, 10);
    if (*end != '"')
        return;
    unsigned short got = atomic_fetch_add(&ch->delivered[seq], 1) + 1;
    if (got > ch->expected[seq] && ch->expected[seq])
        atomic_fetch_add(&ch->dup, 1);
    atomic_fetch_add(&ch->deliveries, 1);
    flood_hist_add(&ch->e2e, now - sched);
    long s = sec_of(ch, now);
    flood_hist_add(&ch->per_sec[s], now - sched);
    atomic_fetch_add(&ch->sec_deliv[s], 1);
}

static int submit(chat *ch, sreq *q);

/* --resilient: a failure a real client would retry, still in its time. */
static int retry_later(chat *ch, sreq *q, int status)
{
    int64_t now = flood_now_us();

    if (!ch->o->resilient || !(status == 429 || status >= 500 || status < 0) ||
        now - q->sched > RETRY_FOR_US) {
        ch->given_up += ch->o->resilient;
        return 0;
    }
    q->due = now + RETRY_AFTER_US;
    q->next = NULL;
    if (ch->retry_tail)
        ch->retry_tail->next = q;
    else
        ch->retry_head = q;
    ch->retry_tail = q;
    ch->retries++;
    return 1;
}

/* Resends the failed sends whose time has come (sender thread). */
static void retry_due(chat *ch)
{
    int64_t now = flood_now_us();

    while (ch->retry_head && ch->retry_head->due <= now) {
        sreq *q = ch->retry_head;
        ch->retry_head = q->next;
        if (!ch->retry_head)
            ch->retry_tail = NULL;
        if (submit(ch, q))
            free(q);
    }
}

static void on_sent(void *opaque, int status, const char *body, size_t len)
{
    sreq *q = opaque;
    chat *ch = q->ch;
    long s = sec_of(ch, flood_now_us());

    (void)body;
    (void)len;
    if (status == 202) {
        ch->acked[q->seq] = 1;
        atomic_fetch_add(&ch->accepted, 1);
        atomic_fetch_add(&ch->sec_accepted[s], 1);
        flood_hist_add(&ch->ack, flood_now_us() - q->sched);
    } else {
        flood_err_http(&ch->errs, status);
        atomic_fetch_add(&ch->sec_err[s], 1);
        if (retry_later(ch, q, status))
            return;
    }
    free(q);
}

/* Posts send q (again: the same client_msg_id, so a retry is stored once). */
static int submit(chat *ch, sreq *q)
{
    const flood_conv *c = &ch->convs[q->conv];
    char path[128], body[4300], text[4097];
    int tl = snprintf(text, sizeof(text), "flood %zu ", q->seq), r;

    for (; tl < ch->o->text_bytes && tl < 4096; tl++)
        text[tl] = (char)('a' + tl % 26);
    text[tl] = '\0';
    snprintf(path, sizeof(path), "/api/v1/conversations/%s/messages", c->id);
    snprintf(body, sizeof(body), "{\"client_msg_id\":\"fl.%s.%zu.%" PRId64 "\",\"text\":\"%s\"}",
             ch->o->run, q->seq, q->sched, text);
    r = flood_http_submit(ch->api, "POST", path, ch->users[q->user].token, body, on_sent, q);
    if (r)
        flood_err_http(&ch->errs, r);
    return r;
}

static int send_one(chat *ch, size_t seq, int64_t sched)
{
    uint32_t ci = (uint32_t)flood_rng_below(&ch->rng, ch->nconvs);
    const flood_conv *c = &ch->convs[ci];
    long exp = 0;
    sreq *q = malloc(sizeof(*q));

    if (!q)
        return -ENOMEM;
    *q = (sreq){.ch = ch, .seq = seq, .sched = sched, .conv = ci,
                .user = (uint32_t)c->members[flood_rng_below(&ch->rng, (uint64_t)c->nmembers)]};
    for (int j = 0; j < c->nmembers; j++)
        exp += ch->ready_per_user[c->members[j]];
    ch->expected[seq] = (uint16_t)(exp > 65535 ? 65535 : exp);
    if (submit(ch, q)) {
        free(q);
        return 0;
    }
    atomic_fetch_add(&ch->sent, 1);
    atomic_fetch_add(&ch->sec_sent[sec_of(ch, sched)], 1);
    return 0;
}

/* Open loop: send i is due at t_i, with t_{i+1} = t_i + 1 / rate(t_i). */
static void *sender(void *arg)
{
    chat *ch = arg;
    int64_t end = ch->t0_us + (int64_t)(ch->o->duration_s * 1e6), next = ch->t0_us;
    size_t seq = 0;

    while (seq < ch->max_sends) {
        int64_t now = flood_now_us();
        while (next <= now && next < end && seq < ch->max_sends) {
            double r = flood_rate_at(&ch->rate, (double)(next - ch->t0_us) / 1e6);
            if (r > 0 && send_one(ch, seq++, next) != 0)
                break;
            next += r > 0 ? (int64_t)(1e6 / r) : 10000;
            if (next <= now - 1000000) /* hopelessly behind: do not burst */
                next = now - 1000000;
        }
        if (next >= end)
            break;
        int64_t wait = (next - flood_now_us()) / 1000;
        flood_http_run(ch->api, wait < 0 ? 0 : (wait > 5 ? 5 : (int)wait));
        retry_due(ch);
    }
    /* The stragglers: answers in flight, and retries until they give up. */
    end = flood_now_us() + RETRY_FOR_US + 30000000;
    while ((flood_http_pending(ch->api) || ch->retry_head) && flood_now_us() < end) {
        flood_http_run(ch->api, 5);
        retry_due(ch);
    }
    flood_http_drain(ch->api, 30000);
    while (ch->retry_head) { /* out of time: given up */
        sreq *q = ch->retry_head;
        ch->retry_head = q->next;
        ch->given_up++;
        free(q);
    }
    ch->retry_tail = NULL;
    atomic_store(&ch->sending, 0);
    return NULL;
}

static size_t missing(chat *ch, size_t n)
{
    size_t miss = 0;
    for (size_t i = 0; i < n; i++)
        if (ch->acked[i]) {
            long d = ch->expected[i] - (long)atomic_load(&ch->delivered[i]);
            miss += d > 0 ? (size_t)d : 0;
        }
    return miss;
}

static void progress(chat *ch, long s, int64_t now)
{
    long prev = s > 0 ? s - 1 : 0;
    const flood_hist *h = &ch->per_sec[prev];
    flood_progress(ch->o,
        "[%4lds] offered %.0f/s sent %ld/s accepted %ld/s deliveries %ld/s "
        "p50 %.1fms p99 %.1fms errors %ld clients %ld",
        s, flood_rate_at(&ch->rate, (double)(now - ch->t0_us) / 1e6),
        atomic_load(&ch->sec_sent[prev]), atomic_load(&ch->sec_accepted[prev]),
        atomic_load(&ch->sec_deliv[prev]), (double)flood_hist_pct(h, 50) / 1000.0,
        (double)flood_hist_pct(h, 99) / 1000.0, flood_err_total(&ch->errs),
        ch->ws ? atomic_load(&flood_ws_stats_of(ch->ws)->ready) : 0);
}

static int resume_map(void *opaque, size_t client, char *buf, size_t cap)
{
    chat *ch = opaque;
    return flood_resume_map(ch->resume, client, buf, cap);
}

static int connect_clients(chat *ch)
{
    flood_opts *o = ch->o;
    flood_ws_cfg cfg = {.urls = o->ws_urls, .nurls = o->nws, .nclients = ch->nclients,
                        .tokens = ch->tokens, .nsrc = (int)o->src_addrs,
                        .connect_rate = (int)o->connect_rate, .inflight = 256,
                        .timeout_s = 15, .on_frame = on_frame, .opaque = ch,
                        .resume = ch->resume ? resume_map : NULL,
                        .reconnect_ms = ch->resume ? RECONNECT_MS : 0,
                        .flap_ms = (int)(o->flap_s * 1000)};
    int64_t t = flood_now_us(), deadline = t + 120000000;
    int r;

    if (ch->nclients == 0) /* sends only: measures the command API alone */
        return 0;
    if ((r = flood_ws_new(&ch->ws, &cfg)) || (r = flood_ws_start(ch->ws)))
        return r;
    while (!flood_ws_settled(ch->ws) && flood_now_us() < deadline) {
        flood_sleep_us(200000);
        if (flood_now_us() - t >= 1000000) {
            t = flood_now_us();
            flood_progress(o, "connecting: %ld of %zu ready",
                           atomic_load(&flood_ws_stats_of(ch->ws)->ready), ch->nclients);
        }
    }
    for (size_t i = 0; i < ch->nclients; i++)
        if (flood_ws_is_ready(ch->ws, i))
            ch->ready_per_user[i % ch->nusers]++;
    return 0;
}

static void write_timeline(pl_jw *w, chat *ch, long secs)
{
    pl_jw_key(w, "timeline");
    pl_jw_arr(w);
    for (long s = 0; s < secs && s <= MAX_SECONDS; s++) {
        const flood_hist *h = &ch->per_sec[s];
        pl_jw_obj(w);
        pl_jw_kint(w, "t", s);
        pl_jw_key(w, "offered");
        yajl_gen_double(w->g, flood_rate_at(&ch->rate, (double)s + 0.5));
        pl_jw_kint(w, "sent", atomic_load(&ch->sec_sent[s]));
        pl_jw_kint(w, "accepted", atomic_load(&ch->sec_accepted[s]));
        pl_jw_kint(w, "deliveries", atomic_load(&ch->sec_deliv[s]));
        pl_jw_kint(w, "errors", atomic_load(&ch->sec_err[s]));
        pl_jw_key(w, "p50_ms");
        yajl_gen_double(w->g, (double)flood_hist_pct(h, 50) / 1000.0);
        pl_jw_key(w, "p99_ms");
        yajl_gen_double(w->g, (double)flood_hist_pct(h, 99) / 1000.0);
        pl_jw_end_obj(w);
    }
    pl_jw_end_arr(w);
}

static int write_result(chat *ch, int64_t started, double send_s, double total_s)
{
    pl_jw w;
    static flood_ws_stats none;
    static flood_hist empty;
    flood_ws_stats *st = ch->ws ? flood_ws_stats_of(ch->ws) : &none;
    size_t n = (size_t)atomic_load(&ch->sent), lost_msgs = 0;
    long expected = 0;
    int r = pl_jw_init(&w);

    if (r)
        return r;
    for (size_t i = 0; i < n; i++)
        if (ch->acked[i]) {
            expected += ch->expected[i];
            lost_msgs += atomic_load(&ch->delivered[i]) < ch->expected[i];
        }
    pl_jw_obj(&w);
    flood_result_begin(&w, ch->o, started);
    pl_jw_key(&w, "results");
    pl_jw_obj(&w);
    pl_jw_key(&w, "send_phase_s");
    yajl_gen_double(w.g, send_s);
    pl_jw_kint(&w, "clients_requested", (long long)ch->nclients);
    pl_jw_kint(&w, "clients_ready", atomic_load(&st->ever_ready));
    pl_jw_kint(&w, "sends_attempted", (long long)n);
    pl_jw_kint(&w, "sends_accepted", atomic_load(&ch->accepted));
    pl_jw_key(&w, "accepted_per_s");
    yajl_gen_double(w.g, send_s > 0 ? (double)atomic_load(&ch->accepted) / send_s : 0);
    pl_jw_kint(&w, "deliveries_expected", expected);
    pl_jw_kint(&w, "deliveries", atomic_load(&ch->deliveries));
    pl_jw_key(&w, "deliveries_per_s");
    yajl_gen_double(w.g, total_s > 0 ? (double)atomic_load(&ch->deliveries) / total_s : 0);
    pl_jw_kint(&w, "lost_deliveries", (long long)missing(ch, n));
    pl_jw_kint(&w, "lost_messages", (long long)lost_msgs);
    pl_jw_kint(&w, "duplicates", atomic_load(&ch->dup));
    pl_jw_kint(&w, "foreign_frames", atomic_load(&ch->foreign));
    if (ch->o->resilient) {
        pl_jw_key(&w, "resilient");
        pl_jw_obj(&w);
        pl_jw_kint(&w, "reconnects", atomic_load(&st->reconnects));
        pl_jw_kint(&w, "flaps", atomic_load(&st->flaps));
        pl_jw_kint(&w, "server_closes", atomic_load(&st->closed));
        pl_jw_kint(&w, "resume_gaps", atomic_load(&ch->gaps));
        pl_jw_kint(&w, "send_retries", ch->retries);
        pl_jw_kint(&w, "sends_given_up", ch->given_up);
        pl_jw_end_obj(&w);
    }
    flood_hist_json(&w, "e2e_latency", &ch->e2e);
    flood_hist_json(&w, "ack_latency", &ch->ack);
    flood_hist_json(&w, "connect_latency", ch->ws ? flood_ws_connect_hist(ch->ws) : &empty);
    flood_err_json(&w, &ch->errs);
    pl_jw_end_obj(&w);
    write_timeline(&w, ch, (long)(total_s + 0.999));
    return flood_result_end(&w, ch->o);
}

static int chat_setup(chat *ch)
{
    flood_opts *o = ch->o;
    int r;

    flood_http *setup = NULL;

    /* Set-up requests queue behind argon2id: a pool with a long timeout. */
    if ((r = flood_http_new(&setup, o->url, (int)o->http_conns, 120000)))
        return r;
    flood_progress(o, "registering %zu users", ch->nusers);
    r = flood_users_new(setup, o, ch->nusers, &ch->errs, &ch->users);
    if (!r)
        flood_progress(o, "creating %zu conversations", ch->nconvs);
    if (!r)
        r = flood_convs_new(setup, ch->users, ch->nusers, ch->nconvs, 0, &ch->rng, &ch->errs,
                            &ch->convs);
    if (!r && o->resilient) {
        flood_progress(o, "seeding %zu conversations (resume points)", ch->nconvs);
        r = flood_resume_new(&ch->resume, setup, o, ch->users, ch->nusers, ch->convs,
                             ch->nconvs, ch->nclients, &ch->errs);
    }
    flood_http_free(setup);
    if (r)
        return r;
    ch->tokens = calloc(ch->nclients, sizeof(char *));
    ch->ready_per_user = calloc(ch->nusers, sizeof(int32_t));
    if (!ch->tokens || !ch->ready_per_user)
        return -ENOMEM;
    for (size_t i = 0; i < ch->nclients; i++)
        ch->tokens[i] = ch->users[i % ch->nusers].token;
    return 0;
}

static int chat_alloc(chat *ch)
{
    double maxr = flood_rate_max(&ch->rate);
    double want = maxr * ch->o->duration_s + 1;
    ch->max_sends = (size_t)(want < (double)ch->o->max_sends ? want : (double)ch->o->max_sends);
    ch->expected = calloc(ch->max_sends, sizeof(uint16_t));
    ch->delivered = calloc(ch->max_sends, sizeof(atomic_ushort));
    ch->acked = calloc(ch->max_sends, 1);
    ch->per_sec = calloc(MAX_SECONDS + 1, sizeof(flood_hist));
    return ch->expected && ch->delivered && ch->acked && ch->per_sec ? 0 : -ENOMEM;
}

static void chat_free(chat *ch)
{
    flood_ws_free(ch->ws);
    flood_resume_free(ch->resume);
    flood_http_free(ch->api);
    flood_users_free(ch->users, ch->nusers);
    flood_convs_free(ch->convs, ch->nconvs);
    free(ch->tokens);
    free(ch->ready_per_user);
    free(ch->expected);
    free(ch->delivered);
    free(ch->acked);
    free(ch->per_sec);
    free(ch);
}

/* After sending: waits for the stragglers, up to the grace period. */
static void wait_grace(chat *ch)
{
    int64_t end = flood_now_us() + (int64_t)(ch->o->grace_s * 1e6);
    size_t n = (size_t)atomic_load(&ch->sent);
    while (flood_now_us() < end && missing(ch, n) > 0)
        flood_sleep_us(50000);
}

int flood_chat(flood_opts *o)
{
    chat *ch = calloc(1, sizeof(*ch));
    pthread_t th;
    int64_t started = pl_time_real_ms(), last;
    int r = -ENOMEM;

    if (!ch)
        return r;
    ch->o = o;
    ch->nusers = (size_t)o->users;
    ch->nconvs = (size_t)o->conversations;
    ch->nclients = (size_t)o->clients;
    flood_rng_seed(&ch->rng, o->seed);
    flood_hist_reset(&ch->e2e);
    flood_hist_reset(&ch->ack);
    if ((r = flood_rate_parse(o->rate, &ch->rate))) {
        fprintf(stderr, "flood: bad --rate %s\n", o->rate);
        goto out;
    }
    if ((r = chat_alloc(ch)) ||
        (r = flood_http_new(&ch->api, o->url, (int)o->http_conns, 10000)) ||
        (r = chat_setup(ch)) || (r = connect_clients(ch)))
        goto fail;
    flood_progress(o, "%ld of %zu clients ready; sending for %.0fs",
                   ch->ws ? atomic_load(&flood_ws_stats_of(ch->ws)->ready) : 0, ch->nclients,
                   o->duration_s);
    ch->t0_us = last = flood_now_us();
    atomic_store(&ch->sending, 1);
    if ((r = -pthread_create(&th, NULL, sender, ch)))
        goto fail;
    while (atomic_load(&ch->sending)) {
        flood_sleep_us(100000);
        if (flood_now_us() - last >= 1000000) {
            last += 1000000;
            progress(ch, sec_of(ch, last), last);
        }
    }
    pthread_join(th, NULL);
    double send_s = (double)(flood_now_us() - ch->t0_us) / 1e6;
    wait_grace(ch);
    double total_s = (double)(flood_now_us() - ch->t0_us) / 1e6;
    if (ch->ws) {
        flood_ws_stop(ch->ws); /* the ws thread's data is ours from here */
        flood_ws_stats *st = flood_ws_stats_of(ch->ws);
        atomic_fetch_add(&ch->errs.n[FE_WS_CONNECT], atomic_load(&st->connect_failed));
        atomic_fetch_add(&ch->errs.n[FE_WS_AUTH], atomic_load(&st->auth_failed));
        atomic_fetch_add(&ch->errs.n[FE_WS_CLOSED], atomic_load(&st->closed));
        atomic_fetch_add(&ch->errs.n[FE_WS_SLOW], atomic_load(&st->slow_dropped));
    }
    r = write_result(ch, started, send_s, total_s);
    goto out;
fail:
    fprintf(stderr, "flood: chat failed: %s (errors so far:", strerror(-r));
    for (int k = 0; k < FE_KINDS; k++)
        fprintf(stderr, " %ld", atomic_load(&ch->errs.n[k]));
    fprintf(stderr, ")\n");
out:
    chat_free(ch);
    return r;
}
