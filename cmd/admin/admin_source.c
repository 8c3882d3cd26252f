/* Where replayed events come from: the archive for what Kafka's retention
 * dropped, Kafka for the rest; both feed one batch that
 * projector_batch_apply writes. */
#include "admin_replay.h"
#include "pl_archive_object.h"
#include "pl_kafka.h"
#include "pl_num.h"
#include "pl_pg.h"
#include "pl_segment.h"
#include "pl_time.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KAFKA_IDLE_MS 30000

int admin_replay_open(admin_replay *r, const admin_ctx *ctx, int fence)
{
    static const char *const settings[][2] = {
        {"group.id", "parley-admin-replay"}, /* required by the consumer; never joined */
        {"enable.auto.commit", "false"},
        {"enable.partition.eof", "true"},
        {"isolation.level", "read_committed"},
        {"auto.offset.reset", "error"}, /* a range gone mid-replay must fail, not skip */
    };
    rd_kafka_conf_t *conf = NULL;
    char err[512];
    int rc;

    *r = (admin_replay){.ctx = ctx, .fence = fence, .min_ts = -1, .max = (int)ctx->batch};
    r->evs = calloc((size_t)r->max, sizeof(*r->evs));
    r->msgs = calloc((size_t)r->max, sizeof(*r->msgs));
    r->copies = calloc((size_t)r->max, sizeof(*r->copies));
    r->keys = calloc((size_t)r->max, sizeof(*r->keys));
    rc = r->evs && r->msgs && r->copies && r->keys ? 0 : -ENOMEM;
    if (!rc)
        rc = pl_kafka_conf_new(&conf, ctx->brokers, "parley-admin", err, sizeof(err));
    for (size_t i = 0; !rc && i < sizeof(settings) / sizeof(settings[0]); i++)
        rc = pl_kafka_conf_set(conf, settings[i][0], settings[i][1], err, sizeof(err));
    if (!rc && !(r->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err))))
        rc = -EIO;
    if (rc) {
        if (conf && !r->rk)
            rd_kafka_conf_destroy(conf);
        fprintf(stderr, "parley-admin: kafka: %s\n", rc == -ENOMEM ? "out of memory" : err);
        return -EIO;
    }
    rd_kafka_poll_set_consumer(r->rk);
    return 0;
}

/* Lets go of the pending batch's bytes. */
static void batch_release(admin_replay *r)
{
    for (int i = 0; i < r->n; i++) {
        if (r->msgs[i])
            rd_kafka_message_destroy(r->msgs[i]);
        free(r->copies[i]);
        r->msgs[i] = NULL, r->copies[i] = NULL;
    }
    r->n = 0;
}

void admin_replay_close(admin_replay *r)
{
    if (r->msgs && r->copies)
        batch_release(r);
    if (r->rk) {
        rd_kafka_consumer_close(r->rk);
        rd_kafka_destroy(r->rk);
    }
    pl_store_free(r->store);
    free(r->evs);
    free(r->msgs);
    free(r->copies);
    free(r->keys);
    r->rk = NULL, r->store = NULL, r->evs = NULL, r->msgs = NULL;
    r->copies = NULL, r->keys = NULL;
}

