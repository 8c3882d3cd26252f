/* GET /api/v1/search?q=&conversation_id=&limit=&cursor=&min_position=
 * Full-text search over the caller's conversations only. Words are
 * stemmed as English and as Russian (a word matches either stem), the
 * last word also as a prefix; results are ranked with ts_rank and paged
 * by an opaque cursor of (rank, message id). Highlights are plain text
 * with matches between U+0002 and U+0003, never HTML: a client escapes
 * the text and then turns the markers into its own tags. Archived
 * messages are found through archive.search (terms only, no text) and
 * read back from their snapshots. */
#include "read.h"
#include "pl_archive_read.h"
#include "pl_snapshot.h"
#include "pl_history.h"
#include "pl_num.h"
#include "pl_text.h"
#include "pl_utf8.h"

#include <errno.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEARCH_DEFAULT 20
#define SEARCH_MAX 50
#define QUERY_MAX_CHARS 256
#define RANK_MAX 40
#define CURSOR_MAX 128

typedef struct search_query {
    read_query base; /* first: read_dispatch frees the whole struct */
    char terms[2048];
    int has_conv, has_cursor;
    char rank[RANK_MAX + 1];
    char after_id[PL_ID_LEN];
} search_query;

/* base64url("<rank>|<message id>") */
static void cursor_write(pl_jw *w, const char *rank, const char *id)
{
    char raw[RANK_MAX + PL_ID_LEN + 2], out[CURSOR_MAX + 1];
    int n = snprintf(raw, sizeof(raw), "%s|%s", rank, id);

    if (n < 0 || (size_t)n >= sizeof(raw) ||
        sodium_base64_ENCODED_LEN((size_t)n, sodium_base64_VARIANT_URLSAFE_NO_PADDING) >
            sizeof(out)) {
        pl_jw_null(w);
        return;
    }
    sodium_bin2base64(out, sizeof(out), (const unsigned char *)raw, (size_t)n,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    pl_jw_str(w, out);
}

static int cursor_parse(const char *c, search_query *s)
{
    unsigned char raw[CURSOR_MAX];
    size_t n = 0;
    char *end = NULL, *bar;
    double d;

    if (strlen(c) > CURSOR_MAX ||
        sodium_base642bin(raw, sizeof(raw) - 1, c, strlen(c), NULL, &n, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return -EINVAL;
    raw[n] = '\0';
    if (strlen((char *)raw) != n || !(bar = strchr((char *)raw, '|')) ||
        (size_t)(bar - (char *)raw) > RANK_MAX || !pl_id_valid(bar + 1))
        return -EINVAL;
    *bar = '\0';
    d = strtod((char *)raw, &end);
    if (end == (char *)raw || *end || !isfinite(d))
        return -EINVAL;
    memcpy(s->rank, raw, (size_t)(bar - (char *)raw) + 1);
    memcpy(s->after_id, bar + 1, PL_ID_LEN);
    return 0;
}

/* Each word may match its English or its Russian stem; the words are
 * ANDed. The terms come from pl_text_tsquery_terms, which leaves no
 * operator of the user's in them. */
#define QUERY_CTE                                                                      \
    "WITH query AS ("                                                                  \
    " SELECT history.tsquery_and_agg(to_tsquery('english', t) || to_tsquery('russian', t))" \
    " AS q FROM unnest($1::text[]) AS t)"
/* Markers the text itself holds are dropped before highlighting so that
 * only ours delimit matches. */
#define HEADLINE(text)                                                                 \
    "ts_headline('russian', translate(" text ", E'\\x02\\x03', ''), query.q,"          \
    " 'StartSel=\x02, StopSel=\x03, MaxWords=35, MinWords=15, MaxFragments=2')"

/* Result columns after the message's. Cold hits (archived messages) have
 * NULL message columns: their bodies come from snapshots. */
enum { C_RANK = PL_HISTORY_MESSAGE_NCOLS, C_HEADLINE, C_HIT_ID, C_KEY, C_SHA, C_COLD_OFF,
       C_COLD_CONV };

/* Hot hits (history.messages) and cold ones (archive.search: the terms
 * of archived messages, no text) ranked together by the same ts_rank. */
static int search_fetch(PGconn *pg, const search_query *s, PGresult **res)
{
    char limit[16];
    const char *p[6] = {s->terms, s->base.user, s->has_conv ? s->base.conv : NULL,
                        s->has_cursor ? s->rank : NULL, s->has_cursor ? s->after_id : NULL,
                        limit};

    snprintf(limit, sizeof(limit), "%d", s->base.limit + 1);
    return pl_pg_exec(pg, res, NULL, 0,
        QUERY_CTE ","
        " hits AS ("
        " SELECT m.id, ts_rank(m.search, query.q) AS rank, NULL::bigint AS snap"
        " FROM query, history.messages m"
        " JOIN history.members mb ON mb.conversation_id = m.conversation_id"
        "  AND mb.user_id = $2::uuid"
        " WHERE numnode(query.q) > 0 AND m.search @@ query.q AND m.deleted_at IS NULL"
        " AND ($3::uuid IS NULL OR m.conversation_id = $3::uuid)"
        " UNION ALL"
        " SELECT a.message_id, ts_rank(a.search, query.q), a.snapshot_id"
        " FROM query, archive.search a"
        " JOIN history.members mb ON mb.conversation_id = a.conversation_id"
        "  AND mb.user_id = $2::uuid"
        " WHERE numnode(query.q) > 0 AND a.search @@ query.q AND NOT a.deleted"
        " AND ($3::uuid IS NULL OR a.conversation_id = $3::uuid)),"
        " page AS ("
        " SELECT * FROM hits h WHERE $4::real IS NULL OR (h.rank, h.id) < ($4::real, $5::uuid)"
        " ORDER BY h.rank DESC, h.id DESC LIMIT $6::int)"
        " SELECT " PL_HISTORY_MESSAGE_COLS_FOR("$2") ", h.rank::text,"
        " " HEADLINE("m.text") ", h.id, sn.store_key, sn.sha256, a.\"offset\","
        " a.conversation_id"
        " FROM page h CROSS JOIN query"
        " LEFT JOIN history.messages m ON h.snap IS NULL AND m.id = h.id"
        " LEFT JOIN archive.snapshots sn ON sn.id = h.snap"
        " LEFT JOIN archive.search a ON h.snap IS NOT NULL AND a.message_id = h.id"
        " ORDER BY h.rank DESC, h.id DESC",
        6, p);
}

/* Cold hits' bodies: each snapshot is read once for all its hits. */
static int cold_load(pl_store *store, const PGresult *res, int n, pl_archive_page *page,
                     int *idx)
{
    int64_t offs[SEARCH_MAX + 1];
    long long v;
    int r = 0;

    for (int i = 0; i < n; i++)
        idx[i] = -1;
    for (int i = 0; i < n && !r; i++) {
        const char *key = PQgetvalue(res, i, C_KEY);
        size_t from = page->n, k = 0;
        if (PQgetisnull(res, i, C_KEY) || idx[i] != -1)
            continue;
        for (int j = i; j < n; j++)
            if (strcmp(PQgetvalue(res, j, C_KEY), key) == 0 &&
                pl_num_parse_ll(PQgetvalue(res, j, C_COLD_OFF), 0, INT64_MAX, &v) == 0)
                offs[k++] = v;
        r = pl_archive_pick(store, key, PQgetvalue(res, i, C_SHA), offs, k, page);
        for (int j = i; j < n && !r; j++) {
            if (strcmp(PQgetvalue(res, j, C_KEY), key) != 0)
                continue;
            pl_num_parse_ll(PQgetvalue(res, j, C_COLD_OFF), 0, INT64_MAX, &v);
            idx[j] = -2; /* read, but purged meanwhile unless found below */
            for (size_t m = from; m < page->n; m++)
                if (page->msgs[m].offset == v)
                    idx[j] = (int)m;
        }
    }
    return r;
}

/* Appends v as an element of a Postgres array literal. */
static int array_elem(pl_buf *b, const char *v, size_t len, int first)
{
    int r = pl_buf_puts(b, first ? "\"" : ",\"");
    for (size_t i = 0; i < len && !r; i++)
        r = (v[i] == '"' || v[i] == '\\' ? pl_buf_puts(b, "\\") : 0) ||
            pl_buf_append(b, &v[i], 1);
    return r || pl_buf_puts(b, "\"") ? -ENOMEM : 0;
}

/* Highlights of the cold hits' texts, in one statement: *hl row k is the
 * k-th cold hit's. */
static int cold_highlights(PGconn *pg, const search_query *s, const pl_archive_page *page,
                           const int *idx, int n, PGresult **hl)
{
    pl_buf arr;
    int r = 0, k = 0;

    pl_buf_init(&arr, 8u << 20);
    r = pl_buf_puts(&arr, "{") ? -ENOMEM : 0;
    for (int i = 0; i < n && !r; i++) {
        yajl_val m = NULL;
        const char *t;
        if (idx[i] < 0)
            continue;
        if (pl_snapshot_json(page->msgs[idx[i]].json, page->msgs[idx[i]].len, &m) != 0)
            m = NULL;
        t = pl_json_str(m, "text");
        r = array_elem(&arr, t ? t : "", t ? strlen(t) : 0, k++ == 0);
        yajl_tree_free(m);
    }
    if (!r)
        r = pl_buf_puts(&arr, "}") ? -ENOMEM : 0;
    if (!r && k > 0) {
        const char *p[2] = {s->terms, arr.data};
        r = pl_pg_exec(pg, hl, NULL, 0,
                       QUERY_CTE " SELECT " HEADLINE("u.t")
                       " FROM query, unnest($2::text[]) WITH ORDINALITY AS u(t, i)"
                       " ORDER BY u.i",
                       2, p) ? -EIO : 0;
    }
    pl_buf_free(&arr);
    return r;
}

typedef struct search_result {
    PGresult *res, *hl;
    pl_archive_page cold;
    int idx[SEARCH_MAX + 1]; /* per row: cold.msgs index, -1 hot, -2 gone */
    int n;
} search_result;

static void search_write(pl_jw *w, const search_query *s, const search_result *sr)
{
    int n = sr->n, more = n > s->base.limit, k = 0, last = -1;

    if (more)
        n = s->base.limit;
    pl_jw_obj(w);
    pl_jw_key(w, "results");
    pl_jw_arr(w);
    for (int i = 0; i < n; i++) {
        int cold = sr->idx[i] >= 0;
        if (sr->idx[i] == -2)
            continue; /* purged between the index and the snapshot */
        pl_jw_obj(w);
        pl_jw_kstr(w, "conversation_id", PQgetvalue(sr->res, i, cold ? C_COLD_CONV : 1));
        pl_jw_key(w, "message");
        if (cold)
            pl_archive_message_write(w, sr->cold.msgs[sr->idx[i]].json,
                                     sr->cold.msgs[sr->idx[i]].len, s->base.user);
        else
            pl_history_message_write(w, sr->res, i, 0);
        pl_jw_kstr(w, "highlight", cold ? (sr->hl ? PQgetvalue(sr->hl, k++, 0) : "")
                                        : PQgetvalue(sr->res, i, C_HEADLINE));
        pl_jw_end_obj(w);
        last = i;
    }
    pl_jw_end_arr(w);
    pl_jw_key(w, "next_cursor");
    if (more && last >= 0)
        cursor_write(w, PQgetvalue(sr->res, n - 1, C_RANK), PQgetvalue(sr->res, n - 1, C_HIT_ID));
    else
        pl_jw_null(w);
    pl_jw_end_obj(w);
}

static void serve_search(read_api *api, pl_http_req *req, const read_query *q)
{
    const search_query *s = (const search_query *)q;
    PGconn *pg = pl_pg_acquire(api->pool, 2000);
    search_result sr = {0};
    pl_jw w;
    int r = pg ? 0 : -EIO;

    pl_archive_page_init(&sr.cold);
    if (r == 0 && s->has_conv && (r = pl_history_is_member(pg, q->conv, q->user)) >= 0)
        r = r == 1 ? 0 : -ENOENT;
    if (r == 0)
        r = search_fetch(pg, s, &sr.res) ? -EIO : 0;
    if (r == 0) {
        sr.n = PQntuples(sr.res) > SEARCH_MAX + 1 ? SEARCH_MAX + 1 : PQntuples(sr.res);
        r = cold_load(api->archive, sr.res, sr.n, &sr.cold, sr.idx);
    }
    if (r == 0)
        r = cold_highlights(pg, s, &sr.cold, sr.idx, sr.n, &sr.hl);
    if (pg)
        pl_pg_release(api->pool, pg);
    if (r == 0 && (r = pl_jw_init(&w)) == 0) {
        search_write(&w, s, &sr);
        pl_http_reply_jw(req, 200, &w);
    } else if (r == -ENOENT) {
        pl_http_reply_error(req, 404, "not_found", "no such conversation");
    } else if (r == -EBADMSG) {
        pl_http_reply_error(req, 500, "archive_corrupt",
                            "an archived history snapshot fails its hash");
    } else {
        pl_http_reply_error(req, 503, "unavailable", "database unavailable; retry");
    }
    PQclear(sr.res);
    PQclear(sr.hl);
    pl_archive_page_free(&sr.cold);
}

/* Parses q into terms. 0, or -1 after replying 400. */
static int query_param(pl_http_req *req, search_query *s)
{
    const char *text = pl_http_query(req, "q");
    pl_buf b;
    int r;

    if (!text || !pl_utf8_has_text(text)) {
        pl_http_reply_error(req, 400, "bad_request", "q must be a non-empty search text");
        return -1;
    }
    if (pl_utf8_len(text) > QUERY_MAX_CHARS) {
        pl_http_reply_error(req, 400, "bad_request", "q is longer than 256 characters");
        return -1;
    }
    pl_buf_init(&b, sizeof(s->terms) - 1);
    r = pl_text_tsquery_terms(text, &b);
    if (r == 0)
        memcpy(s->terms, b.data, b.len + 1);
    pl_buf_free(&b);
    if (r == -ENOENT)
        pl_http_reply_error(req, 400, "bad_request", "q must contain a word");
    else if (r == -E2BIG)
        pl_http_reply_error(req, 400, "bad_request", "q has more than 16 words");
    else if (r)
        pl_http_reply_error(req, 400, "bad_request", "q is too long");
    return r ? -1 : 0;
}

/* conversation_id, limit, cursor. 0, or -1 after replying 400. */
static int other_params(pl_http_req *req, search_query *s)
{
    const char *conv = pl_http_query(req, "conversation_id");
    const char *lim = pl_http_query(req, "limit");
    const char *cur = pl_http_query(req, "cursor");
    long long limit = SEARCH_DEFAULT;

    if (conv && *conv) {
        if (!pl_id_valid(conv)) {
            pl_http_reply_error(req, 400, "bad_request", "conversation_id must be an id");
            return -1;
        }
        memcpy(s->base.conv, conv, PL_ID_LEN);
        s->has_conv = 1;
    }
    if (lim && pl_num_parse_ll(lim, 1, SEARCH_MAX, &limit) != 0) {
        pl_http_reply_error(req, 400, "bad_request", "limit must be 1-50");
        return -1;
    }
    s->base.limit = (int)limit;
    if (cur && *cur) {
        if (cursor_parse(cur, s) != 0) {
            pl_http_reply_error(req, 400, "bad_request", "cursor is not one this API gave out");
            return -1;
        }
        s->has_cursor = 1;
    }
    return 0;
}

void read_search(pl_http_req *req, void *ctx)
{
    search_query *s = calloc(1, sizeof(*s));

    if (!s) {
        pl_http_reply_internal(req, -ENOMEM);
        return;
    }
    s->base = (read_query){.api = ctx, .req = req, .serve = serve_search};
    memcpy(s->base.user, pl_http_claims(req)->sub, PL_ID_LEN);
    if (query_param(req, s) != 0 || other_params(req, s) != 0) {
        free(s);
        return;
    }
    read_dispatch(&s->base);
}
