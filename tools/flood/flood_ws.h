/* flood_ws: many authenticated WebSocket clients of /api/v1/ws on one
 * libwebsockets context, served by a thread of its own.
 *
 * Client i connects to urls[i % nurls] from source address 127.1.x.y
 * (one of nsrc), so more than one source address's worth of ephemeral
 * ports can be used. After the handshake it sends the auth frame with
 * tokens[i] (and the resume map, when there is a resume callback) and
 * counts as ready when the "ready" frame arrives. Connects are paced
 * (connect_rate per second, at most inflight unfinished); reconnects only
 * by inflight. */
#ifndef FLOOD_WS_H
#define FLOOD_WS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "flood_hist.h"

typedef struct flood_ws flood_ws;

/* Runs on the ws thread for each text frame after "ready". */
typedef void (*flood_ws_frame_fn)(void *opaque, size_t client, const char *data, size_t len);
/* Runs on the ws thread about every 100 ms. */
typedef void (*flood_ws_tick_fn)(void *opaque);
/* Writes a client's auth-frame resume map ({"<conversation id>":"<position>",
 * ...}) into buf, on the ws thread before each (re)connect. Returns its
 * length, 0 for none, -1 when it does not fit. */
typedef int (*flood_ws_resume_fn)(void *opaque, size_t client, char *buf, size_t cap);

typedef struct flood_ws_cfg {
    const char *const *urls; /* ws://127.x.y.z:port/api/v1/ws */
    size_t nurls;
    size_t nclients;
    const char *const *tokens; /* nclients entries, borrowed */
    int nsrc;                  /* source addresses to spread over, >= 1 */
    int connect_rate;          /* per second */
    int inflight;              /* unfinished handshakes at once */
    int timeout_s;             /* per connect + auth */
    flood_ws_frame_fn on_frame;
    flood_ws_tick_fn on_tick;
    flood_ws_resume_fn resume; /* NULL: no resume map */
    /* A ready client the server closes (a killed or draining pusher)
     * reconnects after reconnect_ms plus up to as much again of jitter, as
     * a real client does, and so does a reconnect that fails; 0: it stays
     * closed. flap_ms drops every ready client's socket after that long
     * connected (then it reconnects); 0: never. */
    int reconnect_ms;
    int flap_ms;
    void *opaque;
} flood_ws_cfg;

typedef struct flood_ws_stats {
    atomic_long ready;       /* currently ready */
    atomic_long ever_ready;
    atomic_long connect_failed;
    atomic_long auth_failed; /* closed with 4401 before ready */
    atomic_long closed;      /* closed after ready (by the server) */
    atomic_long slow_dropped; /* closed with 1008 */
    atomic_long reconnects;  /* ready again after a close */
    atomic_long flaps;       /* sockets dropped on purpose (flap_ms) */
    atomic_long frames;
    atomic_long bytes;
} flood_ws_stats;

/* cfg's arrays are borrowed and must outlive w. */
int flood_ws_new(flood_ws **out, const flood_ws_cfg *cfg);
/* Starts the thread, which begins connecting. */
int flood_ws_start(flood_ws *w);
/* Closes every client (close frame, up to 2 s) and joins the thread; the
 * stats and histogram are then safe to read from the caller's thread. */
void flood_ws_stop(flood_ws *w);
/* Stops (if still running) and frees. Accepts NULL. */
void flood_ws_free(flood_ws *w);
flood_ws_stats *flood_ws_stats_of(flood_ws *w);
/* 1 once every client either is ready or failed. */
int flood_ws_settled(flood_ws *w);
/* Connect-to-ready times; read only after every client settled. */
const flood_hist *flood_ws_connect_hist(flood_ws *w);
/* Which user-visible client indices are ready (ws thread writes). */
int flood_ws_is_ready(flood_ws *w, size_t client);

#endif
