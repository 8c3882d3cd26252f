/* auth_events: what auth tells the rest of the system over Kafka.
 *
 * session.revoked {user_id, session_id} goes to the sessions topic (key =
 * user id) after the revocation is committed in Postgres, which stays the
 * source of truth: the refresh path reads it there. Publishing is fire and
 * forget: the request does not wait for Kafka, and a failed delivery is
 * logged. If Kafka is down longer than the producer's message timeout, the
 * pushers never hear of it and the session's sockets live until their
 * access token expires (PARLEY_ACCESS_TTL_S) — the same bound as before. */
#ifndef AUTH_EVENTS_H
#define AUTH_EVENTS_H

#include "auth.h"

/* Any thread. Never fails the caller; errors are logged. */
void auth_events_session_revoked(const auth_ctx *ctx, const char *user_id,
                                 const char *session_id);

#endif
