#include "pusher_feed.h"
#include "pl_event.h"
#include "pl_kafka.h"
#include "pl_log.h"
#include "pl_time.h"
#include "pusher_cache.h"
#include "pusher_route.h"
#include "pusher_util.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define FEED_MAX_CONVERSATIONS 100000
#define FEED_DEDUP_IDS 65536
#define FEED_POLL_MS 200
#define FEED_METADATA_MS 2000
#define FEED_LAG_EVERY_MS 5000

enum { FEED_EVENTS, FEED_SESSIONS, FEED_EPHEMERAL, FEED_NTOPICS };

struct pusher_feed {
    rd_kafka_t *rk;
    char *topic;                    /* == topics[FEED_EVENTS] */
    char *topics[FEED_NTOPICS];
    pusher_route *route; /* events -> frames, membership exact by offset */
    pusher_hub *hub;
    pl_metrics *metrics;
    rd_kafka_topic_partition_list_t *assigned;
    char *value; /* PL_EVENT_MAX + 1: pl_event_parse wants a NUL after the JSON */
    pthread_t thread;
    int started;
    atomic_int stop;
    atomic_int ready;
    int64_t next_lag_ms;
    long long warm;
    int64_t *warm_end;   /* per events partition: deliveries below are WARM */
    uint8_t *warmed;     /* per events partition: read up to warm_end */
    int32_t nwarm;
    atomic_int warm_left; /* partitions not warmed yet: not ready before 0 */
};

static void feed_reject(pusher_feed *f, const char *reason)
{
    pusher_route_reject(f->route, reason);
}

static int feed_sink(void *arg, pusher_delivery *d)
{
    pusher_feed *f = arg;

    if (d->partition >= 0 && d->partition < f->nwarm && d->offset >= 0 &&
        d->offset < f->warm_end[d->partition])
        d->kind = PUSHER_DELIVERY_WARM;
    return pusher_hub_push(f->hub, d);
}

/* Runs on the feed thread (the main queue is forwarded to the consumer). */
static void feed_on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    char q[256];
    (void)rk;
    (void)opaque;
    pl_error("kafka_error", "code=%s reason=%s",
             rd_kafka_err2name((rd_kafka_resp_err_t)err), pusher_quote(q, sizeof(q), reason));
}

/* librdkafka's own lines, in our format. Any librdkafka thread may call
 * this; pl_log writes whole lines. error_cb already reports what matters,
 * so below critical these are debug. */
static void feed_on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    char q[512];
    (void)rk;
    pl_log(level <= 2 ? PL_LOG_ERROR : PL_LOG_DEBUG, "kafka_log", "facility=%s msg=%s", fac,
           pusher_quote(q, sizeof(q), buf));
}

static int feed_conf(rd_kafka_conf_t **out, const pusher_feed_cfg *cfg, char *err,
                     size_t errlen)
{
    /* group.id only because librdkafka's consumer queue needs a group
     * handle; we never subscribe, join or commit. */
    static const char *settings[][2] = {
        {"group.id", "parley-pusher-unused"},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"enable.partition.eof", "false"},
    };
    rd_kafka_conf_t *conf = NULL;
    int r = pl_kafka_conf_new(&conf, cfg->brokers, cfg->instance, err, errlen);

    for (size_t i = 0; !r && i < sizeof(settings) / sizeof(settings[0]); i++)
        r = pl_kafka_conf_set(conf, settings[i][0], settings[i][1], err, errlen);
    if (r) {
        if (conf)
            rd_kafka_conf_destroy(conf);
        return r;
    }
    rd_kafka_conf_set_error_cb(conf, feed_on_error);
    rd_kafka_conf_set_log_cb(conf, feed_on_log);
    *out = conf;
    return 0;
}

int pusher_feed_new(pusher_feed **out, const pusher_feed_cfg *cfg, pusher_hub *hub,
                    pl_metrics *metrics, char *err, size_t errlen)
{
    pusher_feed *f = calloc(1, sizeof(*f));
    rd_kafka_conf_t *conf = NULL;
    int r = -ENOMEM;

    if (!f)
        return -ENOMEM;
    f->hub = hub;
    f->metrics = metrics;
    f->warm = cfg->warm;
    f->topic = f->topics[FEED_EVENTS] = strdup(cfg->topic);
    f->topics[FEED_SESSIONS] = strdup(cfg->sessions_topic);
    f->topics[FEED_EPHEMERAL] = strdup(cfg->ephemeral_topic);
    f->value = malloc(PL_EVENT_MAX + 1);
    if (!f->topic || !f->topics[FEED_SESSIONS] || !f->topics[FEED_EPHEMERAL] || !f->value)
        goto out;
    r = pusher_route_new(&f->route, &(pusher_route_cfg){
        .topic = cfg->topic, .pg_dsn = cfg->pg_dsn, .metrics = metrics,
        .max_conversations = FEED_MAX_CONVERSATIONS, .dedup_ids = FEED_DEDUP_IDS,
        .sink = feed_sink, .sink_arg = f, .stop = &f->stop});
    if (!r)
        r = feed_conf(&conf, cfg, err, errlen);
    if (r)
        goto out;
    f->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, errlen); /* owns conf on success */
    if (!f->rk) {
        rd_kafka_conf_destroy(conf);
        r = -EINVAL;
        goto out;
    }
    rd_kafka_poll_set_consumer(f->rk);
    *out = f;
    f = NULL;
    r = 0;
