/* GET /api/v1/conversations/{id}/messages?before=&after=&around=&limit=&min_position=
 * Pages by position, oldest first. Inside a conversation every event sits
 * on one partition, so offsets order them. around=<message id> gives
 * limit/2 messages before it, it, and the rest after it. Pages cross from
 * hot rows into archived snapshots transparently (read_tiers.h). */
#include "read.h"
#include "read_tiers.h"
#include "pl_num.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_DEFAULT 50
#define PAGE_MAX 200

/* The conversation's partition if user is a member: 0, -ENOENT, -EIO. */
static int member_partition(PGconn *pg, const read_query *q, int32_t *partition)
{
    const char *p[2] = {q->conv, q->user};
    PGresult *res = NULL;
    long long part;
    int r = pl_pg_exec(pg, &res, NULL, 0,
                       "SELECT c.partition FROM history.conversations c"
                       " JOIN history.members m ON m.conversation_id = c.id"
                       " WHERE c.id = $1 AND m.user_id = $2",
                       2, p);
    if (r == 0 && (PQntuples(res) != 1 ||
                   pl_num_parse_ll(PQgetvalue(res, 0, 0), 0, INT32_MAX, &part) != 0))
        r = -ENOENT;
    if (r == 0)
        *partition = (int32_t)part;
    PQclear(res);
    return r;
}

/* Newest-first when paging back (before, or the latest page), else
 * oldest-first; one past the limit tells if there is more. */
static int page_fetch(PGconn *pg, pl_store *store, const read_query *q, tier_page *p)
{
    tier_range r = {.has_before = q->has_before, .has_after = q->has_after,
                    .before = q->before.offset, .after = q->after.offset,
                    .backwards = q->has_before || !q->has_after, .want = q->limit + 1};
    return tier_page_fetch(pg, store, q->conv, q->user, &r, p);
}

/* The window around a message: up to limit/2 older ones (newest first,
 * one extra to tell if there are more), then the message and newer ones
 * (one extra too). -ESRCH when the message is not in this conversation. */
static int around_fetch(PGconn *pg, pl_store *store, const read_query *q, tier_page *older,
                        tier_page *newer)
{
    int64_t o;
    int r = tier_message_offset(pg, q->conv, q->around, &o);
    tier_range b = {.has_before = 1, .before = 0, .backwards = 1, .want = q->limit / 2 + 1};
    tier_range a = {.has_after = 1, .after = 0, .want = q->limit - q->limit / 2 + 1};

    if (r)
        return r;
    b.before = o;
    a.after = o - 1;
    r = tier_page_fetch(pg, store, q->conv, q->user, &b, older);
    return r ? r : tier_page_fetch(pg, store, q->conv, q->user, &a, newer);
}

static void around_write(pl_jw *w, const read_query *q, const tier_page *older,
                         const tier_page *newer)
{
    int want_b = q->limit / 2, want_a = q->limit - q->limit / 2;
    int nb = older->n > want_b ? want_b : older->n, na = newer->n > want_a ? want_a : newer->n;

    pl_jw_obj(w);
    pl_jw_key(w, "messages");
    pl_jw_arr(w);
    /* Older ones came newest first, and precede the newer ones. */
    for (int i = nb - 1; i >= 0; i--)
        tier_item_write(w, older, i, q->user);
    for (int i = 0; i < na; i++)
        tier_item_write(w, newer, i, q->user);
    pl_jw_end_arr(w);
    pl_jw_key(w, "has_more_before");
    pl_jw_bool(w, older->n > want_b);
    pl_jw_key(w, "has_more_after");
    pl_jw_bool(w, newer->n > want_a);
    pl_jw_end_obj(w);
}

