#include "archiver.h"
#include "archive_catalog.h"
#include "pl_kafka.h"
#include "pl_log.h"
#include "pl_segment.h"
#include "pl_time.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PARTITIONS 1024
#define RETRY_BUDGET_MS 60000
#define RECOMMIT_EVERY_MS 2000

typedef struct part {
    int assigned;
    int64_t next;  /* the archive's end: the next offset to archive */
    int64_t start; /* where the open segment starts */
    char prev_hash[PL_SEGMENT_HASH_HEX];
    pl_segment_builder *b;
    int64_t opened_ms;
} part;

struct archiver {
    rd_kafka_t *rk;
    PGconn *pg;
    const pl_svc_common *c;
    pl_metrics *metrics;
    pl_store *store;
    archiver_limits lim;
    atomic_int pg_ok;
    int fatal;
    part parts[MAX_PARTITIONS];
};

static int pg_ready(archiver *a)
{
    if (a->pg && PQstatus(a->pg) == CONNECTION_OK)
        return 0;
    if (a->pg)
        PQfinish(a->pg);
    a->pg = pl_pg_connect(a->c->pg_dsn);
    atomic_store(&a->pg_ok, a->pg != NULL);
    return a->pg ? 0 : -EIO;
}

static void part_drop(part *p)
{
    pl_segment_builder_free(p->b);
    memset(p, 0, sizeof(*p));
}

/* Loads where each partition's archive ends and seeks there. */
static int assign_load(archiver *a, rd_kafka_topic_partition_list_t *parts)
{
    for (int i = 0; i < parts->cnt; i++) {
        int32_t n = parts->elems[i].partition;
        part *p;
        if (n < 0 || n >= MAX_PARTITIONS)
            return -ERANGE;
        p = &a->parts[n];
        part_drop(p);
        if (pg_ready(a) ||
            archive_catalog_position(a->pg, a->c->events_topic, n, &p->next, p->prev_hash))
            return -EIO;
        if (p->next < 0)
            p->next = 0;
        p->start = p->next;
        p->assigned = 1;
        parts->elems[i].offset = p->next;
    }
    return 0;
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    archiver *a = opaque;
    int64_t deadline = pl_time_mono_ms() + RETRY_BUDGET_MS;

    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        while (assign_load(a, parts) != 0) {
            if (pl_time_mono_ms() > deadline) {
                a->fatal = 1;
                return;
            }
            pl_warn("catalog_load", "msg=\"postgres unavailable, retrying\"");
            pl_time_sleep_ms(500);
        }
        rd_kafka_incremental_assign(rk, parts);
        pl_kafka_commit_assigned(rk, parts);
        pl_info("assigned", "partitions=%d", parts->cnt);
    } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        /* Unsealed events are dropped: the next owner re-reads them from
         * the archive's recorded end. */
        for (int i = 0; i < parts->cnt; i++)
            if (parts->elems[i].partition >= 0 && parts->elems[i].partition < MAX_PARTITIONS)
                part_drop(&a->parts[parts->elems[i].partition]);
        rd_kafka_incremental_unassign(rk, parts);
        pl_info("revoked", "partitions=%d", parts->cnt);
    } else {
        pl_error("rebalance", "msg=\"%s\"", rd_kafka_err2str(err));
        rd_kafka_assign(rk, NULL);
    }
}

int archiver_new(archiver **out, const pl_svc_common *c, pl_metrics *m, pl_store *store,
                 archiver_limits lim, char *err, size_t errlen)
{
    archiver *a = calloc(1, sizeof(*a));
    int r;

    if (!a)
        return -ENOMEM;
    a->c = c;
    a->metrics = m;
    a->store = store;
    a->lim = lim;
    r = pl_kafka_group_consumer_new(&a->rk, c->kafka_brokers, "parley-archiver", c->instance,
                                    c->events_topic, on_rebalance, a, err, errlen);
    if (r) {
        free(a);
        return r;
    }
    pg_ready(a);
    *out = a;
    return 0;
}

int archiver_store_put(pl_store *s, const char *key, const pl_buf *data)
{
    pl_store_writer *w = NULL;
    int r = pl_store_put_begin(s, key, &w);

    if (r)
        return r;
    r = pl_store_put_write(w, data->data, data->len);
    if (r) {
        pl_store_put_abort(w);
        return r;
    }
    return pl_store_put_commit(w);
}

/* Records the stored segment, retrying while Postgres is away. */
static int seal_record(archiver *a, const archive_segment_row *row)
{
    int64_t deadline = pl_time_mono_ms() + RETRY_BUDGET_MS;
    int r;

    while ((r = pg_ready(a)) != 0 || (r = archive_catalog_commit(a->pg, row)) == -EIO) {
        if (pl_time_mono_ms() > deadline)
            return -EIO;
        pl_warn("catalog_retry", "partition=%d msg=\"postgres unavailable\"", row->partition);
        if (a->pg)
            PQfinish(a->pg);
        a->pg = NULL;
        pl_time_sleep_ms(500);
    }
    return r;
}

