/* POST /api/v1/attachments?filename= : the body is the file, streamed to
 * the store as it arrives (never buffered whole). The type comes from the
 * first bytes, never from the name or the client's Content-Type. */
#include "media.h"
#include "pl_fname.h"
#include "pl_id.h"
#include "pl_log.h"
#include "pl_num.h"
#include "pl_sniff.h"
#include "pl_time.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct upload {
    media *m;
    pl_store_writer *w; /* NULL once committed or aborted */
    crypto_hash_sha256_state sha;
    unsigned char *head; /* the first head_cap bytes, for pl_sniff */
    size_t head_len, head_cap;
    uint64_t size;
    char id[PL_ID_LEN];
    char user[PL_ID_LEN];
    char filename[PL_FNAME_MAX + 1];
} upload;

static void upload_release(void *state)
{
    upload *u = state;
    if (!u)
        return;
    pl_store_put_abort(u->w);
    free(u->head);
    free(u);
}

static void reply_too_large(pl_http_req *req, long long max)
{
    char msg[96];
    snprintf(msg, sizeof(msg), "attachments are limited to %lld bytes", max);
    pl_http_reply_error(req, 413, "too_large", msg);
}

static int upload_chunk(pl_http_req *req, void *state, const char *data, size_t len)
{
    upload *u = state;
    int r;

    u->size += len;
    if (u->size > (uint64_t)u->m->max_bytes) {
        reply_too_large(req, u->m->max_bytes);
        return -E2BIG; /* release drops what was written */
    }
    if (u->head_len < u->head_cap) {
        size_t n = len < u->head_cap - u->head_len ? len : u->head_cap - u->head_len;
        memcpy(u->head + u->head_len, data, n);
        u->head_len += n;
    }
    crypto_hash_sha256_update(&u->sha, (const unsigned char *)data, len);
    r = pl_store_put_write(u->w, data, len);
    if (r) {
        pl_error("store_write", "id=%s msg=\"%s\"", u->id, strerror(-r));
        pl_http_reply_error(req, 503, "unavailable", "cannot store the attachment; retry");
    }
    return r;
}

static int upload_insert(upload *u, const pl_sniff *sn, const unsigned char *sha)
{
    char size[24], w[16], h[16], hex[crypto_hash_sha256_BYTES * 2 + 3] = "\\x";
    const char *p[8] = {u->id, u->user, sn->content_type, size, sn->has_size ? w : NULL,
                        sn->has_size ? h : NULL, u->filename, hex};
    PGconn *pg = pl_pg_acquire(u->m->pool, 2000);
    char err[256] = "";
    int r;

    if (!pg)
        return -EAGAIN;
    snprintf(size, sizeof(size), "%" PRIu64, u->size);
    snprintf(w, sizeof(w), "%" PRIu32, sn->width);
    snprintf(h, sizeof(h), "%" PRIu32, sn->height);
    sodium_bin2hex(hex + 2, sizeof(hex) - 2, sha, crypto_hash_sha256_BYTES);
    r = pl_pg_exec(pg, NULL, err, sizeof(err),
                   "INSERT INTO media.attachments (id, uploader_id, content_type, size,"
                   " width, height, filename, sha256)"
                   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8::bytea)",
                   8, p);
    pl_pg_release(u->m->pool, pg);
    if (r)
        pl_error("attachment_insert", "id=%s msg=\"%.*s\"", u->id, (int)strcspn(err, "\n\""),
                 err);
    return r;
}

static void upload_reply(pl_http_req *req, const upload *u, const pl_sniff *sn)
{
    pl_jw w;

    if (pl_jw_init(&w) != 0) {
        pl_http_reply_internal(req, -ENOMEM);
        return;
    }
    pl_jw_obj(&w);
    pl_jw_kstr(&w, "id", u->id);
    pl_jw_kstr(&w, "content_type", sn->content_type);
    pl_jw_kint(&w, "size", (long long)u->size);
    if (sn->has_size) {
        pl_jw_kint(&w, "width", sn->width);
        pl_jw_kint(&w, "height", sn->height);
    }
    pl_jw_kstr(&w, "filename", u->filename);
    pl_jw_end_obj(&w);
    pl_http_reply_jw(req, 201, &w);
}

