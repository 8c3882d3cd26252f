#include "read_tiers.h"
#include "pl_history.h"
#include "pl_num.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Column 0 is W (-1: nothing cold); a conversation with no hot rows in
 * range still gives one row, whose message columns are NULL. */
static int hot_fetch(PGconn *pg, const char *conv, const char *viewer, const tier_range *r,
                     PGresult **res)
{
    char before[24], after[24], limit[16];
    const char *p[5] = {conv, r->has_before ? before : NULL, r->has_after ? after : NULL,
                        limit, viewer};

    snprintf(before, sizeof(before), "%" PRId64, r->before);
    snprintf(after, sizeof(after), "%" PRId64, r->after);
    snprintf(limit, sizeof(limit), "%d", r->want);
#define HOT_PAGE(order)                                                                \
    "WITH w AS (SELECT coalesce(max(last_offset), -1) AS w FROM archive.snapshots"     \
    " WHERE conversation_id = $1)"                                                     \
    " SELECT w.w, x.* FROM w LEFT JOIN LATERAL ("                                      \
    " SELECT " PL_HISTORY_MESSAGE_COLS_FOR("$5") " FROM history.messages m"            \
    " WHERE m.conversation_id = $1 AND m.\"offset\" > w.w"                             \
    " AND ($2::bigint IS NULL OR m.\"offset\" < $2::bigint)"                           \
    " AND ($3::bigint IS NULL OR m.\"offset\" > $3::bigint)"                           \
    " ORDER BY m.\"offset\" " order " LIMIT $4::int) x ON true"
    return pl_pg_exec(pg, res, NULL, 0, r->backwards ? HOT_PAGE("DESC") : HOT_PAGE("ASC"), 5,
                      p) ? -EIO : 0;
#undef HOT_PAGE
}

static int items_add(tier_page *p, int hot_row, int cold_idx)
{
    tier_item *n = realloc(p->items, (size_t)(p->n + 1) * sizeof(*n));
    if (!n)
        return -ENOMEM;
    p->items = n;
    p->items[p->n++] = (tier_item){hot_row, cold_idx};
    return 0;
}

/* The cold part of the range: (lo, min(hi, W + 1)). */
static int cold_fetch(PGconn *pg, pl_store *store, const char *conv, const tier_range *r,
                      int64_t w, size_t want, tier_page *p)
{
    int64_t lo = r->has_after ? r->after : -1;
    int64_t hi = r->has_before && r->before <= w ? r->before : w + 1;

    if (w < 0 || want == 0 || lo + 1 >= hi)
        return 0;
    return pl_archive_page_read(pg, store, conv, lo, hi, r->backwards, want, &p->cold);
}

/* Hot replies whose target was tiered: fetch the targets from snapshots
 * now, while the connection is ours. A purged target stays unquoted. */
static int quotes_fetch(PGconn *pg, pl_store *store, const char *conv, tier_page *p, int nhot)
{
    int r = 0;

    if (nhot == 0 || !(p->quoted = calloc((size_t)nhot, sizeof(*p->quoted))))
        return nhot ? -ENOMEM : 0;
    for (int i = 0; i < nhot && (r == 0 || r == -ENOENT); i++)
        if (!PQgetisnull(p->hot, i, 1 + PL_HISTORY_COL_REPLY_TO) &&
            PQgetisnull(p->hot, i, 1 + PL_HISTORY_COL_QUOTED_SENDER))
            r = pl_archive_lookup(pg, store, conv,
                                  PQgetvalue(p->hot, i, 1 + PL_HISTORY_COL_REPLY_TO),
                                  &p->quoted[i]);
    return r == -ENOENT ? 0 : r;
}

int tier_page_fetch(PGconn *pg, pl_store *store, const char *conv, const char *viewer,
                    const tier_range *r, tier_page *p)
{
    long long w = -1;
    int nhot, rc;

    memset(p, 0, sizeof(*p));
    pl_archive_page_init(&p->cold);
    rc = hot_fetch(pg, conv, viewer, r, &p->hot);
    if (rc)
        return rc;
    pl_num_parse_ll(PQgetvalue(p->hot, 0, 0), -1, INT64_MAX, &w);
    nhot = PQgetisnull(p->hot, 0, 1) ? 0 : PQntuples(p->hot);
    p->nhot = nhot;
    rc = quotes_fetch(pg, store, conv, p, nhot);
    if (rc)
        return rc;
    /* Backwards: hot (newer) first, then cold; forwards the other way. */
    if (r->backwards) {
        rc = nhot < r->want ? cold_fetch(pg, store, conv, r, w, (size_t)(r->want - nhot), p)
                            : 0;
        for (int i = 0; !rc && i < nhot; i++)
            rc = items_add(p, i, -1);
        for (size_t i = 0; !rc && i < p->cold.n; i++)
            rc = items_add(p, -1, (int)i);
    } else {
        rc = cold_fetch(pg, store, conv, r, w, (size_t)r->want, p);
        for (size_t i = 0; !rc && i < p->cold.n; i++)
            rc = items_add(p, -1, (int)i);
        for (int i = 0; !rc && i < nhot && p->n < r->want; i++)
            rc = items_add(p, i, -1);
    }
    return rc;
}

int tier_message_offset(PGconn *pg, const char *conv, const char *mid, int64_t *offset)
{
    const char *p[2] = {conv, mid};
    PGresult *res = NULL;
    long long o;
    int r = pl_pg_exec(pg, &res, NULL, 0,
                       "SELECT \"offset\" FROM history.messages"
                       " WHERE id = $2 AND conversation_id = $1"
                       " UNION ALL SELECT \"offset\" FROM archive.search"
                       " WHERE message_id = $2 AND conversation_id = $1 LIMIT 1",
                       2, p) ? -EIO : 0;

    if (r == 0 && (PQntuples(res) != 1 ||
                   pl_num_parse_ll(PQgetvalue(res, 0, 0), 0, INT64_MAX, &o) != 0))
        r = -ESRCH;
    if (r == 0)
        *offset = o;
    PQclear(res);
    return r;
}

void tier_item_write(pl_jw *w, const tier_page *p, int i, const char *viewer)
{
    const tier_item *it = &p->items[i];

    if (it->hot_row >= 0) {
        pl_history_message_write_q(w, p->hot, it->hot_row, 1, pl_archive_quoted_cb,
                                   p->quoted[it->hot_row]);
    } else {
        const pl_archive_msg *m = &p->cold.msgs[it->cold_idx];
        pl_archive_message_write(w, m->json, m->len, viewer);
    }
}

void tier_page_free(tier_page *p)
{
    for (int i = 0; p->quoted && i < p->nhot; i++)
        yajl_tree_free(p->quoted[i]);
    free(p->quoted);
    PQclear(p->hot);
    pl_archive_page_free(&p->cold);
    free(p->items);
    memset(p, 0, sizeof(*p));
}
