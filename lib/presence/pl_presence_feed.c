#include "pl_presence_feed.h"
#include "pl_kafka.h"
#include "pl_time.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define FEED_POLL_MS 100
#define FEED_METADATA_MS 2000
#define FEED_MAX_PARTITIONS 4096

struct pl_presence_feed {
    rd_kafka_t *rk;
    char *topic;
    pl_presence *agg;
    pl_presence_hook_fn hook;
    void *arg;
    unsigned char *eof; /* per partition: reached the end once */
    int nparts, neof, assigned;
    pthread_t thread;
    int started;
    atomic_int stop, ready;
};

int pl_presence_feed_new(pl_presence_feed **out, const char *brokers, const char *client_id,
                         const char *topic, pl_presence *agg, pl_presence_hook_fn hook,
                         void *arg, char *err, size_t errlen)
{
    /* group.id only because librdkafka's consumer queue needs one; we
     * never subscribe or commit. */
    static const char *settings[][2] = {
        {"group.id", "parley-presence-unused"},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"enable.partition.eof", "true"},
    };
    pl_presence_feed *f = calloc(1, sizeof(*f));
    rd_kafka_conf_t *conf = NULL;
    int r = f ? 0 : -ENOMEM;

    if (!r && !(f->topic = strdup(topic)))
        r = -ENOMEM;
    if (!r)
        r = pl_kafka_conf_new(&conf, brokers, client_id, err, errlen);
    for (size_t i = 0; !r && i < sizeof(settings) / sizeof(settings[0]); i++)
        r = pl_kafka_conf_set(conf, settings[i][0], settings[i][1], err, errlen);
    if (r)
        goto out;
    f->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, errlen); /* owns conf on success */
    if (!f->rk) {
        r = -EINVAL;
        goto out;
    }
    conf = NULL;
    rd_kafka_poll_set_consumer(f->rk);
    f->agg = agg;
    f->hook = hook;
    f->arg = arg;
    *out = f;
    f = NULL;
out:
    if (conf)
        rd_kafka_conf_destroy(conf);
    pl_presence_feed_free(f);
    return r;
}

/* Every partition from the beginning. 0 once done, -EAGAIN to retry. */
static int feed_assign(pl_presence_feed *f)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(f->rk, f->topic, NULL);
    rd_kafka_topic_partition_list_t *list = NULL;
    int r = -EAGAIN, n;

    if (!rkt)
        return -EAGAIN;
    if (rd_kafka_metadata(f->rk, 0, rkt, &md, FEED_METADATA_MS) || md->topic_cnt != 1 ||
        md->topics[0].err || md->topics[0].partition_cnt <= 0)
        goto out;
    n = md->topics[0].partition_cnt;
    if (n > FEED_MAX_PARTITIONS)
        n = FEED_MAX_PARTITIONS;
    if (!f->eof)
        f->eof = calloc((size_t)FEED_MAX_PARTITIONS, 1);
    list = rd_kafka_topic_partition_list_new(n);
    if (!f->eof || !list)
        goto out;
    for (int i = 0; i < n; i++)
        rd_kafka_topic_partition_list_add(list, f->topic, md->topics[0].partitions[i].id)
            ->offset = RD_KAFKA_OFFSET_BEGINNING;
    if (rd_kafka_assign(f->rk, list))
        goto out;
    f->nparts = n;
    f->assigned = 1;
    r = 0;
out:
    if (list)
        rd_kafka_topic_partition_list_destroy(list);
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return r;
}

static void feed_eof(pl_presence_feed *f, int32_t partition)
{
    if (partition < 0 || partition >= FEED_MAX_PARTITIONS || f->eof[partition])
        return;
    f->eof[partition] = 1;
    if (++f->neof == f->nparts) {
        pl_presence_set_live(f->agg, 1);
        atomic_store(&f->ready, 1);
    }
}

static void feed_poll(pl_presence_feed *f)
{
    rd_kafka_message_t *m = rd_kafka_consumer_poll(f->rk, FEED_POLL_MS);
    int64_t ts;

    if (!m)
        return;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        feed_eof(f, m->partition);
    } else if (!m->err && m->key) {
        ts = rd_kafka_message_timestamp(m, NULL);
        /* A malformed record is skipped: it cannot be fixed by waiting. */
        pl_presence_apply(f->agg, m->key, m->key_len, m->payload, m->payload ? m->len : 0,
                          ts > 0 ? ts : pl_time_real_ms(), pl_time_real_ms());
    }
    rd_kafka_message_destroy(m);
}

static void *feed_main(void *arg)
{
    pl_presence_feed *f = arg;
    int64_t now;

    while (!atomic_load(&f->stop)) {
        if (!f->assigned && feed_assign(f) != 0) {
            rd_kafka_poll(f->rk, FEED_POLL_MS); /* serve callbacks while waiting */
            continue;
        }
        feed_poll(f);
        /* The hook first: it may look at who is alive as of now, which the
         * tick then acts on with the same clock. */
        now = pl_time_real_ms();
        if (f->hook)
            f->hook(f->arg, now);
        pl_presence_tick(f->agg, now);
    }
    return NULL;
}

int pl_presence_feed_start(pl_presence_feed *f)
{
    int r = pthread_create(&f->thread, NULL, feed_main, f);

    if (r)
        return -r;
    f->started = 1;
    return 0;
}

int pl_presence_feed_ready(pl_presence_feed *f)
{
    return f && atomic_load(&f->ready);
}

void pl_presence_feed_free(pl_presence_feed *f)
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
    free(f->eof);
    free(f->topic);
    free(f);
}
