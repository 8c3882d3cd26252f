/* admin_replay: reads ranges of the events topic, from the archive where
 * Kafka's retention has dropped them and from Kafka after that, and
 * applies them with the projector's own batch code (projector_batch) to
 * the schema the connection's search_path names. */
#ifndef ADMIN_REPLAY_H
#define ADMIN_REPLAY_H

#include "admin.h"
#include "projector_batch.h"

#include <librdkafka/rdkafka.h>

#define ADMIN_KEY_MAX 128 /* longer keys are no conversation id: rejected anyway */

typedef struct admin_replay {
    const admin_ctx *ctx;    /* borrowed; ctx->pg is the connection written to */
    rd_kafka_t *rk;          /* assign-only consumer, never commits */
    pl_store *store;         /* the archive, opened on first need */
    int fence;               /* projector_batch_apply's fence */
    int in_txn;              /* flush inside the caller's open transaction */
    int64_t min_ts;          /* archive events older than this are skipped */
    projector_event *evs;    /* the pending batch */
    rd_kafka_message_t **msgs; /* owners of evs' bytes read from Kafka */
    char **copies;           /* or copies of archived bytes (NULL: in the segment) */
    char (*keys)[ADMIN_KEY_MAX]; /* archived keys, copied: the parser's are transient */
    int n, max;
    projector_batch_stats total;
    long from_archive, from_kafka;
} admin_replay;

/* Creates the Kafka consumer. 0 or -EIO after printing why. */
int admin_replay_open(admin_replay *r, const admin_ctx *ctx, int fence);
void admin_replay_close(admin_replay *r);
/* The events topic's partition count, or negative after printing why. */
int admin_replay_partitions(admin_replay *r);
/* Applies offsets [from, to) of partition p. 0 or negative after
 * printing why (a hole in the archive is an error, never skipped). */
int admin_replay_range(admin_replay *r, int32_t p, int64_t from, int64_t to);
/* Reads schema.offsets into next[0..nparts) (0 where absent). 1 when the
 * table exists, 0 when it does not, negative on failure. */
int admin_offsets_read(PGconn *pg, const char *schema, const char *topic, int64_t *next,
                       int nparts);

/* Prints per-table row counts and checksums of both schemas. 0 equal,
 * 1 different, negative when it could not compute them. */
int admin_checksum_compare(PGconn *pg, const char *live, const char *rebuilt);

/* Brings rebuilt up to live's stored positions and, in the same
 * transaction, either compares them (verify) or renames live away and
 * rebuilt to live. Exit code as admin_replay_run. */
int admin_swap(admin_replay *r, int nparts, int verify);

#endif
