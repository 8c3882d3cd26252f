/* Streaming ZIP writer (APPNOTE 6.3.x, the non-ZIP64 subset). */
#include "pl_zip.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#define SIG_LOCAL 0x04034b50u
#define SIG_DESC 0x08074b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_END 0x06054b50u
#define FLAGS 0x0808u        /* bit 3: data descriptor; bit 11: UTF-8 names */
#define VERSION 20u          /* 2.0: deflate, directories */
#define MADE_BY (3u << 8 | VERSION) /* Unix, so external attrs are a mode */
#define NAME_MAX_LEN 1024
#define CHUNK 65536

typedef struct entry {
    char *name;
    uint32_t crc, csize, usize, offset;
    uint16_t method, dtime, ddate;
} entry;

struct pl_zip {
    pl_zip_out out;
    void *ctx;
    uint64_t max, bytes;
    int err;
    entry *e;
    size_t n, cap;
    int open;         /* an entry is between begin and end */
    uint64_t usize, csize; /* of the open entry, checked against 4 GiB */
    int deflating;    /* zs is initialised */
    z_stream zs;
    unsigned char buf[CHUNK];
};

static void put16(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
    put16(p, v & 0xffff);
    put16(p + 2, v >> 16);
}

static int emit(pl_zip *z, const void *p, size_t n)
{
    if (z->err)
        return z->err;
    if (z->bytes + n > z->max)
        return z->err = -EFBIG;
    int r = n ? z->out(z->ctx, p, n) : 0;
    if (r)
        return z->err = r < 0 ? r : -EIO;
    z->bytes += n;
    return 0;
}

int pl_zip_new(pl_zip **out, pl_zip_out fn, void *ctx, uint64_t max_bytes)
{
    pl_zip *z = calloc(1, sizeof(*z));
    if (!z)
        return -ENOMEM;
    z->out = fn;
    z->ctx = ctx;
    z->max = max_bytes && max_bytes < PL_ZIP_MAX_BYTES ? max_bytes : PL_ZIP_MAX_BYTES;
    *out = z;
    return 0;
}

/* Relative, no empty, "." or ".." component, no backslash or control. */
static int name_ok(const char *s)
{
    size_t len = strlen(s);
    const char *p = s;

    if (len == 0 || len > NAME_MAX_LEN || s[0] == '/')
        return 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '\\' || (unsigned char)s[i] < 0x20)
            return 0;
    while (*p) {
        size_t c = strcspn(p, "/");
        if (c == 0 || (c == 1 && p[0] == '.') || (c == 2 && p[0] == '.' && p[1] == '.'))
            return 0;
        p += c + (p[c] == '/');
    }
    return s[len - 1] != '/';
}

/* MS-DOS time and date; before 1980 clamps to 1980-01-01. */
static void dos_time(int64_t ms, uint16_t *dtime, uint16_t *ddate)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (!gmtime_r(&t, &tm) || tm.tm_year < 80) {
        *dtime = 0;
        *ddate = (1 << 5) | 1;
        return;
    }
    *dtime = (uint16_t)(tm.tm_hour << 11 | tm.tm_min << 5 | tm.tm_sec / 2);
    *ddate = (uint16_t)((tm.tm_year - 80) << 9 | (tm.tm_mon + 1) << 5 | tm.tm_mday);
}

static int entry_push(pl_zip *z, const char *name, int method, int64_t mtime_ms)
{
    entry *e;

    if (z->n == PL_ZIP_MAX_ENTRIES)
        return z->err = -EFBIG;
    if (z->n == z->cap) {
        size_t cap = z->cap ? z->cap * 2 : 16;
        entry *ne = realloc(z->e, cap * sizeof(*ne));
        if (!ne)
            return z->err = -ENOMEM;
        z->e = ne;
        z->cap = cap;
    }
    e = &z->e[z->n];
    memset(e, 0, sizeof(*e));
    if (!(e->name = strdup(name)))
        return z->err = -ENOMEM;
    e->method = (uint16_t)method;
    e->offset = (uint32_t)z->bytes;
    e->crc = (uint32_t)crc32(0L, Z_NULL, 0);
    dos_time(mtime_ms, &e->dtime, &e->ddate);
    z->n++;
    return 0;
}

