/* Tiering: moves a conversation's oldest hot messages into a history
 * snapshot once they are older than the retention policy AND the
 * archiver has durably archived their offsets.
 *
 * One batch is one short transaction: lock the batch's rows (FOR UPDATE:
 * only these old rows, so new writes never wait), fold their final state
 * into snapshot lines, store the snapshot durably, catalog it with its
 * search rows, delete the hot rows, commit. A projector edit or reaction
 * that races the batch waits for those row locks and then finds no row,
 * exactly as for a message that never existed. A crash before commit
 * leaves an uncatalogued object that the next batch of that range
 * replaces (its key is the conversation and first offset).
 *
 * Only a prefix of the conversation moves, oldest first, so every cold
 * offset lies below every hot one: max(last_offset) of its snapshots
 * splits a conversation's history, which is how reads cross tiers. */
#include "archive_jobs.h"
#include "archiver.h"
#include "pl_log.h"
#include "pl_num.h"
#include "pl_pg.h"
#include "pl_archive_read.h"
#include "pl_archive_tiered.h"
#include "pl_snapshot.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONVS_PER_PASS 200

/* The message as pl_snapshot.h stores it, built by Postgres. */
#define STORED_MESSAGE                                                               \
    "json_build_object('id', m.id, 'conversation_id', m.conversation_id,"           \
    " 'client_msg_id', m.client_msg_id, 'sender_id', m.sender_id,"                  \
    " 'text', CASE WHEN m.deleted_at IS NULL THEN m.text ELSE '' END,"              \
    " 'created_ms', (extract(epoch from m.created_at)*1000)::bigint,"               \
    " 'partition', m.partition, 'offset', m.\"offset\","                            \
    " 'edited_ms', (extract(epoch from m.edited_at)*1000)::bigint,"                 \
    " 'deleted_ms', (extract(epoch from m.deleted_at)*1000)::bigint,"               \
    " 'reply_to', m.reply_to,"                                                      \
    " 'quoted', (SELECT json_build_object('id', q.id, 'sender_id', q.sender_id,"    \
    "  'text', CASE WHEN q.deleted_at IS NULL THEN q.text ELSE '' END,"             \
    "  'deleted', q.deleted_at IS NOT NULL)"                                        \
    "  FROM history.messages q WHERE q.id = m.reply_to),"                           \
    " 'mentions', coalesce((SELECT json_agg(x.user_id ORDER BY x.user_id)"          \
    "  FROM history.mentions x WHERE x.message_id = m.id), '[]'),"                  \
    " 'reactions', coalesce((SELECT json_agg(json_build_object('emoji', g.emoji,"    \
    "  'users', g.users) ORDER BY g.first, g.emoji) FROM (SELECT r.emoji,"          \
    "  json_agg(r.user_id ORDER BY r.\"offset\", r.user_id) AS users,"              \
    "  min(r.\"offset\") AS first FROM history.reactions r"                         \
    "  WHERE r.message_id = m.id GROUP BY r.emoji) g), '[]'),"                      \
    " 'attachments', coalesce((SELECT json_agg(json_strip_nulls(json_build_object(" \
    "  'id', a.attachment_id, 'content_type', a.content_type, 'size', a.size,"     \
    "  'width', a.width, 'height', a.height, 'filename', a.filename))"              \
    "  ORDER BY a.ord) FROM history.message_attachments a"                          \
    "  WHERE a.message_id = m.id), '[]'))::text"

typedef struct batch {
    const char *conv;
    char part[16];
    int64_t first, last, t0, t1, count;
    char key[64];
    char hash[PL_SEGMENT_HASH_HEX];
    pl_buf out;
    size_t raw;
} batch;

/* Locks and reads the batch: the oldest hot messages that are older than
 * the conversation's hot window and below both the partition's archived
 * end and its projected end (a message the projector has yet to store
 * must not fall under the edge, where reads would never look for it). */
static int batch_select(PGconn *pg, const char *topic, const archive_policy *pol, batch *b,
                        PGresult **res)
{
    char hot[24], lim[24];
    const char *p[5] = {b->conv, topic, b->part, hot, lim};

    snprintf(hot, sizeof(hot), "%lld", pol->hot_s);
    snprintf(lim, sizeof(lim), "%lld", pol->batch);
    return pl_pg_exec(pg, res, NULL, 0,
        "WITH edge AS ("
        " SELECT least(o.next_offset, h.next_offset, coalesce((SELECT min(y.\"offset\")"
        "  FROM history.messages y WHERE y.conversation_id = $1"
        "  AND y.created_at >= now() - make_interval(secs => coalesce("
        "   (SELECT hot_seconds FROM archive.policies WHERE conversation_id = $1),"
        "   $4::bigint))), o.next_offset)) AS hi"
        " FROM archive.offsets o JOIN history.offsets h USING (topic, partition)"
        " WHERE o.topic = $2 AND o.partition = $3::int)"
        " SELECT m.\"offset\", (extract(epoch from m.created_at)*1000)::bigint, "
        STORED_MESSAGE ", m.reply_to, m.reply_to IS NOT NULL AND NOT EXISTS"
        "  (SELECT 1 FROM history.messages q WHERE q.id = m.reply_to)"
        " FROM history.messages m, edge WHERE m.conversation_id = $1"
        " AND m.\"offset\" < edge.hi ORDER BY m.\"offset\" LIMIT $5::int FOR UPDATE OF m",
        5, p) ? -EIO : 0;
}

