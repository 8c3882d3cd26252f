/* pusher_frame: one outgoing WebSocket text frame, built once and shared by
 * every session it goes to. The payload sits after LWS_PRE bytes of headroom
 * so lws_write can put the frame header in front without a copy.
 *
 * Refcounts are atomic because the Kafka thread creates a frame and the lws
 * thread releases it. Sharing the headroom between sessions is safe: all
 * writes happen on the lws thread, one after another, and the header lws
 * writes there is the same for every (unmasked, server-side) copy. */
#ifndef PUSHER_FRAME_H
#define PUSHER_FRAME_H

#include <stdatomic.h>
#include <stddef.h>

typedef struct pusher_frame {
    atomic_int refs;
    size_t len;           /* payload bytes, at data + PUSHER_FRAME_PRE */
    unsigned char data[]; /* PUSHER_FRAME_PRE headroom, payload, NUL */
} pusher_frame;

extern const size_t PUSHER_FRAME_PRE; /* == LWS_PRE */

/* Copies len bytes of payload; the new frame holds one reference.
 * -ENOMEM on allocation failure. */
int pusher_frame_new(pusher_frame **out, const void *payload, size_t len);
/* Takes ownership of json (malloc'd, as from pl_jw_finish) and frees it on
 * every path, error included. */
int pusher_frame_from_json(pusher_frame **out, char *json, size_t len);
static inline unsigned char *pusher_frame_payload(pusher_frame *f)
{
    return f->data + PUSHER_FRAME_PRE;
}
pusher_frame *pusher_frame_ref(pusher_frame *f);
/* Drops one reference; frees on the last. Accepts NULL, returns NULL. */
pusher_frame *pusher_frame_unref(pusher_frame *f);

#endif
