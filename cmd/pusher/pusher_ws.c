#include "pusher_ws.h"
#include "pl_buf.h"
#include "pl_json.h"
#include "pl_log.h"
#include "pl_time.h"
#include "pl_token.h"
#include "pusher_build.h"
#include "pusher_conv.h"
#include "pusher_map.h"
#include "pusher_recent.h"
#include "pusher_req.h"
#include "pusher_util.h"

#include <errno.h>
#include <sodium.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define WS_PATH "/api/v1/ws"
#define WS_MAX_FRAME 65536       /* client frames, reassembled */
#define WS_MAX_QUEUE 4096        /* frames per session before we drop it */
#define WS_AUTH_TIMEOUT_S 5
#define WS_DRAIN_S 3             /* how long shutdown waits for close frames */
#define WS_DRAIN_BATCH 1024      /* deliveries per wakeup, so sockets get turns */
#define WS_MAX_ORIGINS 32
#define WS_CLOSE_UNAUTHORIZED 4401
#define WS_CLOSE_BAD_REQUEST 4400
#define WS_CLOSE_TRY_AGAIN 1013 /* RFC 6455 registry: Try Again Later */
#define WS_CATCHUP_TICK_MS 100
#define WS_CATCHUP_MAX_MS 2000  /* a resume from memory waits this long for the log end */
#define WS_MAX_CONVS 10000       /* conversations whose last offset a socket tracks */
/* A replayed frame that finds more than this queued ends its replay with
 * resume.gap: the client pages the rest over REST instead of being
 * dropped as slow. */
#define WS_REPLAY_QUEUE_MAX (WS_MAX_QUEUE / 2)
/* Revoked session ids remembered, so their still-valid access tokens
 * cannot open new sockets here (FIFO; an access token lives 15 min). */
#define WS_REVOKED_MAX 16384

typedef struct ws_session {
    pusher_hub_node node;             /* in the hub index once authenticated */
    struct ws_session *prev, *next;   /* every open WebSocket, for shutdown */
    struct lws *wsi;
    pusher_ws *srv;
    pl_buf rx;                        /* a message being reassembled */
    pusher_frame **q;                 /* ring of queued frames, one ref each */
    size_t qhead, qlen, qcap;
    char sid[PL_ID_LEN];
    uint64_t serial;                  /* names the session to the replay worker */
    pusher_convs *convs;              /* per conversation: last offset, resume state */
    int is_ws, authed;
    int drain_close;                  /* the timer closes for the drain */
    int close_code;                   /* nonzero: close on next writeable */
    int close_flush;                  /* ...once the queued frames are out */
    const char *close_reason;
    pusher_frame *http_body;          /* pending HTTP response body */
} ws_session;

struct pusher_ws {
    struct lws_context *ctx;
    pusher_hub *hub;
    pl_metrics *metrics;
    pusher_presence *presence;
    pusher_replay *replay;
    pusher_recent *recent;            /* resumes answered from memory */
    long long resume_max_convs;
    long long drain_jitter_ms;
    uint64_t next_serial;
    pusher_ws_ready_fn ready;
    void *ready_arg;
    pusher_ws_revoked_fn revoked_fn;
    void *revoked_arg;
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    char *origin_buf;                 /* the copied list, split in place */
    const char *origins[WS_MAX_ORIGINS];
    size_t norigins;
    ws_session *sessions;
    long open;
    pusher_map *revoked;              /* sid -> non-NULL, lws thread */
    char (*revoked_ring)[PL_ID_LEN];  /* insertion order, for eviction */
    size_t revoked_next;
    volatile sig_atomic_t stop_requested;
    int draining, done;
    lws_sorted_usec_list_t drain_sul;
    /* Resumes answered from memory while the live stream was still behind
     * the log's end: each ends (held frames, resume.done) once it is there. */
    struct ws_catchup *catchup;
    size_t ncatchup, capcatchup;
    lws_sorted_usec_list_t catchup_sul;
    pusher_ws_log_end_fn log_end;
    void *log_end_arg;
    lws_retry_bo_t retry;
    struct lws_protocols protocols[2];
};

static ws_session *ws_of(pusher_hub_node *n)
{
    return (ws_session *)((char *)n - offsetof(ws_session, node));
}

static int ws_close(ws_session *s, int code, const char *reason)
{
    lws_close_reason(s->wsi, (enum lws_close_status)code, (unsigned char *)reason,
                     strlen(reason));
    return -1;
}

static void ws_queue_clear(ws_session *s)
{
    while (s->qlen) {
        pusher_frame_unref(s->q[s->qhead]);
        s->qhead = (s->qhead + 1) % s->qcap;
        s->qlen--;
    }
}

/* The close frame goes out on the next writeable; the timeout reaps a peer
 * that never reads again (a slow client usually is exactly that). */
static void ws_close_soon(ws_session *s, int code, const char *reason)
{
    if (s->close_code)
        return;
    s->close_code = code;
    s->close_reason = reason;
    ws_queue_clear(s);
    lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, WS_DRAIN_S);
    lws_callback_on_writable(s->wsi);
}