int admin_replay_partitions(admin_replay *r)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *t = rd_kafka_topic_new(r->rk, r->ctx->topic, NULL);
    int n = -EIO;

    if (t && rd_kafka_metadata(r->rk, 0, t, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
        n = md->topics[0].partition_cnt;
    if (md)
        rd_kafka_metadata_destroy(md);
    if (t)
        rd_kafka_topic_destroy(t);
    if (n < 0 || n > PROJECTOR_MAX_PARTITIONS) {
        fprintf(stderr, "parley-admin: no metadata for topic %s\n", r->ctx->topic);
        return -EIO;
    }
    return n;
}

/* Applies the pending batch, in its own transaction unless in_txn. */
static int flush(admin_replay *r)
{
    projector_batch_stats st = {0};
    PGconn *pg = r->ctx->pg;
    int rc;

    if (r->n == 0)
        return 0;
    rc = r->in_txn ? 0 : pl_pg_cmd(pg, "BEGIN");

    if (!rc)
        rc = projector_batch_apply(pg, r->ctx->topic, r->evs, r->n, r->fence, &st);
    if (!r->in_txn && !rc)
        rc = pl_pg_cmd(pg, "COMMIT") ? -EIO : 0;
    if (rc) {
        fprintf(stderr, "parley-admin: applying a batch failed: %s", PQerrorMessage(pg));
        if (!r->in_txn)
            pl_pg_cmd(pg, "ROLLBACK");
    }
    r->total.applied += st.applied, r->total.rejected += st.rejected;
    r->total.skipped += st.skipped;
    batch_release(r);
    return rc;
}

/* Queues one event (msg owns its bytes, or NULL); flushes when full. */
static int push(admin_replay *r, projector_event ev, rd_kafka_message_t *msg)
{
    r->evs[r->n] = ev;
    r->msgs[r->n++] = msg;
    return r->n == r->max ? flush(r) : 0;
}

typedef struct seg_read {
    admin_replay *r;
    int32_t partition;
    int64_t from, to;
    const pl_buf *raw; /* the decompressed segment the batch may point into */
} seg_read;

/* The parser's key and a decoded "raw" value live only for the callback;
 * an event's JSON is inside the segment, which outlives the batch. */
static int on_archived(void *arg, int64_t o, int64_t ts, const char *k, const char *e,
                       size_t n)
{
    seg_read *s = arg;
    admin_replay *r = s->r;
    char *copy = NULL;

    if (o < s->from || o >= s->to || ts < r->min_ts)
        return 0;
    if (e < s->raw->data || e + n > s->raw->data + s->raw->len) {
        if (!(copy = malloc(n ? n : 1)))
            return -ENOMEM;
        memcpy(copy, e, n);
        e = copy;
    }
    snprintf(r->keys[r->n], ADMIN_KEY_MAX, "%s", k);
    r->copies[r->n] = copy;
    r->from_archive++;
    return push(r, (projector_event){.partition = s->partition, .offset = o,
                                     .key = r->keys[r->n], .key_len = strlen(r->keys[r->n]),
                                     .payload = e, .len = n},
                NULL);
}

/* One catalogued segment, checked against its recorded hash first. */
static int archive_segment(seg_read *s, const char *key, const char *sha)
{
    pl_segment_header h;
    pl_buf raw;
    int rc = pl_archive_object_load(s->r->store, key, sha, &raw);

    s->raw = &raw;
    if (!rc && pl_segment_parse(raw.data, raw.len, &h, on_archived, s) != 0)
        rc = -EINVAL;
    if (rc == -EBADMSG)
        fprintf(stderr, "parley-admin: archive segment %s does not match its recorded "
                "sha256 (run parley-admin archive verify)\n", key);
    else if (rc == -EINVAL)
        fprintf(stderr, "parley-admin: archive segment %s is corrupt\n", key);
    else if (rc)
        fprintf(stderr, "parley-admin: archive segment %s cannot be read\n", key);
    else
        rc = flush(s->r); /* the batch points into raw */
    pl_buf_free(&raw);
    return rc;
}

/* [from, to) of partition p from the archive; it must cover all of it. */
static int archive_range(admin_replay *r, int32_t p, int64_t from, int64_t to)
{
    char part[16], lo[24], hi[24];
    const char *params[4] = {r->ctx->topic, part, lo, hi};
    seg_read s = {.r = r, .partition = p, .from = from, .to = to};
    PGresult *res = NULL;
    long long expect = from;
    int rc = 0;

    snprintf(part, sizeof(part), "%" PRId32, p);
    snprintf(lo, sizeof(lo), "%" PRId64, from);
    snprintf(hi, sizeof(hi), "%" PRId64, to);
    if (!r->store && pl_store_fs_new(&r->store, r->ctx->archive_dir) != 0)
        rc = -EIO;
    if (!rc)
        rc = pl_pg_exec(r->ctx->pg, &res, NULL, 0,
                        "SELECT range_start, range_end, store_key, sha256 FROM archive.segments"
                        " WHERE topic = $1 AND partition = $2 AND range_end > $3"
                        " AND range_start < $4 ORDER BY range_start", 4, params);
    for (int i = 0; !rc && i < PQntuples(res); i++) {
        long long start, end;
        pl_num_parse_ll(PQgetvalue(res, i, 0), 0, INT64_MAX, &start);
        pl_num_parse_ll(PQgetvalue(res, i, 1), 0, INT64_MAX, &end);
        if (start > expect)
            break;
        rc = archive_segment(&s, PQgetvalue(res, i, 2), PQgetvalue(res, i, 3));
        expect = end;
    }
    PQclear(res);
    if (!rc && expect < to) {
        fprintf(stderr, "parley-admin: partition %" PRId32 ": Kafka no longer holds offsets"
                " [%lld, %" PRId64 ") and the archive does not have them\n", p, expect, to);
        rc = -ENOENT;
    }
    return rc;
}

/* [from, to) of partition p from Kafka. */
static int kafka_range(admin_replay *r, int32_t p, int64_t from, int64_t to)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    int64_t next = from, idle_until = pl_time_mono_ms() + KAFKA_IDLE_MS;
    int rc = 0;

    rd_kafka_topic_partition_list_add(l, r->ctx->topic, p)->offset = from;
    if (rd_kafka_assign(r->rk, l) != RD_KAFKA_RESP_ERR_NO_ERROR)
        rc = -EIO;
    rd_kafka_topic_partition_list_destroy(l);
    while (!rc && next < to) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(r->rk, 500);
        if (!m) {
            if (pl_time_mono_ms() > idle_until)
                rc = -ETIMEDOUT;
            continue;
        }
        idle_until = pl_time_mono_ms() + KAFKA_IDLE_MS;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            next = m->offset >= to ? to : next; /* transaction markers leave gaps */
            rd_kafka_message_destroy(m);
        } else if (m->err) {
            fprintf(stderr, "parley-admin: kafka: %s\n", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            rc = -EIO;
        } else if (m->offset >= to) {
            next = to;
            rd_kafka_message_destroy(m);
        } else {
            next = m->offset + 1;
            r->from_kafka++;
            rc = push(r, (projector_event){.partition = p, .offset = m->offset,
                                           .key = m->key, .key_len = m->key_len,
                                           .payload = m->payload, .len = m->len}, m);
        }
    }
    if (rc == -ETIMEDOUT)
        fprintf(stderr, "parley-admin: partition %" PRId32 ": Kafka sent nothing for %d s"
                " at offset %" PRId64 "\n", p, KAFKA_IDLE_MS / 1000, next);
    if (!rc)
        rc = flush(r);
    rd_kafka_assign(r->rk, NULL);
    return rc;
}

