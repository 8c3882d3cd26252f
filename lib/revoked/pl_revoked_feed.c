#include "pl_revoked_feed.h"
#include "pl_kafka.h"
#include "pl_time.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define FEED_POLL_MS 100
#define FEED_KAFKA_MS 2000      /* metadata, watermarks, offsets_for_times */
#define FEED_PRUNE_EVERY_MS 10000
#define FEED_MAX_PARTITIONS 4096

struct pl_revoked_feed {
    rd_kafka_t *rk;
    char *topic;
    pl_revoked *set;
    int64_t window_ms;
    pl_revoked_fn on_revoked;
    void *arg;
    int64_t *end;        /* per partition: the end seen at start */
    unsigned char *done; /* per partition: read up to end */
    int nparts, ndone, assigned;
    int64_t next_prune_ms;
    pthread_t thread;
    int started;
    atomic_int stop, ready;
};

static int feed_conf(rd_kafka_conf_t **out, const pl_revoked_feed_cfg *cfg, char *err,
                     size_t errlen)
{
    /* group.id only because librdkafka's consumer queue needs one; we
     * never subscribe or commit. */
    static const char *settings[][2] = {
        {"group.id", "parley-revoked-unused"},
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

int pl_revoked_feed_new(pl_revoked_feed **out, const pl_revoked_feed_cfg *cfg, char *err,
                        size_t errlen)
{
    pl_revoked_feed *f = calloc(1, sizeof(*f));
    rd_kafka_conf_t *conf = NULL;
    int r = -ENOMEM;

    if (!f || !(f->topic = strdup(cfg->topic)) ||
        !(f->end = calloc(FEED_MAX_PARTITIONS, sizeof(*f->end))) ||
        !(f->done = calloc(FEED_MAX_PARTITIONS, 1)) || pl_revoked_new(&f->set) != 0)
        goto out;
    r = feed_conf(&conf, cfg, err, errlen);
    if (r)
        goto out;
    f->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, errlen); /* owns conf on success */
    if (!f->rk) {
        rd_kafka_conf_destroy(conf);
        r = -EINVAL;
        goto out;
    }
    rd_kafka_poll_set_consumer(f->rk);
    f->window_ms = cfg->window_ms;
    f->on_revoked = cfg->on_revoked;
    f->arg = cfg->arg;
    *out = f;
    f = NULL;
    r = 0;
out:
    pl_revoked_feed_free(f);
    return r;
}

static void feed_done(pl_revoked_feed *f, int32_t partition)
{
    if (partition < 0 || partition >= f->nparts || f->done[partition])
        return;
    f->done[partition] = 1;
    if (++f->ndone == f->nparts)
        atomic_store(&f->ready, 1);
}

/* The topic's partition count, or -EAGAIN. */
static int feed_partitions(pl_revoked_feed *f)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(f->rk, f->topic, NULL);
    int n = -EAGAIN;

    if (!rkt)
        return -EAGAIN;
    if (rd_kafka_metadata(f->rk, 0, rkt, &md, FEED_KAFKA_MS) == 0 && md->topic_cnt == 1 &&
        !md->topics[0].err && md->topics[0].partition_cnt > 0)
        n = md->topics[0].partition_cnt;
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return n > FEED_MAX_PARTITIONS ? FEED_MAX_PARTITIONS : n;
}

/* Each partition from the first record of the window. The ends are read
 * first: a record produced in between is past them and still read, so
 * nothing falls between "the end at start" and where reading starts. */
