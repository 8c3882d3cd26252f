/* The one place an export reads messages, across both tiers of history.
 * It writes every message with the read API's own writers
 * (pl_archive_message_write for snapshot lines, PL_HISTORY_MESSAGE_COLS_FOR
 * and pl_history_message_write_q for hot rows), so an export shows a
 * message exactly as GET .../messages does.
 *
 * The split is the read API's (cmd/read/read_tiers.c): W = the highest
 * snapshotted offset of the conversation; offsets <= W come from the
 * history snapshots, offsets > W from history.messages. The caller's
 * REPEATABLE READ transaction makes W, the catalog and the hot rows one
 * MVCC snapshot, and tiering catalogs a snapshot and deletes its rows in
 * one transaction, so every message comes exactly once. */
#include "export.h"
#include "pl_archive_read.h"
#include "pl_history.h"
#include "pl_num.h"
#include "pl_snapshot.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct reader {
    PGconn *pg;
    pl_store *archive;
    const char *conv, *viewer, *sender;
    export_msg_fn fn;
    void *arg;
    long long skipped;
} reader;

/* Hands the finished writer's text to the callback; w is released. */
static int emit(reader *rd, pl_jw *w, const char *sender, int cold)
{
    char *s = NULL;
    size_t n = 0;
    int r = pl_jw_finish(w, &s, &n);

    if (r == 0)
        r = rd->fn(rd->arg, s, n, sender, cold);
    free(s);
    return r;
}

/* W: -1 when nothing of conv is cold. */
static int cold_watermark(reader *rd, int64_t *w)
{
    PGresult *res = NULL;
    long long v = -1;
    int r = pl_pg_exec(rd->pg, &res, NULL, 0,
                       "SELECT coalesce(max(last_offset), -1) FROM archive.snapshots"
                       " WHERE conversation_id = $1",
                       1, &rd->conv) ? -EIO : 0;

    if (r == 0 && pl_num_parse_ll(PQgetvalue(res, 0, 0), -1, INT64_MAX, &v) != 0)
        r = -EIO;
    *w = v;
    PQclear(res);
    return r;
}

/* One snapshot line: filtered by sender, then written as the read API
 * writes it for the viewer. */
static int cold_one(reader *rd, const pl_archive_msg *m)
{
    char sender[PL_ID_LEN];
    yajl_val v = NULL;
    pl_jw w;
    int r = pl_snapshot_json(m->json, m->len, &v) ? -EBADMSG : 0;

    if (r == 0) {
        const char *s = pl_json_str(v, "sender_id");
        snprintf(sender, sizeof(sender), "%s", s ? s : "");
    }
    yajl_tree_free(v);
    if (r)
        return r;
    if (rd->sender && strcmp(sender, rd->sender) != 0) {
        rd->skipped++;
        return 0;
    }
    if ((r = pl_jw_init(&w)) != 0)
        return r;
    pl_archive_message_write(&w, m->json, m->len, rd->viewer);
    return emit(rd, &w, sender, 1);
}

/* Offsets in (-1, W], a page of snapshots at a time. */
static int cold_read(reader *rd, int64_t w)
{
    int64_t after = -1;
    size_t n;
    int r = 0;

    do {
        pl_archive_page page;
        pl_archive_page_init(&page);
        r = pl_archive_page_read(rd->pg, rd->archive, rd->conv, after, w + 1, 0, EXPORT_PAGE,
                                 &page);
        n = r ? 0 : page.n;
        for (size_t i = 0; i < n && !r; i++)
            r = cold_one(rd, &page.msgs[i]);
        if (n)
            after = page.msgs[n - 1].offset;
        pl_archive_page_free(&page);
    } while (!r && n > 0); /* a short page may only mean purged snapshots */
    return r;
}

/* A hot row; a reply whose target was tiered quotes it from its snapshot
 * (a purged target stays unquoted), as the read API does. */
static int hot_one(reader *rd, const PGresult *res, int row)
{
    yajl_val q = NULL;
    pl_jw w;
    int r = 0;

    if (!PQgetisnull(res, row, PL_HISTORY_COL_REPLY_TO) &&
        PQgetisnull(res, row, PL_HISTORY_COL_QUOTED_SENDER))
        r = pl_archive_lookup(rd->pg, rd->archive, rd->conv,
                              PQgetvalue(res, row, PL_HISTORY_COL_REPLY_TO), &q);
    if (r == -ENOENT)
        r = 0;
    if (r == 0)
        r = pl_jw_init(&w);
    if (r == 0) {
        pl_history_message_write_q(&w, res, row, 0, pl_archive_quoted_cb, q);
        r = emit(rd, &w, PQgetvalue(res, row, 3), 0);
    }
    yajl_tree_free(q);
    return r;
}

/* Offsets > W, with the message columns and then m."offset". */
static int hot_read(reader *rd, int64_t w)
{
    char a[24], lim[16];
    const char *p[5] = {rd->conv, a, lim, rd->viewer, rd->sender};
    int64_t after = w;
    int r = 0, n;

    snprintf(lim, sizeof(lim), "%d", EXPORT_PAGE);
    do {
        PGresult *res = NULL;
        snprintf(a, sizeof(a), "%" PRId64, after);
        r = pl_pg_exec(rd->pg, &res, NULL, 0,
                       "SELECT " PL_HISTORY_MESSAGE_COLS_FOR("$4") ", m.\"offset\""
                       " FROM history.messages m"
                       " WHERE m.conversation_id = $1 AND m.\"offset\" > $2::bigint"
                       " AND ($5::uuid IS NULL OR m.sender_id = $5::uuid)"
                       " ORDER BY m.\"offset\" LIMIT $3::int",
                       5, p) ? -EIO : 0;
        n = r ? 0 : PQntuples(res);
        for (int i = 0; i < n && !r; i++)
            r = hot_one(rd, res, i);
        if (n)
            after = atoll(PQgetvalue(res, n - 1, PL_HISTORY_MESSAGE_NCOLS));
        PQclear(res);
    } while (!r && n == EXPORT_PAGE);
    return r;
}

int export_read_messages(PGconn *pg, pl_store *archive, const char *conv, const char *viewer,
                         const char *sender, export_msg_fn fn, void *arg, long long *skipped)
{
    reader rd = {pg, archive, conv, viewer, sender, fn, arg, 0};
    int64_t w;
    int r = cold_watermark(&rd, &w);

    if (r == 0 && w >= 0)
        r = cold_read(&rd, w);
    if (r == 0)
        r = hot_read(&rd, w);
    if (skipped)
        *skipped = rd.skipped;
    return r;
}
