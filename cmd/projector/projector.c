#include "projector.h"
#include "projector_batch.h"
#include "migrations.h"
#include "pl_kafka.h"
#include "pl_log.h"
#include "pl_num.h"
#include "pl_time.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RETRY_BUDGET_MS 60000
#define LAG_EVERY_MS 2000 /* gauges, and the positions re-committed */

struct projector {
    rd_kafka_t *rk;
    PGconn *pg;
    const pl_svc_common *c;
    pl_metrics *metrics;
    int batch_max;
    rd_kafka_message_t **batch;
    projector_event *evs; /* batch_max views of batch[] */
    atomic_int pg_ok;
    int fatal;
};

static int pg_connect(projector *p)
{
    if (p->pg && PQstatus(p->pg) == CONNECTION_OK)
        return 0;
    if (p->pg)
        PQfinish(p->pg);
    /* Unqualified names resolve through search_path on every statement,
     * so after parley-admin swaps a rebuilt schema in under the name
     * "history", the next batch writes to it. */
    p->pg = pl_pg_connect(p->c->pg_dsn);
    if (p->pg && projector_use_schema(p->pg, HISTORY_SCHEMA) != 0) {
        PQfinish(p->pg);
        p->pg = NULL;
    }
    atomic_store(&p->pg_ok, p->pg != NULL);
    return p->pg ? 0 : -EIO;
}

/* Sets each partition's start offset to the one stored with the rows. */
static int offsets_load(projector *p, rd_kafka_topic_partition_list_t *parts)
{
    PGresult *res = NULL;
    const char *topic = p->c->events_topic;
    int r = pg_connect(p);

    if (!r)
        r = pl_pg_exec(p->pg, &res, NULL, 0,
                       "SELECT partition, next_offset FROM offsets WHERE topic=$1",
                       1, &topic);
    if (r) {
        PQclear(res);
        return r;
    }
    for (int i = 0; i < parts->cnt; i++) {
        parts->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
        for (int row = 0; row < PQntuples(res); row++) {
            long long part, next;
            if (pl_num_parse_ll(PQgetvalue(res, row, 0), 0, PROJECTOR_MAX_PARTITIONS, &part) == 0 &&
                part == parts->elems[i].partition &&
                pl_num_parse_ll(PQgetvalue(res, row, 1), 0, INT64_MAX, &next) == 0)
                parts->elems[i].offset = next;
        }
    }
    PQclear(res);
    return 0;
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    projector *p = opaque;
    int64_t deadline = pl_time_mono_ms() + RETRY_BUDGET_MS;

    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        while (offsets_load(p, parts) != 0) {
            if (pl_time_mono_ms() > deadline) {
                p->fatal = 1; /* resuming from the wrong place is worse */
                return;
            }
            pl_warn("offsets_load", "msg=\"postgres unavailable, retrying\"");
            pl_time_sleep_ms(500);
        }
        rd_kafka_incremental_assign(rk, parts);
        pl_kafka_commit_assigned(rk, parts);
        pl_info("assigned", "partitions=%d", parts->cnt);
    } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        rd_kafka_incremental_unassign(rk, parts);
        pl_info("revoked", "partitions=%d", parts->cnt);
    } else {
        pl_error("rebalance", "msg=\"%s\"", rd_kafka_err2str(err));
        rd_kafka_assign(rk, NULL);
    }
}

int projector_new(projector **out, const pl_svc_common *c, pl_metrics *m,
                  int batch_max, char *err, size_t errlen)
{
    projector *p = calloc(1, sizeof(*p));
    int r = -ENOMEM;

    if (!p || !(p->batch = calloc((size_t)batch_max, sizeof(*p->batch))) ||
        !(p->evs = calloc((size_t)batch_max, sizeof(*p->evs))))
        goto fail;
    p->c = c;
    p->metrics = m;
    p->batch_max = batch_max;
    r = pl_kafka_group_consumer_new(&p->rk, c->kafka_brokers, "parley-history-projector",
                                    c->instance, c->events_topic, on_rebalance, p, err,
                                    errlen);
    if (r)
        goto fail;
    pg_connect(p);
    *out = p;
    return 0;
fail:
    projector_free(p);
    return r;
}

/* Fills p->batch: waits up to timeout_ms for the first message, then takes
 * whatever else is already fetched. Returns the count. */
static int batch_collect(projector *p, int timeout_ms)
{
    int n = 0;
    while (n < p->batch_max) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(p->rk, n ? 0 : timeout_ms);
        if (!m)
            break;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                pl_warn("consume", "msg=\"%s\"", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        p->batch[n++] = m;
    }
    return n;
}

/* Views the batch as projector_events (borrowed from the messages). */
static void batch_events(projector *p, int n)
{
    for (int i = 0; i < n; i++) {
        const rd_kafka_message_t *m = p->batch[i];
        p->evs[i] = (projector_event){.partition = m->partition, .offset = m->offset,
                                      .key = m->key, .key_len = m->key_len,
                                      .payload = m->payload, .len = m->len};
    }
}