/* ws_close_soon after the queued frames are written. */
static void ws_close_soon_flush(ws_session *s, int code, const char *reason)
{
    if (s->close_code)
        return;
    s->close_code = code;
    s->close_reason = reason;
    s->close_flush = 1;
    lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, WS_DRAIN_S);
    lws_callback_on_writable(s->wsi);
}

static void ws_drop_slow(ws_session *s)
{
    pl_warn("slow_client_dropped", "user_id=%s session_id=%s queued=%zu", s->node.user_id,
            s->sid, s->qlen);
    pl_metrics_add(s->srv->metrics, "pusher_slow_clients_dropped_total", "", 1);
    ws_close_soon(s, LWS_CLOSE_STATUS_POLICY_VIOLATION, "too slow");
}

static int ws_queue_grow(ws_session *s)
{
    size_t cap = s->qcap ? s->qcap * 2 : 16;
    pusher_frame **q;

    if (cap > WS_MAX_QUEUE)
        cap = WS_MAX_QUEUE;
    q = malloc(cap * sizeof(*q));
    if (!q)
        return -ENOMEM;
    for (size_t i = 0; i < s->qlen; i++)
        q[i] = s->q[(s->qhead + i) % s->qcap];
    free(s->q);
    s->q = q;
    s->qcap = cap;
    s->qhead = 0;
    return 0;
}

/* Takes the caller's reference to f on every path. */
static int ws_enqueue(ws_session *s, pusher_frame *f)
{
    int r = 0;

    if (s->close_code)
        goto out;
    if (s->qlen == WS_MAX_QUEUE) {
        ws_drop_slow(s);
        r = -ENOBUFS;
        goto out;
    }
    if (s->qlen == s->qcap) {
        r = ws_queue_grow(s);
        if (r)
            goto out;
    }
    s->q[(s->qhead + s->qlen) % s->qcap] = f;
    s->qlen++;
    f = NULL;
    lws_callback_on_writable(s->wsi);
out:
    pusher_frame_unref(f);
    return r;
}

/* Takes ownership of json. */
static int ws_send_json(ws_session *s, int r, char *json, size_t len)
{
    pusher_frame *f = NULL;

    if (r)
        return r;
    r = pusher_frame_from_json(&f, json, len);
    if (r)
        return r;
    return ws_enqueue(s, f);
}

static int ws_send_error(ws_session *s, const char *code, const char *msg)
{
    char *json = NULL;
    size_t len = 0;
    int r = pusher_build_error(code, msg, &json, &len);
    return ws_send_json(s, r, json, len);
}

static const char *ws_token_error(int r)
{
    switch (r) {
    case -PL_E_EXPIRED:
        return "expired";
    case -EACCES:
        return "bad_signature";
    default:
        return "malformed";
    }
}

static int ws_auth_failed(ws_session *s, const char *why)
{
    char ip[64] = "";

    lws_get_peer_simple(s->wsi, ip, sizeof(ip));
    pl_info("client_auth_failed", "peer=%s reason=%s", ip, why);
    return ws_close(s, WS_CLOSE_UNAUTHORIZED, "unauthorized");
}

/* resume.gap or resume.done for conv; pos is the position it names. */
static void ws_send_resume_end(ws_session *s, const char *conv, pl_pos pos, const char *gap)
{
    char text[PL_POS_LEN], *json = NULL;
    size_t len = 0;
    int r;

    pl_pos_format(text, pos);
    if (gap) /* every gap, whichever layer gave up, so operators see why */
        pl_info("resume_gap", "user_id=%s session_id=%s conversation_id=%s position=%s "
                "reason=%s", s->node.user_id, s->sid, conv, text, gap);
    r = pusher_build_resume_end(conv, text, gap, &json, &len);
    ws_send_json(s, r, json, len);
}

static void ws_emit_held(void *arg, pusher_frame *f)
{
    ws_enqueue(arg, f);
}

/* Ends conv's replay: with a gap, resume.gap first (from the newest
 * position queued, so the client pages REST from exactly there), then the
 * held live frames; without, the held frames then resume.done. */
static void ws_resume_end(ws_session *s, const char *conv, const char *gap)
{
    pl_pos last;

    if (!pusher_convs_replaying(s->convs, conv, &last))
        return;
    if (gap)
        ws_send_resume_end(s, conv, last, gap);
    pusher_convs_end(s->convs, conv, ws_emit_held, s, &last);
    if (!gap)
        ws_send_resume_end(s, conv, last, NULL);
}

/* Conversations resumed, by where the frames came from. */
static void ws_count_resumes(pusher_ws *srv, size_t recent, size_t log)
{
    if (recent)
        pl_metrics_add(srv->metrics, "pusher_resumes_total", "source=\"memory\"",
                       (double)recent);
    if (log)
        pl_metrics_add(srv->metrics, "pusher_resumes_total", "source=\"log\"", (double)log);
}

typedef struct ws_catchup {
    char user[PL_ID_LEN];
    uint64_t serial;
    char conv[PL_ID_LEN];
    int32_t partition;
    int64_t target;      /* the log's last offset when the client asked */
    int64_t deadline_ms; /* a target that never gets a delivery: end anyway */
} ws_catchup;

