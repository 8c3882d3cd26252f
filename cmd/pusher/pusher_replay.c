#include "pusher_replay.h"
#include "pl_kafka.h"
#include "pl_log.h"
#include "pl_time.h"
#include "pusher_route.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define REPLAY_WATERMARK_MS 5000
#define REPLAY_DEADLINE_MS 15000 /* per conversation, then resume.gap */
#define REPLAY_POLL_MS 100
#define REPLAY_MAX_CONVERSATIONS 1024 /* the router's member cache */
#define REPLAY_DEDUP_IDS 4096 /* a retried send's second event, within one replay */

typedef struct replay_job {
    char user[PL_ID_LEN];
    uint64_t serial;
    pusher_req_resume e;
} replay_job;

struct pusher_replay {
    rd_kafka_t *rk;
    char *topic;
    pusher_hub *hub;
    pusher_route *route;
    long long max_records;
    atomic_int partitions;     /* of topic, 0 until known (worker thread writes) */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    replay_job *ring;          /* FIFO under lock */
    size_t cap, head, len;
    const replay_job *cur;     /* the job being replayed (worker thread) */
    pthread_t thread;
    int started;
    atomic_int stop;
};

/* The router's deliveries: keep the current job's conversation, for its
 * user, as a REPLAY delivery to its session. Takes d. */
static int replay_sink(void *arg, pusher_delivery *d)
{
    pusher_replay *r = arg;
    const replay_job *j = r->cur;
    pusher_delivery *out = NULL;
    int rc = 0, mine = 0;

    for (size_t i = 0; i < d->nusers && !mine; i++)
        mine = strcmp(d->users[i], j->user) == 0;
    if (!mine || strcmp(d->conv, j->e.conversation_id) != 0)
        goto out;
    rc = pusher_delivery_new(&out, pusher_frame_ref(d->frame), d->ts_ms,
                             (const char(*)[PL_ID_LEN])j->user, 1);
    if (rc)
        goto out;
    out->kind = PUSHER_DELIVERY_REPLAY;
    out->serial = j->serial;
    memcpy(out->conv, d->conv, PL_ID_LEN);
    out->partition = d->partition;
    out->offset = d->offset;
    rc = pusher_hub_push(r->hub, out);
out:
    pusher_delivery_free(d);
    return rc;
}

/* Tells the session its replay of the job's conversation ended. */
static void replay_end(pusher_replay *r, const replay_job *j, const char *gap)
{
    pusher_delivery *d = NULL;

    if (pusher_delivery_new(&d, NULL, pl_time_real_ms(), (const char(*)[PL_ID_LEN])j->user, 1))
        return; /* out of memory: the session's pending cap turns it into a gap */
    d->kind = gap ? PUSHER_DELIVERY_REPLAY_GAP : PUSHER_DELIVERY_REPLAY_DONE;
    d->gap_reason = gap;
    d->serial = j->serial;
    memcpy(d->conv, j->e.conversation_id, PL_ID_LEN);
    d->partition = j->e.pos.partition;
    d->offset = j->e.pos.offset;
    pusher_hub_push(r->hub, d);
}

static int32_t replay_partitions(pusher_replay *r)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt;

    if (atomic_load(&r->partitions) > 0)
        return atomic_load(&r->partitions);
    rkt = rd_kafka_topic_new(r->rk, r->topic, NULL);
    if (rkt && rd_kafka_metadata(r->rk, 0, rkt, &md, REPLAY_WATERMARK_MS) == 0 &&
        md->topic_cnt == 1 && !md->topics[0].err)
        atomic_store(&r->partitions, md->topics[0].partition_cnt);
    if (md)
        rd_kafka_metadata_destroy(md);
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    return atomic_load(&r->partitions);
}

/* Why this resume cannot be replayed, or NULL with [*from, *hi) to read.
 * The command API keys by conversation id with librdkafka's default
 * partitioner, so a position on another partition is not this
 * conversation's and would replay nothing: that is said, not skipped. */
