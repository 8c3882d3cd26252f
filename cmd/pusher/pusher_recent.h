/* pusher_recent: the newest deliveries of each events-topic partition,
 * kept on the lws thread after their fan-out, so a socket that resumes
 * from a recent position is answered from memory, at once and in step
 * with the live stream, rather than by the replay worker reading Kafka
 * one conversation at a time. After a pusher dies its clients all come
 * back together; only memory keeps up with that.
 *
 * Every call belongs to the lws thread. */
#ifndef PUSHER_RECENT_H
#define PUSHER_RECENT_H

#include <stddef.h>
#include <stdint.h>

#include "pusher_hub.h"

typedef struct pusher_recent pusher_recent;

/* Keeps up to per_partition deliveries per partition. */
int pusher_recent_new(pusher_recent **out, size_t per_partition);
/* Frees what is kept. Accepts NULL. */
void pusher_recent_free(pusher_recent *r);

/* Keeps d, an events-topic delivery (offset >= 0), dropping its
 * partition's oldest when full. Takes d on every path. */
void pusher_recent_keep(pusher_recent *r, pusher_delivery *d);
/* 1 when every delivery of partition after offset `after` is kept here:
 * nothing after it was dropped, and the partition got this far. */
int pusher_recent_covers(const pusher_recent *r, int32_t partition, int64_t after);
/* fn for each kept delivery of partition after offset `after`, in order. */
void pusher_recent_each(const pusher_recent *r, int32_t partition, int64_t after,
                        void (*fn)(void *arg, const pusher_delivery *d), void *arg);

#endif
