#include "flood_http.h"
#include "flood_util.h"
#include "pl_buf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_QUEUE 1000000
#define MAX_RESPONSE (8u << 20)

typedef struct hreq {
    struct hreq *next;
    char *wire;
    size_t len;
    int64_t deadline_us;
    int retried;
    flood_http_fn fn;
    void *opaque;
} hreq;

enum { C_CLOSED, C_CONNECTING, C_WRITING, C_READING, C_IDLE };

typedef struct hconn {
    int fd, state, reused;
    hreq *req;
    size_t wpos;
    pl_buf rx;
} hconn;

struct flood_http {
    int ep;
    struct sockaddr_in sa;
    char hostport[32];
    int timeout_ms;
    int nconns;
    hconn *conns;
    hreq *head, *tail;
    size_t queued, inflight;
    pl_buf body; /* scratch for the decoded body */
};

/* Hosts a run may target besides 127.0.0.0/8 (--allow-host): run
 * configuration, filled by main before any scenario starts, read-only after. */
static char allowed[FLOOD_MAX_ALLOW][FLOOD_HOST_MAX];
static int nallowed;

int flood_allow_host(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n >= FLOOD_HOST_MAX || strspn(name, "abcdefghijklmnopqrstuvwxyz"
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != n || name[0] == '.' || name[0] == '-')
        return -EINVAL;
    if (nallowed >= FLOOD_MAX_ALLOW)
        return -E2BIG;
    memcpy(allowed[nallowed++], name, n + 1);
    return 0;
}

int flood_host_check(const char *host)
{
    struct in_addr a;

    if (strcmp(host, "localhost") == 0)
        return 0;
    if (inet_pton(AF_INET, host, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127)
        return 0;
    /* Exact names only (DNS is case-insensitive): "parley-web" does not
     * allow "parley-web.example.com". */
    for (int i = 0; i < nallowed; i++)
        if (strcasecmp(host, allowed[i]) == 0)
            return 0;
    return -EPERM;
}

/* host -> IPv4 (a literal, or the first A record of an allowed name). */
static int resolve(const char *host, uint32_t *addr_be)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res = NULL;
    struct in_addr a;

    if (strcmp(host, "localhost") == 0)
        host = "127.0.0.1";
    if (inet_pton(AF_INET, host, &a) == 1) {
        *addr_be = a.s_addr;
        return 0;
    }
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
        return -EHOSTUNREACH;
    *addr_be = ((struct sockaddr_in *)res->ai_addr)->sin_addr.s_addr;
    freeaddrinfo(res);
    return 0;
}

int flood_hostport_parse(const char *s, size_t len, char host[FLOOD_HOST_MAX], int *port)
{
    const char *colon = memchr(s, ':', len), *end;
    long long p = 0;

    if (!colon || colon == s || (size_t)(colon - s) >= FLOOD_HOST_MAX)
        return -EINVAL;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    end = colon + 1;
    while (end < s + len && *end >= '0' && *end <= '9' && p <= 65535)
        p = p * 10 + (*end++ - '0');
    if (end == colon + 1 || p < 1 || p > 65535 || (end < s + len && *end != '/'))
        return -EINVAL;
    *port = (int)p;
    return 0;
}

int flood_url_parse(const char *url, uint32_t *addr_be, int *port)
{
    char host[FLOOD_HOST_MAX];
    const char *s;
    int r;

    if (strncmp(url, "http://", 7) == 0)
        s = url + 7;
    else if (strncmp(url, "ws://", 5) == 0)
        s = url + 5;
    else
        return -EINVAL;
    if ((r = flood_hostport_parse(s, strlen(s), host, port)))
        return r;
    /* Safety: loopback, or a host the user named with --allow-host. */
    if ((r = flood_host_check(host)))
        return r;
    return resolve(host, addr_be);
}

int flood_brokers_check(const char *brokers)
{
    char host[FLOOD_HOST_MAX];
    int port, r;

    for (const char *s = brokers; *s; s += *s == ',') {
        size_t n = strcspn(s, ",");
        if ((r = flood_hostport_parse(s, n, host, &port)) || (r = flood_host_check(host)))
            return r;
        s += n;
    }
    return 0;
}