out:
    pusher_feed_free(f);
    return r;
}

/* The events topic starts f->warm records back: where each partition ends
 * now is where its WARM deliveries stop. 0 or -EAGAIN. */
static int feed_warm(pusher_feed *f, const struct rd_kafka_metadata_topic *t,
                     rd_kafka_topic_partition_list_t *list)
{
    int32_t n = 0;
    int64_t lo, hi, start;

    for (int i = 0; i < t->partition_cnt; i++)
        if (t->partitions[i].id >= n)
            n = t->partitions[i].id + 1;
    free(f->warm_end);
    free(f->warmed);
    f->nwarm = 0;
    f->warm_end = calloc((size_t)n, sizeof(*f->warm_end));
    f->warmed = calloc((size_t)n, 1);
    if (!f->warm_end || !f->warmed)
        return -EAGAIN;
    atomic_store(&f->warm_left, 0);
    for (int i = 0; i < t->partition_cnt; i++) {
        int32_t p = t->partitions[i].id;
        if (rd_kafka_query_watermark_offsets(f->rk, t->topic, p, &lo, &hi, FEED_METADATA_MS))
            return -EAGAIN;
        start = hi - f->warm > lo ? hi - f->warm : lo;
        f->warm_end[p] = hi;
        f->warmed[p] = start >= hi;
        atomic_fetch_add(&f->warm_left, !f->warmed[p]);
        /* An explicit offset, not OFFSET_END: the end is resolved when
         * fetching starts, and a record written before that but after
         * we said ready would be skipped. */
        rd_kafka_topic_partition_list_add(list, t->topic, p)->offset = start;
    }
    f->nwarm = n;
    return 0;
}

/* Adds every partition of topic, at its end (the events topic: f->warm
 * records back), to list. -EAGAIN to retry. */
static int feed_add_topic(pusher_feed *f, const char *topic,
                          rd_kafka_topic_partition_list_t *list)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(f->rk, topic, NULL);
    rd_kafka_resp_err_t e;
    int r = -EAGAIN;

    if (!rkt)
        return -EAGAIN;
    e = rd_kafka_metadata(f->rk, 0, rkt, &md, FEED_METADATA_MS);
    if (e) {
        pl_warn("kafka_metadata_failed", "topic=%s code=%s", topic, rd_kafka_err2name(e));
        goto out;
    }
    if (md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt <= 0) {
        pl_warn("kafka_topic_unavailable", "topic=%s code=%s", topic,
                rd_kafka_err2name(md->topic_cnt == 1 ? md->topics[0].err
                                                     : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
        goto out;
    }
    if (topic == f->topic) {
        r = feed_warm(f, &md->topics[0], list);
        goto out;
    }
    for (int i = 0; i < md->topics[0].partition_cnt; i++)
        rd_kafka_topic_partition_list_add(list, topic, md->topics[0].partitions[i].id)
            ->offset = RD_KAFKA_OFFSET_END;
    r = 0;
out:
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return r;
}

/* Assigns every partition of every topic at its end (all are live-only
 * feeds). 0 once done, -EAGAIN to retry. */
static int feed_assign(pusher_feed *f)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(96);
    rd_kafka_resp_err_t e;
    int r = 0;

    for (int i = 0; !r && i < FEED_NTOPICS; i++)
        r = feed_add_topic(f, f->topics[i], list);
    if (r)
        goto out;
    e = rd_kafka_assign(f->rk, list);
    if (e) {
        pl_error("kafka_assign_failed", "topic=%s code=%s", f->topic, rd_kafka_err2name(e));
        r = -EAGAIN;
        goto out;
    }
    pl_info("kafka_assigned", "topics=%s,%s,%s partitions=%d", f->topics[0], f->topics[1],
            f->topics[2], list->cnt);
    f->assigned = list;
    list = NULL;
    atomic_store(&f->ready, 1);
out:
    if (list)
        rd_kafka_topic_partition_list_destroy(list);
    return r;
}