static const char *replay_check(pusher_replay *r, const replay_job *j, int64_t *from,
                                int64_t *hi)
{
    const char *conv = j->e.conversation_id;
    int32_t n = replay_partitions(r), p = j->e.pos.partition;
    int64_t lo = 0;

    if (n <= 0)
        return "unavailable";
    if (rd_kafka_msg_partitioner_consistent(NULL, conv, strlen(conv), n, NULL, NULL) != p)
        return "partition";
    if (rd_kafka_query_watermark_offsets(r->rk, r->topic, p, &lo, hi, REPLAY_WATERMARK_MS))
        return "unavailable";
    *from = j->e.pos.offset + 1;
    if (*from < lo)
        return "retention"; /* the log no longer starts there */
    if (j->e.pos.offset >= *hi)
        return "unknown_position"; /* never written: not from this log */
    if (*hi - *from > r->max_records)
        return "too_far";
    return NULL;
}

/* 1 when the record's key names another conversation: skipped without
 * parsing. A record without a proper key goes through the router. */
static int replay_foreign(const rd_kafka_message_t *m, const char *conv)
{
    return m->key && m->key_len == PL_ID_LEN - 1 && memcmp(m->key, conv, PL_ID_LEN - 1) != 0;
}

/* Reads [from, hi) of the job's partition. NULL or a gap reason. */
static const char *replay_read(pusher_replay *r, const replay_job *j, int64_t from, int64_t hi)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
    int64_t end = pl_time_mono_ms() + REPLAY_DEADLINE_MS;
    const char *gap = "unavailable";

    rd_kafka_topic_partition_list_add(list, r->topic, j->e.pos.partition)->offset = from;
    if (rd_kafka_assign(r->rk, list))
        goto out;
    pusher_route_forget(r->route, j->e.conversation_id); /* membership as of from */
    while (!atomic_load(&r->stop) && pl_time_mono_ms() < end) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(r->rk, REPLAY_POLL_MS);
        int64_t off;
        int eof, mine, ok;

        if (!m)
            continue;
        /* A stale event of an earlier assignment must not end this one. */
        mine = m->partition == j->e.pos.partition;
        eof = mine && m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF;
        off = m->offset;
        if (mine && !m->err && off >= from && off < hi &&
            !replay_foreign(m, j->e.conversation_id))
            pusher_route_record(r->route, m);
        ok = mine && !m->err;
        rd_kafka_message_destroy(m);
        if ((eof && off >= hi) || (ok && off >= hi - 1)) {
            gap = NULL;
            break;
        }
    }
    if (atomic_load(&r->stop))
        gap = "shutdown";
out:
    rd_kafka_assign(r->rk, NULL);
    rd_kafka_topic_partition_list_destroy(list);
    return gap;
}

static void replay_one(pusher_replay *r, const replay_job *j)
{
    int64_t from = 0, hi = 0;
    const char *gap = replay_check(r, j, &from, &hi);

    r->cur = j;
    if (!gap && from < hi)
        gap = replay_read(r, j, from, hi);
    r->cur = NULL;
    replay_end(r, j, gap);
}

static void *replay_main(void *arg)
{
    pusher_replay *r = arg;
    replay_job j;

    replay_partitions(r); /* early, for pusher_replay_partition_of */
    for (;;) {
        pthread_mutex_lock(&r->lock);
        while (!r->len && !atomic_load(&r->stop))
            pthread_cond_wait(&r->cond, &r->lock);
        if (atomic_load(&r->stop)) {
            pthread_mutex_unlock(&r->lock);
            return NULL;
        }
        j = r->ring[r->head];
        r->head = (r->head + 1) % r->cap;
        r->len--;
        pthread_mutex_unlock(&r->lock);
        replay_one(r, &j);
    }
}

