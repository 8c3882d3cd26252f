/* pusher_ws: the libwebsockets side. One listener serves the WebSocket
 * endpoint /api/v1/ws plus plain HTTP /healthz, /readyz and /metrics.
 *
 * Everything here runs on the thread that calls pusher_ws_run (the lws
 * thread), except pusher_ws_wake and pusher_ws_stop, which any thread and
 * signal handlers may call.
 *
 * Protocol (see schemas/ for the frame shapes):
 * - the handshake is refused (403) when an Origin header is present and not
 *   in the allowlist, or the path is not /api/v1/ws;
 * - the first client frame must be {"type":"auth","access_token":...}
 *   within 5 s, else the socket is closed with 4401; its optional
 *   "resume" map (conversation id -> last position seen) starts a replay
 *   per conversation (pusher_replay), ending in resume.done or resume.gap;
 *   a malformed map closes with 4400;
 * - then {"type":"ping"} gets {"type":"pong"}, unknown types get an error
 *   frame (bad_request);
 * - a binary frame or invalid JSON closes with 1003, a frame over 64 KiB
 *   with 1009, a client whose queue passes 4096 frames with 1008;
 * - shutdown (drain): readiness goes false, new connections are refused,
 *   every client gets {"type":"reconnect","after_ms":N} with N uniform in
 *   [0, drain_jitter_ms] and, still receiving frames, is closed with 1001
 *   after N ms. */
#ifndef PUSHER_WS_H
#define PUSHER_WS_H

#include <sodium.h>
#include <stddef.h>

#include "pl_metrics.h"
#include "pusher_hub.h"
#include "pusher_presence.h"
#include "pusher_replay.h"

typedef struct pusher_ws pusher_ws;
typedef int (*pusher_ws_ready_fn)(void *arg); /* any thread; 1 when ready */
/* lws thread: 1 if session sid was revoked, 0 if not, -EAGAIN while the
 * revocations before this process started are still being read. */
typedef int (*pusher_ws_revoked_fn)(void *arg, const char *sid);
/* Any thread, never blocks: where partition of the events topic ends as
 * the feed last heard (the next offset), or -1 when unknown. */
typedef int64_t (*pusher_ws_log_end_fn)(void *arg, int32_t partition);

typedef struct pusher_ws_cfg {
    const char *addr;
    int port;
    const char *origins; /* comma-separated allowlist, copied */
    const unsigned char *public_key; /* crypto_sign_PUBLICKEYBYTES, copied */
    pusher_hub *hub;                 /* borrowed, outlives the server */
    pl_metrics *metrics;             /* borrowed, outlives the server */
    pusher_presence *presence;       /* borrowed, outlives the server; may be NULL */
    pusher_replay *replay;           /* borrowed, outlives the server; NULL: no resume */
    long long resume_max_conversations; /* per auth frame; beyond: resume.gap */
    long long resume_buffer;         /* recent deliveries kept per partition */
    long long drain_jitter_ms;       /* reconnect.after_ms is uniform in [0, this] */
    pusher_ws_ready_fn ready;        /* the feed's readiness */
    void *ready_arg;
    /* Revocations of any age still within the token TTL; the sessions
     * revoked while we run are also learnt from the hub. May be NULL. */
    pusher_ws_revoked_fn revoked;
    void *revoked_arg;
    pusher_ws_log_end_fn log_end; /* NULL: resumes from memory end at once */
    void *log_end_arg;
} pusher_ws_cfg;

/* Creates the lws context and binds the listener. -EINVAL (bad origin
 * list) or -EIO (lws could not listen; it logged why). */
int pusher_ws_new(pusher_ws **out, const pusher_ws_cfg *cfg);
/* Runs the loop until pusher_ws_stop was called and the sockets are
 * closed (or the drain deadline passed). */
void pusher_ws_run(pusher_ws *ws);
/* Async-signal-safe: asks the loop to drain (see above). */
void pusher_ws_stop(pusher_ws *ws);
/* Any thread: wakes the loop to drain the hub. */
void pusher_ws_wake(pusher_ws *ws);
/* Destroys the context (closing what is left). Accepts NULL. */
void pusher_ws_free(pusher_ws *ws);

#endif