/* A reply to a message tiered earlier: Postgres found no quote, so take
 * it from that message's snapshot. out gets the patched message JSON. */
static int quote_cold(PGconn *pg, pl_store *store, const char *conv, const char *reply_to,
                      const char *json, pl_buf *out)
{
    static const char nothing[] = "\"quoted\" : null";
    const char *at = strstr(json, nothing);
    yajl_val q = NULL;
    char *quoted = NULL;
    size_t n = 0;
    pl_jw w;
    int r = pl_archive_lookup(pg, store, conv, reply_to, &q);

    pl_buf_reset(out);
    if (r == -ENOENT || !at) /* purged meanwhile: the quote stays null */
        return pl_buf_puts(out, json) ? -ENOMEM : 0;
    if (r == 0 && (r = pl_jw_init(&w)) == 0) {
        pl_jw_obj(&w); /* a writer needs a container; the key is ours */
        pl_jw_key(&w, "quoted");
        pl_archive_quoted_write(&w, q);
        pl_jw_end_obj(&w);
        r = pl_jw_finish(&w, &quoted, &n);
    }
    /* {"quoted":{...}} -> "quoted":{...} */
    if (r == 0 && (pl_buf_append(out, json, (size_t)(at - json)) ||
                   pl_buf_append(out, quoted + 1, n - 2) ||
                   pl_buf_puts(out, at + sizeof(nothing) - 1)))
        r = -ENOMEM;
    free(quoted);
    yajl_tree_free(q);
    return r;
}

static int batch_encode(PGconn *pg, pl_store *store, batch *b, const PGresult *res)
{
    pl_snapshot_header h = {.partition = 0};
    long long v;
    pl_buf lines, patched;
    int n = PQntuples(res), r = 0;

    pl_buf_init(&lines, PL_SEGMENT_MAX_RAW / 2);
    pl_buf_init(&patched, PL_SEGMENT_MAX_RAW / 2);
    for (int i = 0; i < n && !r; i++) {
        int64_t o = pl_num_parse_ll(PQgetvalue(res, i, 0), 0, INT64_MAX, &v) ? -1 : v;
        int64_t t = pl_num_parse_ll(PQgetvalue(res, i, 1), 0, INT64_MAX, &v) ? 0 : v;
        const char *json = PQgetvalue(res, i, 2);
        size_t len = (size_t)PQgetlength(res, i, 2);
        if (PQgetvalue(res, i, 4)[0] == 't') {
            r = quote_cold(pg, store, b->conv, PQgetvalue(res, i, 3), json, &patched);
            json = patched.data;
            len = patched.len;
        }
        r = r ? r : o < 0 ? -EINVAL : pl_snapshot_line(&lines, o, json, len);
        if (i == 0) {
            b->first = o;
            b->t0 = t;
        }
        b->last = o;
        b->t1 = t > b->t1 ? t : b->t1;
    }
    b->count = n;
    b->raw = lines.len;
    snprintf(h.conversation_id, sizeof(h.conversation_id), "%s", b->conv);
    h.partition = (int32_t)strtol(b->part, NULL, 10);
    h.first = b->first;
    h.last = b->last;
    h.count = n;
    if (!r)
        r = pl_snapshot_encode(&h, &lines, &b->out, b->hash);
    snprintf(b->key, sizeof(b->key), "h-%s-%020" PRId64, b->conv, b->first);
    pl_buf_free(&lines);
    pl_buf_free(&patched);
    return r;
}

/* Catalogs the snapshot and its search rows, then deletes the hot rows
 * (children first: they reference the messages). */
