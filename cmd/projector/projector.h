/* projector: the history projector's consumer loop. It reads the events
 * topic as a member of a consumer group and applies batches to Postgres,
 * committing each batch's rows and its consumed offsets in one
 * transaction. Offsets are read back from Postgres on assignment, so the
 * database, not Kafka, decides where to resume.
 * Everything here runs on the thread that calls projector_run. */
#ifndef PROJECTOR_H
#define PROJECTOR_H

#include "pl_metrics.h"
#include "pl_svc.h"

typedef struct projector projector;

/* c and m are borrowed and must outlive the projector. */
int projector_new(projector **out, const pl_svc_common *c, pl_metrics *m,
                  int batch_max, char *err, size_t errlen);
/* Consumes and applies until a signal arrives (0) or the database stays
 * unusable for longer than the retry budget (-EIO). */
int projector_run(projector *p);
/* Leaves the group cleanly (partitions are revoked, not timed out) and
 * frees. Accepts NULL. */
void projector_free(projector *p);
/* 1 when the consumer exists and Postgres answers. Any thread. */
int projector_ready(projector *p);

#endif
