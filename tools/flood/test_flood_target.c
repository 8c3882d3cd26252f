/* The safety rule: only 127.0.0.0/8 unless a host is named with
 * --allow-host (flood_allow_host), and then only that exact name. */
#include "flood_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>

static int fails;

static void expect(int got, int want, const char *what)
{
    if (got != want) {
        fprintf(stderr, "FAIL %s: %d, want %d\n", what, got, want);
        fails++;
    }
}

int main(void)
{
    uint32_t a;
    int port;

    /* Default: loopback only. */
    expect(flood_host_check("127.0.0.1"), 0, "127.0.0.1");
    expect(flood_host_check("127.200.3.4"), 0, "127/8");
    expect(flood_host_check("localhost"), 0, "localhost");
    expect(flood_host_check("128.0.0.1"), -EPERM, "128.0.0.1");
    expect(flood_host_check("10.0.0.7"), -EPERM, "10.0.0.7");
    expect(flood_host_check("parley-web"), -EPERM, "name not allowed");
    expect(flood_url_parse("http://parley-web:8080", &a, &port), -EPERM, "url name refused");
    expect(flood_url_parse("http://192.168.1.1:80/x", &a, &port), -EPERM, "url ip refused");
    expect(flood_brokers_check("127.0.0.1:9092,kafka:9092"), -EPERM, "brokers refused");
    expect(flood_url_parse("http://127.0.0.2:8080/api", &a, &port), 0, "url loopback");
    expect(a == htonl(0x7f000002) && port == 8080, 1, "url loopback parsed");
    expect(flood_url_parse("ftp://127.0.0.1:21", &a, &port), -EINVAL, "scheme");
    expect(flood_url_parse("http://127.0.0.1:0", &a, &port), -EINVAL, "port 0");
    expect(flood_url_parse("http://127.0.0.1:80x", &a, &port), -EINVAL, "port junk");
    expect(flood_brokers_check("127.0.0.1"), -EINVAL, "broker without port");

    /* Opt-in: exactly the named hosts, nothing near them. */
    expect(flood_allow_host("bad host"), -EINVAL, "space in name");
    expect(flood_allow_host(""), -EINVAL, "empty name");
    expect(flood_allow_host("-x"), -EINVAL, "leading dash");
    expect(flood_allow_host("parley-web"), 0, "allow parley-web");
    expect(flood_allow_host("kafka"), 0, "allow kafka");
    expect(flood_allow_host("10.0.0.7"), 0, "allow an address");
    expect(flood_host_check("parley-web"), 0, "allowed name");
    expect(flood_host_check("PARLEY-WEB"), 0, "case-insensitive");
    expect(flood_host_check("parley-web.evil.example"), -EPERM, "suffix");
    expect(flood_host_check("parley-we"), -EPERM, "prefix");
    expect(flood_host_check("10.0.0.8"), -EPERM, "neighbour address");
    expect(flood_url_parse("http://10.0.0.7:8080", &a, &port), 0, "allowed address");
    expect(a == htonl(0x0a000007) && port == 8080, 1, "allowed address parsed");
    expect(flood_brokers_check("kafka:9092,127.0.0.1:9094"), 0, "brokers allowed");
    expect(flood_brokers_check("kafka:9092,other:9092"), -EPERM, "one broker refused");
    /* Allowed but unresolvable (no such name here): refused, never guessed. */
    expect(flood_url_parse("ws://parley-web:8080/api/v1/ws", &a, &port) == 0 ||
           flood_url_parse("ws://parley-web:8080/api/v1/ws", &a, &port) == -EHOSTUNREACH, 1,
           "allowed name resolves or is unreachable");
    for (int i = 0; i < FLOOD_MAX_ALLOW; i++)
        flood_allow_host("h");
    expect(flood_allow_host("one-too-many"), -E2BIG, "list bounded");
    return fails ? 1 : 0;
}