int flood_http_new(flood_http **out, const char *url, int max_conns, int timeout_ms)
{
    flood_http *h = NULL;
    uint32_t addr;
    int port, r;

    r = flood_url_parse(url, &addr, &port);
    if (r)
        return r;
    if (max_conns < 1 || max_conns > 10000)
        return -EINVAL;
    h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->conns = calloc((size_t)max_conns, sizeof(hconn));
    h->ep = epoll_create1(EPOLL_CLOEXEC);
    if (!h->conns || h->ep < 0) {
        r = h->ep < 0 ? -errno : -ENOMEM;
        goto fail;
    }
    h->nconns = max_conns;
    for (int i = 0; i < max_conns; i++) {
        h->conns[i].fd = -1;
        pl_buf_init(&h->conns[i].rx, MAX_RESPONSE);
    }
    pl_buf_init(&h->body, MAX_RESPONSE);
    h->sa.sin_family = AF_INET;
    h->sa.sin_addr.s_addr = addr;
    h->sa.sin_port = htons((uint16_t)port);
    snprintf(h->hostport, sizeof(h->hostport), "%s:%d", inet_ntoa(h->sa.sin_addr), port);
    h->timeout_ms = timeout_ms;
    *out = h;
    return 0;
fail:
    if (h->ep >= 0)
        close(h->ep);
    free(h->conns);
    free(h);
    return r;
}

static void req_free(hreq *q)
{
    if (q) {
        free(q->wire);
        free(q);
    }
}

static void conn_close(flood_http *h, hconn *c)
{
    if (c->fd >= 0) {
        epoll_ctl(h->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->state = C_CLOSED;
    c->reused = 0;
    c->wpos = 0;
    pl_buf_reset(&c->rx);
}

static void finish(flood_http *h, hreq *q, int status, const char *body, size_t len)
{
    q->fn(q->opaque, status, body ? body : "", body ? len : 0);
    req_free(q);
}

static void conn_watch(flood_http *h, hconn *c, uint32_t events, int op)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};
    epoll_ctl(h->ep, op, c->fd, &ev);
}

/* A request failed on c. A reused keep-alive connection that the server
 * closed while idle gets one retry on a fresh connection. */
static void conn_fail(flood_http *h, hconn *c, int err)
{
    hreq *q = c->req;
    int retry = q && c->reused && c->rx.len == 0 && !q->retried && err != -ETIMEDOUT;

    c->req = NULL;
    conn_close(h, c);
    if (!q)
        return;
    h->inflight--;
    if (retry) {
        q->retried = 1;
        q->next = h->head;
        h->head = q;
        if (!h->tail)
            h->tail = q;
        h->queued++;
        return;
    }
    finish(h, q, err, NULL, 0);
}

static int conn_open(flood_http *h, hconn *c)
{
    int one = 1;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -errno;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (struct sockaddr *)&h->sa, sizeof(h->sa)) != 0 &&
        errno != EINPROGRESS) {
        int e = -errno;
        close(c->fd);
        c->fd = -1;
        return e;
    }
    c->state = C_CONNECTING;
    conn_watch(h, c, EPOLLOUT, EPOLL_CTL_ADD);
    return 0;
}

static int conn_write(flood_http *h, hconn *c)
{
    while (c->wpos < c->req->len) {
        ssize_t n = send(c->fd, c->req->wire + c->wpos, c->req->len - c->wpos, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN)
                return 0;
            return -errno;
        }
        c->wpos += (size_t)n;
    }
    c->state = C_READING;
    conn_watch(h, c, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_MOD);
    return 0;
}

