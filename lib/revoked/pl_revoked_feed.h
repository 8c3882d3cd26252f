/* pl_revoked_feed: a thread that keeps a pl_revoked up to date from the
 * sessions topic, for every service that verifies access tokens.
 *
 * No consumer group: every instance needs every revocation. At start it
 * assigns itself every partition from the first record at or after
 * now - window (offsets_for_times), so a restarted service again knows
 * every revocation whose tokens could still be valid, and notes each
 * partition's end as it was then; it is ready once it has read up to
 * those ends. Later Kafka trouble only delays news: the set and readiness
 * stay as they are. The reading itself is pl_kafka_tail's.
 *
 * Library code: it does not log (librdkafka's own lines go through
 * pl_kafka's adapter). */
#ifndef PL_REVOKED_FEED_H
#define PL_REVOKED_FEED_H

#include <stddef.h>
#include <stdint.h>

#include "pl_revoked.h"

typedef struct pl_revoked_feed pl_revoked_feed;

/* Runs on the feed thread for every revocation read, replayed ones
 * included (a pusher closes that session's sockets). Must not block. */
typedef void (*pl_revoked_fn)(void *arg, const pl_revoked_event *ev);

typedef struct pl_revoked_feed_cfg {
    const char *brokers, *client_id, *topic; /* copied */
    /* How long a revocation matters: the access-token TTL plus clock skew
     * between auth and us. Entries live ts + window_ms. */
    int64_t window_ms;
    pl_revoked_fn on_revoked; /* may be NULL */
    void *arg;
} pl_revoked_feed_cfg;

/* -EINVAL (reason in err) for a configuration librdkafka refuses, -ENOMEM. */
int pl_revoked_feed_new(pl_revoked_feed **out, const pl_revoked_feed_cfg *cfg, char *err,
                        size_t errlen);
/* Starts the thread. -errno from pthread_create. */
int pl_revoked_feed_start(pl_revoked_feed *f);
/* Any thread: 1 once every partition was read up to its end at start. */
int pl_revoked_feed_ready(pl_revoked_feed *f);
/* Any thread: 1 if sid was revoked and its tokens may still be valid. */
int pl_revoked_feed_has(pl_revoked_feed *f, const char *sid);
/* Any thread: how many revocations the set holds now (a gauge). */
size_t pl_revoked_feed_count(pl_revoked_feed *f);
/* Stops and joins the thread, then frees. Accepts NULL. */
void pl_revoked_feed_free(pl_revoked_feed *f);

#endif
