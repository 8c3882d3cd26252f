/* pl_kafka_tail: a thread that reads every partition of a topic with no
 * consumer group (every reader needs every record) and hands each record
 * to a callback. The revocation and presence feeds are built on it.
 *
 * At start it notes each partition's end and assigns itself every
 * partition from the first record of the window (offsets_for_times), or
 * from the beginning. The ends are read before the assignment, so a
 * record produced in between is past them and still read. It is ready
 * once every partition was read up to its end at start; on_ready runs
 * then, once. Later Kafka trouble only delays news.
 *
 * Library code: it does not log (librdkafka's own lines go through
 * pl_kafka's adapter). */
#ifndef PL_KAFKA_TAIL_H
#define PL_KAFKA_TAIL_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pl_kafka_tail pl_kafka_tail;

typedef struct pl_kafka_tail_cfg {
    const char *brokers, *client_id, *topic; /* copied */
    /* The read starts window_ms before the assignment, or at the
     * beginning when window_ms is 0. */
    int64_t window_ms;
    /* All run on the tail's thread and must not block; any may be NULL.
     * on_record gets each record, tombstones too (m is borrowed); on_tick
     * runs after every poll, at least every 100 ms. */
    void (*on_record)(void *arg, const rd_kafka_message_t *m);
    void (*on_ready)(void *arg);
    void (*on_tick)(void *arg);
    void *arg;
} pl_kafka_tail_cfg;

/* -EINVAL (reason in err) for a configuration librdkafka refuses, -ENOMEM. */
int pl_kafka_tail_new(pl_kafka_tail **out, const pl_kafka_tail_cfg *cfg, char *err,
                      size_t errlen);
/* Starts the thread. -errno from pthread_create. */
int pl_kafka_tail_start(pl_kafka_tail *t);
/* Any thread: 1 once every partition was read up to its end at start. */
int pl_kafka_tail_ready(pl_kafka_tail *t);
/* Stops and joins the thread, then frees. Accepts NULL. */
void pl_kafka_tail_free(pl_kafka_tail *t);

#endif