/* Hands queued requests to free connections. */
static void dispatch(flood_http *h)
{
    for (int i = 0; i < h->nconns && h->head; i++) {
        hconn *c = &h->conns[i];
        if (c->state != C_IDLE && c->state != C_CLOSED)
            continue;
        hreq *q = h->head;
        h->head = q->next;
        if (!h->head)
            h->tail = NULL;
        h->queued--;
        h->inflight++;
        c->req = q;
        c->wpos = 0;
        pl_buf_reset(&c->rx);
        if (c->state == C_CLOSED) {
            int r = conn_open(h, c);
            if (r) {
                c->req = NULL;
                h->inflight--;
                finish(h, q, r, NULL, 0);
            }
            continue;
        }
        c->state = C_WRITING;
        conn_watch(h, c, EPOLLOUT, EPOLL_CTL_MOD);
    }
}

int flood_http_submit(flood_http *h, const char *method, const char *path,
                      const char *bearer, const char *body, flood_http_fn fn,
                      void *opaque)
{
    pl_buf w;
    hreq *q;
    int r = 0;

    if (h->queued >= MAX_QUEUE)
        return -ENOBUFS;
    q = calloc(1, sizeof(*q));
    if (!q)
        return -ENOMEM;
    pl_buf_init(&w, 1u << 20);
    r |= pl_buf_printf(&w, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: parley-flood\r\n",
                       method, path, h->hostport);
    if (bearer)
        r |= pl_buf_printf(&w, "Authorization: Bearer %s\r\n", bearer);
    if (body)
        r |= pl_buf_printf(&w, "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                           strlen(body), body);
    else
        r |= pl_buf_puts(&w, "\r\n");
    if (r) {
        pl_buf_free(&w);
        free(q);
        return -ENOMEM;
    }
    q->len = w.len;
    q->wire = pl_buf_steal(&w);
    q->fn = fn;
    q->opaque = opaque;
    q->deadline_us = flood_now_us() + (int64_t)h->timeout_ms * 1000;
    if (h->tail)
        h->tail->next = q;
    else
        h->head = q;
    h->tail = q;
    h->queued++;
    dispatch(h);
    return 0;
}

static const char *find_header(const char *hdr, const char *end, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = hdr; p && p < end; p = memchr(p, '\n', (size_t)(end - p))) {
        if (*p == '\n')
            p++;
        if ((size_t)(end - p) > n && strncasecmp(p, name, n) == 0 && p[n] == ':') {
            p += n + 1;
            while (*p == ' ' || *p == '\t')
                p++;
            return p;
        }
    }
    return NULL;
}

/* Decodes a chunked body from s; 1 done, 0 needs more, -EPROTO bad. */
static int dechunk(pl_buf *out, const char *s, const char *end)
{
    pl_buf_reset(out);
    for (;;) {
        char *e;
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        if (!nl)
            return 0;
        unsigned long n = strtoul(s, &e, 16);
        if (e == s)
            return -EPROTO;
        s = nl + 1;
        if (n == 0)
            return (end - s >= 2) ? 1 : 0;
        if ((size_t)(end - s) < n + 2)
            return 0;
        if (pl_buf_append(out, s, n))
            return -EPROTO;
        s += n + 2;
    }
}

/* 1 when c->rx holds a whole response (and it was delivered), 0 for more. */
static int try_parse(flood_http *h, hconn *c, int eof)
{
    const char *d = c->rx.data, *hend, *v;
    int status, keep = 1, done = 0;

    if (!d || !(hend = strstr(d, "\r\n\r\n")))
        return eof ? -EPROTO : 0;
    if (sscanf(d, "HTTP/1.%*d %d", &status) != 1)
        return -EPROTO;
    hend += 4;
    const char *end = d + c->rx.len;
    if ((v = find_header(d, hend, "Connection")) && strncasecmp(v, "close", 5) == 0)
        keep = 0;
    if ((v = find_header(d, hend, "Transfer-Encoding")) && strncasecmp(v, "chunked", 7) == 0) {
        done = dechunk(&h->body, hend, end);
        if (done < 0)
            return done;
    } else if ((v = find_header(d, hend, "Content-Length"))) {
        size_t cl = strtoul(v, NULL, 10);
        if ((size_t)(end - hend) >= cl) {
            pl_buf_reset(&h->body);
            done = pl_buf_append(&h->body, hend, cl) ? -EPROTO : 1;
        }
    } else if (status == 204 || status == 304 || status / 100 == 1) {
        pl_buf_reset(&h->body);
        done = 1;
    } else if (eof) {
        pl_buf_reset(&h->body);
        done = pl_buf_append(&h->body, hend, (size_t)(end - hend)) ? -EPROTO : 1;
        keep = 0;
    }
    if (done <= 0)
        return done;
    hreq *q = c->req;
    c->req = NULL;
    h->inflight--;
    if (keep && !eof) {
        c->state = C_IDLE;
        c->reused = 1;
        pl_buf_reset(&c->rx);
        conn_watch(h, c, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_MOD);
    } else {
        conn_close(h, c);
    }
    finish(h, q, status, h->body.data ? h->body.data : "", h->body.len);
    return 1;
}