static ws_session *ws_find(pusher_ws *srv, const char *user, uint64_t serial);
static void ws_catchup_tick(lws_sorted_usec_list_t *sul);

/* Ends catch-ups: of partition (or any, -1) once the live stream is past
 * their target, and all whose deadline passed. */
static void ws_catchup_check(pusher_ws *srv, int32_t partition)
{
    int64_t now = pl_time_mono_ms();

    for (size_t i = 0; i < srv->ncatchup;) {
        ws_catchup *c = &srv->catchup[i];
        ws_session *s;
        if ((partition >= 0 && c->partition != partition) ||
            (!pusher_recent_covers(srv->recent, c->partition, c->target) &&
             now < c->deadline_ms)) {
            i++;
            continue;
        }
        s = ws_find(srv, c->user, c->serial);
        if (s && !s->close_code)
            ws_resume_end(s, c->conv, NULL);
        srv->catchup[i] = srv->catchup[--srv->ncatchup];
    }
}

static void ws_catchup_tick(lws_sorted_usec_list_t *sul)
{
    pusher_ws *srv = lws_container_of(sul, pusher_ws, catchup_sul);

    ws_catchup_check(srv, -1);
    if (srv->ncatchup)
        lws_sul_schedule(srv->ctx, 0, &srv->catchup_sul, ws_catchup_tick,
                         WS_CATCHUP_TICK_MS * LWS_US_PER_MS);
}

/* s's resume of conv stays open (live frames held) until the live stream
 * reaches target. 0, or -ENOMEM: the caller ends it now. */
