/* The history scenario: one conversation with H messages, then an
 * open-loop mix of reads: the newest page, a page before a random older
 * position, a user search and the conversation list. */
#include "flood.h"
#include "pl_time.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { K_RECENT, K_DEEP, K_SEARCH, K_LIST, K_N };
static const char *const kind_names[K_N] = {"recent", "deep", "search", "list"};

typedef struct hist_run {
    flood_opts *o;
    flood_http *api;
    flood_user *users;
    flood_conv *conv;
    size_t nusers;
    flood_errs errs;
    char (*pos)[40];
    size_t npos, seeded;
    int done_page, has_more;
    flood_hist h[K_N];
    long ok[K_N];
} hist_run;

typedef struct hreq {
    hist_run *h;
    int kind;
    int64_t sched;
} hreq;

static void on_seed(void *opaque, int status, const char *body, size_t len)
{
    hist_run *h = opaque;
    if (status == 202)
        h->seeded++;
    else
        flood_err_http(&h->errs, status);
}

static void on_page(void *opaque, int status, const char *body, size_t len)
{
    hist_run *h = opaque;
    yajl_val v = NULL, msgs;
    char err[128];

    h->done_page = 1;
    h->has_more = 0;
    if (status != 200 || pl_json_parse(body, len, &v, err, sizeof(err))) {
        flood_err_http(&h->errs, status == 200 ? -EPROTO : status);
        return;
    }
    msgs = pl_json_get(v, "messages");
    /* Oldest first; we walk back, so the page's first is the next cursor. */
    for (size_t i = 0; msgs && YAJL_IS_ARRAY(msgs) && i < msgs->u.array.len; i++) {
        const char *p = pl_json_str(msgs->u.array.values[i], "position");
        if (p && strlen(p) < 40 && h->npos < h->seeded + 16)
            snprintf(h->pos[h->npos++], 40, "%s", p);
    }
    yajl_val hm = pl_json_get(v, "has_more");
    h->has_more = hm && YAJL_IS_TRUE(hm) && msgs && msgs->u.array.len > 0;
    yajl_tree_free(v);
}

static int seed(hist_run *h)
{
    flood_opts *o = h->o;
    char path[160], body[200];
    const char *oldest = NULL;
    int r = 0;

    snprintf(path, sizeof(path), "/api/v1/conversations/%s/messages", h->conv->id);
    for (long long i = 0; i < o->messages && !r; i++) {
        const flood_user *u = &h->users[h->conv->members[i % h->conv->nmembers]];
        snprintf(body, sizeof(body),
                 "{\"client_msg_id\":\"hs.%s.%lld\",\"text\":\"history seed message %lld\"}",
                 o->run, i, i);
        r = flood_http_submit(h->api, "POST", path, u->token, body, on_seed, h);
    }
    flood_http_drain(h->api, 120000);
    if (r)
        return r;
    h->pos = calloc(h->seeded + 16, sizeof(*h->pos));
    if (!h->pos)
        return -ENOMEM;
    /* The projection lags the 202s a little: wait until the newest page is full. */
    int64_t deadline = flood_now_us() + 30000000;
    do {
        char q[320];
        h->npos = 0;
        snprintf(q, sizeof(q), "%s?limit=200", path);
        for (;;) {
            h->done_page = 0;
            if ((r = flood_http_submit(h->api, "GET", q, h->users[h->conv->members[0]].token, NULL,
                                         on_page, h)))
                return r;
            flood_http_drain(h->api, 30000);
            if (!h->has_more || h->npos == 0)
                break;
            oldest = h->pos[h->npos - (h->npos % 200 ? h->npos % 200 : 200)];
            snprintf(q, sizeof(q), "%s?limit=200&before=%s", path, oldest);
        }
        if (h->npos >= h->seeded)
            break;
        flood_sleep_us(200000);
    } while (flood_now_us() < deadline);
    flood_progress(o, "seeded %zu messages, %zu positions known", h->seeded, h->npos);
    return h->npos ? 0 : -EIO;
}

static void on_read(void *opaque, int status, const char *body, size_t len)
{
    hreq *q = opaque;
    if (status == 200) {
        flood_hist_add(&q->h->h[q->kind], flood_now_us() - q->sched);
        q->h->ok[q->kind]++;
    } else {
        flood_err_http(&q->h->errs, status);
    }
    free(q);
}

static int read_one(hist_run *h, const int *w, int wsum, flood_rng *rng, int64_t sched)
{
    char path[400];
    const char *tok = h->users[h->conv->members[flood_rng_below(rng, (uint64_t)h->conv->nmembers)]].token;
    hreq *q = malloc(sizeof(*q));
    int x = (int)flood_rng_below(rng, (uint64_t)wsum), k = 0;

    if (!q)
        return -ENOMEM;
    while (x >= w[k])
        x -= w[k++];
    if (k == K_RECENT)
        snprintf(path, sizeof(path), "/api/v1/conversations/%s/messages?limit=%lld",
                 h->conv->id, h->o->page);
    else if (k == K_DEEP)
        snprintf(path, sizeof(path), "/api/v1/conversations/%s/messages?limit=%lld&before=%s",
                 h->conv->id, h->o->page, h->pos[flood_rng_below(rng, h->npos)]);
    else if (k == K_SEARCH)
        snprintf(path, sizeof(path), "/api/v1/users?query=fl%.*s&limit=20",
                 (int)(1 + flood_rng_below(rng, 8)), h->o->run);
    else
        snprintf(path, sizeof(path), "/api/v1/conversations");
    q->h = h;
    q->kind = k;
    q->sched = sched;
    int r = flood_http_submit(h->api, "GET", path, tok, NULL, on_read, q);
    if (r) {
        free(q);
        flood_err_http(&h->errs, r);
    }
    return 0;
}

