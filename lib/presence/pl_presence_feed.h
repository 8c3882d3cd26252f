/* pl_presence_feed: a thread that folds the presence topic into a
 * pl_presence. It assigns itself every partition from the beginning (no
 * consumer group: every reader needs every user), replays the compacted
 * topic, and turns the pl_presence's callbacks on once every partition
 * reached its end. Then it keeps reading and ticks the expiry clock.
 * The reading itself is pl_kafka_tail's.
 *
 * Library code: it does not log; Kafka trouble just delays readiness. */
#ifndef PL_PRESENCE_FEED_H
#define PL_PRESENCE_FEED_H

#include <stddef.h>
#include <stdint.h>

#include "pl_presence.h"

typedef struct pl_presence_feed pl_presence_feed;

/* Runs on the feed thread after every poll (at least every 100 ms), just
 * before the expiry tick with the same now_ms. */
typedef void (*pl_presence_hook_fn)(void *arg, int64_t now_ms);

/* agg is borrowed and must outlive the feed; hook may be NULL. -EINVAL
 * (reason in err) for a configuration librdkafka refuses, -ENOMEM. */
int pl_presence_feed_new(pl_presence_feed **out, const char *brokers, const char *client_id,
                         const char *topic, pl_presence *agg, pl_presence_hook_fn hook,
                         void *arg, char *err, size_t errlen);
/* Starts the thread. -errno from pthread_create. */
int pl_presence_feed_start(pl_presence_feed *f);
/* Any thread: 1 once the replay reached the end of every partition. */
int pl_presence_feed_ready(pl_presence_feed *f);
/* Stops and joins the thread, then frees. Accepts NULL. */
void pl_presence_feed_free(pl_presence_feed *f);

#endif
