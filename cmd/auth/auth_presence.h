/* auth_presence: whether a user is online, for the presence object on
 * user profiles (see docs/architecture.md, "Presence").
 *
 * Auth folds the same compacted presence topic the pushers write and read
 * (pl_presence_feed, a thread of its own), so GET /users/{id} agrees with
 * the presence.changed frames without a round trip per request. last_seen
 * is persisted in auth.users.last_seen_at by the pushers; this view raises
 * it when it already knows a newer one (the write may still be on its
 * way). Until the replay reached the end of the topic, everyone reads
 * offline. */
#ifndef AUTH_PRESENCE_H
#define AUTH_PRESENCE_H

#include <stddef.h>
#include <stdint.h>

typedef struct auth_presence auth_presence;

/* Builds and starts the feed. -EINVAL (reason in err) for a configuration
 * librdkafka refuses, -ENOMEM, or -errno from pthread_create. */
int auth_presence_new(auth_presence **out, const char *brokers, const char *client_id,
                      const char *topic, int64_t ttl_ms, char *err, size_t errlen);
/* Stops the thread and frees. Accepts NULL. */
void auth_presence_free(auth_presence *p);

/* Any thread. 1 when online; may raise *last_seen_ms to a newer value it
 * knows. p may be NULL (no presence feed): offline. */
int auth_presence_online(const auth_presence *p, const char *user_id, int64_t *last_seen_ms);

#endif
