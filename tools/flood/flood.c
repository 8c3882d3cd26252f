#include "flood.h"
#include "flood_commit.h"
#include "pl_buf.h"
#include "pl_time.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SETUP_TIMEOUT_MS 120000

static const char *const err_names[FE_KINDS] = {
    "http_429", "http_4xx", "http_5xx", "timeout", "connect_failed", "connection_reset",
    "bad_response", "queue_full", "ws_connect_failed", "ws_auth_failed", "ws_closed",
    "ws_slow_client_dropped", "kafka", "setup"};

void flood_err_http(flood_errs *e, int status)
{
    int k = FE_PROTO;
    if (status == 429)
        k = FE_HTTP_429;
    else if (status >= 500)
        k = FE_HTTP_5XX;
    else if (status >= 400)
        k = FE_HTTP_4XX;
    else if (status == -ETIMEDOUT)
        k = FE_TIMEOUT;
    else if (status == -ECONNREFUSED || status == -EADDRNOTAVAIL || status == -ENETUNREACH)
        k = FE_CONNECT;
    else if (status == -ECONNRESET || status == -EPIPE)
        k = FE_RESET;
    else if (status == -ENOBUFS)
        k = FE_QUEUE_FULL;
    atomic_fetch_add(&e->n[k], 1);
}

long flood_err_total(flood_errs *e)
{
    long t = 0;
    for (int i = 0; i < FE_KINDS; i++)
        t += atomic_load(&e->n[i]);
    return t;
}

void flood_err_json(pl_jw *w, flood_errs *e)
{
    pl_jw_key(w, "errors");
    pl_jw_obj(w);
    for (int i = 0; i < FE_KINDS; i++)
        pl_jw_kint(w, err_names[i], atomic_load(&e->n[i]));
    pl_jw_end_obj(w);
}

