/* pusher_conv: what one socket has been sent, per conversation, and the
 * resume state machine around it. lws thread only; no lws in here, so the
 * unit tests drive it directly.
 *
 * For each conversation the socket got frames for, the highest offset
 * queued on it (`last`): a frame at or below it is never queued again, so
 * a socket never gets one event twice, also where a replay and the live
 * feed overlap. While a conversation is being replayed, live frames for
 * it are held (in order, at most PUSHER_CONV_MAX_PENDING) and queued when
 * the replay ends, after the replayed ones. */
#ifndef PUSHER_CONV_H
#define PUSHER_CONV_H

#include <stddef.h>
#include <stdint.h>

#include "pl_pos.h"
#include "pusher_frame.h"

#define PUSHER_CONV_MAX_PENDING 1024

typedef struct pusher_convs pusher_convs;

typedef enum {
    PUSHER_CONV_SEND,     /* queue it; `last` moved to it */
    PUSHER_CONV_DROP,     /* already sent (or, for a replayed frame, not replaying) */
    PUSHER_CONV_HELD,     /* kept (a reference taken) until the replay ends */
    PUSHER_CONV_OVERFLOW, /* the held list is full: end the replay with a gap */
} pusher_conv_verdict;

/* max: conversations tracked; beyond it frames of new ones are sent
 * untracked (the live feed alone never repeats an offset). */
int pusher_convs_new(pusher_convs **out, size_t max);
/* Drops held frames. Accepts NULL. */
void pusher_convs_free(pusher_convs *c);

/* A live frame of conv at pos. */
pusher_conv_verdict pusher_convs_live(pusher_convs *c, const char *conv, pl_pos pos,
                                      pusher_frame *f);
/* Starts replaying conv after from (the client has everything up to it).
 * -EALREADY when replaying already, -ENOSPC when the table is full,
 * -ENOMEM. */
int pusher_convs_begin(pusher_convs *c, const char *conv, pl_pos from);
/* A replayed frame of conv at pos: SEND or DROP. */
pusher_conv_verdict pusher_convs_replayed(pusher_convs *c, const char *conv, pl_pos pos);
/* 1 when the session follows conv (has state for it). */
int pusher_convs_tracked(pusher_convs *c, const char *conv);
/* 1 while conv is being replayed; *last (if not NULL) gets the newest
 * position queued (or the resume position). */
int pusher_convs_replaying(pusher_convs *c, const char *conv, pl_pos *last);
/* Ends conv's replay: the held frames past `last` go to emit in order
 * (emit takes the reference), the rest are released, and conv is live.
 * *last gets the position after the flush. -ENOENT when not replaying. */
int pusher_convs_end(pusher_convs *c, const char *conv,
                     void (*emit)(void *arg, pusher_frame *f), void *arg, pl_pos *last);

#endif
