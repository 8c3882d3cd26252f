/* pusher_feed: the Kafka thread. It reads every partition of the events
 * topic from the end (no consumer group: every pusher must see every
 * event), turns each event into one frame plus its recipients and pushes
 * that onto the hub. Membership comes from the cache, else Postgres.
 *
 * The thread never touches lws; the hub's wake function does the waking. */
#ifndef PUSHER_FEED_H
#define PUSHER_FEED_H

#include <stddef.h>

#include "pl_metrics.h"
#include "pusher_hub.h"

typedef struct pusher_feed pusher_feed;

typedef struct pusher_feed_cfg {
    const char *brokers;
    const char *topic;           /* conversation events */
    const char *sessions_topic;  /* session.revoked */
    const char *ephemeral_topic; /* typing: never stored anywhere */
    const char *pg_dsn;
    const char *instance; /* Kafka client.id */
    /* Events-topic records per partition read from before the start (the
     * newest ones), as PUSHER_DELIVERY_WARM: they fill the recent
     * deliveries that resumes are answered from (pusher_recent). */
    long long warm;
} pusher_feed_cfg;

/* Builds the consumer (nothing is fetched yet). hub and metrics are
 * borrowed and must outlive the feed. -EINVAL with the reason in err for a
 * configuration librdkafka refuses, -ENOMEM otherwise. */
int pusher_feed_new(pusher_feed **out, const pusher_feed_cfg *cfg, pusher_hub *hub,
                    pl_metrics *metrics, char *err, size_t errlen);
/* Starts the thread. -errno from pthread_create. */
int pusher_feed_start(pusher_feed *f);
/* Any thread: 1 once every partition is assigned and the events topic's
 * warm records (cfg.warm) are read. */
int pusher_feed_ready(pusher_feed *f);
/* Any thread, never blocks: the events topic partition's end as last
 * fetched (the next offset), or -1 when not known. */
int64_t pusher_feed_log_end(pusher_feed *f, int32_t partition);
/* Stops and joins the thread, then frees. Call pusher_hub_close first so a
 * push blocked on a full hub returns. Accepts NULL. */
void pusher_feed_free(pusher_feed *f);

#endif
