/* pl_http: a small REST server over libmicrohttpd.
 *
 * MHD runs its own thread pool (epoll). Handlers run on those threads and
 * may block briefly (a Postgres query); anything that waits on another
 * system (a Kafka acknowledgement) calls pl_http_suspend and replies later
 * from any thread, which resumes the connection.
 *
 * Every server also answers GET /healthz, /readyz and /metrics. */
#ifndef PL_HTTP_H
#define PL_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "pl_json.h"
#include "pl_metrics.h"
#include "pl_token.h"

#define PL_HTTP_MAX_HEADERS 6
#define PL_HTTP_MAX_HEADER_VALUE 2048

typedef struct pl_http_req pl_http_req;
typedef struct pl_http_server pl_http_server;

/* Must end with exactly one pl_http_reply* or pl_http_suspend call. */
typedef void (*pl_http_fn)(pl_http_req *req, void *ctx);

/* PL_HTTP_STREAM: the handler runs as soon as the headers are in, before
 * any body, and must reply or call pl_http_stream_body; the body then goes
 * to the route chunk by chunk instead of into a buffer (max_body does not
 * apply: the route enforces its own limit). */
enum { PL_HTTP_PUBLIC = 0, PL_HTTP_AUTH = 1, PL_HTTP_STREAM = 2 };

typedef struct pl_http_route {
    const char *method;
    const char *pattern; /* "/api/v1/conversations/{id}/messages" */
    pl_http_fn fn;
    unsigned flags;
} pl_http_route;

/* Sessions revoked before their access tokens expire (pl_revoked_feed,
 * wired by pl_svc_revocations). When revoked is set, a PL_HTTP_AUTH request
 * whose token names a revoked session gets 401 session_revoked; until
 * ready() says 1 such requests get 503 not_ready (a revocation not read
 * yet must not let a token through), and so does /readyz. */
typedef struct pl_http_revocations {
    int (*revoked)(void *arg, const char *sid); /* 1: refuse */
    int (*ready)(void *arg);                    /* 1: caught up */
    void *arg;
} pl_http_revocations;

typedef struct pl_http_config {
    const char *addr;  /* bind address, e.g. "127.0.0.1" or "0.0.0.0" */
    int port;
    int threads;
    size_t max_body;   /* larger bodies get 413 */
    const pl_http_route *routes;
    size_t nroutes;
    void *ctx;         /* passed to handlers and ready() */
    pl_metrics *metrics;
    const unsigned char *pubkey; /* verifies PL_HTTP_AUTH routes */
    int (*ready)(void *ctx);     /* 0 when ready; NULL means always */
    pl_http_revocations revocations; /* all NULL: tokens are checked alone */
} pl_http_config;

/* routes, metrics and pubkey are borrowed and must outlive the server. */
int pl_http_start(pl_http_server **out, const pl_http_config *cfg);
/* Stops accepting new connections; in-flight requests go on. */
void pl_http_quiesce(pl_http_server *s);
/* Waits for the threads and frees s. Suspended requests must be replied to
 * first. Accepts NULL. */
void pl_http_stop(pl_http_server *s);

/* Accessors; strings belong to the request and die with it. */
const char *pl_http_param(pl_http_req *req, const char *name);
const char *pl_http_query(pl_http_req *req, const char *name);
const char *pl_http_header(pl_http_req *req, const char *name);
const char *pl_http_body(pl_http_req *req, size_t *len);
const pl_token_claims *pl_http_claims(pl_http_req *req);
/* The client's address as text into buf (len >= 46): the socket peer, or,
 * when the peer is 127.0.0.1 (the local nginx), the last hop of
 * X-Forwarded-For. 0, -EINVAL (buf too small) or -ENOENT (unknown). */
int pl_http_peer_ip(pl_http_req *req, char *buf, size_t len);
/* Parses the body as a JSON object. On failure it has already replied 400
 * and returns -EINVAL; on success the caller frees *out. */
int pl_http_body_json(pl_http_req *req, yajl_val *out);

/* The body of a PL_HTTP_STREAM request, as it arrives (MHD thread). */
typedef struct pl_http_stream {
    /* One chunk; data is borrowed. A negative return stops the stream: the
     * rest of the body is read and dropped, and the request answers with
     * whatever chunk replied (500 if it did not). */
    int (*chunk)(pl_http_req *req, void *state, const char *data, size_t len);
    /* The whole body is in: must reply or pl_http_suspend, like a handler.
     * Not called once a reply exists. */
    void (*end)(pl_http_req *req, void *state);
    /* Called exactly once when the request is freed, whatever happened
     * (client gone mid-upload included); frees state. May be NULL. */
    void (*release)(void *state);
    void *state;
} pl_http_stream;
/* Called once by a PL_HTTP_STREAM handler; the request takes over
 * s->state (release frees it, even if this request already replied). */
void pl_http_stream_body(pl_http_req *req, const pl_http_stream *s);

/* body is a malloc'd JSON text the request takes over (NULL: no body). */
void pl_http_reply(pl_http_req *req, int status, char *body);
void pl_http_reply_jw(pl_http_req *req, int status, pl_jw *w);
void pl_http_reply_error(pl_http_req *req, int status, const char *code,
                         const char *message);
/* Replies 500 when r is -ENOMEM or another internal error. */
void pl_http_reply_internal(pl_http_req *req, int r);
/* Replies with size bytes of the open file fd (sent with sendfile), which
 * the request takes over and closes on every path. content_type is copied
 * (at most 127 bytes). A Cache-Control set with pl_http_set_header replaces
 * the default no-store. */
void pl_http_reply_fd(pl_http_req *req, int status, int fd, uint64_t size,
                      const char *content_type);
/* The same for the size bytes from offset off (a 206 to a Range request). */
void pl_http_reply_fd_at(pl_http_req *req, int status, int fd, uint64_t off, uint64_t size,
                         const char *content_type);
void pl_http_suspend(pl_http_req *req);
/* Adds a response header (at most PL_HTTP_MAX_HEADERS; names up to 127
 * bytes, values up to PL_HTTP_MAX_HEADER_VALUE - 1); call before the reply.
 * -E2BIG when it does not fit, -ENOMEM. */
int pl_http_set_header(pl_http_req *req, const char *name, const char *value);

#endif