static int batch_apply(projector *p, int n, projector_batch_stats *st)
{
    int r = pg_connect(p);

    batch_events(p, n);
    if (!r)
        r = pl_pg_cmd(p->pg, "BEGIN");
    if (!r)
        r = projector_batch_apply(p->pg, p->c->events_topic, p->evs, n, 1, st);
    if (!r)
        r = pl_pg_cmd(p->pg, "COMMIT") ? -EIO : 0;
    if (r) {
        if (p->pg)
            pl_pg_cmd(p->pg, "ROLLBACK");
        atomic_store(&p->pg_ok, 0);
    }
    return r;
}

/* Tells Kafka too, after Postgres has the rows, so lag tools see progress.
 * Postgres stays the source of truth for where to resume. */
static void offsets_commit_kafka(projector *p, int n)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n);
    for (int i = 0; i < n; i++) {
        rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_find(
            l, p->c->events_topic, p->batch[i]->partition);
        if (!tp)
            tp = rd_kafka_topic_partition_list_add(l, p->c->events_topic,
                                                   p->batch[i]->partition);
        tp->offset = p->batch[i]->offset + 1;
    }
    if (!rd_kafka_assignment_lost(p->rk)) /* see pl_kafka_commit_assigned */
        rd_kafka_commit(p->rk, l, 1);
    rd_kafka_topic_partition_list_destroy(l);
}

/* Lag and assignment gauges; and the positions again to Kafka: everything
 * consumed so far is applied, and a commit lost in a rebalance is not
 * retried by librdkafka. */
static void lag_update(projector *p)
{
    rd_kafka_topic_partition_list_t *a = NULL;
    int64_t lag = 0, lo, hi;

    if (rd_kafka_assignment(p->rk, &a) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return;
    rd_kafka_position(p->rk, a);
    pl_kafka_commit_assigned(p->rk, a);
    for (int i = 0; i < a->cnt; i++)
        if (a->elems[i].offset >= 0 &&
            rd_kafka_get_watermark_offsets(p->rk, a->elems[i].topic, a->elems[i].partition,
                                           &lo, &hi) == RD_KAFKA_RESP_ERR_NO_ERROR &&
            hi > a->elems[i].offset)
            lag += hi - a->elems[i].offset;
    pl_metrics_set(p->metrics, "projector_consumer_lag", "", (double)lag);
    pl_metrics_set(p->metrics, "projector_assigned_partitions", "", a->cnt);
    rd_kafka_topic_partition_list_destroy(a);
}

/* Applies the batch, retrying while Postgres is away. */
static int batch_process(projector *p, int n)
{
    int64_t deadline = pl_time_mono_ms() + RETRY_BUDGET_MS;
    double t0 = pl_time_mono_s();
    projector_batch_stats st;
    int r;

    while ((r = batch_apply(p, n, &st)) != 0) {
        if (pl_time_mono_ms() > deadline || pl_svc_wait_signal(0))
            return r;
        pl_warn("batch_retry", "events=%d msg=\"%s\"", n,
                p->pg ? PQerrorMessage(p->pg) : "no connection");
        pl_time_sleep_ms(500);
    }
    offsets_commit_kafka(p, n);
    if (st.skipped)
        pl_warn("events_skipped", "count=%d msg=\"already applied (redelivery, a "
                "rebalance, or a rebuild swapped in); skipped\"", st.skipped);
    pl_metrics_add(p->metrics, "projector_events_applied_total", "", st.applied);
    pl_metrics_add(p->metrics, "projector_events_skipped_total", "", st.skipped);
    pl_metrics_add(p->metrics, "projector_events_rejected_total", "", st.rejected);
    pl_metrics_observe(p->metrics, "projector_batch_seconds", "", pl_time_mono_s() - t0);
    return 0;
}

/* A fatal consumer never consumes again: exit, be restarted, and resume
 * from the positions Postgres holds. */
static int consumer_fatal(rd_kafka_t *rk)
{
    char err[256];

    if (!pl_kafka_client_fatal(rk, err, sizeof(err)))
        return 0;
    pl_error("kafka_fatal", "msg=\"%s; exiting to be restarted\"", err);
    return 1;
}

int projector_run(projector *p)
{
    int64_t next_lag = 0;
    int r = 0;

    while (!p->fatal && !pl_svc_wait_signal(0)) {
        int n = batch_collect(p, 200);
        if (n > 0)
            r = batch_process(p, n);
        for (int i = 0; i < n; i++)
            rd_kafka_message_destroy(p->batch[i]);
        if (r)
            return r;
        if (pl_time_mono_ms() >= next_lag) {
            if (consumer_fatal(p->rk))
                return -EIO;
            lag_update(p);
            next_lag = pl_time_mono_ms() + LAG_EVERY_MS;
        }
    }
    return p->fatal ? -EIO : 0;
}

int projector_ready(projector *p)
{
    return p && p->rk && atomic_load(&p->pg_ok);
}

void projector_free(projector *p)
{
    if (!p)
        return;
    if (p->rk) {
        rd_kafka_consumer_close(p->rk);
        rd_kafka_destroy(p->rk);
    }
    if (p->pg)
        PQfinish(p->pg);
    free(p->batch);
    free(p->evs);
    free(p);
}
