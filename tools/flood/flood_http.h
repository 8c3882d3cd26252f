/* flood_http: a small non-blocking HTTP/1.1 client for our own endpoints
 * (nginx and the services), over raw sockets with keep-alive.
 *
 * A pool holds up to max_conns connections to one host:port and a FIFO of
 * requests waiting for a free connection; one request per connection at a
 * time (no pipelining). Everything runs on the thread that calls
 * flood_http_run: submit, callbacks and free must all happen there.
 * Only loopback targets (127.0.0.0/8) are accepted, and the hosts named
 * with flood_allow_host (the --allow-host opt-in, for in-cluster Jobs). */
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

/* url is "http://<host>:<port>" (a path is ignored), host as for
 * flood_url_parse. -EINVAL, -EPERM or -EHOSTUNREACH as it returns. */
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

#define FLOOD_MAX_ALLOW 16
#define FLOOD_HOST_MAX 64

/* Permits a host name (or IPv4 literal) besides 127.0.0.0/8 for the rest of
 * the run; call before any scenario starts. Names match exactly, case
 * aside. -EINVAL for a malformed name, -E2BIG past FLOOD_MAX_ALLOW. */
int flood_allow_host(const char *name);
/* 0 when host is an IPv4 literal in 127.0.0.0/8, "localhost", or an
 * allowed name; -EPERM otherwise. No name resolution. */
int flood_host_check(const char *host);
/* Parses "host:port" in the first len bytes of s (a '/' may follow the
 * port); 0 or -EINVAL. */
int flood_hostport_parse(const char *s, size_t len, char host[FLOOD_HOST_MAX], int *port);
/* Parses "http://host:port[/...]" or "ws://..." into an IPv4 and port:
 * -EINVAL when malformed, -EPERM when flood_host_check refuses the host,
 * -EHOSTUNREACH when an allowed name does not resolve. */
int flood_url_parse(const char *url, uint32_t *addr_be, int *port);
/* Checks every host of a "h:p,h:p" Kafka bootstrap list like
 * flood_host_check; 0, -EINVAL or -EPERM. */
int flood_brokers_check(const char *brokers);

#endif