static int ws_catchup_add(ws_session *s, const char *conv, int32_t partition, int64_t target)
{
    pusher_ws *srv = s->srv;
    ws_catchup *c;

    if (srv->ncatchup == srv->capcatchup) {
        size_t cap = srv->capcatchup ? srv->capcatchup * 2 : 64;
        ws_catchup *n = realloc(srv->catchup, cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        srv->catchup = n;
        srv->capcatchup = cap;
    }
    c = &srv->catchup[srv->ncatchup++];
    memcpy(c->user, s->node.user_id, PL_ID_LEN);
    c->serial = s->serial;
    memcpy(c->conv, conv, PL_ID_LEN);
    c->partition = partition;
    c->target = target;
    c->deadline_ms = pl_time_mono_ms() + WS_CATCHUP_MAX_MS;
    if (srv->ncatchup == 1)
        lws_sul_schedule(srv->ctx, 0, &srv->catchup_sul, ws_catchup_tick,
                         WS_CATCHUP_TICK_MS * LWS_US_PER_MS);
    return 0;
}

typedef struct ws_recent_ctx {
    ws_session *s;
    const pusher_req_resume *e;
} ws_recent_ctx;

/* One kept delivery: the session's, if it is of the conversation and the
 * user was a member at its offset. */
static void ws_recent_one(void *arg, const pusher_delivery *d)
{
    ws_recent_ctx *c = arg;
    pl_pos pos = {.partition = d->partition, .offset = d->offset};
    int mine = 0;

    if (strcmp(d->conv, c->e->conversation_id) != 0)
        return;
    for (size_t i = 0; i < d->nusers && !mine; i++)
        mine = strcmp(d->users[i], c->s->node.user_id) == 0;
    if (mine && pusher_convs_replayed(c->s->convs, d->conv, pos) == PUSHER_CONV_SEND)
        ws_enqueue(c->s, pusher_frame_ref(d->frame));
}

/* Answers e from the recent deliveries when they hold everything after
 * its position: then, synchronously with the live stream, the frames and
 * resume.done. 0 when the replay worker must read the log instead. */
static int ws_resume_recent(ws_session *s, const pusher_req_resume *e)
{
    pusher_ws *srv = s->srv;
    ws_recent_ctx c = {.s = s, .e = e};
    int64_t end;

    if (pusher_replay_partition_of(srv->replay, e->conversation_id) != e->pos.partition ||
        !pusher_recent_covers(srv->recent, e->pos.partition, e->pos.offset))
        return 0;
    pusher_recent_each(srv->recent, e->pos.partition, e->pos.offset, ws_recent_one, &c);
    end = srv->log_end ? srv->log_end(srv->log_end_arg, e->pos.partition) : -1;
    if (end < 1 || pusher_recent_covers(srv->recent, e->pos.partition, end - 1) ||
        ws_catchup_add(s, e->conversation_id, e->pos.partition, end - 1) != 0)
        ws_resume_end(s, e->conversation_id, NULL);
    return 1;
}

/* The resume map of the auth frame: every conversation in it either gets
 * a replay (from memory, or by the worker from the log) or an explicit
 * resume.gap, never silence. Live frames of a conversation the worker
 * replays are held from this moment on. */
static void ws_resume(ws_session *s, const pusher_req *req)
{
    size_t n = req->nresume, nlog = 0, recent = 0;
    pusher_req_resume *work = NULL;

    if (n > (size_t)s->srv->resume_max_convs)
        n = (size_t)s->srv->resume_max_convs;
    if (n && s->srv->replay && !(work = malloc(n * sizeof(*work))))
        n = 0; /* out of memory: each one is a gap below */
    for (size_t i = 0; i < req->nresume; i++) {
        const pusher_req_resume *e = &req->resume[i];
        if (i >= n || !work || pusher_convs_begin(s->convs, e->conversation_id, e->pos))
            ws_send_resume_end(s, e->conversation_id, e->pos,
                               i >= n ? "too_many" : "unavailable");
        else if (ws_resume_recent(s, e))
            recent++;
        else
            work[nlog++] = *e;
    }
    ws_count_resumes(s->srv, recent, nlog);
    if (nlog && pusher_replay_submit(s->srv->replay, s->node.user_id, s->serial, work,
                                     nlog) != 0)
        for (size_t i = 0; i < nlog; i++) /* the worker's queue is full */
            ws_resume_end(s, work[i].conversation_id, "busy");
    if (recent || nlog)
        pl_info("resume", "user_id=%s session_id=%s from_memory=%zu from_log=%zu",
                s->node.user_id, s->sid, recent, nlog);
    free(work);
}

/* 1 if sid was revoked: while we run (the hub told us) or before (the
 * revocations feed); -EAGAIN while that feed is still catching up. */
static int ws_revoked(pusher_ws *srv, const char *sid)
{
    if (pusher_map_get(srv->revoked, sid))
        return 1;
    return srv->revoked_fn ? srv->revoked_fn(srv->revoked_arg, sid) : 0;
}

/* The first frame. Tokens never reach the logs. */
static int ws_auth(ws_session *s, const pusher_req *req)
{
    const char *tok = req->access_token;
    const char *why = NULL;
    pl_token_claims c;
    char ip[64] = "", *json = NULL;
    size_t len = 0;
    int r;

    lws_get_peer_simple(s->wsi, ip, sizeof(ip));
    if (req->type != PUSHER_REQ_AUTH)
        why = "expected_auth";
    else if (!tok || strnlen(tok, PL_TOKEN_MAX + 1) > PL_TOKEN_MAX)
        why = "malformed";
    else if ((r = pl_token_verify(s->srv->pk, tok, pl_time_real_ms() / 1000, &c)) != 0)
        why = ws_token_error(r);
    if (!why && (r = ws_revoked(s->srv, c.sid)) == -EAGAIN) /* retryable, unlike 4401 */
        return ws_close(s, WS_CLOSE_TRY_AGAIN, "not ready");
    if (!why && r)
        why = "revoked";
    if (why)
        return ws_auth_failed(s, why);
    if (pusher_convs_new(&s->convs, WS_MAX_CONVS) ||
        pusher_hub_index_add(s->srv->hub, &s->node, c.sub))
        return ws_close(s, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "out of memory");
    memcpy(s->sid, c.sid, PL_ID_LEN);
    s->authed = 1;
    pusher_presence_socket(s->srv->presence, c.sub, 1);
    lws_set_timer_usecs(s->wsi, LWS_SET_TIMER_USEC_CANCEL);
    pl_info("client_auth_ok", "peer=%s user_id=%s session_id=%s", ip, c.sub, c.sid);
    r = pusher_build_ready(c.sub, c.sid, &json, &len);
    if (ws_send_json(s, r, json, len))
        return -1;
    ws_resume(s, req);
    return 0;
}

static int ws_request(ws_session *s, const pusher_req *req)
{
    char *json = NULL;
    size_t len = 0;
    int r;

    if (req->type == PUSHER_REQ_PING) {
        r = pusher_build_simple("pong", &json, &len);
        r = ws_send_json(s, r, json, len);
    } else if (req->type == PUSHER_REQ_AUTH) {
        r = ws_send_error(s, "bad_request", "already authenticated");
    } else {
        r = ws_send_error(s, "bad_request", "unknown frame type");
    }
    /* -ENOBUFS means the session is being dropped already. */
    return r && r != -ENOBUFS ? -1 : 0;
}

/* A whole client message. Invalid JSON closes with 1003: it means a broken
 * client, and an error frame would only be ignored by it. A malformed
 * resume map closes with 4400: retrying the same frame cannot help. */
static int ws_message(ws_session *s, const char *msg, size_t len)
{
    pusher_req req;
    char err[128];
    int r = pusher_req_parse(msg, len, &req, err, sizeof(err));

    if (r == -EBADMSG) {
        pl_info("client_bad_request", "user_id=%s reason=%s",
                s->authed ? s->node.user_id : "-", err);
        return ws_close(s, WS_CLOSE_BAD_REQUEST, "bad resume");
    }
    if (r == -ENOMEM)
        return ws_close(s, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "out of memory");
    if (r) {
        if (!s->authed)
            return ws_auth_failed(s, "invalid_json");
        return ws_close(s, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, "invalid json");
    }
    r = s->authed ? ws_request(s, &req) : ws_auth(s, &req);
    pusher_req_free(&req);
    return r;
}

static int ws_receive(ws_session *s, const void *in, size_t len)
{
    int r;

    if (s->close_code)
        return 0; /* closing: ignore whatever still arrives */
    if (lws_frame_is_binary(s->wsi))
        return ws_close(s, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, "text frames only");
    if (len && pl_buf_append(&s->rx, in, len))
        return ws_close(s, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "frame too large");
    if (!lws_is_final_fragment(s->wsi) || lws_remaining_packet_payload(s->wsi))
        return 0;
    r = ws_message(s, s->rx.data ? s->rx.data : "", s->rx.len);
    /* Give the memory back: one big frame should not pin 64 KiB. */
    pl_buf_free(&s->rx);
    pl_buf_init(&s->rx, WS_MAX_FRAME);
    return r;
}

static int ws_writeable(ws_session *s)
{
    pusher_frame *f;
    size_t len;
    int n;

    if (s->close_code && (!s->close_flush || !s->qlen))
        return ws_close(s, s->close_code, s->close_reason);
    if (!s->qlen)
        return 0;
    f = s->q[s->qhead];
    s->qhead = (s->qhead + 1) % s->qcap;
    s->qlen--;
    len = f->len;
    n = lws_write(s->wsi, pusher_frame_payload(f), len, LWS_WRITE_TEXT);
    pusher_frame_unref(f);
    if (n < (int)len)
        return -1;
    pl_metrics_add(s->srv->metrics, "pusher_frames_sent_total", "", 1);
    if (s->qlen || s->close_code) /* a pending close goes out next */
        lws_callback_on_writable(s->wsi);
    return 0;
}

static void ws_gauge(pusher_ws *srv)
{
    pl_metrics_set(srv->metrics, "pusher_open_sockets", "", (double)srv->open);
}

static void ws_established(ws_session *s, struct lws *wsi, pusher_ws *srv)
{
    memset(s, 0, sizeof(*s));
    s->wsi = wsi;
    s->srv = srv;
    s->is_ws = 1;
    s->serial = ++srv->next_serial;
    pl_buf_init(&s->rx, WS_MAX_FRAME);
    s->next = srv->sessions;
    if (s->next)
        s->next->prev = s;
    srv->sessions = s;
    srv->open++;
    ws_gauge(srv);
    if (srv->draining)
        ws_close_soon(s, LWS_CLOSE_STATUS_GOINGAWAY, "going away");
    else
        lws_set_timer_usecs(wsi, (lws_usec_t)WS_AUTH_TIMEOUT_S * LWS_US_PER_SEC);
}

static void ws_closed(ws_session *s)
{
    pusher_ws *srv = s->srv;

    if (!s->is_ws)
        return;
    if (s->node.linked)
        pusher_presence_socket(srv->presence, s->node.user_id, -1);
    pusher_hub_index_del(srv->hub, &s->node);
    if (s->prev)
        s->prev->next = s->next;
    else
        srv->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    ws_queue_clear(s);
    free(s->q);
    pusher_convs_free(s->convs);
    s->convs = NULL;
    pl_buf_free(&s->rx);
    s->is_ws = 0;
    srv->open--;
    ws_gauge(srv);
}

/* HTTP bodies go through pusher_frame too, for the LWS_PRE headroom. */
static int ws_http_reply(struct lws *wsi, ws_session *s, unsigned int status,
                         const char *ctype, const char *body, size_t len)
{
    unsigned char buf[LWS_PRE + 512], *start = buf + LWS_PRE, *p = start;
    unsigned char *end = buf + sizeof(buf) - 1;

    s->http_body = pusher_frame_unref(s->http_body);
    if (pusher_frame_new(&s->http_body, body, len))
        return -1;
    if (lws_add_http_common_headers(wsi, status, ctype, len, &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                     (const unsigned char *)"no-store", 8, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    lws_callback_on_writable(wsi);
    return 0;
}

static int ws_http_json(struct lws *wsi, ws_session *s, unsigned int status, const char *json)
{
    return ws_http_reply(wsi, s, status, "application/json", json, strlen(json));
}

static int ws_http_metrics(struct lws *wsi, ws_session *s)
{
    pl_buf b;
    int r;

    pl_buf_init(&b, 4 << 20);
    r = pl_metrics_render(s->srv->metrics, &b);
    if (!r)
        r = ws_http_reply(wsi, s, 200, "text/plain; version=0.0.4", b.data ? b.data : "",
                          b.len);
    pl_buf_free(&b);
    return r ? -1 : 0;
}

static int ws_http(struct lws *wsi, ws_session *s, pusher_ws *srv, const char *path)
{
    int ready;

    s->srv = srv; /* lws zeroes the session; a keep-alive reuses it */
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0)
        return ws_http_json(wsi, s, 405, "{\"error\":{\"code\":\"method_not_allowed\"}}");
    if (strcmp(path, "/healthz") == 0)
        return ws_http_json(wsi, s, 200, "{\"status\":\"ok\"}");
    if (strcmp(path, "/readyz") == 0) {
        /* The key is loaded before the listener exists; a draining pusher
         * must leave the load balancer's rotation. */
        ready = !srv->draining && srv->ready(srv->ready_arg);
        return ws_http_json(wsi, s, ready ? 200 : 503,
                            ready ? "{\"status\":\"ready\"}" : "{\"status\":\"not_ready\"}");
    }
    if (strcmp(path, "/metrics") == 0)
        return ws_http_metrics(wsi, s);
    return ws_http_json(wsi, s, 404, "{\"error\":{\"code\":\"not_found\"}}");
}

static int ws_http_writeable(struct lws *wsi, ws_session *s)
{
    pusher_frame *f = s->http_body;

    if (!f)
        return 0;
    s->http_body = NULL;
    if (lws_write(wsi, pusher_frame_payload(f), f->len, LWS_WRITE_HTTP_FINAL) < (int)f->len) {
        pusher_frame_unref(f);
        return -1;
    }
    pusher_frame_unref(f);
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int ws_origin_allowed(pusher_ws *srv, const char *origin)
{
    for (size_t i = 0; i < srv->norigins; i++)
        if (strcmp(srv->origins[i], origin) == 0)
            return 1;
    return 0;
}

/* Nonzero refuses the upgrade. No Origin header means a non-browser client,
 * which cross-site request forgery cannot involve, so it may connect. */
static int ws_filter(struct lws *wsi, pusher_ws *srv)
{
    char path[64] = "", origin[256] = "", ip[64] = "", q[300];
    int n;

    lws_get_peer_simple(wsi, ip, sizeof(ip));
    if (srv->draining)
        return 1;
    if (lws_hdr_copy(wsi, path, sizeof(path), WSI_TOKEN_GET_URI) < 0 ||
        strcmp(path, WS_PATH) != 0) {
        pl_info("handshake_rejected", "peer=%s reason=path", ip);
        return 1;
    }
    if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) <= 0)
        return 0;
    n = lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN);
    if (n > 0 && ws_origin_allowed(srv, origin))
        return 0;
    pl_info("handshake_rejected", "peer=%s reason=origin origin=%s", ip,
            pusher_quote(q, sizeof(q), n > 0 ? origin : "(too long)"));
    return 1;
}