/* The whole body is in: commit the bytes, then the row (a crash between
 * the two leaves an unreferenced file, never a row without its file). */
static void upload_end(pl_http_req *req, void *state)
{
    upload *u = state;
    unsigned char sha[crypto_hash_sha256_BYTES];
    pl_sniff sn;
    int r;

    if (u->size == 0) {
        pl_http_reply_error(req, 400, "bad_request", "the body (the file) is empty");
        return;
    }
    pl_sniff_detect(u->head, u->head_len, &sn);
    crypto_hash_sha256_final(&u->sha, sha);
    r = pl_store_put_commit(u->w);
    u->w = NULL;
    if (r) {
        pl_error("store_commit", "id=%s msg=\"%s\"", u->id, strerror(-r));
        pl_http_reply_error(req, 503, "unavailable", "cannot store the attachment; retry");
        return;
    }
    r = upload_insert(u, &sn, sha);
    if (r) {
        pl_store_delete(u->m->store, u->id);
        pl_http_reply_error(req, 503, "unavailable", "database unavailable; retry");
        return;
    }
    pl_metrics_add(u->m->metrics, "media_upload_bytes_total", "", (double)u->size);
    pl_info("attachment", "id=%s user=%s type=%s size=%" PRIu64, u->id, u->user,
            sn.content_type, u->size);
    upload_reply(req, u, &sn);
}

/* Refuses what is known to be wrong before any byte is read. */
static int upload_precheck(pl_http_req *req, media *m, char *filename)
{
    const char *cl = pl_http_header(req, "Content-Length");
    long long n;

    if (cl && pl_num_parse_ll(cl, 0, INT64_MAX, &n) == 0 && n > m->max_bytes) {
        reply_too_large(req, m->max_bytes);
        return -E2BIG;
    }
    if (pl_fname_sanitize(pl_http_query(req, "filename"), filename) != 0) {
        pl_http_reply_error(req, 400, "bad_request", "filename must be UTF-8");
        return -EINVAL;
    }
    return 0;
}

void media_upload(pl_http_req *req, void *ctx)
{
    media *m = ctx;
    upload *u = calloc(1, sizeof(*u));
    int r;

    if (!u) {
        pl_http_reply_internal(req, -ENOMEM);
        return;
    }
    u->m = m;
    /* Checked before a byte is read, so a refused upload costs nothing. */
    if (!pl_rate_take(m->rate, pl_http_claims(req)->sub, pl_time_mono_ms())) {
        pl_http_set_header(req, "Retry-After", "2");
        pl_http_reply_error(req, 429, "rate_limited", "too many uploads; slow down");
        goto fail;
    }
    if (upload_precheck(req, m, u->filename) != 0)
        goto fail;
    u->head_cap = m->max_bytes < PL_SNIFF_HEAD ? (size_t)m->max_bytes : PL_SNIFF_HEAD;
    u->head = malloc(u->head_cap);
    if (!u->head) {
        pl_http_reply_internal(req, -ENOMEM);
        goto fail;
    }
    pl_id_random(u->id);
    memcpy(u->user, pl_http_claims(req)->sub, PL_ID_LEN);
    crypto_hash_sha256_init(&u->sha);
    r = pl_store_put_begin(m->store, u->id, &u->w);
    if (r) {
        pl_error("store_begin", "id=%s msg=\"%s\"", u->id, strerror(-r));
        pl_http_reply_error(req, 503, "unavailable", "cannot store the attachment; retry");
        goto fail;
    }
    pl_http_stream_body(req, &(pl_http_stream){.chunk = upload_chunk, .end = upload_end,
                                                .release = upload_release, .state = u});
    return;
fail:
    upload_release(u);
}
