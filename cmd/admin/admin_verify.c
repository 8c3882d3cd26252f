/* parley-admin archive verify: walks every partition's segment chain and
 * reports each tampered segment, broken link, gap or missing range by
 * name, then every history snapshot (admin_snapshots.c). Exit 0 when the
 * archive is whole, 1 when anything is wrong. */
#include "admin.h"
#include "pl_archive_object.h"
#include "pl_num.h"
#include "pl_pg.h"
#include "pl_segment.h"
#include "pl_store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct walk {
    int32_t partition;
    int64_t end; /* previous segment's range_end, -1 before the first */
    char hash[PL_SEGMENT_HASH_HEX];
    long problems, segments, events;
} walk;

static int count_event(void *arg, int64_t o, int64_t ts, const char *k, const char *e,
                       size_t n)
{
    (void)o, (void)ts, (void)k, (void)e, (void)n;
    (*(int64_t *)arg)++;
    return 0;
}

/* Checks one catalog row against its stored bytes and its predecessor. */
static void verify_segment(walk *w, pl_store *store, PGresult *res, int i)
{
    const char *key = PQgetvalue(res, i, 3), *sha = PQgetvalue(res, i, 4);
    const char *prev = PQgetvalue(res, i, 5);
    long long start, end, count;
    pl_segment_header h;
    int64_t seen = 0;
    pl_buf raw;
    int r;

    pl_num_parse_ll(PQgetvalue(res, i, 1), 0, INT64_MAX, &start);
    pl_num_parse_ll(PQgetvalue(res, i, 2), 0, INT64_MAX, &end);
    pl_num_parse_ll(PQgetvalue(res, i, 6), 0, INT64_MAX, &count);
    w->segments++;
    if (w->end >= 0 && start != w->end)
        admin_problem(&w->problems, "gap: partition %d has nothing for [%" PRId64 ", %lld) "
                      "before segment %s", w->partition, w->end, start, key);
    if (strcmp(prev, w->hash) != 0)
        admin_problem(&w->problems, "chain: segment %s names predecessor %.12s… but the "
                      "previous segment is %.12s…", key, prev, w->hash[0] ? w->hash : "(none)");
    w->end = end;
    snprintf(w->hash, sizeof(w->hash), "%s", sha);
    r = pl_archive_object_load(store, key, sha, &raw);
    if (!r && (pl_segment_parse(raw.data, raw.len, &h, count_event, &seen) != 0 ||
               h.partition != w->partition || h.start != start || h.end != end ||
               h.count != count || seen != count || strcmp(h.prev_hash, prev) != 0))
        r = -EINVAL;
    pl_buf_free(&raw);
    if (r == -EBADMSG)
        admin_problem(&w->problems, "tampered: segment %s does not hash to its recorded "
                      "sha256 %.12s…", key, sha);
    else if (r == -EINVAL)
        admin_problem(&w->problems, "corrupt: segment %s does not decode to what the "
                      "catalog says", key);
    else if (r)
        admin_problem(&w->problems, "missing: segment %s cannot be read (%s)", key,
                      strerror(-r));
    else
        w->events += seen;
}

/* The archive's recorded end must be the last segment's end. */
static void verify_end(walk *w, PGconn *pg, const char *topic)
{
    char part[16];
    const char *p[2] = {topic, part};
    PGresult *res = NULL;
    long long next;

    snprintf(part, sizeof(part), "%d", (int)w->partition);
    if (pl_pg_exec(pg, &res, NULL, 0,
                   "SELECT next_offset FROM archive.offsets WHERE topic=$1 AND partition=$2",
                   2, p) == 0 && PQntuples(res) == 1 &&
        pl_num_parse_ll(PQgetvalue(res, 0, 0), 0, INT64_MAX, &next) == 0 && next != w->end)
        admin_problem(&w->problems, "missing range: partition %d is recorded as archived "
                      "to %lld but its segments end at %" PRId64, w->partition, next, w->end);
    PQclear(res);
}

int admin_archive_verify(const admin_ctx *ctx)
{
    PGresult *res = NULL;
    pl_store *store = NULL;
    walk w = {.partition = -1};
    long problems = 0, segments = 0, events = 0, snapshots = 0, messages = 0, snap;
    int r;

    r = pl_store_fs_new(&store, ctx->archive_dir);
    if (!r)
        r = pl_pg_exec(ctx->pg, &res, NULL, 0,
                       "SELECT partition, range_start, range_end, store_key, sha256,"
                       " prev_sha256, event_count FROM archive.segments WHERE topic = $1"
                       " ORDER BY partition, range_start",
                       1, &ctx->topic);
    if (r) {
        fprintf(stderr, "parley-admin: cannot read the archive catalog or store\n");
        goto out;
    }
    for (int i = 0; i <= PQntuples(res); i++) {
        long long part = -1;
        if (i < PQntuples(res))
            pl_num_parse_ll(PQgetvalue(res, i, 0), 0, INT32_MAX, &part);
        if (part != w.partition) { /* a partition's chain ends here */
            if (w.partition >= 0) {
                verify_end(&w, ctx->pg, ctx->topic);
                problems += w.problems, segments += w.segments, events += w.events;
            }
            w = (walk){.partition = (int32_t)part, .end = -1};
        }
        if (i < PQntuples(res))
            verify_segment(&w, store, res, i);
    }
    snap = admin_verify_snapshots(ctx->pg, store, &snapshots, &messages);
    if (snap < 0) {
        r = -EIO;
        goto out;
    }
    problems += snap;
    printf("archive verify: %ld segments, %ld events, %ld snapshots, %ld messages, "
           "%ld problem%s\n", segments, events, snapshots, messages, problems,
           problems == 1 ? "" : "s");
    r = problems ? 1 : 0;
out:
    PQclear(res);
    pl_store_free(store);
    return r < 0 ? 2 : r;
}