/* A revoked session: its sockets get the session.revoked frame, then 4401
 * once that frame is written (or after WS_DRAIN_S for a peer that does
 * not read). Other sessions of the same user stay open. */
static void ws_revoke(pusher_ws *srv, pusher_delivery *d)
{
    pusher_hub_node *n = d->nusers ? pusher_hub_index_first(srv->hub, d->users[0]) : NULL;

    for (; n; n = n->next) {
        ws_session *s = ws_of(n);
        if (strcmp(s->sid, d->close_sid) != 0 || s->close_code)
            continue;
        pl_info("session_closed", "user_id=%s session_id=%s reason=revoked", n->user_id,
                s->sid);
        ws_enqueue(s, pusher_frame_ref(d->frame));
        s->close_code = WS_CLOSE_UNAUTHORIZED;
        s->close_reason = "session revoked";
        s->close_flush = 1;
        lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, WS_DRAIN_S);
        lws_callback_on_writable(s->wsi);
    }
}

/* Best effort: on -ENOMEM the sid is just not remembered. */
static void ws_remember_revoked(pusher_ws *srv, const char *sid)
{
    char *slot = srv->revoked_ring[srv->revoked_next % WS_REVOKED_MAX];

    if (pusher_map_get(srv->revoked, sid))
        return;
    if (slot[0])
        pusher_map_del(srv->revoked, slot);
    slot[0] = '\0';
    if (pusher_map_put(srv->revoked, sid, srv, NULL) == 0) {
        memcpy(slot, sid, PL_ID_LEN);
        srv->revoked_next++;
    }
}

