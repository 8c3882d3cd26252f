/* auth_presence: whether a user is online, for the presence object on
 * user profiles. last_seen is persisted in auth.users.last_seen_at.
 *
 * The aggregation of pushers' socket counts is not wired in yet: every
 * user reads as offline with the stored last_seen (see docs/architecture.md,
 * "Presence"). */
#ifndef AUTH_PRESENCE_H
#define AUTH_PRESENCE_H

#include <stdint.h>

typedef struct auth_presence auth_presence;

/* 1 when online; may raise *last_seen_ms to a newer value it knows. p may
 * be NULL (no presence feed): offline. */
int auth_presence_online(const auth_presence *p, const char *user_id, int64_t *last_seen_ms);

#endif
