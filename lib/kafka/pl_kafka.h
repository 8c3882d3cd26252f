/* pl_kafka: the producer every write goes through, and the configuration
 * all our Kafka clients share.
 *
 * The producer is idempotent with acks=all: a message is acknowledged only
 * once every in-sync replica has it, and retries never duplicate it. A
 * private thread serves delivery reports, so callers on any thread (MHD's
 * pool) can produce and be called back. */
#ifndef PL_KAFKA_H
#define PL_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pl_kafka_producer pl_kafka_producer;

/* Called exactly once per accepted message, on the producer's thread.
 * err is 0 or -EIO (errstr says why). Must not block. */
typedef void (*pl_kafka_dr_fn)(void *opaque, int err, const char *errstr,
                               int32_t partition, int64_t offset);

/* Settings shared by producers and consumers; *out is the caller's until
 * handed to rd_kafka_new. */
int pl_kafka_conf_new(rd_kafka_conf_t **out, const char *brokers,
                      const char *client_id, char *err, size_t errlen);
/* Sets one property, 0 or -EINVAL with the reason in err. */
int pl_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value,
                      char *err, size_t errlen);

typedef void (*pl_kafka_rebalance_fn)(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                                      rd_kafka_topic_partition_list_t *parts, void *opaque);

/* A consumer-group member subscribed to topic: cooperative-sticky
 * assignment, no automatic offset commits or stores (the caller keeps its
 * offsets with its output), read_committed. A non-empty instance enables
 * static membership, so a restarted member takes its partitions straight
 * back. *out is the caller's (rd_kafka_consumer_close, rd_kafka_destroy). */
int pl_kafka_group_consumer_new(rd_kafka_t **out, const char *brokers, const char *group,
                                const char *instance, const char *topic,
                                pl_kafka_rebalance_fn rebalance, void *opaque, char *err,
                                size_t errlen);

int pl_kafka_producer_new(pl_kafka_producer **out, const char *brokers,
                          const char *client_id, char *err, size_t errlen);
/* Copies key and value. 0 means fn will run; otherwise fn never runs and
 * the result is -ENOBUFS (local queue full) or -EIO. */
int pl_kafka_produce(pl_kafka_producer *p, const char *topic, const char *key,
                     const void *value, size_t len, pl_kafka_dr_fn fn, void *opaque);
/* Nonzero once the idempotent producer hit a fatal error (it then refuses
 * everything and the process should restart). */
int pl_kafka_producer_fatal(pl_kafka_producer *p);
/* 0 when the cluster answered a metadata request within timeout_ms. */
/* Commits next as a group offset of one partition, asynchronously. For
 * consumers whose resume point lives in Postgres: lag tools (and KEDA's
 * Kafka scaler) only see committed group offsets. */
void pl_kafka_commit_next(rd_kafka_t *rk, const char *topic, int32_t partition, int64_t next);
/* Commits, asynchronously, every element of parts that has an offset
 * (>= 0), for consumers whose resume point lives in Postgres: on
 * assignment (where Postgres says the partition stands, as the previous
 * owner's last commit may have been lost in the rebalance) and again every
 * few seconds, because an asynchronous commit that fails in a rebalance is
 * not retried. Without either, a partition with nothing new to consume
 * would keep a backlog in lag tools (KEDA) that the projection already
 * holds. */
void pl_kafka_commit_assigned(rd_kafka_t *rk, const rd_kafka_topic_partition_list_t *parts);

/* 1 (reason in err) once the client hit a fatal error, such as a static
 * group member fenced by its successor after a broker restart. It will
 * never consume or commit again: the process should exit and be restarted,
 * resuming from its own stored positions. */
int pl_kafka_client_fatal(rd_kafka_t *rk, char *err, size_t errlen);
int pl_kafka_ping(rd_kafka_t *rk, int timeout_ms);
rd_kafka_t *pl_kafka_producer_handle(pl_kafka_producer *p);
/* Waits up to flush_ms for queued messages (their callbacks run), then
 * frees. Accepts NULL. */
void pl_kafka_producer_free(pl_kafka_producer *p, int flush_ms);

#endif