int pusher_replay_partition_of(pusher_replay *r, const char *conv)
{
    int32_t n = atomic_load(&r->partitions);

    return n > 0 ? rd_kafka_msg_partitioner_consistent(NULL, conv, strlen(conv), n, NULL, NULL)
                 : -1;
}

int pusher_replay_submit(pusher_replay *r, const char *user_id, uint64_t serial,
                         const pusher_req_resume *entries, size_t n)
{
    pthread_mutex_lock(&r->lock);
    if (r->cap - r->len < n) {
        pthread_mutex_unlock(&r->lock);
        return -EBUSY;
    }
    for (size_t i = 0; i < n; i++) {
        replay_job *j = &r->ring[(r->head + r->len++) % r->cap];
        memcpy(j->user, user_id, PL_ID_LEN);
        j->serial = serial;
        j->e = entries[i];
    }
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
    return 0;
}

static int replay_conf(rd_kafka_conf_t **out, const pusher_replay_cfg *cfg, char *err,
                       size_t errlen)
{
    /* group.id only for librdkafka's consumer queue; never joined. EOF
     * events tell where the partition ends; short fetch waits make that
     * quick. */
    static const char *settings[][2] = {
        {"group.id", "parley-pusher-replay-unused"},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"enable.partition.eof", "true"},
        {"fetch.wait.max.ms", "20"},
    };
    rd_kafka_conf_t *conf = NULL;
    int rc = pl_kafka_conf_new(&conf, cfg->brokers, cfg->instance, err, errlen);

    for (size_t i = 0; !rc && i < sizeof(settings) / sizeof(settings[0]); i++)
        rc = pl_kafka_conf_set(conf, settings[i][0], settings[i][1], err, errlen);
    if (rc && conf)
        rd_kafka_conf_destroy(conf);
    else
        *out = conf;
    return rc;
}

int pusher_replay_new(pusher_replay **out, const pusher_replay_cfg *cfg, char *err,
                      size_t errlen)
{
    pusher_replay *r = calloc(1, sizeof(*r));
    rd_kafka_conf_t *conf = NULL;
    int rc = -ENOMEM;

    if (!r)
        return -ENOMEM;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    r->hub = cfg->hub;
    r->max_records = cfg->max_records;
    r->cap = cfg->max_queue;
    r->topic = strdup(cfg->topic);
    r->ring = calloc(r->cap ? r->cap : 1, sizeof(*r->ring));
    if (!r->topic || !r->ring)
        goto out;
    rc = pusher_route_new(&r->route, &(pusher_route_cfg){
        .topic = cfg->topic, .pg_dsn = cfg->pg_dsn, .metrics = NULL,
        .max_conversations = REPLAY_MAX_CONVERSATIONS, .dedup_ids = REPLAY_DEDUP_IDS,
        .sink = replay_sink, .sink_arg = r, .stop = &r->stop});
    if (!rc)
        rc = replay_conf(&conf, cfg, err, errlen);
    if (rc)
        goto out;
    r->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, errlen); /* owns conf on success */
    if (!r->rk) {
        rd_kafka_conf_destroy(conf);
        rc = -EINVAL;
        goto out;
    }
    rd_kafka_poll_set_consumer(r->rk);
    *out = r;
    r = NULL;
out:
    pusher_replay_free(r);
    return rc;
}

int pusher_replay_start(pusher_replay *r)
{
    int rc = pthread_create(&r->thread, NULL, replay_main, r);

    if (rc)
        return -rc;
    r->started = 1;
    return 0;
}

void pusher_replay_free(pusher_replay *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    atomic_store(&r->stop, 1);
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
    if (r->started)
        pthread_join(r->thread, NULL);
    if (r->rk) {
        rd_kafka_consumer_close(r->rk);
        rd_kafka_destroy(r->rk);
    }
    pusher_route_free(r->route);
    free(r->ring);
    free(r->topic);
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->lock);
    free(r);
}