void flood_progress(const flood_opts *o, const char *fmt, ...)
{
    va_list ap;
    if (o->quiet)
        return;
    va_start(ap, fmt);
    fputs("flood: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---- users ---------------------------------------------------------- */

typedef struct ureq {
    flood_user *u;
    flood_errs *e;
    int ok, retry; /* retry: answered 429, worth another round */
} ureq;

/* Set-up failures count as "setup"; a 429 is retried, not counted. */
static void setup_fail(ureq *q, int status)
{
    if (status == 429)
        q->retry = 1;
    else
        atomic_fetch_add(&q->e->n[FE_SETUP], 1);
}

static void on_register(void *opaque, int status, const char *body, size_t len)
{
    ureq *q = opaque;
    yajl_val v = NULL, user;
    const char *id;
    char err[128];

    if (status != 201 || pl_json_parse(body, len, &v, err, sizeof(err)) != 0) {
        setup_fail(q, status);
        goto out;
    }
    user = pl_json_get(v, "user");
    id = user ? pl_json_str(user, "id") : NULL;
    if (!id || !pl_id_valid(id)) {
        atomic_fetch_add(&q->e->n[FE_SETUP], 1);
        goto out;
    }
    memcpy(q->u->id, id, PL_ID_LEN);
    q->ok = 1;
out:
    yajl_tree_free(v);
}

static void on_login(void *opaque, int status, const char *body, size_t len)
{
    ureq *q = opaque;
    yajl_val v = NULL;
    const char *tok;
    char err[128];

    q->ok = 0;
    if (status != 200 || pl_json_parse(body, len, &v, err, sizeof(err)) != 0) {
        setup_fail(q, status);
        goto out;
    }
    tok = pl_json_str(v, "access_token");
    if (tok && strlen(tok) < 2048 && (q->u->token = strdup(tok)))
        q->ok = 1;
out:
    yajl_tree_free(v);
}

/* One request per user still to do; users answered 429 (auth limits
 * logins per address) get further rounds, a second apart, for up to
 * SETUP_TIMEOUT_MS. */
static int users_phase(flood_http *api, ureq *q, size_t n, int login)
{
    char body[256];
    int64_t deadline = flood_now_us() + (int64_t)SETUP_TIMEOUT_MS * 1000;
    size_t ok = 0, again = 1;
    int r = 0;

    for (size_t i = 0; i < n; i++)
        q[i].retry = 1;
    while (again && !r && flood_now_us() < deadline) {
        again = 0;
        for (size_t i = 0; i < n && !r; i++) {
            if (!q[i].retry)
                continue;
            q[i].retry = 0;
            if (login)
                snprintf(body, sizeof(body),
                         "{\"username\":\"%s\",\"password\":\"flood-password\"}", q[i].u->name);
            else
                snprintf(body, sizeof(body),
                         "{\"username\":\"%s\",\"password\":\"flood-password\","
                         "\"display_name\":\"Flood %zu\"}", q[i].u->name, i);
            r = flood_http_submit(api, "POST", login ? "/api/v1/auth/login" : "/api/v1/auth/register",
                                  NULL, body, login ? on_login : on_register, &q[i]);
        }
        flood_http_drain(api, SETUP_TIMEOUT_MS);
        for (size_t i = 0; i < n; i++)
            again += q[i].retry;
        if (again)
            flood_sleep_us(1000000);
    }
    for (size_t i = 0; i < n; i++) {
        ok += q[i].ok;
        if (login)
            q[i].retry = 0;
    }
    return r ? r : (ok == n ? 0 : -EIO);
}

int flood_users_new(flood_http *api, const flood_opts *o, size_t n, flood_errs *e,
                    flood_user **out)
{
    flood_user *u = calloc(n, sizeof(*u));
    ureq *q = calloc(n, sizeof(*q));
    int r = -ENOMEM;

    if (!u || !q)
        goto out;
    for (size_t i = 0; i < n; i++) {
        snprintf(u[i].name, sizeof(u[i].name), "fl%s_%zu", o->run, i);
        q[i].u = &u[i];
        q[i].e = e;
    }
    r = users_phase(api, q, n, 0);
    if (!r)
        r = users_phase(api, q, n, 1);
    if (r)
        goto out;
    *out = u;
    u = NULL;
out:
    flood_users_free(u, n);
    free(q);
    return r;
}

void flood_users_free(flood_user *u, size_t n)
{
    if (!u)
        return;
    for (size_t i = 0; i < n; i++)
        free(u[i].token);
    free(u);
}

/* ---- conversations ---------------------------------------------------- */

typedef struct creq {
    flood_conv *c;
    flood_errs *e;
    int ok;
} creq;

static void on_create(void *opaque, int status, const char *body, size_t len)
{
    creq *q = opaque;
    yajl_val v = NULL, conv;
    const char *id;
    char err[128];

    if ((status != 201 && status != 200) || pl_json_parse(body, len, &v, err, sizeof(err))) {
        atomic_fetch_add(&q->e->n[FE_SETUP], 1);
        goto out;
    }
    conv = pl_json_get(v, "conversation");
    id = conv ? pl_json_str(conv, "id") : NULL;
    if (!id || !pl_id_valid(id)) {
        atomic_fetch_add(&q->e->n[FE_SETUP], 1);
        goto out;
    }
    memcpy(q->c->id, id, PL_ID_LEN);
    q->ok = 1;
out:
    yajl_tree_free(v);
}

static int group_size(flood_rng *rng, size_t nusers)
{
    double x = flood_rng_unit(rng);
    long lo, hi;
    if (x < 0.5)
        lo = hi = 2;
    else if (x < 0.85)
        lo = 3, hi = 8;
    else if (x < 0.97)
        lo = 9, hi = 32;
    else
        lo = 33, hi = 128;
    long s = lo + (long)flood_rng_below(rng, (uint64_t)(hi - lo + 1));
    return (int)(s > (long)nusers ? (long)nusers : s);
}

/* Picks n distinct members; the first is the creator. */
static int pick_members(flood_conv *c, int n, size_t nusers, flood_rng *rng)
{
    c->members = calloc((size_t)n, sizeof(int32_t));
    if (!c->members)
        return -ENOMEM;
    while (c->nmembers < n) {
        int32_t m = (int32_t)flood_rng_below(rng, nusers);
        int dup = 0;
        for (int j = 0; j < c->nmembers && !dup; j++)
            dup = c->members[j] == m;
        if (!dup)
            c->members[c->nmembers++] = m;
    }
    return 0;
}

static int create_body(pl_buf *b, const flood_conv *c, const flood_user *u, size_t i,
                       int group)
{
    int r = pl_buf_printf(b, "{\"kind\":\"%s\",", group ? "group" : "direct");
    if (group)
        r |= pl_buf_printf(b, "\"title\":\"flood %zu\",", i);
    r |= pl_buf_puts(b, "\"member_ids\":[");
    for (int j = 1; j < c->nmembers; j++)
        r |= pl_buf_printf(b, "%s\"%s\"", j > 1 ? "," : "", u[c->members[j]].id);
    r |= pl_buf_puts(b, "]}");
    return r ? -ENOMEM : 0;
}

int flood_convs_new(flood_http *api, flood_user *u, size_t nusers, size_t m,
                    int all_groups, flood_rng *rng, flood_errs *e, flood_conv **out)
{
    flood_conv *c = calloc(m, sizeof(*c));
    creq *q = calloc(m, sizeof(*q));
    pl_buf b;
    size_t ok = 0;
    int r = -ENOMEM;

    pl_buf_init(&b, 1u << 20);
    if (!c || !q || nusers < 2)
        goto out;
    for (size_t i = 0; i < m; i++) {
        r = pick_members(&c[i], group_size(rng, nusers), nusers, rng);
        pl_buf_reset(&b);
        if (!r)
            r = create_body(&b, &c[i], u, i, all_groups || c[i].nmembers != 2);
        q[i].c = &c[i];
        q[i].e = e;
        if (!r)
            r = flood_http_submit(api, "POST", "/api/v1/conversations",
                                  u[c[i].members[0]].token, b.data, on_create, &q[i]);
        if (r)
            goto out;
    }
    flood_http_drain(api, SETUP_TIMEOUT_MS);
    for (size_t i = 0; i < m; i++)
        ok += q[i].ok;
    r = ok == m ? 0 : -EIO;
    if (r)
        goto out;
    *out = c;
    c = NULL;
out:
    flood_convs_free(c, m);
    free(q);
    pl_buf_free(&b);
    return r;
}

void flood_convs_free(flood_conv *c, size_t m)
{
    if (!c)
        return;
    for (size_t i = 0; i < m; i++)
        free(c[i].members);
    free(c);
}

/* ---- results ---------------------------------------------------------- */

void flood_result_begin(pl_jw *w, const flood_opts *o, int64_t started_real_ms)
{
    char ts[PL_TIME_ISO_LEN];

    pl_time_iso(ts, started_real_ms);
    pl_jw_kstr(w, "tool", "parley-flood");
    pl_jw_kint(w, "format", 1);
    pl_jw_kstr(w, "scenario", o->scenario);
    pl_jw_kstr(w, "run", o->run);
    pl_jw_kstr(w, "started_at", ts);
    pl_jw_kstr(w, "commit", FLOOD_COMMIT);
    flood_machine_json(w);
    pl_jw_key(w, "settings");
    pl_jw_obj(w);
    pl_jw_kstr(w, "url", o->url);
    pl_jw_key(w, "ws_urls");
    pl_jw_arr(w);
    for (size_t i = 0; i < o->nws; i++)
        pl_jw_str(w, o->ws_urls[i]);
    pl_jw_end_arr(w);
    pl_jw_kstr(w, "brokers", o->brokers);
    pl_jw_kstr(w, "topic", o->topic);
    pl_jw_key(w, "duration_s");
    yajl_gen_double(w->g, o->duration_s);
    pl_jw_kint(w, "seed", (long long)o->seed);
    pl_jw_kint(w, "users", o->users);
    pl_jw_kint(w, "conversations", o->conversations);
    pl_jw_kint(w, "clients", o->clients);
    pl_jw_kint(w, "src_addrs", o->src_addrs);
    pl_jw_kstr(w, "rate", o->rate);
    pl_jw_kint(w, "backlog", o->backlog);
    pl_jw_kint(w, "messages", o->messages);
    pl_jw_kstr(w, "mix", o->mix);
    pl_jw_kint(w, "resilient", o->resilient);
    pl_jw_key(w, "flap_every_s");
    yajl_gen_double(w->g, o->flap_s);
    pl_jw_key(w, "tags");
    pl_jw_obj(w);
    for (size_t i = 0; i < o->ntags; i++) {
        const char *eq = strchr(o->tags[i], '=');
        char k[64];
        snprintf(k, sizeof(k), "%.*s", (int)(eq - o->tags[i]), o->tags[i]);
        pl_jw_kstr(w, k, eq + 1);
    }
    pl_jw_end_obj(w);
    pl_jw_end_obj(w);
}

int flood_result_end(pl_jw *w, const flood_opts *o)
{
    char *s = NULL;
    size_t len = 0;
    int r;

    pl_jw_end_obj(w);
    r = pl_jw_finish(w, &s, &len);
    if (r)
        return r;
    if (o->out) {
        r = flood_write_file(o->out, s, len);
        if (r)
            fprintf(stderr, "flood: cannot write %s: %s\n", o->out, strerror(-r));
    } else {
        fwrite(s, 1, len, stdout);
        fputc('\n', stdout);
    }
    free(s);
    return r;
}

static void kms(pl_jw *w, const char *k, double us)
{
    pl_jw_key(w, k);
    yajl_gen_double(w->g, us / 1000.0);
}

void flood_hist_json(pl_jw *w, const char *key, const flood_hist *h)
{
    pl_jw_key(w, key);
    pl_jw_obj(w);
    pl_jw_kint(w, "count", (long long)h->count);
    kms(w, "min_ms", (double)(h->count ? h->min : 0));
    kms(w, "mean_ms", flood_hist_mean(h));
    kms(w, "p50_ms", (double)flood_hist_pct(h, 50));
    kms(w, "p90_ms", (double)flood_hist_pct(h, 90));
    kms(w, "p99_ms", (double)flood_hist_pct(h, 99));
    kms(w, "p999_ms", (double)flood_hist_pct(h, 99.9));
    kms(w, "max_ms", (double)h->max);
    pl_jw_end_obj(w);
}

/* ---- offered rate ------------------------------------------------------ */

int flood_rate_parse(const char *s, flood_rate *out)
{
    char buf[512], *save = NULL, *tok;
    double v;

    memset(out, 0, sizeof(*out));
    if (!s || strlen(s) >= sizeof(buf))
        return -EINVAL;
    if (flood_parse_double(s, 0, 1e7, &v) == 0) {
        out->n = 1;
        out->r[0] = v;
        return 0;
    }
    snprintf(buf, sizeof(buf), "%s", s);
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(tok, ':');
        if (!colon || out->n >= 32)
            return -EINVAL;
        *colon = '\0';
        if (flood_parse_double(tok, 0, 86400, &out->t[out->n]) ||
            flood_parse_double(colon + 1, 0, 1e7, &out->r[out->n]))
            return -EINVAL;
        if (out->n && out->t[out->n] <= out->t[out->n - 1])
            return -EINVAL;
        out->n++;
    }
    return out->n ? 0 : -EINVAL;
}

double flood_rate_at(const flood_rate *r, double t)
{
    if (r->n == 1 || t <= r->t[0])
        return r->r[0];
    for (int i = 1; i < r->n; i++)
        if (t <= r->t[i])
            return r->r[i - 1] + (r->r[i] - r->r[i - 1]) * (t - r->t[i - 1]) /
                                     (r->t[i] - r->t[i - 1]);
    return r->r[r->n - 1];
}

double flood_rate_max(const flood_rate *r)
{
    double m = 0;
    for (int i = 0; i < r->n; i++)
        if (r->r[i] > m)
            m = r->r[i];
    return m;
}
