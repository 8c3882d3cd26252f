/* pusher_presence: this pusher's part of presence (docs/architecture.md,
 * "Presence").
 *
 * - Producer: each authenticated socket open/close changes a per-user
 *   count (lws thread, pusher_presence_socket); the count goes to the
 *   compacted presence topic as "<user_id>/<self>" (a tombstone at zero),
 *   and "<self>" gets a heartbeat every ttl / 3. self is PARLEY_INSTANCE
 *   plus a random suffix, so a restarted pusher never inherits the records
 *   of its crashed predecessor.
 * - Consumer: a pl_presence_feed thread folds the topic from every pusher
 *   into the aggregate. On a user's aggregate change it sends
 *   presence.changed to that user's co-members connected here, and, when
 *   the user went offline, writes auth.users.last_seen_at if this pusher
 *   is the one whose record closed the last socket (or, for a dead
 *   instance, if it is the janitor: the first live instance by name).
 *
 * Only pusher_presence_socket runs on the lws thread; everything else on
 * the presence thread or main(). */
#ifndef PUSHER_PRESENCE_H
#define PUSHER_PRESENCE_H

#include <stddef.h>
#include <stdint.h>

#include "pusher_hub.h"

typedef struct pusher_presence pusher_presence;

typedef struct pusher_presence_cfg {
    const char *brokers;
    const char *topic;    /* the compacted presence topic */
    const char *instance; /* PARLEY_INSTANCE; a random suffix is added */
    const char *pg_dsn;
    int64_t ttl_ms;       /* silence after which an instance counts as dead */
} pusher_presence_cfg;

/* hub is borrowed and must outlive p. -EINVAL (reason in err) for a
 * configuration librdkafka refuses, -ENOMEM. */
int pusher_presence_new(pusher_presence **out, const pusher_presence_cfg *cfg, pusher_hub *hub,
                        char *err, size_t errlen);
/* Starts the feed thread. -errno. */
int pusher_presence_start(pusher_presence *p);
/* Any thread: 1 once the topic's replay is done and changes are announced. */
int pusher_presence_ready(pusher_presence *p);
/* lws thread: an authenticated socket of user_id opened (+1) or closed
 * (-1). Never fails the caller; a lost record is logged. p may be NULL. */
void pusher_presence_socket(pusher_presence *p, const char *user_id, int delta);
/* Stops the thread, tombstones this instance's heartbeat and whatever
 * counts are left, flushes (up to 3 s) and frees. Call after the lws
 * context is gone. Accepts NULL. */
void pusher_presence_free(pusher_presence *p);

#endif
