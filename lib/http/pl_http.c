#include "pl_http.h"
#include "pl_http_route.h"
#include "pl_time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct pl_http_server {
    struct MHD_Daemon *daemon;
    pl_http_config cfg;
};

struct pl_http_req {
    pl_http_server *srv;
    struct MHD_Connection *conn;
    const pl_http_route *route;
    const char *method;
    pl_http_params params;
    pl_token_claims claims;
    pl_buf body;
    int too_large;
    int handled;    /* the handler has run */
    int async;      /* the handler promised a later reply */
    int streaming;  /* PL_HTTP_STREAM: stream holds the body's consumer */
    pl_http_stream stream;
    double started; /* monotonic seconds */

    /* Guarded by lock: a reply may come from another thread. */
    pthread_mutex_t lock;
    int have_reply;
    int suspended;
    int status;
    char *reply;
    const char *content_type;
    int reply_fd; /* -1, or a file to send instead of reply */
    uint64_t reply_fd_size;
    uint64_t reply_fd_off;
    char fd_type[128];
    size_t nheaders;
    char hname[PL_HTTP_MAX_HEADERS][128];
    char *hvalue[PL_HTTP_MAX_HEADERS];
};

static const char *route_label(const pl_http_req *req)
{
    return req->route ? req->route->pattern : "other";
}

const char *pl_http_param(pl_http_req *req, const char *name)
{
    for (size_t i = 0; i < req->params.n; i++)
        if (strcmp(req->params.name[i], name) == 0)
            return req->params.value[i];
    return NULL;
}

const char *pl_http_query(pl_http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *pl_http_header(pl_http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

/* The socket peer, or (only when that is the local nginx, 127.0.0.1) the
 * last X-Forwarded-For hop, which nginx appends itself: earlier hops are
 * whatever the client sent and cannot be trusted. */
int pl_http_peer_ip(pl_http_req *req, char *buf, size_t len)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    const char *xff, *last;
    size_t n;

    if (!buf || len < INET6_ADDRSTRLEN)
        return -EINVAL;
    buf[0] = '\0';
    if (!sa)
        return -ENOENT;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)len);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf,
                  (socklen_t)len);
    else
        return -ENOENT;
    xff = pl_http_header(req, "X-Forwarded-For");
    if (strcmp(buf, "127.0.0.1") != 0 || !xff)
        return 0;
    last = strrchr(xff, ',');
    last = last ? last + 1 : xff;
    while (*last == ' ')
        last++;
    n = strcspn(last, " ");
    /* Only a literal address: the key must not be arbitrary client text. */
    if (n == 0 || n >= len || strspn(last, "0123456789abcdefABCDEF.:") < n)
        return 0;
    memcpy(buf, last, n);
    buf[n] = '\0';
    return 0;
}

const char *pl_http_body(pl_http_req *req, size_t *len)
{
    *len = req->body.len;
    return req->body.data ? req->body.data : "";
}

const pl_token_claims *pl_http_claims(pl_http_req *req)
{
    return &req->claims;
}

int pl_http_body_json(pl_http_req *req, yajl_val *out)
{
    char err[160];
    size_t len;
    const char *b = pl_http_body(req, &len);

    if (pl_json_parse(b, len, out, err, sizeof(err)) != 0) {
        pl_http_reply_error(req, 400, "bad_request", err);
        return -EINVAL;
    }
    if (!YAJL_IS_OBJECT(*out)) {
        yajl_tree_free(*out);
        *out = NULL;
        pl_http_reply_error(req, 400, "bad_request", "body must be a JSON object");
        return -EINVAL;
    }
    return 0;
}

static void reply_set(pl_http_req *req, int status, char *body, const char *ctype)
{
    pthread_mutex_lock(&req->lock);
    if (req->have_reply) { /* a handler bug; keep the first reply */
        pthread_mutex_unlock(&req->lock);
        free(body);
        return;
    }
    req->have_reply = 1;
    req->status = status;
    req->reply = body;
    req->content_type = ctype;
    if (req->suspended) {
        req->suspended = 0;
        MHD_resume_connection(req->conn);
    }
    pthread_mutex_unlock(&req->lock);
}