static int seal(archiver *a, int32_t n)
{
    part *p = &a->parts[n];
    char hash[PL_SEGMENT_HASH_HEX], key[48];
    pl_segment_conv *convs = NULL;
    size_t nconvs = 0, raw = pl_segment_raw_bytes(p->b), count = pl_segment_count(p->b);
    pl_buf out;
    int r;

    r = pl_segment_finish(p->b, p->next, &out, hash, &convs, &nconvs);
    if (r)
        return r;
    snprintf(key, sizeof(key), "p%" PRId32 "-%020" PRId64, n, p->start);
    r = archiver_store_put(a->store, key, &out);
    if (!r) {
        archive_segment_row row = {
            .topic = a->c->events_topic, .partition = n, .start = p->start, .end = p->next,
            .count = (int64_t)count, .store_key = key, .hash = hash,
            .prev_hash = p->prev_hash, .bytes = (int64_t)out.len, .raw_bytes = (int64_t)raw,
            .convs = convs, .nconvs = nconvs};
        r = seal_record(a, &row);
    }
    if (!r) {
        pl_info("sealed", "key=%s events=%zu bytes=%zu raw=%zu sha256=%s", key, count, out.len,
                raw, hash);
        pl_metrics_add(a->metrics, "archiver_segments_total", "", 1);
        pl_metrics_add(a->metrics, "archiver_events_total", "", (double)count);
        pl_metrics_add(a->metrics, "archiver_bytes_total", "", (double)out.len);
        pl_metrics_add(a->metrics, "archiver_raw_bytes_total", "", (double)raw);
        memcpy(p->prev_hash, hash, sizeof(hash));
        pl_kafka_commit_next(a->rk, a->c->events_topic, n, p->next);
        p->start = p->next;
        pl_segment_builder_free(p->b);
        p->b = NULL;
    }
    free(convs);
    pl_buf_free(&out);
    return r;
}

static int on_message(archiver *a, const rd_kafka_message_t *m)
{
    rd_kafka_timestamp_type_t tt;
    int32_t n = m->partition;
    part *p;
    int r;

    if (n < 0 || n >= MAX_PARTITIONS || !a->parts[n].assigned)
        return 0;
    p = &a->parts[n];
    if (m->offset < p->next)
        return 0; /* already archived: a redelivery after a seek */
    if (!p->b) {
        r = pl_segment_builder_new(&p->b, n, p->start, p->prev_hash);
        if (r)
            return r;
        p->opened_ms = pl_time_mono_ms();
    }
    r = pl_segment_add(p->b, m->offset, rd_kafka_message_timestamp(m, &tt), m->key,
                       m->key_len, m->payload ? m->payload : "", m->len);
    if (r)
        return r;
    p->next = m->offset + 1;
    if ((long long)pl_segment_count(p->b) >= a->lim.events ||
        (long long)pl_segment_raw_bytes(p->b) >= a->lim.bytes)
        return seal(a, n);
    return 0;
}

/* Commits every owned partition's sealed end again: a commit lost in a
 * rebalance is not retried, and a partition with nothing new to seal
 * would show a backlog to KEDA for good. */
static void recommit(archiver *a)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(32);

    for (int32_t n = 0; n < MAX_PARTITIONS; n++)
        if (a->parts[n].assigned)
            rd_kafka_topic_partition_list_add(l, a->c->events_topic, n)->offset =
                a->parts[n].start;
    pl_kafka_commit_assigned(a->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
}

/* Seals segments that are old enough, or all of them when all is set. */
static int seal_due(archiver *a, int all)
{
    int64_t now = pl_time_mono_ms();
    int r = 0;

    for (int32_t n = 0; n < MAX_PARTITIONS && !r; n++)
        if (a->parts[n].b && (all || now - a->parts[n].opened_ms >= a->lim.age_ms))
            r = seal(a, n);
    return r;
}

int archiver_run(archiver *a)
{
    int64_t next_commit = 0;
    int r = 0;

    while (!a->fatal && !r) {
        rd_kafka_message_t *m;
        if (pl_svc_wait_signal(0))
            return seal_due(a, 1);
        m = rd_kafka_consumer_poll(a->rk, 200);
        if (m) {
            if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                pl_warn("consume", "msg=\"%s\"", rd_kafka_message_errstr(m));
            else if (!m->err)
                r = on_message(a, m);
            rd_kafka_message_destroy(m);
        }
        if (!r)
            r = seal_due(a, 0);
        if (!r && pl_time_mono_ms() >= next_commit) {
            char err[256];
            if (pl_kafka_client_fatal(a->rk, err, sizeof(err))) {
                /* Exit to be restarted; unsealed events are re-read. */
                pl_error("kafka_fatal", "msg=\"%s; exiting to be restarted\"", err);
                return -EIO;
            }
            recommit(a);
            next_commit = pl_time_mono_ms() + RECOMMIT_EVERY_MS;
        }
    }
    if (r == -EEXIST)
        pl_error("fenced", "msg=\"another archiver recorded this range; stopping\"");
    return a->fatal ? -EIO : r;
}

int archiver_ready(archiver *a)
{
    return a && a->rk && atomic_load(&a->pg_ok);
}

void archiver_free(archiver *a)
{
    if (!a)
        return;
    if (a->rk) {
        rd_kafka_consumer_close(a->rk);
        rd_kafka_destroy(a->rk);
    }
    for (int n = 0; n < MAX_PARTITIONS; n++)
        pl_segment_builder_free(a->parts[n].b);
    if (a->pg)
        PQfinish(a->pg);
    free(a);
}
