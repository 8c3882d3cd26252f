/* flood_http: a small non-blocking HTTP/1.1 client for our own endpoints
 * (nginx and the services), over raw sockets with keep-alive.
 *
 * A pool holds up to max_conns connections to one host:port and a FIFO of
 * requests waiting for a free connection; one request per connection at a
 * time (no pipelining). Everything runs on the thread that calls
 * flood_http_run: submit, callbacks and free must all happen there.
 * Only loopback targets (127.0.0.0/8) are accepted. */
#ifndef FLOOD_HTTP_H
#define FLOOD_HTTP_H

#include <stddef.h>
#include <stdint.h>

typedef struct flood_http flood_http;

/* status is the HTTP status, or a negative errno for a transport failure:
 * -ETIMEDOUT, -ECONNREFUSED, -ECONNRESET, -EPROTO (unparseable answer),
 * -ECANCELED (pool freed first). body is NUL-terminated and only valid
 * during the call. */
typedef void (*flood_http_fn)(void *opaque, int status, const char *body, size_t len);

/* url is "http://<ipv4 in 127/8 or localhost>:<port>" (a path is ignored).
 * -EINVAL for anything else. */
int flood_http_new(flood_http **out, const char *url, int max_conns, int timeout_ms);
/* Fails every queued and in-flight request with -ECANCELED, then frees.
 * Accepts NULL. */
void flood_http_free(flood_http *h);
/* Queues a request; method, path, bearer (may be NULL) and body (may be
 * NULL; sent as application/json) are copied. 0, -ENOMEM, or -ENOBUFS when
 * more than 1,000,000 requests are queued. fn runs exactly once if 0. */
int flood_http_submit(flood_http *h, const char *method, const char *path,
                      const char *bearer, const char *body, flood_http_fn fn,
                      void *opaque);
/* Waits up to timeout_ms for I/O and processes it; returns the number of
 * requests still queued or in flight. */
size_t flood_http_run(flood_http *h, int timeout_ms);
/* Runs until nothing is pending or timeout_ms passed; returns what is
 * still pending. */
size_t flood_http_drain(flood_http *h, int timeout_ms);
size_t flood_http_pending(const flood_http *h);

/* Parses "http://a.b.c.d:port[/...]" into a loopback IPv4 and port. */
int flood_url_parse(const char *url, uint32_t *addr_be, int *port);

#endif
