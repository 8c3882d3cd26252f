/* parley-admin archive verify, second half: every catalogued history
 * snapshot (the cold tier of history) must hash to its recorded SHA-256,
 * decode to the conversation, partition and offset range the catalog
 * says, and no two snapshots of a conversation may hold the same offset. */
#include "admin.h"
#include "pl_archive_object.h"
#include "pl_num.h"
#include "pl_pg.h"
#include "pl_snapshot.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

typedef struct snap_lines {
    int64_t first, last, prev, count;
    int bad;
} snap_lines;

static int on_line(void *arg, int64_t o, const char *msg, size_t len)
{
    snap_lines *l = arg;

    (void)msg, (void)len;
    if (o < l->first || o > l->last || o <= l->prev)
        l->bad = 1;
    l->prev = o;
    l->count++;
    return 0;
}

/* 1 if key's catalog row is gone (purged while we walked). */
static int snapshot_purged(PGconn *pg, const char *key)
{
    PGresult *res = NULL;
    int gone = pl_pg_exec(pg, &res, NULL, 0,
                          "SELECT 1 FROM archive.snapshots WHERE store_key = $1", 1,
                          &key) == 0 && PQntuples(res) == 0;
    PQclear(res);
    return gone;
}

/* Row i: conversation_id, partition, first, last, count, store_key, sha256.
 * Counts a problem in *problems when the snapshot is not what it says. */
static void verify_snapshot(PGconn *pg, pl_store *store, PGresult *res, int i, long *problems)
{
    const char *conv = PQgetvalue(res, i, 0), *key = PQgetvalue(res, i, 5);
    long long part = -1, first = -1, last = -1, count = -1;
    pl_snapshot_header h;
    snap_lines l;
    pl_buf raw;
    int r;

    pl_num_parse_ll(PQgetvalue(res, i, 1), 0, INT32_MAX, &part);
    pl_num_parse_ll(PQgetvalue(res, i, 2), 0, INT64_MAX, &first);
    pl_num_parse_ll(PQgetvalue(res, i, 3), 0, INT64_MAX, &last);
    pl_num_parse_ll(PQgetvalue(res, i, 4), 0, INT64_MAX, &count);
    l = (snap_lines){.first = first, .last = last, .prev = -1};
    r = pl_archive_object_load(store, key, PQgetvalue(res, i, 6), &raw);
    if (!r && (pl_snapshot_scan(raw.data, raw.len, &h, on_line, &l) != 0 || l.bad ||
               strcmp(h.conversation_id, conv) != 0 || h.partition != part ||
               h.first != first || h.last != last || h.count != count || l.count != count))
        r = -EINVAL;
    pl_buf_free(&raw);
    if (!r || (r == -ENOENT && snapshot_purged(pg, key)))
        return;
    if (r == -EBADMSG)
        admin_problem(problems, "tampered: snapshot %s does not hash to its recorded sha256",
                      key);
    else if (r == -EINVAL)
        admin_problem(problems, "corrupt: snapshot %s does not decode to what the catalog "
                      "says", key);
    else
        admin_problem(problems, "missing: snapshot %s cannot be read (%s)", key, strerror(-r));
}

long admin_verify_snapshots(PGconn *pg, pl_store *store, long *snapshots, long *messages)
{
    PGresult *res = NULL;
    long problems = 0;

    if (pl_pg_exec(pg, &res, NULL, 0,
                   "SELECT conversation_id, partition, first_offset, last_offset,"
                   " message_count, store_key, sha256,"
                   " lag(last_offset) OVER w >= first_offset, lag(store_key) OVER w"
                   " FROM archive.snapshots"
                   " WINDOW w AS (PARTITION BY conversation_id ORDER BY first_offset)"
                   " ORDER BY conversation_id, first_offset", 0, NULL) != 0) {
        fprintf(stderr, "parley-admin: cannot read the snapshot catalog\n");
        return -1;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        long long count = 0;
        if (strcmp(PQgetvalue(res, i, 7), "t") == 0)
            admin_problem(&problems, "overlap: snapshots %s and %s of conversation %s share "
                          "offsets", PQgetvalue(res, i, 8), PQgetvalue(res, i, 5),
                          PQgetvalue(res, i, 0));
        verify_snapshot(pg, store, res, i, &problems);
        pl_num_parse_ll(PQgetvalue(res, i, 4), 0, INT64_MAX, &count);
        (*snapshots)++;
        *messages += count;
    }
    PQclear(res);
    return problems;
}