/* Lag from cached watermarks: no broker round trip. */
static void feed_update_lag(pusher_feed *f)
{
    int64_t now = pl_time_mono_ms(), lag = 0, lo, hi;
    rd_kafka_topic_partition_list_t *pos;

    if (!f->assigned || now < f->next_lag_ms)
        return;
    f->next_lag_ms = now + FEED_LAG_EVERY_MS;
    pos = rd_kafka_topic_partition_list_copy(f->assigned);
    if (rd_kafka_position(f->rk, pos) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (int i = 0; i < pos->cnt; i++) {
            rd_kafka_topic_partition_t *p = &pos->elems[i];
            if (p->offset < 0 ||
                rd_kafka_get_watermark_offsets(f->rk, p->topic, p->partition, &lo, &hi) ||
                hi < p->offset)
                continue;
            lag += hi - p->offset;
        }
        pl_metrics_set(f->metrics, "pusher_consumer_lag", "", (double)lag);
    }
    rd_kafka_topic_partition_list_destroy(pos);
}

/* Copies a record into f->value, NUL-terminated. -EINVAL when too big. */
static int feed_copy(pusher_feed *f, const rd_kafka_message_t *m)
{
    if (m->len > PL_EVENT_MAX || !m->payload) {
        feed_reject(f, "invalid");
        return -EINVAL;
    }
    memcpy(f->value, m->payload, m->len);
    f->value[m->len] = '\0';
    return 0;
}

static int feed_session_frame(const char *sid, char **json, size_t *len)
{
    pl_jw w;
    int r = pl_jw_init(&w);

    if (r)
        return r;
    pl_jw_obj(&w);
    pl_jw_kstr(&w, "type", "session.revoked");
    pl_jw_kstr(&w, "session_id", sid);
    pl_jw_end_obj(&w);
    return pl_jw_finish(&w, json, len);
}

/* session.revoked {user_id, session_id} from auth: close that session's
 * sockets (the lws thread does it, see pusher_delivery.close_sid). */
static void feed_session(pusher_feed *f, const rd_kafka_message_t *m)
{
    const char *type, *uid, *sid;
    pusher_delivery *d = NULL;
    pusher_frame *frame = NULL;
    yajl_val t = NULL;
    char err[128], users[1][PL_ID_LEN], *json = NULL;
    size_t len = 0;

    if (feed_copy(f, m) || pl_json_parse(f->value, m->len, &t, err, sizeof(err)))
        goto bad;
    type = pl_json_str(t, "type");
    uid = pl_json_str(t, "user_id");
    sid = pl_json_str(t, "session_id");
    if (!type || strcmp(type, "session.revoked") != 0 || !pl_id_valid(uid) ||
        !pl_id_valid(sid))
        goto bad;
    memcpy(users[0], uid, PL_ID_LEN);
    if (feed_session_frame(sid, &json, &len) ||
        pusher_frame_from_json(&frame, json, len) || /* takes json */
        pusher_delivery_new(&d, frame, pl_time_real_ms(), (const char(*)[PL_ID_LEN])users, 1))
        goto out;
    memcpy(d->close_sid, sid, PL_ID_LEN);
    pl_info("session_revoked", "user_id=%s session_id=%s", uid, sid);
    pusher_hub_push(f->hub, d); /* takes d */
    goto out;
bad:
    feed_reject(f, "invalid");
out:
    yajl_tree_free(t);
}

/* Takes json: a frame from outside the events topic (no position). */
static int feed_deliver(pusher_feed *f, char *json, size_t len, int64_t ts_ms,
                        const pusher_members *to)
{
    pusher_delivery *d = NULL;
    pusher_frame *frame = NULL;
    int r = pusher_frame_from_json(&frame, json, len);

    if (r)
        return r;
    r = pusher_delivery_new(&d, frame, ts_ms, (const char(*)[PL_ID_LEN])to->ids, to->n);
    if (r)
        return r;
    return pusher_hub_push(f->hub, d);
}

/* The members of ev's conversation but its actor: who sees a typing event. */
static int feed_others(pusher_feed *f, const pl_event *ev, pusher_members **out)
{
    const pusher_members *all = NULL;
    pusher_members *m;
    size_t n = 0;
    int r = pusher_route_members_now(f->route, ev->conversation_id, &all);

    if (r)
        return r;
    m = pusher_members_new(all->n);
    if (!m)
        return -ENOMEM;
    for (size_t i = 0; i < all->n; i++)
        if (strcmp(all->ids[i], ev->actor) != 0)
            memcpy(m->ids[n++], all->ids[i], PL_ID_LEN);
    m->n = n;
    *out = m;
    return 0;
}