/* A live frame for one session: frames of the events log pass the
 * session's per-conversation state (no repeats, held while replaying). */
static void ws_live(ws_session *s, pusher_delivery *d)
{
    pl_pos pos = {.partition = d->partition, .offset = d->offset};

    if (d->offset < 0 || !s->convs) {
        ws_enqueue(s, pusher_frame_ref(d->frame));
        return;
    }
    switch (pusher_convs_live(s->convs, d->conv, pos, d->frame)) {
    case PUSHER_CONV_SEND:
        ws_enqueue(s, pusher_frame_ref(d->frame));
        break;
    case PUSHER_CONV_OVERFLOW:
        /* Too much live traffic while replaying: the replay gives up, the
         * client pages REST from what it got; this frame follows. */
        ws_resume_end(s, d->conv, "overflow");
        if (pusher_convs_live(s->convs, d->conv, pos, d->frame) == PUSHER_CONV_SEND)
            ws_enqueue(s, pusher_frame_ref(d->frame));
        break;
    default:
        break; /* HELD (reference taken) or DROP (sent already) */
    }
}

static void ws_fan_out(pusher_ws *srv, pusher_delivery *d)
{
    double age = (double)(pl_time_real_ms() - d->ts_ms) / 1000.0;

    if (d->close_sid[0]) {
        ws_remember_revoked(srv, d->close_sid);
        ws_revoke(srv, d);
        return;
    }

    for (size_t i = 0; i < d->nusers; i++) {
        pusher_hub_node *n = pusher_hub_index_first(srv->hub, d->users[i]);
        for (; n; n = n->next)
            if (d->kind == PUSHER_DELIVERY_LIVE ||
                (ws_of(n)->convs && pusher_convs_tracked(ws_of(n)->convs, d->conv)))
                ws_live(ws_of(n), d);
    }
    if (d->kind == PUSHER_DELIVERY_LIVE)
        pl_metrics_observe(srv->metrics, "pusher_delivery_seconds", "", age > 0 ? age : 0);
}