static int parse_mix(const char *s, int *w, int *sum)
{
    if (sscanf(s, "%d:%d:%d:%d", &w[0], &w[1], &w[2], &w[3]) != 4)
        return -EINVAL;
    *sum = 0;
    for (int i = 0; i < K_N; i++) {
        if (w[i] < 0 || w[i] > 1000)
            return -EINVAL;
        *sum += w[i];
    }
    return *sum > 0 ? 0 : -EINVAL;
}

static int reads(hist_run *h, double *secs)
{
    flood_opts *o = h->o;
    flood_rate rate;
    flood_rng rng;
    int w[K_N], wsum;
    int64_t t0 = flood_now_us(), next = t0, end = t0 + (int64_t)(o->duration_s * 1e6), last = t0;
    long long n = 0;

    if (flood_rate_parse(o->rate, &rate) || parse_mix(o->mix, w, &wsum)) {
        fprintf(stderr, "flood: bad --rate or --mix\n");
        return -EINVAL;
    }
    flood_rng_seed(&rng, o->seed);
    while (next < end && n < o->max_sends) {
        int64_t now = flood_now_us();
        while (next <= now && next < end && n < o->max_sends) {
            double rt = flood_rate_at(&rate, (double)(next - t0) / 1e6);
            if (rt > 0 && read_one(h, w, wsum, &rng, next) == 0)
                n++;
            next += rt > 0 ? (int64_t)(1e6 / rt) : 10000;
        }
        if (now - last >= 1000000) {
            last = now;
            flood_progress(o, "[%4.0fs] reads %lld p99 recent %.2fms deep %.2fms errors %ld",
                           (double)(now - t0) / 1e6, n,
                           (double)flood_hist_pct(&h->h[K_RECENT], 99) / 1000,
                           (double)flood_hist_pct(&h->h[K_DEEP], 99) / 1000,
                           flood_err_total(&h->errs));
        }
        int64_t wait = (next - flood_now_us()) / 1000;
        flood_http_run(h->api, wait < 0 ? 0 : (wait > 5 ? 5 : (int)wait));
    }
    flood_http_drain(h->api, 30000);
    *secs = (double)(flood_now_us() - t0) / 1e6;
    return 0;
}

int flood_history(flood_opts *o)
{
    hist_run *h = calloc(1, sizeof(*h));
    flood_rng rng;
    int64_t started = pl_time_real_ms();
    double secs = 0;
    long total = 0;
    pl_jw w;
    int r = -ENOMEM;

    if (!h)
        return r;
    h->o = o;
    h->nusers = o->users < 8 ? (size_t)o->users : 8;
    for (int i = 0; i < K_N; i++)
        flood_hist_reset(&h->h[i]);
    flood_rng_seed(&rng, o->seed);
    if ((r = flood_http_new(&h->api, o->url, (int)o->http_conns, 120000)) ||
        (r = flood_users_new(h->api, o, h->nusers, &h->errs, &h->users)) ||
        (r = flood_convs_new(h->api, h->users, h->nusers, 1, 1, &rng, &h->errs, &h->conv)) ||
        (r = seed(h)) || (r = reads(h, &secs)) || (r = pl_jw_init(&w)))
        goto out;
    pl_jw_obj(&w);
    flood_result_begin(&w, o, started);
    pl_jw_key(&w, "results");
    pl_jw_obj(&w);
    pl_jw_kint(&w, "seeded_messages", (long long)h->seeded);
    pl_jw_kint(&w, "positions", (long long)h->npos);
    pl_jw_kint(&w, "page", o->page);
    pl_jw_key(&w, "reads");
    pl_jw_obj(&w);
    for (int k = 0; k < K_N; k++) {
        flood_hist_json(&w, kind_names[k], &h->h[k]);
        total += h->ok[k];
    }
    pl_jw_end_obj(&w);
    pl_jw_kint(&w, "reads_ok", total);
    pl_jw_key(&w, "reads_per_s");
    yajl_gen_double(w.g, secs > 0 ? (double)total / secs : 0);
    flood_err_json(&w, &h->errs);
    pl_jw_end_obj(&w);
    r = flood_result_end(&w, o);
out:
    if (r)
        fprintf(stderr, "flood: history failed: %s\n", strerror(-r));
    flood_http_free(h->api);
    flood_users_free(h->users, h->nusers);
    flood_convs_free(h->conv, 1);
    free(h->pos);
    free(h);
    return r;
}
