/* pusher_hub: where the Kafka thread hands frames to the lws thread.
 *
 * - a bounded, mutex-protected FIFO of deliveries (frame + recipients):
 *   pusher_hub_push from the Kafka thread, pusher_hub_pop from the lws
 *   thread; a full queue blocks the pusher, which is the backpressure we
 *   want (Kafka keeps the backlog, not our heap);
 * - the user id -> sessions index, touched only by the lws thread.
 *
 * The hub knows nothing about lws: after a push it calls the wake function
 * given at creation (lws_cancel_service in production). */
#ifndef PUSHER_HUB_H
#define PUSHER_HUB_H

#include <stddef.h>
#include <stdint.h>

#include "pl_id.h"
#include "pusher_frame.h"

typedef struct pusher_hub pusher_hub;
typedef void (*pusher_hub_wake_fn)(void *arg);

/* What a delivery is for the lws thread. */
typedef enum {
    PUSHER_DELIVERY_LIVE,         /* fan out to users' sessions */
    PUSHER_DELIVERY_WARM,         /* from before the start: only to sessions
                                   * already following its conversation */
    PUSHER_DELIVERY_REPLAY,       /* one replayed frame for session `serial` */
    PUSHER_DELIVERY_REPLAY_DONE,  /* that session's replay of conv is complete */
    PUSHER_DELIVERY_REPLAY_GAP,   /* ...could not be done: gap_reason says why */
} pusher_delivery_kind;

typedef struct pusher_delivery {
    pusher_delivery_kind kind;
    pusher_frame *frame;       /* one reference, owned; NULL for DONE and GAP */
    int64_t ts_ms;             /* event time, for the delivery histogram */
    size_t nusers;
    char (*users)[PL_ID_LEN];  /* owned */
    /* Nonzero: a revocation. Only users[0]'s sockets authenticated with
     * this session id get the frame, and are then closed with 4401. */
    char close_sid[PL_ID_LEN];
    /* The events-topic record the frame came from: conv, partition and
     * offset; offset -1 for frames from elsewhere (typing, revocations). */
    char conv[PL_ID_LEN];
    int32_t partition;
    int64_t offset;
    uint64_t serial;           /* REPLAY*: the session (ws_session.serial) */
    const char *gap_reason;    /* REPLAY_GAP: a static string */
} pusher_delivery;

/* Takes ownership of frame (unref'd on error; may be NULL) and copies
 * users. kind LIVE, offset -1. */
int pusher_delivery_new(pusher_delivery **out, pusher_frame *frame, int64_t ts_ms,
                        const char (*users)[PL_ID_LEN], size_t nusers);
/* Releases the frame reference and the delivery. Accepts NULL. */
void pusher_delivery_free(pusher_delivery *d);

/* An intrusive node a session embeds to sit in the index. */
typedef struct pusher_hub_node {
    struct pusher_hub_node *prev, *next;
    char user_id[PL_ID_LEN];
    int linked;
} pusher_hub_node;

int pusher_hub_new(pusher_hub **out, size_t max_queue, pusher_hub_wake_fn wake, void *arg);
/* Frees queued deliveries and the hub; nodes still indexed are just
 * forgotten (they belong to their sessions). Accepts NULL. */
void pusher_hub_free(pusher_hub *h);

/* Any thread. Takes ownership of d on every path. Blocks while the queue
 * is full; -ESHUTDOWN (d freed) once pusher_hub_close ran. */
int pusher_hub_push(pusher_hub *h, pusher_delivery *d);
/* Any thread. Wakes blocked pushers and makes later pushes fail. */
void pusher_hub_close(pusher_hub *h);
/* lws thread. The oldest delivery (caller owns it), NULL when empty. */
pusher_delivery *pusher_hub_pop(pusher_hub *h);

/* lws thread only. user_id is copied into the node. -ENOMEM on failure. */
int pusher_hub_index_add(pusher_hub *h, pusher_hub_node *n, const char *user_id);
/* lws thread only. No-op for a node that is not linked. */
void pusher_hub_index_del(pusher_hub *h, pusher_hub_node *n);
/* lws thread only. First node for user_id, NULL when none; walk ->next. */
pusher_hub_node *pusher_hub_index_first(pusher_hub *h, const char *user_id);
size_t pusher_hub_index_users(pusher_hub *h);

#endif
