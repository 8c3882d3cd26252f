#include "pl_kafka.h"
#include "pl_log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pl_kafka_producer {
    rd_kafka_t *rk;
    pthread_t thread;
    atomic_int stop;
};

typedef struct dr_ctx {
    pl_kafka_dr_fn fn;
    void *opaque;
} dr_ctx;

int pl_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value,
                      char *err, size_t errlen)
{
    if (rd_kafka_conf_set(conf, name, value, err, errlen) != RD_KAFKA_CONF_OK)
        return -EINVAL;
    return 0;
}

/* librdkafka's own log lines would break our one-logfmt-line-per-event
 * output; this adapter is the one place lib/ writes to the log. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    pl_log_level lvl = level <= 3 ? PL_LOG_ERROR : level <= 4 ? PL_LOG_WARN
                     : level <= 6 ? PL_LOG_INFO : PL_LOG_DEBUG;
    (void)rk;
    pl_log(lvl, "kafka", "facility=%s msg=\"%.*s\"", fac, (int)strcspn(buf, "\"\n"), buf);
}

int pl_kafka_conf_new(rd_kafka_conf_t **out, const char *brokers,
                      const char *client_id, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    int r;

    if (!conf)
        return -ENOMEM;
    r = pl_kafka_conf_set(conf, "bootstrap.servers", brokers, err, errlen);
    if (!r)
        r = pl_kafka_conf_set(conf, "client.id", client_id, err, errlen);
    if (!r)
        r = pl_kafka_conf_set(conf, "socket.keepalive.enable", "true", err, errlen);
    if (r) {
        rd_kafka_conf_destroy(conf);
        return r;
    }
    rd_kafka_conf_set_log_cb(conf, on_log);
    *out = conf;
    return 0;
}

static int group_conf(rd_kafka_conf_t **out, const char *brokers, const char *group,
                      const char *instance, char *err, size_t errlen)
{
    static const char *settings[][2] = {
        {"partition.assignment.strategy", "cooperative-sticky"},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"auto.offset.reset", "earliest"},
        {"isolation.level", "read_committed"},
        /* A crashed member's partitions wait for this before moving on. */
        {"session.timeout.ms", "10000"},
        {"heartbeat.interval.ms", "2000"},
    };
    rd_kafka_conf_t *conf = NULL;
    int r = pl_kafka_conf_new(&conf, brokers, instance[0] ? instance : group, err, errlen);

    if (!r)
        r = pl_kafka_conf_set(conf, "group.id", group, err, errlen);
    for (size_t i = 0; !r && i < sizeof(settings) / sizeof(settings[0]); i++)
        r = pl_kafka_conf_set(conf, settings[i][0], settings[i][1], err, errlen);
    if (!r && instance[0])
        r = pl_kafka_conf_set(conf, "group.instance.id", instance, err, errlen);
    if (r) {
        if (conf)
            rd_kafka_conf_destroy(conf);
        return r;
    }
    *out = conf;
    return 0;
}

int pl_kafka_group_consumer_new(rd_kafka_t **out, const char *brokers, const char *group,
                                const char *instance, const char *topic,
                                pl_kafka_rebalance_fn rebalance, void *opaque, char *err,
                                size_t errlen)
{
    rd_kafka_topic_partition_list_t *topics;
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk;
    int r = group_conf(&conf, brokers, group, instance, err, errlen);

    if (r)
        return r;
    rd_kafka_conf_set_rebalance_cb(conf, rebalance);
    rd_kafka_conf_set_opaque(conf, opaque);
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, errlen);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        return -EINVAL;
    }
    rd_kafka_poll_set_consumer(rk);
    topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, topic, RD_KAFKA_PARTITION_UA);
    r = rd_kafka_subscribe(rk, topics) ? -EINVAL : 0;
    rd_kafka_topic_partition_list_destroy(topics);
    if (r) {
        snprintf(err, errlen, "subscribe to %s failed", topic);
        rd_kafka_destroy(rk);
        return r;
    }
    *out = rk;
    return 0;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    dr_ctx *ctx = m->_private;
    (void)rk;
    (void)opaque;

    if (!ctx)
        return;
    if (m->err)
        ctx->fn(ctx->opaque, -EIO, rd_kafka_err2str(m->err), -1, -1);
    else
        ctx->fn(ctx->opaque, 0, NULL, m->partition, m->offset);
    free(ctx);
}

static void *poll_loop(void *arg)
{
    pl_kafka_producer *p = arg;
    while (!atomic_load(&p->stop))
        rd_kafka_poll(p->rk, 100);
    return NULL;
}

