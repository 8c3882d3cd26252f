/* projector_apply: turns one event into rows of the history projection,
 * inside the caller's open transaction. Every statement is idempotent, so
 * a replayed or redelivered event changes nothing. Table names are
 * unqualified: the connection's search_path picks the projection's schema
 * (projector_use_schema), which is how a rebuild reuses this code. */
#ifndef PROJECTOR_APPLY_H
#define PROJECTOR_APPLY_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "pl_event.h"

/* One record of the events topic, wherever it was read from (Kafka or an
 * archive segment). Borrowed pointers; payload need not be terminated. */
typedef struct projector_event {
    int32_t partition;
    int64_t offset;
    const char *key;
    size_t key_len;
    const char *payload;
    size_t len;
} projector_event;

/* 0 applied (or nothing to do), -EINVAL the event is malformed and must be
 * skipped (err says why), -EIO a database failure: retry the batch. */
int projector_apply(PGconn *pg, const projector_event *m, char *err, size_t errlen);

/* The same in two steps, for callers that look at the event first:
 * projector_parse checks the envelope and the key (0, or -EINVAL with err;
 * on 0 ev is the caller's to pl_event_free), projector_apply_parsed
 * applies it (ev borrowed). */
int projector_parse(const projector_event *m, pl_event *ev, char *err, size_t errlen);
int projector_apply_parsed(PGconn *pg, const projector_event *m, const pl_event *ev,
                           char *err, size_t errlen);

/* Sets the session's search_path to schema alone. 0 or -EIO. */
int projector_use_schema(PGconn *pg, const char *schema);

#endif