static int deflate_ready(pl_zip *z)
{
    if (z->deflating)
        return deflateReset(&z->zs) == Z_OK ? 0 : (z->err = -EIO);
    if (deflateInit2(&z->zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        return z->err = -ENOMEM;
    z->deflating = 1;
    return 0;
}

int pl_zip_begin(pl_zip *z, const char *name, int method, int64_t mtime_ms)
{
    unsigned char h[30];
    entry *e;
    size_t len;
    int r;

    if (z->err)
        return z->err;
    if (z->open || (method != PL_ZIP_STORE && method != PL_ZIP_DEFLATE) || !name_ok(name))
        return -EINVAL;
    if ((r = entry_push(z, name, method, mtime_ms)) != 0 ||
        (method == PL_ZIP_DEFLATE && (r = deflate_ready(z)) != 0))
        return r;
    e = &z->e[z->n - 1];
    len = strlen(name);
    memset(h, 0, sizeof(h));
    put32(h, SIG_LOCAL);
    put16(h + 4, VERSION);
    put16(h + 6, FLAGS);
    put16(h + 8, e->method);
    put16(h + 10, e->dtime);
    put16(h + 12, e->ddate);
    /* crc and sizes (14..25) stay 0: the data descriptor carries them */
    put16(h + 26, (uint32_t)len);
    if ((r = emit(z, h, sizeof(h))) != 0 || (r = emit(z, name, len)) != 0)
        return r;
    z->open = 1;
    z->usize = z->csize = 0;
    return 0;
}

/* Runs the compressor over what zs holds, emitting its output. */
static int deflate_run(pl_zip *z, int flush)
{
    int zr;

    do {
        z->zs.next_out = z->buf;
        z->zs.avail_out = sizeof(z->buf);
        zr = deflate(&z->zs, flush);
        if (zr == Z_STREAM_ERROR)
            return z->err = -EIO;
        size_t got = sizeof(z->buf) - z->zs.avail_out;
        z->csize += got;
        if (emit(z, z->buf, got) != 0)
            return z->err;
    } while (z->zs.avail_out == 0 || (flush == Z_FINISH && zr != Z_STREAM_END));
    return 0;
}

int pl_zip_write(pl_zip *z, const void *p, size_t n)
{
    entry *e = z->n ? &z->e[z->n - 1] : NULL;

    if (z->err)
        return z->err;
    if (!z->open)
        return -EINVAL;
    if (z->usize + n > PL_ZIP_MAX_BYTES)
        return z->err = -EFBIG;
    while (n > 0) {
        uInt step = n > (1u << 30) ? 1u << 30 : (uInt)n;
        e->crc = (uint32_t)crc32(e->crc, p, step);
        z->usize += step;
        if (e->method == PL_ZIP_STORE) {
            z->csize += step;
            if (emit(z, p, step) != 0)
                return z->err;
        } else {
            z->zs.next_in = (Bytef *)p;
            z->zs.avail_in = step;
            if (deflate_run(z, Z_NO_FLUSH) != 0)
                return z->err;
        }
        p = (const char *)p + step;
        n -= step;
    }
    return 0;
}

int pl_zip_end(pl_zip *z)
{
    unsigned char d[16];
    entry *e = z->n ? &z->e[z->n - 1] : NULL;

    if (z->err)
        return z->err;
    if (!z->open)
        return -EINVAL;
    if (e->method == PL_ZIP_DEFLATE) {
        z->zs.next_in = Z_NULL;
        z->zs.avail_in = 0;
        if (deflate_run(z, Z_FINISH) != 0)
            return z->err;
    }
    if (z->csize > PL_ZIP_MAX_BYTES)
        return z->err = -EFBIG;
    e->usize = (uint32_t)z->usize;
    e->csize = (uint32_t)z->csize;
    put32(d, SIG_DESC);
    put32(d + 4, e->crc);
    put32(d + 8, e->csize);
    put32(d + 12, e->usize);
    z->open = 0;
    return emit(z, d, sizeof(d));
}

int pl_zip_add(pl_zip *z, const char *name, int method, int64_t mtime_ms, const void *p,
               size_t n)
{
    int r = pl_zip_begin(z, name, method, mtime_ms);
    if (r == 0)
        r = pl_zip_write(z, p, n);
    if (r == 0)
        r = pl_zip_end(z);
    return r;
}

static int central_write(pl_zip *z, const entry *e)
{
    unsigned char h[46];
    size_t len = strlen(e->name);

    memset(h, 0, sizeof(h));
    put32(h, SIG_CENTRAL);
    put16(h + 4, MADE_BY);
    put16(h + 6, VERSION);
    put16(h + 8, FLAGS);
    put16(h + 10, e->method);
    put16(h + 12, e->dtime);
    put16(h + 14, e->ddate);
    put32(h + 16, e->crc);
    put32(h + 20, e->csize);
    put32(h + 24, e->usize);
    put16(h + 28, (uint32_t)len);
    /* extra, comment, disk, internal attributes: 0 */
    put32(h + 38, 0100644u << 16); /* a regular file, rw-r--r-- */
    put32(h + 42, e->offset);
    if (emit(z, h, sizeof(h)) != 0)
        return z->err;
    return emit(z, e->name, len);
}

int pl_zip_finish(pl_zip *z)
{
    unsigned char end[22];
    uint64_t start = z->bytes;

    if (z->err)
        return z->err;
    if (z->open)
        return -EINVAL;
    for (size_t i = 0; i < z->n; i++)
        if (central_write(z, &z->e[i]) != 0)
            return z->err;
    memset(end, 0, sizeof(end));
    put32(end, SIG_END);
    put16(end + 8, (uint32_t)z->n);
    put16(end + 10, (uint32_t)z->n);
    put32(end + 12, (uint32_t)(z->bytes - start));
    put32(end + 16, (uint32_t)start);
    return emit(z, end, sizeof(end));
}

uint64_t pl_zip_bytes(const pl_zip *z)
{
    return z->bytes;
}

void pl_zip_free(pl_zip *z)
{
    if (!z)
        return;
    if (z->deflating)
        deflateEnd(&z->zs);
    for (size_t i = 0; i < z->n; i++)
        free(z->e[i].name);
    free(z->e);
    free(z);
}