/* parley.ephemeral: typing {"type","conversation_id","user_id","at"} to
 * the other members. Nothing here is ever stored. */
static void feed_ephemeral(pusher_feed *f, const rd_kafka_message_t *m)
{
    char err[160], at[PL_TIME_ISO_LEN], *json = NULL;
    pusher_members *to = NULL;
    size_t len = 0;
    pl_event ev;
    pl_jw w;

    if (feed_copy(f, m))
        return;
    if (pl_event_parse(f->value, m->len, &ev, err, sizeof(err))) {
        feed_reject(f, "invalid");
        return;
    }
    if (strcmp(ev.type, "typing") != 0 || pl_jw_init(&w)) {
        feed_reject(f, "unknown_type");
        goto out;
    }
    pl_time_iso(at, ev.ts_ms);
    pl_jw_obj(&w);
    pl_jw_kstr(&w, "type", "typing");
    pl_jw_kstr(&w, "conversation_id", ev.conversation_id);
    pl_jw_kstr(&w, "user_id", ev.actor);
    pl_jw_kstr(&w, "at", at);
    pl_jw_end_obj(&w);
    if (pl_jw_finish(&w, &json, &len) || feed_others(f, &ev, &to)) {
        free(json);
        goto out;
    }
    feed_deliver(f, json, len, ev.ts_ms, to); /* takes json */
out:
    free(to);
    pl_event_free(&ev);
}

/* Counts a partition warm once its record before warm_end was read. */
static void feed_warmed(pusher_feed *f, const rd_kafka_message_t *m)
{
    if (m->partition >= 0 && m->partition < f->nwarm && !f->warmed[m->partition] &&
        m->offset >= f->warm_end[m->partition] - 1) {
        f->warmed[m->partition] = 1;
        atomic_fetch_sub(&f->warm_left, 1);
    }
}

static void feed_poll(pusher_feed *f)
{
    rd_kafka_message_t *m = rd_kafka_consumer_poll(f->rk, FEED_POLL_MS);
    const char *topic;

    if (!m)
        return;
    topic = m->err ? NULL : rd_kafka_topic_name(m->rkt);
    if (m->err)
        feed_on_error(f->rk, m->err, rd_kafka_message_errstr(m), NULL);
    else if (strcmp(topic, f->topics[FEED_SESSIONS]) == 0)
        feed_session(f, m);
    else if (strcmp(topic, f->topics[FEED_EPHEMERAL]) == 0)
        feed_ephemeral(f, m);
    else {
        pusher_route_record(f->route, m);
        feed_warmed(f, m);
    }
    rd_kafka_message_destroy(m);
}

static void *feed_main(void *arg)
{
    pusher_feed *f = arg;

    while (!atomic_load(&f->stop) && feed_assign(f) != 0) {
        /* Serve error callbacks while we wait, and stay stoppable. */
        for (int i = 0; i < 5 && !atomic_load(&f->stop); i++)
            feed_poll(f);
    }
    while (!atomic_load(&f->stop)) {
        feed_poll(f);
        feed_update_lag(f);
    }
    return NULL;
}

int pusher_feed_start(pusher_feed *f)
{
    int r = pthread_create(&f->thread, NULL, feed_main, f);

    if (r)
        return -r;
    f->started = 1;
    return 0;
}

int64_t pusher_feed_log_end(pusher_feed *f, int32_t partition)
{
    int64_t lo = -1, hi = -1;

    if (rd_kafka_get_watermark_offsets(f->rk, f->topic, partition, &lo, &hi))
        return -1;
    return hi;
}

int pusher_feed_ready(pusher_feed *f)
{
    return atomic_load(&f->ready) && atomic_load(&f->warm_left) == 0;
}

void pusher_feed_free(pusher_feed *f)
{
    if (!f)
        return;
    atomic_store(&f->stop, 1);
    if (f->started)
        pthread_join(f->thread, NULL);
    if (f->rk) {
        rd_kafka_consumer_close(f->rk);
        rd_kafka_destroy(f->rk);
    }
    if (f->assigned)
        rd_kafka_topic_partition_list_destroy(f->assigned);
    pusher_route_free(f->route);
    free(f->warm_end);
    free(f->warmed);
    free(f->value);
    for (int i = 0; i < FEED_NTOPICS; i++)
        free(f->topics[i]);
    free(f);
}