static int batch_catalog(PGconn *pg, const batch *b)
{
    char first[24], last[24], t0[24], t1[24], count[24], bytes[24], raw[24];
    const char *p[11] = {b->conv, b->part, first, last, t0, t1, count, b->key, b->hash,
                         bytes, raw};
    PGresult *res = NULL;
    int r;

    snprintf(first, sizeof(first), "%" PRId64, b->first);
    snprintf(last, sizeof(last), "%" PRId64, b->last);
    snprintf(t0, sizeof(t0), "%" PRId64, b->t0);
    snprintf(t1, sizeof(t1), "%" PRId64, b->t1);
    snprintf(count, sizeof(count), "%" PRId64, b->count);
    snprintf(bytes, sizeof(bytes), "%zu", b->out.len);
    snprintf(raw, sizeof(raw), "%zu", b->raw);
    r = pl_pg_exec(pg, &res, NULL, 0,
        "WITH snap AS ("
        " INSERT INTO archive.snapshots (conversation_id, partition, first_offset,"
        "  last_offset, first_at, last_at, message_count, store_key, sha256, bytes,"
        "  raw_bytes)"
        " VALUES ($1, $2, $3, $4, to_timestamp($5::bigint / 1000.0),"
        "  to_timestamp($6::bigint / 1000.0), $7, $8, $9, $10, $11) RETURNING id),"
        " idx AS ("
        " INSERT INTO archive.search (message_id, conversation_id, \"offset\", snapshot_id,"
        "  deleted, search)"
        " SELECT m.id, m.conversation_id, m.\"offset\", snap.id, m.deleted_at IS NOT NULL,"
        "  CASE WHEN m.deleted_at IS NULL THEN m.search ELSE ''::tsvector END"
        " FROM snap, history.messages m WHERE m.conversation_id = $1"
        " AND m.\"offset\" BETWEEN $3::bigint AND $4::bigint RETURNING message_id)"
        " INSERT INTO archive.attachments (attachment_id, conversation_id, message_id)"
        " SELECT a.attachment_id, a.conversation_id, a.message_id"
        " FROM history.message_attachments a JOIN idx ON idx.message_id = a.message_id",
        11, p);
    PQclear(res);
    if (r)
        return -EIO;
    /* The snapshot row is in: its rows are now at or below the edge. */
    return pl_archive_drop_tiered(pg, "history", b->conv);
}

/* One batch of conv: the number of messages tiered, 0 when nothing is
 * due, negative on error (rolled back). */
static int tier_batch(PGconn *pg, pl_store *store, const char *topic,
                      const archive_policy *pol, const char *conv, const char *part)
{
    batch b = {.conv = conv};
    PGresult *res = NULL;
    int r;

    snprintf(b.part, sizeof(b.part), "%s", part);
    pl_buf_init(&b.out, 1);
    if (pl_pg_cmd(pg, "BEGIN"))
        return -EIO;
    /* Rows a rebuild brought back below the edge: never snapshot twice. */
    r = pl_archive_drop_tiered(pg, "history", conv) ? -EIO : 0;
    if (r == 0)
        r = batch_select(pg, topic, pol, &b, &res);
    if (r == 0 && PQntuples(res) > 0)
        r = batch_encode(pg, store, &b, res);
    if (r == 0 && b.count > 0)
        r = archiver_store_put(store, b.key, &b.out);
    if (r == 0 && b.count > 0)
        r = batch_catalog(pg, &b);
    if (r == 0 && pl_pg_cmd(pg, "COMMIT"))
        r = -EIO;
    if (r)
        pl_pg_cmd(pg, "ROLLBACK");
    else if (b.count > 0)
        pl_info("tiered", "conversation=%s offsets=%" PRId64 "-%" PRId64 " messages=%" PRId64
                " key=%s bytes=%zu raw=%zu", conv, b.first, b.last, b.count, b.key,
                b.out.len, b.raw);
    PQclear(res);
    pl_buf_free(&b.out);
    return r ? r : (int)b.count;
}

/* Conversations whose oldest hot message is due and archived, or already
 * in a snapshot (brought back by a rebuild). */
static int candidates(PGconn *pg, const char *topic, const archive_policy *pol,
                      PGresult **res)
{
    char hot[24], lim[16];
    const char *p[3] = {topic, hot, lim};

    snprintf(hot, sizeof(hot), "%lld", pol->hot_s);
    snprintf(lim, sizeof(lim), "%d", CONVS_PER_PASS);
    return pl_pg_exec(pg, res, NULL, 0,
        "SELECT c.id, c.partition FROM history.conversations c"
        " JOIN archive.offsets o ON o.topic = $1 AND o.partition = c.partition"
        " LEFT JOIN archive.policies p ON p.conversation_id = c.id"
        " CROSS JOIN LATERAL (SELECT m.\"offset\", m.created_at FROM history.messages m"
        "  WHERE m.conversation_id = c.id ORDER BY m.\"offset\" LIMIT 1) f"
        " WHERE f.\"offset\" < o.next_offset"
        " AND (f.created_at < now() - make_interval(secs => coalesce(p.hot_seconds, $2::bigint))"
        "  OR f.\"offset\" <= (SELECT max(s.last_offset) FROM archive.snapshots s"
        "                      WHERE s.conversation_id = c.id))"
        " LIMIT $3::int",
        3, p) ? -EIO : 0;
}

int archive_tier_pass(PGconn *pg, pl_store *store, const char *topic,
                      const archive_policy *pol, const atomic_int *stop)
{
    PGresult *res = NULL;
    int total = 0, r = candidates(pg, topic, pol, &res);

    for (int i = 0; r == 0 && i < PQntuples(res) && !atomic_load(stop); i++) {
        int n;
        while ((n = tier_batch(pg, store, topic, pol, PQgetvalue(res, i, 0),
                               PQgetvalue(res, i, 1))) > 0) {
            total += n;
            if (atomic_load(stop))
                break;
        }
        if (n < 0) {
            pl_warn("tier_failed", "conversation=%s result=%d", PQgetvalue(res, i, 0), n);
            r = n;
        }
    }
    PQclear(res);
    return r ? r : total;
}
