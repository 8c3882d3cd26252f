/* projector_batch: applies a batch of events to the projection in the
 * caller's open transaction, and moves each partition's stored position
 * (the offsets table) past it. Shared by the live projector and
 * parley-admin replay, so both write the projection the same way.
 *
 * Fencing: the offsets row of every partition in the batch is locked
 * (FOR UPDATE) for the rest of the transaction and only ever moves
 * forward (GREATEST). Two writers therefore never apply the same
 * partition at once, and with fence set an event below the stored
 * position counts as already applied and is skipped.
 *
 * Cost: runs of consecutive message.created events go to Postgres as one
 * statement each (projector_msgrun.h), other events one by one, and the
 * batch is first tried with no per-event savepoints. Only when some event
 * is bad is the batch redone isolated: each run behind a savepoint (its
 * events one by one behind their own when the run's statement fails) and
 * each other event behind its own, so the bad event is skipped and
 * counted and the rest apply. */
#ifndef PROJECTOR_BATCH_H
#define PROJECTOR_BATCH_H

#include "projector_apply.h"

#define PROJECTOR_MAX_PARTITIONS 1024

typedef struct projector_batch_stats {
    int applied, rejected, skipped;
} projector_batch_stats;

/* evs are borrowed. fence 1 skips events below the stored position (the
 * projector, a rebuild); 0 re-applies them (a repair from a timestamp).
 * Returns 0, or -EIO / -EINVAL after which the caller rolls back. */
int projector_batch_apply(PGconn *pg, const char *topic, const projector_event *evs, int n,
                          int fence, projector_batch_stats *st);

#endif
