#include "pl_archive_read.h"
#include "pl_archive_object.h"
#include "pl_num.h"
#include "pl_pg.h"
#include "pl_snapshot.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pl_archive_page_init(pl_archive_page *p)
{
    memset(p, 0, sizeof(*p));
}

void pl_archive_page_free(pl_archive_page *p)
{
    for (size_t i = 0; i < p->nraws; i++)
        pl_buf_free(&p->raws[i]);
    free(p->raws);
    free(p->msgs);
    pl_archive_page_init(p);
}

static int msg_push(pl_archive_page *p, int64_t offset, const char *json, size_t len)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        pl_archive_msg *m = realloc(p->msgs, cap * sizeof(*m));
        if (!m)
            return -ENOMEM;
        p->msgs = m;
        p->cap = cap;
    }
    p->msgs[p->n++] = (pl_archive_msg){offset, json, len};
    return 0;
}

/* Loads, checks and decompresses one snapshot into a new buffer of p.
 * -ENOENT when the object is gone (purged meanwhile). */
static int snapshot_load(pl_archive_page *p, pl_store *store, const char *key,
                         const char *sha256, pl_buf **raw)
{
    pl_buf *b;
    int r;

    if (p->nraws == p->rawcap) {
        size_t cap = p->rawcap ? p->rawcap * 2 : 4;
        pl_buf *n = realloc(p->raws, cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        p->raws = n;
        p->rawcap = cap;
    }
    b = &p->raws[p->nraws];
    r = pl_archive_object_load(store, key, sha256, b);
    if (r) {
        pl_buf_free(b);
        return r == -ENOENT || r == -ENOMEM ? r : r == -EBADMSG || r == -EINVAL ? -EBADMSG
                                                                               : -EIO;
    }
    *raw = &p->raws[p->nraws++];
    return 0;
}

typedef struct collect {
    pl_archive_page *page;
    int64_t lo, hi;
    const int64_t *offsets; /* pick: only these */
    size_t noffsets;
    int err;
} collect;

static int on_line(void *arg, int64_t offset, const char *msg, size_t len)
{
    collect *c = arg;
    int want = !c->offsets && offset > c->lo && offset < c->hi;

    for (size_t i = 0; c->offsets && i < c->noffsets && !want; i++)
        want = c->offsets[i] == offset;
    if (want && (c->err = msg_push(c->page, offset, msg, len)) != 0)
        return 1;
    return 0;
}

static int scan(pl_archive_page *p, const pl_buf *raw, collect *c)
{
    pl_snapshot_header h;
    int r = pl_snapshot_scan(raw->data, raw->len, &h, on_line, c);
    return c->err ? c->err : r ? -EBADMSG : 0;
}

/* Reverses msgs[from..n) in place. */
static void reverse_from(pl_archive_page *p, size_t from)
{
    for (size_t i = from, j = p->n; i + 1 < j; i++, j--) {
        pl_archive_msg t = p->msgs[i];
        p->msgs[i] = p->msgs[j - 1];
        p->msgs[j - 1] = t;
    }
}

static int page_snapshots(PGconn *pg, const char *conv, int64_t lo, int64_t hi, int backwards,
                          size_t want, PGresult **res)
{
    char los[24], his[24], lim[24];
    const char *p[4] = {conv, los, his, lim};

    snprintf(los, sizeof(los), "%" PRId64, lo);
    snprintf(his, sizeof(his), "%" PRId64, hi);
    snprintf(lim, sizeof(lim), "%zu", want);
    /* Each snapshot holds at least one message, so want rows suffice. */
    return pl_pg_exec(pg, res, NULL, 0,
                      backwards ? "SELECT store_key, sha256 FROM archive.snapshots"
                                  " WHERE conversation_id = $1 AND last_offset > $2::bigint"
                                  " AND first_offset < $3::bigint"
                                  " ORDER BY first_offset DESC LIMIT $4::int"
                                : "SELECT store_key, sha256 FROM archive.snapshots"
                                  " WHERE conversation_id = $1 AND last_offset > $2::bigint"
                                  " AND first_offset < $3::bigint"
                                  " ORDER BY first_offset ASC LIMIT $4::int",
                      4, p) ? -EIO : 0;
}

int pl_archive_page_read(PGconn *pg, pl_store *store, const char *conv, int64_t lo,
                         int64_t hi, int backwards, size_t want, pl_archive_page *out)
{
    PGresult *res = NULL;
    size_t start = out->n;
    int r = page_snapshots(pg, conv, lo, hi, backwards, want, &res);

    for (int i = 0; r == 0 && i < PQntuples(res) && out->n - start < want; i++) {
        collect c = {.page = out, .lo = lo, .hi = hi};
        size_t from = out->n;
        pl_buf *raw;
        r = snapshot_load(out, store, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), &raw);
        if (r == -ENOENT) {
            r = 0;
            continue;
        }
        if (r == 0)
            r = scan(out, raw, &c);
        if (r == 0 && backwards)
            reverse_from(out, from);
    }
    if (r == 0 && out->n - start > want)
        out->n = start + want;
    PQclear(res);
    return r;
}

int pl_archive_pick(pl_store *store, const char *key, const char *sha256,
                    const int64_t *offsets, size_t n, pl_archive_page *out)
{
    collect c = {.page = out, .offsets = offsets, .noffsets = n};
    pl_buf *raw;
    int r = snapshot_load(out, store, key, sha256, &raw);

    if (r == -ENOENT)
        return 0;
    return r ? r : scan(out, raw, &c);
}

int pl_archive_lookup(PGconn *pg, pl_store *store, const char *conv, const char *mid,
                      yajl_val *msg)
{
    const char *p[2] = {conv, mid};
    PGresult *res = NULL;
    pl_archive_page page;
    long long o = -1;
    int r = pl_pg_exec(pg, &res, NULL, 0,
                       "SELECT s.store_key, s.sha256, a.\"offset\" FROM archive.search a"
                       " JOIN archive.snapshots s ON s.id = a.snapshot_id"
                       " WHERE a.message_id = $2 AND a.conversation_id = $1",
                       2, p) ? -EIO : 0;

    *msg = NULL;
    pl_archive_page_init(&page);
    if (r == 0 && (PQntuples(res) != 1 ||
                   pl_num_parse_ll(PQgetvalue(res, 0, 2), 0, INT64_MAX, &o) != 0))
        r = -ENOENT;
    if (r == 0)
        r = pl_archive_pick(store, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
                            &(int64_t){o}, 1, &page);
    if (r == 0 && page.n != 1)
        r = -ENOENT;
    if (r == 0)
        r = pl_snapshot_json(page.msgs[0].json, page.msgs[0].len, msg) ? -EBADMSG : 0;
    pl_archive_page_free(&page);
    PQclear(res);
    return r;
}

int pl_archive_last_message(void *store, PGconn *pg, pl_jw *w, const char *conv,
                            const char *mid, const char *viewer)
{
    yajl_val m = NULL;
    int r = pl_archive_lookup(pg, store, conv, mid, &m);

    if (r == 0)
        pl_archive_message_write_tree(w, m, viewer);
    yajl_tree_free(m);
    return r == -EBADMSG ? -ENOENT : r;
}