/* user's session `serial`, NULL when it closed meanwhile. */
static ws_session *ws_find(pusher_ws *srv, const char *user, uint64_t serial)
{
    for (pusher_hub_node *n = pusher_hub_index_first(srv->hub, user); n; n = n->next)
        if (ws_of(n)->serial == serial)
            return ws_of(n);
    return NULL;
}

/* From the replay worker: a replayed frame, or the end of a replay. */
static void ws_replayed(pusher_ws *srv, pusher_delivery *d)
{
    ws_session *s = d->nusers ? ws_find(srv, d->users[0], d->serial) : NULL;
    pl_pos pos = {.partition = d->partition, .offset = d->offset};

    if (!s || s->close_code)
        return;
    if (d->kind == PUSHER_DELIVERY_REPLAY_DONE || d->kind == PUSHER_DELIVERY_REPLAY_GAP) {
        ws_resume_end(s, d->conv, d->kind == PUSHER_DELIVERY_REPLAY_GAP ? d->gap_reason : NULL);
        return;
    }
    if (!pusher_convs_replaying(s->convs, d->conv, NULL))
        return; /* ended early (gap): the client pages the rest */
    if (s->qlen >= WS_REPLAY_QUEUE_MAX) {
        ws_resume_end(s, d->conv, "slow");
        return;
    }
    if (pusher_convs_replayed(s->convs, d->conv, pos) == PUSHER_CONV_SEND)
        ws_enqueue(s, pusher_frame_ref(d->frame));
}

static void ws_drain_deadline(lws_sorted_usec_list_t *sul)
{
    pusher_ws *srv = lws_container_of(sul, pusher_ws, drain_sul);
    srv->done = 1;
}

/* Tells an authenticated client to come back (elsewhere) after a random
 * delay, so a pusher's clients do not all reconnect in the same instant,
 * and closes with 1001 after it; frames keep flowing meanwhile. Sockets
 * that never authenticated just close. */
static void ws_drain_session(pusher_ws *srv, ws_session *s)
{
    long long after = 0;
    char *json = NULL;
    size_t len = 0;
    int r;

    if (!s->authed || s->close_code) {
        ws_close_soon(s, LWS_CLOSE_STATUS_GOINGAWAY, "going away");
        return;
    }
    if (srv->drain_jitter_ms > 0)
        after = (long long)randombytes_uniform((uint32_t)srv->drain_jitter_ms + 1);
    r = pusher_build_reconnect(after, &json, &len);
    ws_send_json(s, r, json, len);
    s->drain_close = 1;
    lws_set_timer_usecs(s->wsi, (lws_usec_t)after * 1000 + 1);
}

static void ws_begin_drain(pusher_ws *srv)
{
    pl_info("shutdown", "phase=draining open_sockets=%ld jitter_ms=%lld", srv->open,
            srv->drain_jitter_ms);
    srv->draining = 1;
    for (ws_session *s = srv->sessions; s; s = s->next)
        ws_drain_session(srv, s);
    lws_sul_schedule(srv->ctx, 0, &srv->drain_sul, ws_drain_deadline,
                     (lws_usec_t)srv->drain_jitter_ms * 1000 +
                         (lws_usec_t)WS_DRAIN_S * LWS_US_PER_SEC);
}

