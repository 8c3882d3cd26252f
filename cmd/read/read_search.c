/* GET /api/v1/search?q=&conversation_id=&limit=&cursor=&min_position=
 * Full-text search over the caller's conversations only. Words are
 * stemmed as English and as Russian (a word matches either stem), the
 * last word also as a prefix; results are ranked with ts_rank and paged
 * by an opaque cursor of (rank, message id). Highlights are plain text
 * with matches between U+0002 and U+0003, never HTML: a client escapes
 * the text and then turns the markers into its own tags. */
#include "read.h"
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

static int search_fetch(PGconn *pg, const search_query *s, PGresult **res)
{
    char limit[16];
    const char *p[6] = {s->terms, s->base.user, s->has_conv ? s->base.conv : NULL,
                        s->has_cursor ? s->rank : NULL, s->has_cursor ? s->after_id : NULL,
                        limit};

    snprintf(limit, sizeof(limit), "%d", s->base.limit + 1);
    /* Each word may match its English or its Russian stem; the words are
     * ANDed. The terms come from pl_text_tsquery_terms, which leaves no
     * operator of the user's in them. Markers the text itself holds are
     * dropped before highlighting so that only ours delimit matches. */
    return pl_pg_exec(pg, res, NULL, 0,
        "WITH query AS ("
        " SELECT history.tsquery_and_agg(to_tsquery('english', t) || to_tsquery('russian', t))"
        " AS q FROM unnest($1::text[]) AS t),"
        " hits AS ("
        " SELECT m.id, ts_rank(m.search, query.q) AS rank"
        " FROM query, history.messages m"
        " JOIN history.members mb ON mb.conversation_id = m.conversation_id"
        "  AND mb.user_id = $2::uuid"
        " WHERE numnode(query.q) > 0 AND m.search @@ query.q AND m.deleted_at IS NULL"
        " AND ($3::uuid IS NULL OR m.conversation_id = $3::uuid))"
        " SELECT " PL_HISTORY_MESSAGE_COLS_FOR("$2") ", h.rank::text,"
        " ts_headline('russian', translate(m.text, E'\\x02\\x03', ''), query.q,"
        "  'StartSel=\x02, StopSel=\x03, MaxWords=35, MinWords=15, MaxFragments=2')"
        " FROM hits h JOIN history.messages m ON m.id = h.id, query"
        " WHERE $4::real IS NULL OR (h.rank, h.id) < ($4::real, $5::uuid)"
        " ORDER BY h.rank DESC, h.id DESC LIMIT $6::int",
        6, p);
}

static void search_write(pl_jw *w, const search_query *s, const PGresult *res)
{
    int n = PQntuples(res), more = n > s->base.limit;

    if (more)
        n = s->base.limit;
    pl_jw_obj(w);
    pl_jw_key(w, "results");
    pl_jw_arr(w);
    for (int i = 0; i < n; i++) {
        pl_jw_obj(w);
        pl_jw_kstr(w, "conversation_id", PQgetvalue(res, i, 1));
        pl_jw_key(w, "message");
        pl_history_message_write(w, res, i, 0);
        pl_jw_kstr(w, "highlight", PQgetvalue(res, i, PL_HISTORY_MESSAGE_NCOLS + 1));
        pl_jw_end_obj(w);
    }
    pl_jw_end_arr(w);
    pl_jw_key(w, "next_cursor");
    if (more)
        cursor_write(w, PQgetvalue(res, n - 1, PL_HISTORY_MESSAGE_NCOLS),
                     PQgetvalue(res, n - 1, 0));
    else
        pl_jw_null(w);
    pl_jw_end_obj(w);
}

static void serve_search(read_api *api, pl_http_req *req, const read_query *q)
{
    const search_query *s = (const search_query *)q;
    PGconn *pg = pl_pg_acquire(api->pool, 2000);
    PGresult *res = NULL;
    pl_jw w;
    int r = pg ? 0 : -EIO;

    if (r == 0 && s->has_conv && (r = pl_history_is_member(pg, q->conv, q->user)) >= 0)
        r = r == 1 ? 0 : -ENOENT;
    if (r == 0)
        r = search_fetch(pg, s, &res);
    if (pg)
        pl_pg_release(api->pool, pg);
    if (r == 0 && (r = pl_jw_init(&w)) == 0) {
        search_write(&w, s, res);
        pl_http_reply_jw(req, 200, &w);
    } else if (r == -ENOENT) {
        pl_http_reply_error(req, 404, "not_found", "no such conversation");
    } else {
        pl_http_reply_error(req, 503, "unavailable", "database unavailable; retry");
    }
    PQclear(res);
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
