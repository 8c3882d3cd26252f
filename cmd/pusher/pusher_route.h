/* pusher_route: one record of the events topic -> one frame plus its
 * recipients, with membership exact at the record's offset. The live feed
 * and the resume replay (pusher_replay) both route through here, so a
 * replayed frame is byte for byte the frame the live path sent.
 *
 * A router belongs to one thread. It owns its member cache (the
 * membership as of the last event it routed per conversation) and a
 * Postgres pool for misses; deliveries go to the sink given at creation. */
#ifndef PUSHER_ROUTE_H
#define PUSHER_ROUTE_H

#include <librdkafka/rdkafka.h>
#include <stdatomic.h>
#include <stddef.h>

#include "pl_metrics.h"
#include "pusher_cache.h"
#include "pusher_hub.h"

typedef struct pusher_route pusher_route;
/* Takes ownership of d on every path; nonzero stops nothing, it is logged. */
typedef int (*pusher_route_sink)(void *arg, pusher_delivery *d);

typedef struct pusher_route_cfg {
    const char *topic;   /* the events topic (history.offsets key) */
    const char *pg_dsn;
    pl_metrics *metrics; /* borrowed; NULL counts nothing */
    size_t max_conversations;
    size_t dedup_ids;    /* 0: no event-id dedup */
    pusher_route_sink sink;
    void *sink_arg;
    const atomic_int *stop; /* borrowed: waits for the projection end when set */
} pusher_route_cfg;

int pusher_route_new(pusher_route **out, const pusher_route_cfg *cfg);
void pusher_route_free(pusher_route *r); /* accepts NULL */

/* Routes one events-topic record (invalid ones are counted and skipped).
 * Every delivery carries the record's conversation, partition and offset. */
void pusher_route_record(pusher_route *r, const rd_kafka_message_t *m);
/* The members of conv now, for records outside the events topic (typing):
 * the cache, else the projection as it is. Borrowed until the next call.
 * -ENOENT when nobody, or the query's error. */
int pusher_route_members_now(pusher_route *r, const char *conv,
                             const pusher_members **members);
/* Forgets what the cache knows about conv and which event ids it saw (a
 * replay starts elsewhere, for another socket). */
void pusher_route_forget(pusher_route *r, const char *conv);
/* Counts a skipped record under pusher_events_rejected_total{reason}. */
void pusher_route_reject(pusher_route *r, const char *reason);

#endif