/* Woken by the Kafka thread (new deliveries) or by pusher_ws_stop. */
static void ws_on_wake(pusher_ws *srv)
{
    pusher_delivery *d;
    int i;

    if (srv->stop_requested && !srv->draining)
        ws_begin_drain(srv);
    for (i = 0; i < WS_DRAIN_BATCH && (d = pusher_hub_pop(srv->hub)); i++) {
        /* Draining sessions still get everything until they close. */
        if (d->kind != PUSHER_DELIVERY_LIVE && d->kind != PUSHER_DELIVERY_WARM) {
            ws_replayed(srv, d);
            pusher_delivery_free(d);
            continue;
        }
        ws_fan_out(srv, d);
        if (d->offset >= 0 && !d->close_sid[0]) {
            int32_t p = d->partition;
            pusher_recent_keep(srv->recent, d); /* takes d */
            if (srv->ncatchup)
                ws_catchup_check(srv, p);
        } else {
            pusher_delivery_free(d);
        }
    }
    if (i == WS_DRAIN_BATCH)
        lws_cancel_service(srv->ctx); /* more left: come back after the sockets */
}

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                       void *in, size_t len)
{
    pusher_ws *srv;
    ws_session *s = user;

    if (!wsi)
        return 0;
    srv = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
        return srv->draining; /* stop accepting once we shut down */
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        if (!ws_filter(wsi, srv))
            return 0;
        /* A real status tells browsers and nginx why; then hang up. */
        lws_return_http_status(wsi, HTTP_STATUS_FORBIDDEN, NULL);
        return -1;
    case LWS_CALLBACK_ESTABLISHED:
        ws_established(s, wsi, srv);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        return ws_receive(s, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return ws_writeable(s);
    case LWS_CALLBACK_TIMER:
        if (s->drain_close && !s->close_code) {
            ws_close_soon_flush(s, LWS_CLOSE_STATUS_GOINGAWAY, "going away");
            return 0;
        }
        if (s->authed || s->close_code)
            return 0;
        return ws_auth_failed(s, "timeout");
    case LWS_CALLBACK_CLOSED:
        ws_closed(s);
        return 0;
    case LWS_CALLBACK_HTTP:
        return ws_http(wsi, s, srv, in ? (const char *)in : "");
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return ws_http_writeable(wsi, s);
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (s)
            s->http_body = pusher_frame_unref(s->http_body);
        break;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        ws_on_wake(srv);
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* Splits the copied allowlist in place; empty entries are refused. */
static int ws_parse_origins(pusher_ws *srv, const char *list)
{
    char *save = NULL, *tok;

    srv->origin_buf = strdup(list);
    if (!srv->origin_buf)
        return -ENOMEM;
    for (tok = strtok_r(srv->origin_buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        for (size_t n = strlen(tok); n && tok[n - 1] == ' '; n--)
            tok[n - 1] = '\0';
        if (!*tok || srv->norigins == WS_MAX_ORIGINS)
            return -EINVAL;
        srv->origins[srv->norigins++] = tok;
    }
    return srv->norigins ? 0 : -EINVAL;
}

static void ws_setup_protocols(pusher_ws *srv)
{
    srv->protocols[0] = (struct lws_protocols){
        .name = "parley",
        .callback = ws_callback,
        .per_session_data_size = sizeof(ws_session),
    };
    /* lws pings a connection idle for 30 s and hangs up at 70 s without
     * any sign of life, so dead peers behind NAT do not pile up. */
    srv->retry = (lws_retry_bo_t){
        .secs_since_valid_ping = 30,
        .secs_since_valid_hangup = 70,
    };
}

int pusher_ws_new(pusher_ws **out, const pusher_ws_cfg *cfg)
{
    struct lws_context_creation_info info;
    pusher_ws *srv = calloc(1, sizeof(*srv));
    int r;

    if (!srv)
        return -ENOMEM;
    r = ws_parse_origins(srv, cfg->origins);
    if (!r)
        r = pusher_map_new(&srv->revoked);
    if (!r)
        r = pusher_recent_new(&srv->recent, (size_t)cfg->resume_buffer);
    srv->revoked_ring = calloc(WS_REVOKED_MAX, PL_ID_LEN);
    if (!r && !srv->revoked_ring)
        r = -ENOMEM;
    if (r)
        goto out;
    memcpy(srv->pk, cfg->public_key, sizeof(srv->pk));
    srv->hub = cfg->hub;
    srv->metrics = cfg->metrics;
    srv->presence = cfg->presence;
    srv->replay = cfg->replay;
    srv->resume_max_convs = cfg->resume_max_conversations;
    srv->drain_jitter_ms = cfg->drain_jitter_ms;
    srv->ready = cfg->ready;
    srv->ready_arg = cfg->ready_arg;
    srv->revoked_fn = cfg->revoked;
    srv->log_end = cfg->log_end;
    srv->log_end_arg = cfg->log_end_arg;
    srv->revoked_arg = cfg->revoked_arg;
    ws_setup_protocols(srv);
    memset(&info, 0, sizeof(info));
    info.port = cfg->port;
    info.iface = cfg->addr;
    info.protocols = srv->protocols;
    info.user = srv;
    info.retry_and_idle_policy = &srv->retry;
    if (!strchr(cfg->addr, ':'))
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    srv->ctx = lws_create_context(&info);
    r = srv->ctx ? 0 : -EIO;
    if (r)
        goto out;
    *out = srv;
    srv = NULL;
out:
    pusher_ws_free(srv);
    return r;
}

void pusher_ws_run(pusher_ws *ws)
{
    while (!ws->done) {
        if (lws_service(ws->ctx, 0) < 0)
            break;
        if (ws->draining && ws->open == 0)
            ws->done = 1;
    }
    pl_info("shutdown", "phase=closed open_sockets=%ld", ws->open);
}

void pusher_ws_stop(pusher_ws *ws)
{
    ws->stop_requested = 1;
    lws_cancel_service(ws->ctx);
}

void pusher_ws_wake(pusher_ws *ws)
{
    lws_cancel_service(ws->ctx);
}

void pusher_ws_free(pusher_ws *ws)
{
    if (!ws)
        return;
    if (ws->ctx)
        lws_context_destroy(ws->ctx);
    free(ws->origin_buf);
    pusher_recent_free(ws->recent);
    free(ws->catchup);
    pusher_map_free(ws->revoked, NULL);
    free(ws->revoked_ring);
    free(ws);
}