static void page_write(pl_jw *w, const read_query *q, const tier_page *p)
{
    int n = p->n, more = n > q->limit;
    int backwards = q->has_before || !q->has_after;

    if (more)
        n = q->limit;
    pl_jw_obj(w);
    pl_jw_key(w, "messages");
    pl_jw_arr(w);
    for (int i = 0; i < n; i++)
        tier_item_write(w, p, backwards ? n - 1 - i : i, q->user);
    pl_jw_end_arr(w);
    pl_jw_key(w, "has_more");
    pl_jw_bool(w, more);
    pl_jw_end_obj(w);
}

static void serve_messages(read_api *api, pl_http_req *req, const read_query *q)
{
    PGconn *pg = pl_pg_acquire(api->pool, 2000);
    tier_page p1 = {0}, p2 = {0};
    int32_t partition = -1;
    pl_jw w;
    int r = pg ? member_partition(pg, q, &partition) : -EIO;

    if (r == 0 && ((q->has_before && q->before.partition != partition) ||
                   (q->has_after && q->after.partition != partition)))
        r = -EINVAL;
    if (r == 0)
        r = q->has_around ? around_fetch(pg, api->archive, q, &p1, &p2)
                          : page_fetch(pg, api->archive, q, &p1);
    if (pg)
        pl_pg_release(api->pool, pg);
    if (r == 0 && (r = pl_jw_init(&w)) == 0) {
        if (q->has_around)
            around_write(&w, q, &p1, &p2);
        else
            page_write(&w, q, &p1);
        pl_http_reply_jw(req, 200, &w);
    } else if (r == -ENOENT) {
        pl_http_reply_error(req, 404, "not_found", "no such conversation");
    } else if (r == -ESRCH) {
        pl_http_reply_error(req, 404, "not_found", "no such message");
    } else if (r == -EINVAL) {
        pl_http_reply_error(req, 400, "bad_request",
                            "before/after is a position of another conversation");
    } else if (r == -EBADMSG) {
        pl_http_reply_error(req, 500, "archive_corrupt",
                            "an archived history snapshot fails its hash");
    } else {
        pl_http_reply_error(req, 503, "unavailable", "database unavailable; retry");
    }
    tier_page_free(&p1);
    tier_page_free(&p2);
}

/* around= excludes before/after. 0 ok (or absent), -1 replied 400. */
static int around_param(pl_http_req *req, read_query *q)
{
    const char *v = pl_http_query(req, "around");

    if (!v || !*v)
        return 0;
    if (!pl_id_valid(v)) {
        pl_http_reply_error(req, 400, "bad_request", "around must be a message id");
        return -1;
    }
    if (q->has_before || q->has_after) {
        pl_http_reply_error(req, 400, "bad_request",
                            "around cannot be combined with before or after");
        return -1;
    }
    q->has_around = 1;
    memcpy(q->around, v, PL_ID_LEN);
    return 0;
}

void read_messages(pl_http_req *req, void *ctx)
{
    const char *conv = pl_http_param(req, "id");
    const char *lim = pl_http_query(req, "limit");
    long long limit = PAGE_DEFAULT;
    read_query *q;

    if (!pl_id_valid(conv)) {
        pl_http_reply_error(req, 404, "not_found", "no such conversation");
        return;
    }
    if (lim && pl_num_parse_ll(lim, 1, PAGE_MAX, &limit) != 0) {
        pl_http_reply_error(req, 400, "bad_request", "limit must be 1-200");
        return;
    }
    q = calloc(1, sizeof(*q));
    if (!q) {
        pl_http_reply_internal(req, -ENOMEM);
        return;
    }
    *q = (read_query){.api = ctx, .req = req, .serve = serve_messages, .limit = (int)limit};
    memcpy(q->user, pl_http_claims(req)->sub, PL_ID_LEN);
    memcpy(q->conv, conv, PL_ID_LEN);
    if ((q->has_before = read_pos_param(req, "before", &q->before)) < 0 ||
        (q->has_after = read_pos_param(req, "after", &q->after)) < 0 ||
        around_param(req, q) < 0) {
        free(q);
        return;
    }
    read_dispatch(q);
}
