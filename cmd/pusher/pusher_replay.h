/* pusher_replay: the resume worker. A reconnecting client names the last
 * position it saw per conversation; for each, this thread reads the
 * conversation's partition from there with its own consumer (no group),
 * routes the records through pusher_route (the live path's code, so the
 * same membership-at-offset rule and the same frames), keeps what the
 * resuming user would have got, and hands it to the lws thread through the
 * hub as REPLAY deliveries, then one REPLAY_DONE, or a REPLAY_GAP when it
 * cannot (position before the log start, more than max_records to scan,
 * not the conversation's partition, Kafka unavailable, queue full).
 *
 * It reads up to the partition's high watermark as of the start of the
 * replay. The live feed delivers everything after what the lws thread had
 * popped when the client authenticated, which is below that watermark, so
 * the two overlap instead of leaving a gap; the lws thread drops the
 * overlap by offset (see pusher_ws.c). */
#ifndef PUSHER_REPLAY_H
#define PUSHER_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "pusher_hub.h"
#include "pusher_req.h"

typedef struct pusher_replay pusher_replay;

typedef struct pusher_replay_cfg {
    const char *brokers;
    const char *topic;
    const char *pg_dsn;
    const char *instance;
    pusher_hub *hub;        /* borrowed, outlives the worker */
    long long max_records;  /* partition records one resume may scan */
    size_t max_queue;       /* resume entries waiting, beyond it -EBUSY */
} pusher_replay_cfg;

/* -EINVAL with the reason in err when librdkafka refuses the config. */
int pusher_replay_new(pusher_replay **out, const pusher_replay_cfg *cfg, char *err,
                      size_t errlen);
int pusher_replay_start(pusher_replay *r);
/* Any thread, never blocks: the partition conv's events go to, or -1
 * while the topic's partition count is not known yet. */
int pusher_replay_partition_of(pusher_replay *r, const char *conv);
/* Any thread. Queues n resumes for the session `serial` of user_id
 * (entries copied). -EBUSY when they do not fit: the caller answers gaps. */
int pusher_replay_submit(pusher_replay *r, const char *user_id, uint64_t serial,
                         const pusher_req_resume *entries, size_t n);
/* Stops and joins the thread, then frees. Close the hub first, so a push
 * blocked on a full hub returns. Accepts NULL. */
void pusher_replay_free(pusher_replay *r);

#endif
