#include "pl_segment.h"
#include "pl_id.h"
#include "pl_json.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define SEG_LEVEL 6
#define SEG_MAX_KEY 63

struct pl_segment_builder {
    int32_t partition;
    int64_t start;
    char prev_hash[PL_SEGMENT_HASH_HEX];
    pl_buf body;
    size_t count;
    pl_segment_conv *convs; /* open addressing on conversation id */
    size_t nconvs, cap;
};

int pl_segment_builder_new(pl_segment_builder **out, int32_t partition, int64_t start,
                           const char *prev_hash)
{
    pl_segment_builder *b = calloc(1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    b->partition = partition;
    b->start = start;
    snprintf(b->prev_hash, sizeof(b->prev_hash), "%s", prev_hash ? prev_hash : "");
    pl_buf_init(&b->body, PL_SEGMENT_MAX_RAW);
    b->cap = 64;
    b->convs = calloc(b->cap, sizeof(*b->convs));
    if (!b->convs) {
        free(b);
        return -ENOMEM;
    }
    *out = b;
    return 0;
}

void pl_segment_builder_free(pl_segment_builder *b)
{
    if (!b)
        return;
    pl_buf_free(&b->body);
    free(b->convs);
    free(b);
}

size_t pl_segment_count(const pl_segment_builder *b) { return b->count; }
size_t pl_segment_raw_bytes(const pl_segment_builder *b) { return b->body.len; }

static size_t conv_hash(const char *k)
{
    size_t h = 1469598103934665603ULL;
    for (; *k; k++)
        h = (h ^ (unsigned char)*k) * 1099511628211ULL;
    return h;
}

static int conv_grow(pl_segment_builder *b);

/* The span entry for key, created on first sight. */
static pl_segment_conv *conv_slot(pl_segment_builder *b, const char *key)
{
    size_t i;

    if ((b->nconvs + 1) * 2 > b->cap && conv_grow(b) != 0)
        return NULL;
    for (i = conv_hash(key) % b->cap; b->convs[i].conversation_id[0]; i = (i + 1) % b->cap)
        if (strcmp(b->convs[i].conversation_id, key) == 0)
            return &b->convs[i];
    snprintf(b->convs[i].conversation_id, sizeof(b->convs[i].conversation_id), "%s", key);
    b->nconvs++;
    return &b->convs[i];
}

static int conv_grow(pl_segment_builder *b)
{
    pl_segment_conv *old = b->convs;
    size_t oldcap = b->cap;

    b->convs = calloc(oldcap * 2, sizeof(*b->convs));
    if (!b->convs) {
        b->convs = old;
        return -ENOMEM;
    }
    b->cap = oldcap * 2;
    b->nconvs = 0;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].conversation_id[0]) {
            pl_segment_conv *c = conv_slot(b, old[i].conversation_id);
            *c = old[i];
        }
    free(old);
    return 0;
}

static void conv_note(pl_segment_conv *c, int64_t offset, int64_t ts)
{
    if (c->count == 0) {
        c->first = offset;
        c->min_ts = c->max_ts = ts;
    }
    c->last = offset;
    c->count++;
    if (ts < c->min_ts)
        c->min_ts = ts;
    if (ts > c->max_ts)
        c->max_ts = ts;
}

/* 1 if value can be embedded verbatim: one line of valid JSON. */
static int value_embeddable(const void *value, size_t len)
{
    char err[8];
    yajl_val v = NULL;
    pl_buf t;
    int ok;

    if (len == 0 || memchr(value, '\n', len) || memchr(value, '\r', len))
        return 0;
    pl_buf_init(&t, len + 1);
    if (pl_buf_append(&t, value, len) != 0)
        return 0;
    ok = pl_json_parse(t.data, t.len, &v, err, sizeof(err)) == 0;
    yajl_tree_free(v);
    pl_buf_free(&t);
    return ok;
}

static int add_raw(pl_buf *body, const void *value, size_t len)
{
    size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc(n);
    int r;

    if (!b64)
        return -ENOMEM;
    sodium_bin2base64(b64, n, value, len, sodium_base64_VARIANT_ORIGINAL);
    r = pl_buf_printf(body, "\"raw\":\"%s\"}\n", b64);
    free(b64);
    return r;
}

int pl_segment_add(pl_segment_builder *b, int64_t offset, int64_t ts_ms, const char *key,
                   size_t keylen, const void *value, size_t len)
{
    char k[SEG_MAX_KEY + 1] = "";
    size_t mark = b->body.len;
    pl_segment_conv *c;
    int r;

    /* Keys are conversation ids; anything else is kept out of the index. */
    if (key && keylen == 36) {
        memcpy(k, key, 36);
        k[36] = '\0';
        if (!pl_id_valid(k))
            k[0] = '\0';
    }
    r = pl_buf_printf(&b->body, "{\"o\":%" PRId64 ",\"ts\":%" PRId64 ",\"k\":\"%s\",", offset,
                      ts_ms, k);
    if (!r && value_embeddable(value, len)) {
        r = pl_buf_puts(&b->body, "\"e\":");
        if (!r)
            r = pl_buf_append(&b->body, value, len);
        if (!r)
            r = pl_buf_puts(&b->body, "}\n");
    } else if (!r) {
        r = add_raw(&b->body, value, len);
    }
    if (!r && k[0]) {
        c = conv_slot(b, k);
        if (!c)
            r = -ENOMEM;
        else
            conv_note(c, offset, ts_ms);
    }
    if (r) { /* leave the body as it was */
        b->body.len = mark;
        if (b->body.data)
            b->body.data[mark] = '\0';
        return r;
    }
    b->count++;
    return 0;
}

