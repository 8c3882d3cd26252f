/* projector_events: what each event handler gets, and the handlers.
 * Handlers run inside the batch transaction (behind a savepoint only
 * when the batch is redone isolated, see projector_batch.h); they return
 * 0, -EINVAL for a bad event (skipped) or -EIO (batch retried).
 * Every statement must be idempotent: replays and redeliveries happen. */
#ifndef PROJECTOR_EVENTS_H
#define PROJECTOR_EVENTS_H

#include <libpq-fe.h>
#include <stddef.h>

#include "pl_buf.h"
#include "pl_event.h"
#include "projector_apply.h"

typedef struct apply_ctx {
    PGconn *pg;
    const pl_event *ev;
    char ts[24], partition[16], offset[24]; /* SQL parameters, as text */
    char *err;
    size_t errlen;
} apply_ctx;

/* Fills a for event ev (record m); err is where handlers explain. */
void projector_ctx(apply_ctx *a, PGconn *pg, const projector_event *m, const pl_event *ev,
                   char *err, size_t errlen);

/* A message.created event's data, checked; pointers borrowed from a->ev. */
typedef struct msg_created {
    const char *mid, *cmid, *text;
    const char *reply_to; /* NULL: not a reply */
    yajl_val mentions;    /* NULL, or an array of at most 50 user ids */
    yajl_val attachments; /* NULL, or an array of at most 10 valid ones */
} msg_created;

/* 0, or -EINVAL with a->err when the data is malformed. Every way of
 * applying message.created checks through this, so the per-event path and
 * the batched one (projector_msgrun) refuse exactly the same events. */
int message_created_check(apply_ctx *a, msg_created *f);

/* Maps a statement's outcome: constraint or data errors mean a bad event
 * (-EINVAL), anything else a failure worth a retry (-EIO). Frees res. */
int apply_result(apply_ctx *a, PGresult *res, int r);

int apply_conversation_created(apply_ctx *a);
int apply_message_created(apply_ctx *a);
/* The attachments of a message.created event (f checked); called by it. */
int apply_message_attachments(apply_ctx *a, const msg_created *f);
/* data.attachments: absent (NULL), or an array of at most 10 well-formed
 * attachments into *out; -EINVAL otherwise. */
int apply_attachments_check(apply_ctx *a, yajl_val *out);
int apply_message_edited(apply_ctx *a);
int apply_message_deleted(apply_ctx *a);
int apply_reaction_added(apply_ctx *a);
int apply_reaction_removed(apply_ctx *a);
/* Writes data.mentions (absent: none) as a uuid[] literal into out;
 * -EINVAL when it is not an array of at most 50 user ids. */
int apply_mentions_array(apply_ctx *a, pl_buf *out);
/* The check alone: *out is the array, or NULL when absent. */
int apply_mentions_check(apply_ctx *a, yajl_val *out);
int apply_conversation_updated(apply_ctx *a);
int apply_conversation_deleted(apply_ctx *a);
int apply_member_added(apply_ctx *a);
int apply_member_removed(apply_ctx *a);
int apply_member_role_changed(apply_ctx *a);
int apply_invite_created(apply_ctx *a);
int apply_read_updated(apply_ctx *a);

#endif