static int feed_assign(pl_revoked_feed *f)
{
    rd_kafka_topic_partition_list_t *list = NULL;
    int64_t lo, from = pl_time_real_ms() - f->window_ms;
    int r = -EAGAIN, n = feed_partitions(f);

    if (n < 0)
        return n;
    for (int i = 0; i < n; i++)
        if (rd_kafka_query_watermark_offsets(f->rk, f->topic, i, &lo, &f->end[i],
                                             FEED_KAFKA_MS))
            return -EAGAIN;
    list = rd_kafka_topic_partition_list_new(n);
    if (!list)
        return -EAGAIN;
    for (int i = 0; i < n; i++)
        rd_kafka_topic_partition_list_add(list, f->topic, i)->offset = from;
    if (rd_kafka_offsets_for_times(f->rk, list, FEED_KAFKA_MS))
        goto out;
    f->nparts = n;
    for (int i = 0; i < n; i++) {
        rd_kafka_topic_partition_t *p = &list->elems[i];
        if (p->err)
            goto out;
        if (p->offset < 0 || p->offset >= f->end[p->partition])
            p->offset = f->end[p->partition]; /* nothing in the window */
    }
    if (rd_kafka_assign(f->rk, list))
        goto out;
    f->assigned = 1;
    for (int i = 0; i < n; i++)
        if (list->elems[i].offset >= f->end[list->elems[i].partition])
            feed_done(f, list->elems[i].partition);
    r = 0;
out:
    rd_kafka_topic_partition_list_destroy(list);
    return r;
}

static void feed_record(pl_revoked_feed *f, const rd_kafka_message_t *m)
{
    pl_revoked_event ev;
    char *json = malloc(m->len + 1);
    int64_t ts;

    if (!json)
        return;
    memcpy(json, m->payload, m->len);
    json[m->len] = '\0';
    /* A malformed record is skipped: waiting cannot fix it. */
    if (pl_revoked_parse(json, m->len, &ev) == 0) {
        ts = ev.ts_ms > 0 ? ev.ts_ms : rd_kafka_message_timestamp(m, NULL);
        if (ts <= 0)
            ts = pl_time_real_ms();
        pl_revoked_add(f->set, ev.session_id, ts + f->window_ms);
        if (f->on_revoked)
            f->on_revoked(f->arg, &ev);
    }
    free(json);
}

static void feed_poll(pl_revoked_feed *f)
{
    rd_kafka_message_t *m = rd_kafka_consumer_poll(f->rk, FEED_POLL_MS);

    if (!m)
        return;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        feed_done(f, m->partition);
    } else if (!m->err) {
        if (m->payload)
            feed_record(f, m);
        if (m->partition >= 0 && m->partition < f->nparts &&
            m->offset + 1 >= f->end[m->partition])
            feed_done(f, m->partition);
    }
    rd_kafka_message_destroy(m);
}

static void *feed_main(void *arg)
{
    pl_revoked_feed *f = arg;
    int64_t now;

    while (!atomic_load(&f->stop)) {
        if (!f->assigned && feed_assign(f) != 0) {
            rd_kafka_poll(f->rk, FEED_POLL_MS); /* serve callbacks while waiting */
            continue;
        }
        feed_poll(f);
        now = pl_time_mono_ms();
        if (now >= f->next_prune_ms) {
            pl_revoked_prune(f->set, pl_time_real_ms());
            f->next_prune_ms = now + FEED_PRUNE_EVERY_MS;
        }
    }
    return NULL;
}

int pl_revoked_feed_start(pl_revoked_feed *f)
{
    int r = pthread_create(&f->thread, NULL, feed_main, f);

    if (r)
        return -r;
    f->started = 1;
    return 0;
}

int pl_revoked_feed_ready(pl_revoked_feed *f)
{
    return f && atomic_load(&f->ready);
}

int pl_revoked_feed_has(pl_revoked_feed *f, const char *sid)
{
    return f && pl_revoked_has(f->set, sid, pl_time_real_ms());
}

size_t pl_revoked_feed_count(pl_revoked_feed *f)
{
    return f ? pl_revoked_count(f->set) : 0;
}

void pl_revoked_feed_free(pl_revoked_feed *f)
{
    if (!f)
        return;
    atomic_store(&f->stop, 1);
    if (f->started)
        pthread_join(f->thread, NULL);
    if (f->rk) {
        rd_kafka_consumer_close(f->rk);
        rd_kafka_destroy(f->rk);
    }
    pl_revoked_free(f->set);
    free(f->done);
    free(f->end);
    free(f->topic);
    free(f);
}
