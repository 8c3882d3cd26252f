/* parley: the runtime image's entrypoint (the image has no shell).
 *
 *   parley SERVICE [ARGS...]     exec /usr/local/bin/parley-SERVICE (auth, command,
 *                                read, pusher, projector, flood, ...). When
 *                                PARLEY_INSTANCE is unset or empty it is set to the
 *                                host name first: replicas of one service then get
 *                                distinct instance names, which the projector's
 *                                static group membership (group.instance.id) needs.
 *   parley keygen DIR            make the token-signing key pair in DIR unless both
 *                                halves already exist (idempotent init step); one
 *                                half without the other is an error.
 *   parley healthcheck [PORT [PATH]]
 *                                exit 0 iff GET http://127.0.0.1:PORT PATH answers
 *                                200 within 3 s; PORT defaults to PARLEY_HTTP_PORT,
 *                                PATH to /readyz.
 *
 * Built statically (libc only) so the same file also works in images that
 * are not the runtime image. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BINDIR "/usr/local/bin"

static int usage(void)
{
    fprintf(stderr, "usage: parley SERVICE [ARGS...]   (auth command read pusher projector ...)\n"
                    "       parley keygen DIR\n"
                    "       parley healthcheck [PORT [PATH]]\n");
    return 2;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for fd to be ready for ev until the deadline; 1 ready, 0 timeout/error. */
static int wait_fd(int fd, short ev, long long deadline)
{
    for (;;) {
        long long left = deadline - now_ms();
        struct pollfd p = {.fd = fd, .events = ev};
        if (left <= 0)
            return 0;
        int r = poll(&p, 1, (int)left);
        if (r > 0)
            return 1;
        if (r == 0 || errno != EINTR)
            return 0;
    }
}

static int healthcheck(const char *port_s, const char *path)
{
    char req[512], resp[256];
    struct sockaddr_in a = {.sin_family = AF_INET};
    long long deadline = now_ms() + 3000;
    char *end;
    long port;
    size_t got = 0;
    int fd, n;

    if (!port_s || !*port_s)
        port_s = getenv("PARLEY_HTTP_PORT");
    if (!port_s || !*port_s) {
        fprintf(stderr, "healthcheck: no PORT and no PARLEY_HTTP_PORT\n");
        return 2;
    }
    port = strtol(port_s, &end, 10);
    if (*end || port < 1 || port > 65535 || path[0] != '/' || strpbrk(path, " \r\n")) {
        fprintf(stderr, "healthcheck: bad port or path\n");
        return 2;
    }
    a.sin_port = htons((unsigned short)port);
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 1;
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 && errno != EINPROGRESS) {
        fprintf(stderr, "healthcheck: connect 127.0.0.1:%ld: %s\n", port, strerror(errno));
        return 1;
    }
    if (!wait_fd(fd, POLLOUT, deadline)) {
        fprintf(stderr, "healthcheck: connect timed out\n");
        return 1;
    }
    n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1:%ld\r\n"
                                   "User-Agent: parley-healthcheck\r\n\r\n", path, port);
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        fprintf(stderr, "healthcheck: send: %s\n", strerror(errno));
        return 1;
    }
    /* The status line is all we need: "HTTP/1.x 200 ..." */
    while (got < sizeof(resp) - 1 && !memchr(resp, '\n', got)) {
        ssize_t r;
        if (!wait_fd(fd, POLLIN, deadline)) {
            fprintf(stderr, "healthcheck: no answer within 3 s\n");
            return 1;
        }
        r = recv(fd, resp + got, sizeof(resp) - 1 - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    resp[got] = 0;
    if (strncmp(resp, "HTTP/1.", 7) == 0 && strncmp(resp + 8, " 200", 4) == 0)
        return 0;
    resp[strcspn(resp, "\r\n")] = 0;
    fprintf(stderr, "healthcheck: %s answered \"%s\"\n", path, resp);
    return 1;
}

static int exists(const char *dir, const char *name)
{
    char p[4096];
    struct stat st;
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    return stat(p, &st) == 0;
}

static int keygen(const char *dir)
{
    int sk = exists(dir, "ed25519.key"), pk = exists(dir, "ed25519.pub");

    if (sk && pk) {
        printf("parley keygen: %s already holds a key pair, keeping it\n", dir);
        return 0;
    }
    if (sk || pk) {
        fprintf(stderr, "parley keygen: %s holds only one half of a key pair; "
                        "remove it or restore the other half\n", dir);
        return 1;
    }
    execl(BINDIR "/parley-auth", "parley-auth", "keygen", dir, (char *)NULL);
    fprintf(stderr, "parley keygen: cannot run " BINDIR "/parley-auth: %s\n", strerror(errno));
    return 127;
}

static int valid_service(const char *s)
{
    if (!*s || strlen(s) > 32)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
            return 0;
    return 1;
}

int main(int argc, char **argv)
{
    char bin[128], host[256];
    const char *inst;

    if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0)
        return usage();
    if (strcmp(argv[1], "healthcheck") == 0)
        return healthcheck(argc > 2 ? argv[2] : NULL, argc > 3 ? argv[3] : "/readyz");
    if (strcmp(argv[1], "keygen") == 0)
        return argc == 3 ? keygen(argv[2]) : usage();
    if (!valid_service(argv[1]))
        return usage();

    inst = getenv("PARLEY_INSTANCE");
    if ((!inst || !*inst) && gethostname(host, sizeof(host)) == 0) {
        host[sizeof(host) - 1] = 0;
        setenv("PARLEY_INSTANCE", host, 1);
    }
    snprintf(bin, sizeof(bin), BINDIR "/parley-%s", argv[1]);
    argv[1] = bin;
    execv(bin, argv + 1);
    fprintf(stderr, "parley: cannot run %s: %s\n", bin, strerror(errno));
    return 127;
}
