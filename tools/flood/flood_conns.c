/* The connections scenario: K idle authenticated sockets, the connect
 * rate, and what they cost the pushers in resident memory. */
#include "flood.h"
#include "flood_ws.h"
#include "pl_time.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long pushers_rss(const flood_opts *o, int *pids, size_t *n)
{
    long total = 0;
    if (o->npids) {
        memcpy(pids, o->pusher_pids, o->npids * sizeof(int));
        *n = o->npids;
    } else {
        /* The processes behind the --ws-url ports (nginx's port finds
         * nginx, so point --ws-url at the pushers to measure them). */
        *n = 0;
        for (size_t i = 0; i < o->nws && *n < FLOOD_MAX_PIDS; i++) {
            uint32_t a;
            int port, pid, dup = 0;
            if (flood_url_parse(o->ws_urls[i], &a, &port) || (pid = flood_pid_listening(port)) < 0)
                continue;
            for (size_t j = 0; j < *n; j++)
                dup |= pids[j] == pid;
            if (!dup)
                pids[(*n)++] = pid;
        }
    }
    for (size_t i = 0; i < *n; i++) {
        long k = flood_rss_kib(pids[i]);
        total += k > 0 ? k : 0;
    }
    return total;
}

int flood_connections(flood_opts *o)
{
    flood_http *api = NULL;
    flood_user *users = NULL;
    flood_ws *ws = NULL;
    flood_errs errs;
    const char **tokens = NULL;
    int pids[FLOOD_MAX_PIDS];
    size_t npids = 0, nu = (size_t)o->users, nc = (size_t)o->clients;
    int64_t started = pl_time_real_ms(), t0, t1;
    long before, after;
    pl_jw w;
    int r;

    memset(&errs, 0, sizeof(errs));
    if ((r = flood_http_new(&api, o->url, (int)o->http_conns, 120000)))
        goto out;
    flood_progress(o, "registering %zu users", nu);
    if ((r = flood_users_new(api, o, nu, &errs, &users)))
        goto out;
    tokens = calloc(nc ? nc : 1, sizeof(char *));
    if (!tokens) {
        r = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < nc; i++)
        tokens[i] = users[i % nu].token;
    before = pushers_rss(o, pids, &npids);
    flood_ws_cfg cfg = {.urls = o->ws_urls, .nurls = o->nws, .nclients = nc, .tokens = tokens,
                        .nsrc = (int)o->src_addrs, .connect_rate = (int)o->connect_rate,
                        .inflight = 256, .timeout_s = 15};
    if ((r = flood_ws_new(&ws, &cfg)) || (r = flood_ws_start(ws)))
        goto out;
    t0 = flood_now_us();
    int64_t deadline = t0 + (int64_t)(o->duration_s * 1e6) + 120000000;
    while (!flood_ws_settled(ws) && flood_now_us() < deadline) {
        flood_sleep_us(500000);
        flood_progress(o, "connecting: %ld of %zu ready, %ld failed",
                       atomic_load(&flood_ws_stats_of(ws)->ready), nc,
                       atomic_load(&flood_ws_stats_of(ws)->connect_failed) +
                           atomic_load(&flood_ws_stats_of(ws)->auth_failed));
    }
    t1 = flood_now_us();
    flood_sleep_us((int64_t)(o->hold_s * 1e6));
    after = pushers_rss(o, pids, &npids);
    flood_ws_stats *st = flood_ws_stats_of(ws);
    long ready = atomic_load(&st->ready);
    flood_progress(o, "%ld sockets ready; pushers' RSS %ld -> %ld KiB", ready, before, after);
    flood_ws_stop(ws);
    atomic_fetch_add(&errs.n[FE_WS_CONNECT], atomic_load(&st->connect_failed));
    atomic_fetch_add(&errs.n[FE_WS_AUTH], atomic_load(&st->auth_failed));
    atomic_fetch_add(&errs.n[FE_WS_CLOSED], atomic_load(&st->closed));
    if ((r = pl_jw_init(&w)))
        goto out;
    pl_jw_obj(&w);
    flood_result_begin(&w, o, started);
    pl_jw_key(&w, "results");
    pl_jw_obj(&w);
    pl_jw_kint(&w, "clients_requested", (long long)nc);
    pl_jw_kint(&w, "clients_ready", atomic_load(&st->ever_ready));
    pl_jw_kint(&w, "clients_ready_at_end", ready);
    pl_jw_key(&w, "connect_phase_s");
    yajl_gen_double(w.g, (double)(t1 - t0) / 1e6);
    pl_jw_key(&w, "connects_per_s");
    yajl_gen_double(w.g, t1 > t0 ? (double)atomic_load(&st->ever_ready) * 1e6 / (double)(t1 - t0) : 0);
    flood_hist_json(&w, "connect_latency", flood_ws_connect_hist(ws));
    pl_jw_kint(&w, "pushers_measured", (long long)npids);
    pl_jw_kint(&w, "pusher_rss_kib_before", before);
    pl_jw_kint(&w, "pusher_rss_kib_after", after);
    pl_jw_key(&w, "pusher_bytes_per_socket");
    yajl_gen_double(w.g, ready > 0 && npids ? (double)(after - before) * 1024.0 / (double)ready : 0);
    flood_err_json(&w, &errs);
    pl_jw_end_obj(&w);
    r = flood_result_end(&w, o);
out:
    if (r)
        fprintf(stderr, "flood: connections failed: %s\n", strerror(-r));
    flood_ws_free(ws);
    free(tokens);
    flood_users_free(users, nu);
    flood_http_free(api);
    return r;
}
