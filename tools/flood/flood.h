/* flood: what every scenario shares: the common options, error counters
 * by kind, the set-up of users and conversations through the public API,
 * and the JSON result file. */
#ifndef FLOOD_H
#define FLOOD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "flood_hist.h"
#include "flood_http.h"
#include "flood_util.h"
#include "pl_id.h"
#include "pl_json.h"

#define FLOOD_MAX_URLS 16
#define FLOOD_MAX_TAGS 16
#define FLOOD_MAX_GROUPS 8
#define FLOOD_MAX_PIDS 64

typedef struct flood_opts {
    const char *scenario;
    const char *url;                     /* public REST base (nginx) */
    const char *ws_urls[FLOOD_MAX_URLS]; /* pushers (default: via url) */
    size_t nws;
    char ws_default[128];
    const char *brokers, *topic;
    const char *out;                     /* result file; NULL: stdout */
    const char *tags[FLOOD_MAX_TAGS];    /* "key=value" */
    size_t ntags;
    double duration_s;
    uint64_t seed;
    int quiet;
    char run[9];                         /* random hex id of this run */
    /* chat / connections / history */
    long long users, conversations, clients, src_addrs, connect_rate, http_conns;
    long long text_bytes, max_sends, messages, page;
    const char *rate;                    /* "R" or "t:r,t:r,..." */
    double grace_s, hold_s;
    int resilient;                       /* chat: reconnect + resume, retry sends */
    double flap_s;                       /* chat: drop each socket after this */
    const char *mix;                     /* history: recent:deep:search:list */
    int pusher_pids[FLOOD_MAX_PIDS];
    size_t npids;
    /* broker */
    long long backlog;
    const char *groups[FLOOD_MAX_GROUPS];
    size_t ngroups;
    int no_drain, drain_only;
    int follow;                          /* broker: watch to the timeout */
    const char *conv_file;               /* broker: reuse conversations */
    double drain_timeout_s;
} flood_opts;

/* Errors by kind; any thread may count. */
enum {
    FE_HTTP_429, FE_HTTP_4XX, FE_HTTP_5XX, FE_TIMEOUT, FE_CONNECT, FE_RESET, FE_PROTO,
    FE_QUEUE_FULL, FE_WS_CONNECT, FE_WS_AUTH, FE_WS_CLOSED, FE_WS_SLOW, FE_KAFKA,
    FE_SETUP, FE_KINDS
};
typedef struct flood_errs {
    atomic_long n[FE_KINDS];
} flood_errs;

/* Counts an HTTP outcome (status or negative errno) that was not success. */
void flood_err_http(flood_errs *e, int status);
long flood_err_total(flood_errs *e);
void flood_err_json(pl_jw *w, flood_errs *e);

typedef struct flood_user {
    char id[PL_ID_LEN];
    char name[40];
    char *token; /* access token, owned */
} flood_user;

typedef struct flood_conv {
    char id[PL_ID_LEN];
    int32_t *members; /* indices into the user array, owned */
    int nmembers;
} flood_conv;

/* Registers and logs in n users named fl<run>_<i>, as many at a time as
 * api has connections (argon2id is the cost). *out is owned by the caller
 * (flood_users_free). Fails (-EIO) unless every user got a token. */
int flood_users_new(flood_http *api, const flood_opts *o, size_t n, flood_errs *e,
                    flood_user **out);
void flood_users_free(flood_user *u, size_t n);

/* Creates m conversations with a realistic size mix: half direct, then
 * groups of 3-8, 9-32 and 33-128 members (capped by nusers). all_groups
 * makes the 2-member ones groups too, so each is a distinct conversation
 * (a direct one is unique per pair). The first member is the creator. */
int flood_convs_new(flood_http *api, flood_user *u, size_t nusers, size_t m,
                    int all_groups, flood_rng *rng, flood_errs *e, flood_conv **out);
void flood_convs_free(flood_conv *c, size_t m);

/* Result file: writes the header fields (tool, scenario, run, started_at,
 * commit, machine, settings) into an open object. */
void flood_result_begin(pl_jw *w, const flood_opts *o, int64_t started_real_ms);
/* Closes the object and writes the file (or stdout). 0 or -errno. */
int flood_result_end(pl_jw *w, const flood_opts *o);
/* Writes {"count","min","mean","p50","p90","p99","p999","max"} in ms. */
void flood_hist_json(pl_jw *w, const char *key, const flood_hist *h);

/* Progress on stderr unless quiet. */
void flood_progress(const flood_opts *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Piecewise-linear offered rate: "500" or "0:100,30:5000,60:100"
 * (seconds:per-second). */
typedef struct flood_rate {
    double t[32], r[32];
    int n;
} flood_rate;
int flood_rate_parse(const char *s, flood_rate *out);
double flood_rate_at(const flood_rate *r, double t);
double flood_rate_max(const flood_rate *r);

int flood_chat(flood_opts *o);
int flood_broker(flood_opts *o);
int flood_connections(flood_opts *o);
int flood_history(flood_opts *o);
int flood_report(int argc, char **argv);

#endif