int pl_kafka_producer_new(pl_kafka_producer **out, const char *brokers,
                          const char *client_id, char *err, size_t errlen)
{
    static const char *settings[][2] = {
        {"enable.idempotence", "true"}, /* implies acks=all, bounded in-flight */
        {"acks", "all"},
        {"compression.type", "lz4"},
        {"linger.ms", "2"},
        {"message.timeout.ms", "30000"},
    };
    rd_kafka_conf_t *conf = NULL;
    pl_kafka_producer *p;
    int r;

    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    r = pl_kafka_conf_new(&conf, brokers, client_id, err, errlen);
    for (size_t i = 0; !r && i < sizeof(settings) / sizeof(settings[0]); i++)
        r = pl_kafka_conf_set(conf, settings[i][0], settings[i][1], err, errlen);
    if (r)
        goto fail;
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errlen);
    if (!p->rk) {
        r = -EINVAL;
        goto fail;
    }
    conf = NULL; /* rd_kafka_new took it */
    if (pthread_create(&p->thread, NULL, poll_loop, p) != 0) {
        r = -EAGAIN;
        goto fail;
    }
    *out = p;
    return 0;
fail:
    if (conf)
        rd_kafka_conf_destroy(conf);
    if (p->rk)
        rd_kafka_destroy(p->rk);
    free(p);
    return r;
}

int pl_kafka_produce(pl_kafka_producer *p, const char *topic, const char *key,
                     const void *value, size_t len, pl_kafka_dr_fn fn, void *opaque)
{
    rd_kafka_resp_err_t e;
    dr_ctx *ctx = malloc(sizeof(*ctx));

    if (!ctx)
        return -ENOMEM;
    ctx->fn = fn;
    ctx->opaque = opaque;
    e = rd_kafka_producev(p->rk, RD_KAFKA_V_TOPIC(topic),
                          RD_KAFKA_V_KEY(key, strlen(key)),
                          RD_KAFKA_V_VALUE((void *)value, len),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_OPAQUE(ctx), RD_KAFKA_V_END);
    if (e) {
        free(ctx);
        return e == RD_KAFKA_RESP_ERR__QUEUE_FULL ? -ENOBUFS : -EIO;
    }
    return 0;
}

int pl_kafka_producer_fatal(pl_kafka_producer *p)
{
    return rd_kafka_fatal_error(p->rk, NULL, 0) != RD_KAFKA_RESP_ERR_NO_ERROR;
}

int pl_kafka_client_fatal(rd_kafka_t *rk, char *err, size_t errlen)
{
    return rd_kafka_fatal_error(rk, err, errlen) != RD_KAFKA_RESP_ERR_NO_ERROR;
}

int pl_kafka_ping(rd_kafka_t *rk, int timeout_ms)
{
    const struct rd_kafka_metadata *md = NULL;
    if (rd_kafka_metadata(rk, 0, NULL, &md, timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return -EIO;
    rd_kafka_metadata_destroy(md);
    return 0;
}

rd_kafka_t *pl_kafka_producer_handle(pl_kafka_producer *p)
{
    return p->rk;
}

void pl_kafka_producer_free(pl_kafka_producer *p, int flush_ms)
{
    if (!p)
        return;
    atomic_store(&p->stop, 1);
    pthread_join(p->thread, NULL);
    rd_kafka_flush(p->rk, flush_ms); /* serves the remaining callbacks */
    /* Whatever is still queued fails now, so every caller hears back. */
    rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(p->rk, 1000);
    rd_kafka_destroy(p->rk);
    free(p);
}

void pl_kafka_commit_assigned(rd_kafka_t *rk, const rd_kafka_topic_partition_list_t *parts)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(parts->cnt);

    for (int i = 0; i < parts->cnt; i++)
        if (parts->elems[i].offset >= 0)
            rd_kafka_topic_partition_list_add(l, parts->elems[i].topic,
                                              parts->elems[i].partition)->offset =
                parts->elems[i].offset;
    /* Partitions lost to a session timeout belong to nobody until the
     * group rejoins; a commit now could get a static member fenced. */
    if (l->cnt > 0 && !rd_kafka_assignment_lost(rk))
        rd_kafka_commit(rk, l, 1);
    rd_kafka_topic_partition_list_destroy(l);
}

void pl_kafka_commit_next(rd_kafka_t *rk, const char *topic, int32_t partition, int64_t next)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);

    rd_kafka_topic_partition_list_add(l, topic, partition)->offset = next;
    if (!rd_kafka_assignment_lost(rk)) /* see pl_kafka_commit_assigned */
        rd_kafka_commit(rk, l, 1);
    rd_kafka_topic_partition_list_destroy(l);
}
