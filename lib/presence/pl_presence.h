/* pl_presence: who is online, folded from the compacted presence topic.
 *
 * Records (see docs/architecture.md, "Presence"):
 * - key "<user_id>/<instance>", value {"user_id","instance","sockets","at"}
 *   ("at" in ms since the epoch): that pusher instance holds `sockets`
 *   open sockets of the user; a tombstone (NULL value) means none;
 * - key "<instance>", value {"instance","at"}: the instance's heartbeat; a
 *   tombstone means it stopped cleanly.
 *
 * A user is online while some instance reports sockets > 0 for them and
 * that instance was heard from (heartbeat or any record) less than ttl ago,
 * so a crashed pusher's users go offline after ttl. last_seen is when the
 * user went offline: the time of the record that closed their last socket,
 * or the dead instance's last heartbeat. Going offline is announced (and
 * answered by pl_presence_online) only after a grace of min(ttl / 4, 2 s),
 * so a socket that moves between pushers, whose records from two producers
 * may land in either order, or a page reload, does not flicker.
 *
 * Thread-safe: one mutex guards everything. The change callback runs with
 * that mutex held, on the thread that called apply/tick; it must not call
 * back into the same pl_presence. Library code: nothing here logs. */
#ifndef PL_PRESENCE_H
#define PL_PRESENCE_H

#include <stddef.h>
#include <stdint.h>

#define PL_PRESENCE_INSTANCE_MAX 96    /* bytes of an instance name, with NUL */
#define PL_PRESENCE_MAX_INSTANCES 1024 /* live and dead instances remembered */
#define PL_PRESENCE_MAX_USERS 2000000  /* user entries; beyond, records are dropped */
#define PL_PRESENCE_SLOTS 16           /* instances one user can be counted on */

typedef struct pl_presence pl_presence;

/* A user's aggregate status changed. cause is the live instance whose
 * record made the user go offline (the last socket closed there), or NULL
 * when the user came online or went offline because an instance died or
 * stopped (timeout or heartbeat tombstone). */
typedef void (*pl_presence_change_fn)(void *arg, const char *user_id, int online,
                                      int64_t last_seen_ms, const char *cause);

/* fn may be NULL. Callbacks stay off until pl_presence_set_live(p, 1), so
 * replaying the topic on start does not announce every old change.
 * -ENOMEM or -EINVAL (ttl_ms < 1). */
int pl_presence_new(pl_presence **out, int64_t ttl_ms, pl_presence_change_fn fn, void *arg);
/* Accepts NULL. */
void pl_presence_free(pl_presence *p);
void pl_presence_set_live(pl_presence *p, int live);

/* Folds one record in. value NULL (len 0) is a tombstone; ts_ms is the
 * record's Kafka timestamp, used for tombstones. -EINVAL for a malformed
 * key or value (skip it), -E2BIG when a limit is hit, -ENOMEM. */
int pl_presence_apply(pl_presence *p, const char *key, size_t keylen, const char *value,
                      size_t len, int64_t ts_ms, int64_t now_ms);
/* Expires instances not heard from for ttl, announces offline users whose
 * grace ran out, and forgets offline users whose last_seen is older than
 * ten ttls. Call every 100 ms or so: it sets the grace's resolution. */
void pl_presence_tick(pl_presence *p, int64_t now_ms);

/* 1 online, 0 offline. Raises *last_seen_ms (may be NULL) when this view
 * knows a later last_seen. */
int pl_presence_online(pl_presence *p, const char *user_id, int64_t now_ms,
                       int64_t *last_seen_ms);

/* 1 when self is the alphabetically first live instance: the one that
 * cleans up after dead instances (see pl_presence_dead_each). */
int pl_presence_is_janitor(pl_presence *p, const char *self, int64_t now_ms);

/* Calls fn for every (user, instance) pair still on record whose instance
 * was silent for dead_for_ms (at least ttl), then (user_id NULL) for every
 * such instance; online says whether that user is online through another
 * instance. At most max calls; returns how many. fn runs with the mutex
 * held. */
typedef void (*pl_presence_dead_fn)(void *arg, const char *user_id, const char *instance,
                                    int online, int64_t last_seen_ms);
size_t pl_presence_dead_each(pl_presence *p, int64_t now_ms, int64_t dead_for_ms, size_t max,
                             pl_presence_dead_fn fn, void *arg);

/* Splits "<user_id>/<instance>" (user_id may be NULL for a heartbeat key).
 * -EINVAL when malformed. Exposed for the unit test. */
int pl_presence_key_parse(const char *key, size_t keylen, char *user_id, char *instance);

#endif