static int conv_cmp(const void *a, const void *b)
{
    const pl_segment_conv *x = a, *y = b;
    return strcmp(x->conversation_id, y->conversation_id);
}

/* Compacts the hash table into a sorted array the caller owns. */
static int convs_take(pl_segment_builder *b, pl_segment_conv **convs, size_t *n)
{
    pl_segment_conv *out = calloc(b->nconvs ? b->nconvs : 1, sizeof(*out));
    size_t k = 0;

    if (!out)
        return -ENOMEM;
    for (size_t i = 0; i < b->cap; i++)
        if (b->convs[i].conversation_id[0])
            out[k++] = b->convs[i];
    qsort(out, k, sizeof(*out), conv_cmp);
    *convs = out;
    *n = k;
    return 0;
}

static int index_line(pl_buf *raw, const pl_segment_conv *c, size_t n)
{
    int r = pl_buf_puts(raw, "{\"index\":[");
    for (size_t i = 0; i < n && !r; i++)
        r = pl_buf_printf(raw,
                          "%s{\"c\":\"%s\",\"first\":%" PRId64 ",\"last\":%" PRId64
                          ",\"n\":%" PRId64 ",\"t0\":%" PRId64 ",\"t1\":%" PRId64 "}",
                          i ? "," : "", c[i].conversation_id, c[i].first, c[i].last,
                          c[i].count, c[i].min_ts, c[i].max_ts);
    return r ? r : pl_buf_puts(raw, "]}\n");
}

int pl_segment_compress(const pl_buf *raw, pl_buf *out)
{
    size_t cap = ZSTD_compressBound(raw->len);
    void *dst = malloc(cap ? cap : 1);
    size_t n;
    int r;

    if (!dst)
        return -ENOMEM;
    n = ZSTD_compress(dst, cap, raw->data ? raw->data : "", raw->len, SEG_LEVEL);
    r = ZSTD_isError(n) ? -EIO : 0;
    pl_buf_init(out, cap + 1);
    if (!r)
        r = pl_buf_append(out, dst, n);
    free(dst);
    return r;
}

int pl_segment_finish(pl_segment_builder *b, int64_t end, pl_buf *out,
                      char hash[PL_SEGMENT_HASH_HEX], pl_segment_conv **convs,
                      size_t *nconvs)
{
    pl_buf raw;
    int r;

    *convs = NULL;
    pl_buf_init(&raw, PL_SEGMENT_MAX_RAW + 4096);
    r = pl_buf_printf(&raw,
                      "{\"format\":\"parley-segment\",\"version\":1,\"partition\":%d,"
                      "\"start\":%" PRId64 ",\"end\":%" PRId64 ",\"count\":%zu,"
                      "\"prev_sha256\":\"%s\"}\n",
                      (int)b->partition, b->start, end, b->count, b->prev_hash);
    if (!r && b->body.len)
        r = pl_buf_append(&raw, b->body.data, b->body.len);
    if (!r)
        r = convs_take(b, convs, nconvs);
    if (!r)
        r = index_line(&raw, *convs, *nconvs);
    if (!r)
        r = pl_segment_compress(&raw, out);
    if (!r)
        pl_segment_hash(out->data, out->len, hash);
    if (r) {
        free(*convs);
        *convs = NULL;
        pl_buf_free(out);
    }
    pl_buf_free(&raw);
    return r;
}

void pl_segment_hash(const void *data, size_t len, char hex[PL_SEGMENT_HASH_HEX])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, data, len);
    sodium_bin2hex(hex, PL_SEGMENT_HASH_HEX, h, sizeof(h));
}

int pl_segment_decompress(const void *data, size_t len, pl_buf *raw)
{
    ZSTD_DStream *ds = ZSTD_createDStream();
    ZSTD_inBuffer in = {data, len, 0};
    char chunk[65536];
    size_t ret = 1;
    int r = ds ? 0 : -ENOMEM;

    pl_buf_init(raw, PL_SEGMENT_MAX_RAW);
    while (!r && in.pos < in.size) {
        ZSTD_outBuffer o = {chunk, sizeof(chunk), 0};
        ret = ZSTD_decompressStream(ds, &o, &in);
        if (ZSTD_isError(ret))
            r = -EINVAL;
        else if (o.pos)
            r = pl_buf_append(raw, chunk, o.pos) ? -EINVAL : 0;
        if (!r && ret != 0 && in.pos == in.size && o.pos < o.size)
            r = -EINVAL; /* truncated frame */
    }
    if (!r && (ret != 0 || len == 0))
        r = -EINVAL;
    ZSTD_freeDStream(ds);
    if (!r && !raw->data)
        r = pl_buf_append(raw, "", 0);
    if (r)
        pl_buf_free(raw);
    return r;
}

