/* projector_msgrun: a run of consecutive message.created events of one
 * batch (any partitions, any conversations) applied as one statement, the
 * batch's common case: one round trip for the run instead of several per
 * event. The statement does per row exactly what apply_message_created
 * does per event (membership check, reply_to resolution, ON CONFLICT DO
 * NOTHING, mentions, attachments, the conversation's last message).
 *
 * Rows of one statement cannot see each other, so a run holds no two
 * events with the same message_id and no reply to a message earlier in the
 * run: msg_run_fits says when the caller must flush first. Membership
 * only changes through other event types, which flush the run too, so
 * within a run the order of the rows does not matter.
 *
 * The run owns copies of what it needs; events may be freed after add. */
#ifndef PROJECTOR_MSGRUN_H
#define PROJECTOR_MSGRUN_H

#include "projector_events.h"

typedef struct msg_run msg_run;

/* cap: the most events one run can hold (the batch size). */
int msg_run_new(msg_run **out, int cap);
void msg_run_free(msg_run *r);

/* Events in the run, and the index (as given to add) of the i-th. */
int msg_run_len(const msg_run *r);
int msg_run_index(const msg_run *r, int i);

/* 1 when f can join the run, 0 when the run must be applied first. */
int msg_run_fits(const msg_run *r, const msg_created *f);
/* Adds checked event a->ev (f from message_created_check); index is the
 * caller's handle for it. 0 or -ENOMEM. */
int msg_run_add(msg_run *r, int index, const apply_ctx *a, const msg_created *f);

/* Applies the run in the caller's transaction, once. 0, -EINVAL when a
 * row is bad (constraint or data error: the transaction is aborted, the
 * caller rolls back to a savepoint and applies the run's events one by
 * one, by msg_run_index), -EIO for anything else. */
int msg_run_exec(msg_run *r, PGconn *pg, char *err, size_t errlen);
/* Empties the run for the next one. */
void msg_run_clear(msg_run *r);

#endif
