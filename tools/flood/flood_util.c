#include "flood_util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

int64_t flood_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void flood_sleep_us(int64_t us)
{
    if (us <= 0)
        return;
    struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void flood_rng_seed(flood_rng *r, uint64_t seed)
{
    r->s = seed ? seed : 0x9e3779b97f4a7c15ull;
}

uint64_t flood_rng_next(flood_rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545f4914f6cdd1dull;
}

uint64_t flood_rng_below(flood_rng *r, uint64_t n)
{
    return flood_rng_next(r) % n;
}

double flood_rng_unit(flood_rng *r)
{
    return (double)(flood_rng_next(r) >> 11) / 9007199254740992.0;
}

int flood_parse_ll(const char *s, long long min, long long max, long long *out)
{
    char *end;
    if (!s || !*s)
        return -EINVAL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

int flood_parse_double(const char *s, double min, double max, double *out)
{
    char *end;
    if (!s || !*s)
        return -EINVAL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v) || v < min || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

long flood_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    return (long)rl.rlim_cur;
}

static void cpu_model(char *out, size_t n)
{
    char line[512];
    FILE *f = fopen("/proc/cpuinfo", "r");
    snprintf(out, n, "unknown");
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *c = strchr(line, ':');
            if (c) {
                c++;
                while (*c == ' ')
                    c++;
                c[strcspn(c, "\n")] = '\0';
                snprintf(out, n, "%s", c);
            }
            break;
        }
    }
    fclose(f);
}

static long mem_total_kib(void)
{
    char line[256];
    long kib = -1;
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "MemTotal: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

void flood_machine_json(pl_jw *w)
{
    struct utsname u;
    char host[256] = "unknown", model[256], kernel[600] = "unknown";

    gethostname(host, sizeof(host) - 1);
    if (uname(&u) == 0)
        snprintf(kernel, sizeof(kernel), "%s %s %s", u.sysname, u.release, u.machine);
    cpu_model(model, sizeof(model));
    pl_jw_key(w, "machine");
    pl_jw_obj(w);
    pl_jw_kstr(w, "hostname", host);
    pl_jw_kstr(w, "kernel", kernel);
    pl_jw_kint(w, "cpus", sysconf(_SC_NPROCESSORS_ONLN));
    pl_jw_kstr(w, "cpu_model", model);
    pl_jw_kint(w, "mem_total_kib", mem_total_kib());
    pl_jw_end_obj(w);
}

long flood_rss_kib(int pid)
{
    char path[64], line[256];
    long kib = -1;
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

double flood_cpu_s(int pid)
{
    char path[64], buf[1024];
    unsigned long ut, st;
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* comm may hold spaces */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

int flood_write_file(const char *path, const char *s, size_t len)
{
    char tmp[4200];
    int r = 0;
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -errno;
    if (fwrite(s, 1, len, f) != len)
        r = -EIO;
    if (fclose(f) != 0 && !r)
        r = -EIO;
    if (!r && rename(tmp, path) != 0)
        r = -errno;
    if (r)
        unlink(tmp);
    return r;
}

int flood_read_file(const char *path, size_t max, char **out, size_t *len)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int r = 0;
    if (!f)
        return -errno;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 65536;
            if (cap > max + 4097) {
                r = -E2BIG;
                goto out;
            }
            char *nb = realloc(buf, cap);
            if (!nb) {
                r = -ENOMEM;
                goto out;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, 4096, f);
        n += got;
        if (n > max) {
            r = -E2BIG;
            goto out;
        }
        if (got < 4096)
            break;
    }
    buf[n] = '\0';
    *out = buf;
    buf = NULL;
    *len = n;
out:
    fclose(f);
    free(buf);
    return r;
}

/* The inode of the IPv4 socket listening on port, from /proc/net/tcp. */
static unsigned long listen_inode(int port)
{
    char line[512];
    unsigned long inode = 0;
    FILE *f = fopen("/proc/net/tcp", "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f)) {
        unsigned lport, st;
        unsigned long ino;
        if (sscanf(line, " %*d: %*x:%x %*x:%*x %x %*x:%*x %*x:%*x %*x %*u %*u %lu",
                   &lport, &st, &ino) == 3 && (int)lport == port && st == 0x0A) {
            inode = ino;
            break;
        }
    }
    fclose(f);
    return inode;
}

int flood_pid_listening(int port)
{
    char want[64], path[300], link[64];
    unsigned long inode = listen_inode(port);
    struct dirent *e;
    int pid = -1;
    DIR *d;

    if (!inode || !(d = opendir("/proc")))
        return -1;
    snprintf(want, sizeof(want), "socket:[%lu]", inode);
    while (pid < 0 && (e = readdir(d))) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        snprintf(path, sizeof(path), "/proc/%s/fd", e->d_name);
        DIR *fd = opendir(path);
        struct dirent *fe;
        while (fd && (fe = readdir(fd))) {
            char lp[600];
            snprintf(lp, sizeof(lp), "%s/%s", path, fe->d_name);
            ssize_t n = readlink(lp, link, sizeof(link) - 1);
            if (n > 0) {
                link[n] = '\0';
                if (strcmp(link, want) == 0) {
                    pid = (int)strtol(e->d_name, NULL, 10);
                    break;
                }
            }
        }
        if (fd)
            closedir(fd);
    }
    closedir(d);
    return pid;
}