void pl_http_reply(pl_http_req *req, int status, char *body)
{
    reply_set(req, status, body, "application/json");
}

void pl_http_reply_jw(pl_http_req *req, int status, pl_jw *w)
{
    char *out = NULL;
    int r = pl_jw_finish(w, &out, NULL);
    if (r)
        pl_http_reply_internal(req, r);
    else
        pl_http_reply(req, status, out);
}

void pl_http_reply_error(pl_http_req *req, int status, const char *code,
                         const char *message)
{
    pl_jw w;
    char *out = NULL;

    if (pl_jw_init(&w) == 0) {
        pl_jw_obj(&w);
        pl_jw_key(&w, "error");
        pl_jw_obj(&w);
        pl_jw_kstr(&w, "code", code);
        pl_jw_kstr(&w, "message", message);
        pl_jw_end_obj(&w);
        pl_jw_end_obj(&w);
        pl_jw_finish(&w, &out, NULL);
    }
    reply_set(req, status, out, "application/json");
}

void pl_http_reply_internal(pl_http_req *req, int r)
{
    (void)r;
    pl_http_reply_error(req, 500, "internal", "internal error");
}

int pl_http_set_header(pl_http_req *req, const char *name, const char *value)
{
    int r = 0;

    pthread_mutex_lock(&req->lock);
    if (req->have_reply || req->nheaders == PL_HTTP_MAX_HEADERS ||
        strlen(name) >= sizeof(req->hname[0]) || strlen(value) >= PL_HTTP_MAX_HEADER_VALUE)
        r = -E2BIG;
    else if (!(req->hvalue[req->nheaders] = strdup(value)))
        r = -ENOMEM;
    else
        snprintf(req->hname[req->nheaders++], sizeof(req->hname[0]), "%s", name);
    pthread_mutex_unlock(&req->lock);
    return r;
}

void pl_http_reply_fd(pl_http_req *req, int status, int fd, uint64_t size,
                      const char *content_type)
{
    pl_http_reply_fd_at(req, status, fd, 0, size, content_type);
}

void pl_http_reply_fd_at(pl_http_req *req, int status, int fd, uint64_t off, uint64_t size,
                         const char *content_type)
{
    pthread_mutex_lock(&req->lock);
    if (req->have_reply) {
        pthread_mutex_unlock(&req->lock);
        close(fd);
        return;
    }
    req->reply_fd = fd;
    req->reply_fd_size = size;
    req->reply_fd_off = off;
    snprintf(req->fd_type, sizeof(req->fd_type), "%s", content_type);
    pthread_mutex_unlock(&req->lock);
    reply_set(req, status, NULL, req->fd_type);
}

void pl_http_stream_body(pl_http_req *req, const pl_http_stream *s)
{
    req->stream = *s;
    req->streaming = 1;
}

static int has_header(const pl_http_req *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (strcasecmp(req->hname[i], name) == 0)
            return 1;
    return 0;
}

void pl_http_suspend(pl_http_req *req)
{
    req->async = 1; /* the connection is suspended once the handler returns */
}

static enum MHD_Result queue_reply(pl_http_req *req)
{
    const char *body = req->reply ? req->reply : "";
    struct MHD_Response *resp;
    enum MHD_Result ret;