static const char *expect(const char *p, const char *end, const char *lit)
{
    size_t n = strlen(lit);
    return p && (size_t)(end - p) >= n && memcmp(p, lit, n) == 0 ? p + n : NULL;
}

static const char *number(const char *p, const char *end, int64_t *out)
{
    int neg = 0;
    int64_t v = 0;
    const char *s;

    if (!p)
        return NULL;
    if (p < end && *p == '-') {
        neg = 1;
        p++;
    }
    for (s = p; p < end && *p >= '0' && *p <= '9'; p++) {
        if (v > (INT64_MAX - (*p - '0')) / 10)
            return NULL;
        v = v * 10 + (*p - '0');
    }
    if (p == s)
        return NULL;
    *out = neg ? -v : v;
    return p;
}

static int event_raw(const char *p, const char *end, char *key, int64_t o, int64_t ts,
                     pl_segment_event_fn fn, void *arg)
{
    size_t n = (size_t)(end - p), bin;
    unsigned char *buf;
    int r;

    if (n < 2 || memcmp(end - 2, "\"}", 2) != 0)
        return -EINVAL;
    buf = malloc(n + 1);
    if (!buf)
        return -ENOMEM;
    r = sodium_base642bin(buf, n, p, n - 2, NULL, &bin, NULL,
                          sodium_base64_VARIANT_ORIGINAL) ? -EINVAL : 0;
    if (!r) {
        buf[bin] = '\0';
        r = fn(arg, o, ts, key, (const char *)buf, bin) ? 1 : 0;
    }
    free(buf);
    return r;
}

/* One event line: 0, 1 when the callback asked to stop, -EINVAL. */
static int event_line(const char *p, const char *end, pl_segment_event_fn fn, void *arg,
                      int64_t *prev)
{
    char key[SEG_MAX_KEY + 1];
    const char *k;
    int64_t o, ts;

    p = number(expect(p, end, "{\"o\":"), end, &o);
    p = number(expect(p, end, ",\"ts\":"), end, &ts);
    p = expect(p, end, ",\"k\":\"");
    if (!p || o <= *prev)
        return -EINVAL;
    *prev = o;
    for (k = p; p < end && *p != '"' && p - k < SEG_MAX_KEY; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || *p == '-'))
            return -EINVAL;
    memcpy(key, k, (size_t)(p - k));
    key[p - k] = '\0';
    p = expect(p, end, "\",");
    if (expect(p, end, "\"raw\":\""))
        return event_raw(p + 7, end, key, o, ts, fn, arg);
    p = expect(p, end, "\"e\":");
    if (!p || end - p < 2 || end[-1] != '}')
        return -EINVAL;
    return fn(arg, o, ts, key, p, (size_t)(end - 1 - p)) ? 1 : 0;
}

static int header_line(const char *line, size_t n, pl_segment_header *h)
{
    char err[64];
    yajl_val v = NULL;
    pl_buf t;
    long long part, start, end, count;
    const char *fmt, *prev;
    int r;

    pl_buf_init(&t, 4096);
    r = pl_buf_append(&t, line, n) ? -EINVAL : pl_json_parse(t.data, t.len, &v, err, sizeof(err));
    pl_buf_free(&t);
    if (r)
        return -EINVAL;
    fmt = pl_json_str(v, "format");
    prev = pl_json_str(v, "prev_sha256");
    r = -EINVAL;
    if (fmt && strcmp(fmt, "parley-segment") == 0 && prev && strlen(prev) < PL_SEGMENT_HASH_HEX &&
        !pl_json_int(v, "partition", &part) && !pl_json_int(v, "start", &start) &&
        !pl_json_int(v, "end", &end) && !pl_json_int(v, "count", &count) && start <= end) {
        h->partition = (int32_t)part;
        h->start = start;
        h->end = end;
        h->count = count;
        snprintf(h->prev_hash, sizeof(h->prev_hash), "%s", prev);
        r = 0;
    }
    yajl_tree_free(v);
    return r;
}

int pl_segment_parse(const char *raw, size_t len, pl_segment_header *h,
                     pl_segment_event_fn fn, void *arg)
{
    const char *p = raw, *end = raw + len, *nl;
    int64_t prev, seen = 0;
    int r;

    nl = memchr(p, '\n', len);
    if (!nl || header_line(p, (size_t)(nl - p), h) != 0)
        return -EINVAL;
    prev = h->start - 1;
    for (p = nl + 1; p < end; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return -EINVAL;
        if (expect(p, nl, "{\"index\":"))
            return nl + 1 == end && seen == h->count && prev < h->end ? 0 : -EINVAL;
        r = event_line(p, nl, fn, arg, &prev);
        if (r)
            return r < 0 ? r : 0;
        seen++;
    }
    return -EINVAL; /* no index line: truncated */
}
