/* pusher_cache: the Kafka thread's memory. Both structures are bounded and
 * belong to the Kafka thread alone (no locking).
 *
 * - members: conversation id -> member user ids. Filled from
 *   conversation.created events and from Postgres on a miss, and replaced
 *   after every membership event, in stream order, so an entry is always
 *   the membership as of the last event seen for its conversation. At max
 *   conversations it is cleared rather than evicted one by one: a refill
 *   costs one query per active conversation, and clearing keeps it simple.
 * - dedup: the last max event ids seen, so a producer retry that lands a
 *   second copy of an event is not pushed twice. */
#ifndef PUSHER_CACHE_H
#define PUSHER_CACHE_H

#include <stddef.h>

#include "pl_id.h"

#define PUSHER_MAX_MEMBERS 10000 /* per conversation, beyond it we refuse */

typedef struct pusher_members {
    size_t n;
    char ids[][PL_ID_LEN];
} pusher_members;

/* n ids, zeroed; free with free(). NULL on OOM or n > PUSHER_MAX_MEMBERS. */
pusher_members *pusher_members_new(size_t n);
/* 1 if id is in m. */
int pusher_members_has(const pusher_members *m, const char *id);
/* a's ids then b's not in a; free with free(). NULL on OOM or too many. */
pusher_members *pusher_members_union(const pusher_members *a, const pusher_members *b);
/* A copy; free with free(). NULL on OOM. */
pusher_members *pusher_members_dup(const pusher_members *m);

typedef struct pusher_members_cache pusher_members_cache;

int pusher_members_cache_new(pusher_members_cache **out, size_t max);
void pusher_members_cache_free(pusher_members_cache *c);
/* Borrowed pointer, valid until the next put/clear. NULL on a miss. */
const pusher_members *pusher_members_cache_get(pusher_members_cache *c, const char *conv);
/* Takes ownership of m on every path (freed on -ENOMEM). May clear the
 * cache first when it is full. */
int pusher_members_cache_put(pusher_members_cache *c, const char *conv, pusher_members *m);
/* Forgets conv's entry, if any. */
void pusher_members_cache_del(pusher_members_cache *c, const char *conv);
size_t pusher_members_cache_count(pusher_members_cache *c);

typedef struct pusher_dedup pusher_dedup;

int pusher_dedup_new(pusher_dedup **out, size_t max);
void pusher_dedup_free(pusher_dedup *d);
/* 1 if id was seen among the last max ids, else records it and returns 0.
 * -ENOMEM when it could not be recorded (the event should still go out). */
int pusher_dedup_check(pusher_dedup *d, const char *id);

#endif