static void conn_read(flood_http *h, hconn *c)
{
    char buf[16384];
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0) {
            int r = try_parse(h, c, 1);
            if (r <= 0)
                conn_fail(h, c, n == 0 ? -ECONNRESET : -errno);
            return;
        }
        if (pl_buf_append(&c->rx, buf, (size_t)n)) {
            conn_fail(h, c, -EPROTO);
            return;
        }
    }
    int r = try_parse(h, c, 0);
    if (r < 0)
        conn_fail(h, c, r);
}

static void on_event(flood_http *h, hconn *c, uint32_t ev)
{
    if (c->state == C_IDLE) { /* the server closed a keep-alive connection */
        conn_close(h, c);
        return;
    }
    if (c->state == C_CONNECTING) {
        int err = 0;
        socklen_t l = sizeof(err);
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err) {
            conn_fail(h, c, -err);
            return;
        }
        c->state = C_WRITING;
    }
    if (c->state == C_WRITING) {
        int r = conn_write(h, c);
        if (r)
            conn_fail(h, c, r);
        return;
    }
    if (c->state == C_READING && (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
        conn_read(h, c);
}

static void expire(flood_http *h)
{
    int64_t now = flood_now_us();
    for (int i = 0; i < h->nconns; i++) {
        hconn *c = &h->conns[i];
        if (c->req && c->req->deadline_us < now)
            conn_fail(h, c, -ETIMEDOUT);
    }
    while (h->head && h->head->deadline_us < now) {
        hreq *q = h->head;
        h->head = q->next;
        if (!h->head)
            h->tail = NULL;
        h->queued--;
        finish(h, q, -ETIMEDOUT, NULL, 0);
    }
}

size_t flood_http_run(flood_http *h, int timeout_ms)
{
    struct epoll_event evs[256];
    int n = epoll_wait(h->ep, evs, 256, timeout_ms);
    for (int i = 0; i < n; i++)
        on_event(h, evs[i].data.ptr, evs[i].events);
    expire(h);
    dispatch(h);
    return h->queued + h->inflight;
}

size_t flood_http_drain(flood_http *h, int timeout_ms)
{
    int64_t end = flood_now_us() + (int64_t)timeout_ms * 1000;
    while (flood_http_pending(h) && flood_now_us() < end)
        flood_http_run(h, 10);
    return flood_http_pending(h);
}

size_t flood_http_pending(const flood_http *h)
{
    return h->queued + h->inflight;
}

void flood_http_free(flood_http *h)
{
    if (!h)
        return;
    for (int i = 0; i < h->nconns; i++) {
        hconn *c = &h->conns[i];
        hreq *q = c->req;
        c->req = NULL;
        conn_close(h, c);
        pl_buf_free(&c->rx);
        if (q)
            finish(h, q, -ECANCELED, NULL, 0);
    }
    while (h->head) {
        hreq *q = h->head;
        h->head = q->next;
        finish(h, q, -ECANCELED, NULL, 0);
    }
    pl_buf_free(&h->body);
    close(h->ep);
    free(h->conns);
    free(h);
}
