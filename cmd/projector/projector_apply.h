/* projector_apply: turns one event into rows of the history projection,
 * inside the caller's open transaction. Every statement is idempotent, so
 * a replayed or redelivered event changes nothing. */
#ifndef PROJECTOR_APPLY_H
#define PROJECTOR_APPLY_H

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

/* 0 applied (or nothing to do), -EINVAL the event is malformed and must be
 * skipped (err says why), -EIO a database failure: retry the batch. */
int projector_apply(PGconn *pg, const rd_kafka_message_t *m, char *err, size_t errlen);

#endif