    if (req->reply_fd >= 0) {
        /* MHD owns the fd from here, also when it fails. */
        resp = MHD_create_response_from_fd_at_offset64(req->reply_fd_size, req->reply_fd,
                                                       req->reply_fd_off);
        if (!resp)
            close(req->reply_fd);
        req->reply_fd = -1;
    } else {
        resp = MHD_create_response_from_buffer(strlen(body), (void *)body,
                                               MHD_RESPMEM_MUST_COPY);
    }
    if (!resp)
        return MHD_NO;
    if (req->reply || req->content_type == req->fd_type)
        MHD_add_response_header(resp, "Content-Type", req->content_type);
    if (!has_header(req, "Cache-Control"))
        MHD_add_response_header(resp, "Cache-Control", "no-store");
    for (size_t i = 0; i < req->nheaders; i++)
        MHD_add_response_header(resp, req->hname[i], req->hvalue[i]);
    ret = MHD_queue_response(req->conn, (unsigned)req->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static int revocations_ready(const pl_http_revocations *rv)
{
    return !rv->ready || rv->ready(rv->arg);
}

static int builtin(pl_http_req *req, const char *url)
{
    pl_http_server *s = req->srv;
    pl_buf b;

    if (strcmp(req->method, "GET") != 0)
        return 0;
    if (strcmp(url, "/healthz") == 0) {
        reply_set(req, 200, strdup("{\"status\":\"ok\"}"), "application/json");
    } else if (strcmp(url, "/readyz") == 0) {
        int ready = revocations_ready(&s->cfg.revocations) &&
                    (!s->cfg.ready || s->cfg.ready(s->cfg.ctx) == 0);
        reply_set(req, ready ? 200 : 503,
                  strdup(ready ? "{\"status\":\"ready\"}" : "{\"status\":\"not_ready\"}"),
                  "application/json");
    } else if (strcmp(url, "/metrics") == 0 && s->cfg.metrics) {
        pl_buf_init(&b, 16 << 20);
        pl_metrics_render(s->cfg.metrics, &b);
        reply_set(req, 200, pl_buf_steal(&b), "text/plain; version=0.0.4");
    } else {
        return 0;
    }
    return 1;
}

/* Finds the route; replies 404/405 itself when there is none. */
static void route_find(pl_http_req *req, const char *url)
{
    const pl_http_config *c = &req->srv->cfg;
    int path_seen = 0;

    for (size_t i = 0; i < c->nroutes; i++) {
        if (!pl_http_route_match(c->routes[i].pattern, url, &req->params))
            continue;
        path_seen = 1;
        if (strcmp(c->routes[i].method, req->method) == 0) {
            req->route = &c->routes[i];
            return;
        }
    }
    if (path_seen)
        pl_http_reply_error(req, 405, "method_not_allowed", "method not allowed");
    else
        pl_http_reply_error(req, 404, "not_found", "no such resource");
}

/* A good signature is not enough once auth revoked the session. */
static int revocation_check(pl_http_req *req)
{
    const pl_http_revocations *rv = &req->srv->cfg.revocations;

    if (!rv->revoked)
        return 0;
    if (!revocations_ready(rv)) {
        pl_http_set_header(req, "Retry-After", "1");
        pl_http_reply_error(req, 503, "not_ready",
                            "revoked sessions are still being loaded; retry");
        return -EAGAIN;
    }
    if (rv->revoked(rv->arg, req->claims.sid)) {
        pl_http_reply_error(req, 401, "session_revoked",
                            "this session was signed out; sign in again");
        return -EACCES;
    }
    return 0;
}

static int authenticate(pl_http_req *req)
{
    const char *h = pl_http_header(req, "Authorization");
    const unsigned char *pk = req->srv->cfg.pubkey;

    if (!pk || !h || strncmp(h, "Bearer ", 7) != 0 ||
        pl_token_verify(pk, h + 7, pl_time_real_ms() / 1000, &req->claims) != 0) {
        pl_http_reply_error(req, 401, "unauthenticated",
                            "a valid access token is required");
        return -EACCES;
    }
    return revocation_check(req);
}

static pl_http_req *req_new(pl_http_server *s, struct MHD_Connection *conn,
                            const char *method, const char *url)
{
    pl_http_req *req = calloc(1, sizeof(*req));
    if (!req)
        return NULL;
    req->srv = s;
    req->conn = conn;
    req->method = method;
    req->started = pl_time_mono_s();
    req->reply_fd = -1;
    pl_buf_init(&req->body, s->cfg.max_body);
    pthread_mutex_init(&req->lock, NULL);
    if (!builtin(req, url))
        route_find(req, url);
    return req;
}

static void run_handler(pl_http_req *req)
{
    req->handled = 1;
    if (req->too_large) {
        pl_http_reply_error(req, 413, "too_large", "request body too large");
        return;
    }
    if ((req->route->flags & PL_HTTP_AUTH) && authenticate(req) != 0)
        return;
    req->route->fn(req, req->srv->cfg.ctx);
    if (!req->async && !req->streaming)
        pl_http_reply_internal(req, -EINVAL); /* no-op if it replied */
}

static int is_stream(const pl_http_req *req)
{
    return req->route && (req->route->flags & PL_HTTP_STREAM);
}

/* A body chunk: to the stream's consumer, or into the buffer. Once there
 * is a reply the rest is dropped: the client is still sending it. */
static void take_chunk(pl_http_req *req, const char *data, size_t n)
{
    if (req->have_reply)
        return;
    if (!is_stream(req)) {
        if (pl_buf_append(&req->body, data, n) != 0)
            req->too_large = 1;
        return;
    }
    if (req->streaming && req->stream.chunk &&
        req->stream.chunk(req, req->stream.state, data, n) < 0)
        pl_http_reply_internal(req, -EIO); /* no-op if chunk replied */
}

static void stream_end(pl_http_req *req)
{
    if (req->stream.end)
        req->stream.end(req, req->stream.state);
    if (!req->async)
        pl_http_reply_internal(req, -EINVAL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    pl_http_req *req = *con_cls;
    enum MHD_Result ret;
    (void)version;

    if (!req) {
        req = req_new(cls, conn, method, url);
        if (!req)
            return MHD_NO;
        *con_cls = req;
        /* A streaming route decides (auth, limits) before any body. */
        if (is_stream(req) && !req->have_reply)
            run_handler(req);
        return MHD_YES;
    }
    if (*upload_size) {
        take_chunk(req, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (!req->have_reply && !req->handled)
        run_handler(req);
    else if (!req->have_reply && req->streaming && !req->async)
        stream_end(req);
    pthread_mutex_lock(&req->lock);
    if (req->have_reply) {
        ret = queue_reply(req);
    } else {
        MHD_suspend_connection(conn);
        req->suspended = 1;
        ret = MHD_YES;
    }
    pthread_mutex_unlock(&req->lock);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    pl_http_server *s = cls;
    pl_http_req *req = *con_cls;
    char labels[256];
    (void)conn;
    (void)toe;

    if (!req)
        return;
    if (s->cfg.metrics) {
        snprintf(labels, sizeof(labels), "route=\"%s\",method=\"%s\"", route_label(req),
                 req->route ? req->method : "other");
        pl_metrics_observe(s->cfg.metrics, "http_request_duration_seconds", labels,
                           pl_time_mono_s() - req->started);
        snprintf(labels + strlen(labels), sizeof(labels) - strlen(labels),
                 ",code=\"%d\"", req->status);
        pl_metrics_add(s->cfg.metrics, "http_requests_total", labels, 1);
    }
    if (req->streaming && req->stream.release)
        req->stream.release(req->stream.state);
    if (req->reply_fd >= 0)
        close(req->reply_fd);
    for (size_t i = 0; i < req->nheaders; i++)
        free(req->hvalue[i]);
    pl_buf_free(&req->body);
    free(req->reply);
    pthread_mutex_destroy(&req->lock);
    free(req);
    *con_cls = NULL;
}

int pl_http_start(pl_http_server **out, const pl_http_config *cfg)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    pl_http_server *s;

    sa.sin_port = htons((uint16_t)cfg->port);
    if (inet_pton(AF_INET, cfg->addr, &sa.sin_addr) != 1)
        return -EINVAL;
    s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->cfg = *cfg;
    if (cfg->metrics) {
        pl_metrics_declare(cfg->metrics, "http_requests_total", PL_METRIC_COUNTER,
                           "HTTP requests by route, method and status");
        pl_metrics_declare(cfg->metrics, "http_request_duration_seconds",
                           PL_METRIC_HISTOGRAM, "HTTP request latency");
    }
    s->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
            MHD_USE_ITC |
            MHD_USE_ERROR_LOG,
        0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &sa,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(cfg->threads > 1 ? cfg->threads : 0),
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096, MHD_OPTION_END);
    if (!s->daemon) {
        free(s);
        return -EADDRINUSE;
    }
    *out = s;
    return 0;
}

void pl_http_quiesce(pl_http_server *s)
{
    if (s && s->daemon)
        MHD_quiesce_daemon(s->daemon);
}

void pl_http_stop(pl_http_server *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->daemon);
    free(s);
}
