#include "pl_kafka_tail.h"
#include "pl_kafka.h"
#include "pl_time.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define TAIL_POLL_MS 100
#define TAIL_KAFKA_MS 2000 /* metadata, watermarks, offsets_for_times */
#define TAIL_MAX_PARTITIONS 4096

struct pl_kafka_tail {
    rd_kafka_t *rk;
    char *topic;
    pl_kafka_tail_cfg cfg; /* its strings are not used after new */
    int64_t *end;          /* per partition: the end seen at start */
    unsigned char *done;   /* per partition: read up to end */
    int nparts, ndone, assigned;
    pthread_t thread;
    int started;
    atomic_int stop, ready;
};

static int tail_conf(rd_kafka_conf_t **out, const pl_kafka_tail_cfg *cfg, char *err,
                     size_t errlen)
{
    /* group.id only because librdkafka's consumer queue needs one; we
     * never subscribe or commit. */
    static const char *settings[][2] = {
        {"group.id", "parley-tail-unused"},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"enable.partition.eof", "true"},
        /* Past retention, start from what is left. */
        {"auto.offset.reset", "earliest"},
    };
    int r = pl_kafka_conf_new(out, cfg->brokers, cfg->client_id, err, errlen);

    for (size_t i = 0; !r && i < sizeof(settings) / sizeof(settings[0]); i++)
        r = pl_kafka_conf_set(*out, settings[i][0], settings[i][1], err, errlen);
    if (r && *out) {
        rd_kafka_conf_destroy(*out);
        *out = NULL;
    }
    return r;
}

int pl_kafka_tail_new(pl_kafka_tail **out, const pl_kafka_tail_cfg *cfg, char *err,
                      size_t errlen)
{
    pl_kafka_tail *t = calloc(1, sizeof(*t));
    rd_kafka_conf_t *conf = NULL;
    int r = -ENOMEM;

    if (!t || !(t->topic = strdup(cfg->topic)) ||
        !(t->end = calloc(TAIL_MAX_PARTITIONS, sizeof(*t->end))) ||
        !(t->done = calloc(TAIL_MAX_PARTITIONS, 1)))
        goto out;
    r = tail_conf(&conf, cfg, err, errlen);
    if (r)
        goto out;
    t->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, errlen); /* owns conf on success */
    if (!t->rk) {
        rd_kafka_conf_destroy(conf);
        r = -EINVAL;
        goto out;
    }
    rd_kafka_poll_set_consumer(t->rk);
    t->cfg = *cfg;
    *out = t;
    t = NULL;
    r = 0;
out:
    pl_kafka_tail_free(t);
    return r;
}

static void tail_done(pl_kafka_tail *t, int32_t partition)
{
    if (partition < 0 || partition >= t->nparts || t->done[partition])
        return;
    t->done[partition] = 1;
    if (++t->ndone == t->nparts) {
        if (t->cfg.on_ready)
            t->cfg.on_ready(t->cfg.arg);
        atomic_store(&t->ready, 1);
    }
}

/* The topic's partition count, or -EAGAIN. */
static int tail_partitions(pl_kafka_tail *t)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(t->rk, t->topic, NULL);
    int n = -EAGAIN;

    if (!rkt)
        return -EAGAIN;
    if (rd_kafka_metadata(t->rk, 0, rkt, &md, TAIL_KAFKA_MS) == 0 && md->topic_cnt == 1 &&
        !md->topics[0].err && md->topics[0].partition_cnt > 0)
        n = md->topics[0].partition_cnt;
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return n > TAIL_MAX_PARTITIONS ? TAIL_MAX_PARTITIONS : n;
}

/* Where each partition's read starts: the window's first record, or the
 * beginning. 0, or -EAGAIN to retry. */
static int tail_starts(pl_kafka_tail *t, rd_kafka_topic_partition_list_t *list)
{
    int64_t from = pl_time_real_ms() - t->cfg.window_ms;

    for (int i = 0; i < list->cnt; i++)
        list->elems[i].offset = t->cfg.window_ms > 0 ? from : RD_KAFKA_OFFSET_BEGINNING;
    if (t->cfg.window_ms <= 0)
        return 0;
    if (rd_kafka_offsets_for_times(t->rk, list, TAIL_KAFKA_MS))
        return -EAGAIN;
    for (int i = 0; i < list->cnt; i++) {
        rd_kafka_topic_partition_t *p = &list->elems[i];
        if (p->err)
            return -EAGAIN;
        if (p->offset < 0 || p->offset >= t->end[p->partition])
            p->offset = t->end[p->partition]; /* nothing in the window */
    }
    return 0;
}

/* Every partition, its end noted first. 0, or -EAGAIN to retry. */
static int tail_assign(pl_kafka_tail *t)
{
    rd_kafka_topic_partition_list_t *list = NULL;
    int64_t lo;
    int r = -EAGAIN, n = tail_partitions(t);

    if (n < 0)
        return n;
    for (int i = 0; i < n; i++)
        if (rd_kafka_query_watermark_offsets(t->rk, t->topic, i, &lo, &t->end[i],
                                             TAIL_KAFKA_MS))
            return -EAGAIN;
    list = rd_kafka_topic_partition_list_new(n);
    if (!list)
        return -EAGAIN;
    for (int i = 0; i < n; i++)
        rd_kafka_topic_partition_list_add(list, t->topic, i);
    if (tail_starts(t, list) || rd_kafka_assign(t->rk, list))
        goto out;
    t->nparts = n;
    t->assigned = 1;
    for (int i = 0; i < n; i++)
        if (t->end[i] == 0 || list->elems[i].offset >= t->end[i])
            tail_done(t, i);
    r = 0;
out:
    rd_kafka_topic_partition_list_destroy(list);
    return r;
}

static void tail_poll(pl_kafka_tail *t)
{
    rd_kafka_message_t *m = rd_kafka_consumer_poll(t->rk, TAIL_POLL_MS);

    if (!m)
        return;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        tail_done(t, m->partition);
    } else if (!m->err) {
        if (t->cfg.on_record)
            t->cfg.on_record(t->cfg.arg, m);
        if (m->partition >= 0 && m->partition < t->nparts &&
            m->offset + 1 >= t->end[m->partition])
            tail_done(t, m->partition);
    }
    rd_kafka_message_destroy(m);
}

static void *tail_main(void *arg)
{
    pl_kafka_tail *t = arg;

    while (!atomic_load(&t->stop)) {
        if (!t->assigned && tail_assign(t) != 0) {
            rd_kafka_poll(t->rk, TAIL_POLL_MS); /* serve callbacks while waiting */
            continue;
        }
        tail_poll(t);
        if (t->cfg.on_tick)
            t->cfg.on_tick(t->cfg.arg);
    }
    return NULL;
}

int pl_kafka_tail_start(pl_kafka_tail *t)
{
    int r = pthread_create(&t->thread, NULL, tail_main, t);

    if (r)
        return -r;
    t->started = 1;
    return 0;
}

int pl_kafka_tail_ready(pl_kafka_tail *t)
{
    return t && atomic_load(&t->ready);
}

void pl_kafka_tail_free(pl_kafka_tail *t)
{
    if (!t)
        return;
    atomic_store(&t->stop, 1);
    if (t->started)
        pthread_join(t->thread, NULL);
    if (t->rk) {
        rd_kafka_consumer_close(t->rk);
        rd_kafka_destroy(t->rk);
    }
    free(t->done);
    free(t->end);
    free(t->topic);
    free(t);
}