int admin_replay_range(admin_replay *r, int32_t p, int64_t from, int64_t to)
{
    int64_t lo = 0, hi = 0;
    int rc = 0;

    if (from >= to)
        return 0;
    if (rd_kafka_query_watermark_offsets(r->rk, r->ctx->topic, p, &lo, &hi, 10000) !=
        RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "parley-admin: no watermarks for partition %" PRId32 "\n", p);
        return -EIO;
    }
    if (from < lo) { /* retention dropped these: the archive has them */
        rc = archive_range(r, p, from, to < lo ? to : lo);
        from = lo;
    }
    if (!rc && from < to)
        rc = kafka_range(r, p, from, to);
    return rc;
}

int admin_offsets_read(PGconn *pg, const char *schema, const char *topic, int64_t *next,
                       int nparts)
{
    const char *p[2] = {schema, topic};
    PGresult *res = NULL;
    int exists, rc;

    for (int i = 0; i < nparts; i++)
        next[i] = 0;
    rc = pl_pg_exec(pg, &res, NULL, 0,
                    "SELECT to_regclass(quote_ident($1) || '.offsets') IS NOT NULL", 1, p);
    exists = !rc && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    res = NULL;
    if (rc || !exists)
        return rc ? rc : 0;
    /* The schema name is one of ours, never input; quote it all the same. */
    char *id = PQescapeIdentifier(pg, schema, strlen(schema));
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT partition, next_offset FROM %s.offsets WHERE topic = $1",
             id ? id : "\"\"");
    PQfreemem(id);
    rc = pl_pg_exec(pg, &res, NULL, 0, sql, 1, p + 1);
    for (int i = 0; !rc && i < PQntuples(res); i++) {
        long long part, off;
        if (pl_num_parse_ll(PQgetvalue(res, i, 0), 0, nparts - 1, &part) == 0 &&
            pl_num_parse_ll(PQgetvalue(res, i, 1), 0, INT64_MAX, &off) == 0)
            next[part] = off;
    }
    PQclear(res);
    return rc ? rc : 1;
}
