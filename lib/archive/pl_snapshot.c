#include "pl_snapshot.h"
#include "pl_json.h"
#include "pl_num.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_PREFIX "{\"o\":"
#define MSG_KEY ",\"m\":"

int pl_snapshot_line(pl_buf *lines, int64_t offset, const char *msg_json, size_t len)
{
    if (memchr(msg_json, '\n', len))
        return -EINVAL; /* a line per message: JSON text never needs one */
    if (pl_buf_printf(lines, LINE_PREFIX "%" PRId64 MSG_KEY, offset) ||
        pl_buf_append(lines, msg_json, len) || pl_buf_puts(lines, "}\n"))
        return -ENOMEM;
    return 0;
}

int pl_snapshot_encode(const pl_snapshot_header *h, const pl_buf *lines, pl_buf *out,
                       char hash[PL_SEGMENT_HASH_HEX])
{
    pl_buf raw;
    int r;

    pl_buf_init(&raw, PL_SEGMENT_MAX_RAW);
    r = pl_buf_printf(&raw,
                      "{\"format\":\"parley-history-snapshot\",\"version\":1,"
                      "\"conversation_id\":\"%s\",\"partition\":%" PRId32 ",\"first\":%" PRId64
                      ",\"last\":%" PRId64 ",\"count\":%" PRId64 "}\n",
                      h->conversation_id, h->partition, h->first, h->last, h->count);
    if (!r && lines->len)
        r = pl_buf_append(&raw, lines->data, lines->len);
    r = r ? -E2BIG : pl_segment_compress(&raw, out);
    if (!r)
        pl_segment_hash(out->data, out->len, hash);
    pl_buf_free(&raw);
    return r;
}

int pl_snapshot_json(const char *s, size_t len, yajl_val *out)
{
    char *z = malloc(len + 1);
    int r;

    *out = NULL;
    if (!z)
        return -ENOMEM;
    memcpy(z, s, len);
    z[len] = '\0';
    r = pl_json_parse(z, len, out, NULL, 0) ? -EINVAL : 0;
    free(z);
    return r;
}

static int header_parse(const char *line, size_t n, pl_snapshot_header *h)
{
    yajl_val v = NULL;
    long long part = -1, first = -1, last = -1, count = -1;
    const char *fmt, *conv;
    int r = pl_snapshot_json(line, n, &v);

    if (!r) {
        fmt = pl_json_str(v, "format");
        conv = pl_json_str(v, "conversation_id");
        if (!fmt || strcmp(fmt, "parley-history-snapshot") != 0 || !conv ||
            strlen(conv) >= sizeof(h->conversation_id) || pl_json_int(v, "partition", &part) ||
            pl_json_int(v, "first", &first) || pl_json_int(v, "last", &last) ||
            pl_json_int(v, "count", &count))
            r = -EINVAL;
    }
    if (!r) {
        snprintf(h->conversation_id, sizeof(h->conversation_id), "%s", conv);
        h->partition = (int32_t)part;
        h->first = first;
        h->last = last;
        h->count = count;
    }
    yajl_tree_free(v);
    return r;
}

/* {"o":N,"m":<json>} without parsing <json>: the writer made the line. */
static int line_parse(const char *p, size_t n, int64_t *offset, const char **msg,
                      size_t *len)
{
    char num[24];
    size_t pre = sizeof(LINE_PREFIX) - 1, key = sizeof(MSG_KEY) - 1, i = pre;
    long long o;

    if (n < pre + key + 2 || memcmp(p, LINE_PREFIX, pre) != 0 || p[n - 1] != '}')
        return -EINVAL;
    while (i < n && i - pre < sizeof(num) - 1 && p[i] >= '0' && p[i] <= '9')
        i++;
    if (i == pre || i - pre >= sizeof(num) - 1 || n - i < key + 2 ||
        memcmp(p + i, MSG_KEY, key) != 0)
        return -EINVAL;
    memcpy(num, p + pre, i - pre);
    num[i - pre] = '\0';
    if (pl_num_parse_ll(num, 0, INT64_MAX, &o) != 0)
        return -EINVAL;
    *offset = o;
    *msg = p + i + key;
    *len = n - 1 - (i + key);
    return 0;
}

int pl_snapshot_scan(const char *raw, size_t len, pl_snapshot_header *h, pl_snapshot_fn fn,
                     void *arg)
{
    const char *p = raw, *end = raw + len, *nl = memchr(p, '\n', len);
    int r;

    if (!nl || header_parse(p, (size_t)(nl - p), h) != 0)
        return -EINVAL;
    for (p = nl + 1; p < end; p = nl + 1) {
        int64_t o;
        const char *msg;
        size_t mlen;
        nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl || line_parse(p, (size_t)(nl - p), &o, &msg, &mlen) != 0)
            return -EINVAL;
        if (fn && (r = fn(arg, o, msg, mlen)) != 0)
            return r;
    }
    return 0;
}
