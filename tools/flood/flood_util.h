/* flood_util: small helpers shared by the scenarios: clocks in
 * microseconds, a fast PRNG, strict option parsing, machine facts. */
#ifndef FLOOD_UTIL_H
#define FLOOD_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "pl_json.h"

/* CLOCK_MONOTONIC in microseconds (pl_time has milliseconds only). */
int64_t flood_now_us(void);
void flood_sleep_us(int64_t us);

/* xorshift64*: deterministic per seed, not for secrets. */
typedef struct flood_rng {
    uint64_t s;
} flood_rng;
void flood_rng_seed(flood_rng *r, uint64_t seed);
uint64_t flood_rng_next(flood_rng *r);
/* Uniform in [0, n); n > 0. */
uint64_t flood_rng_below(flood_rng *r, uint64_t n);
double flood_rng_unit(flood_rng *r);

/* Strict numbers for options: 0, or -EINVAL (the whole string must parse
 * and lie within [min, max]). */
int flood_parse_ll(const char *s, long long min, long long max, long long *out);
int flood_parse_double(const char *s, double min, double max, double *out);

/* Raises RLIMIT_NOFILE to its hard limit; returns the new soft limit. */
long flood_raise_nofile(void);

/* Writes "machine": {hostname, kernel, cpus, cpu_model, mem_total_kib}. */
void flood_machine_json(pl_jw *w);
/* Resident set size of pid in KiB, or -1. */
long flood_rss_kib(int pid);
/* The pid of the process listening on 127.0.0.0/8 or 0.0.0.0 TCP port,
 * or -1. */
int flood_pid_listening(int port);
/* Total CPU seconds (user + system) used so far by pid, or -1. */
double flood_cpu_s(int pid);

/* Writes s to path atomically (tmp + rename). 0 or -errno. */
int flood_write_file(const char *path, const char *s, size_t len);
/* Reads a whole file (at most max bytes) into a malloc'd NUL-terminated
 * buffer. 0, -errno, or -E2BIG. */
int flood_read_file(const char *path, size_t max, char **out, size_t *len);

#endif
