#include "pusher_feed.h"
#include "pl_event.h"
#include "pl_kafka.h"
#include "pl_log.h"
#include "pl_num.h"
#include "pl_pg.h"
#include "pl_pos.h"
#include "pl_time.h"
#include "pusher_build.h"
#include "pusher_cache.h"
#include "pusher_util.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FEED_MAX_CONVERSATIONS 100000
#define FEED_DEDUP_IDS 65536
#define FEED_POLL_MS 200
#define FEED_METADATA_MS 2000
#define FEED_LAG_EVERY_MS 5000
#define FEED_PG_WAIT_MS 1000

#define FEED_LAG_WAIT_MS 5000 /* how long an event waits for the projection */
#define FEED_LAG_RETRY_MS 20

/* Who was a member right after offset $4, with how far the projection has
 * got, in one statement (one snapshot). The rows are exact only once
 * next_offset is past $4; until then the caller waits. The log keeps the
 * answer exact also when the projection has run ahead of us. */
static const char members_sql[] =
    "SELECT o.n, l.user_id::text FROM"
    " (SELECT coalesce((SELECT next_offset FROM history.offsets"
    "   WHERE topic = $2 AND partition = $3::int), 0) AS n) o"
    " LEFT JOIN LATERAL (SELECT DISTINCT ON (user_id) user_id, present"
    "   FROM history.member_log WHERE conversation_id = $1 AND \"offset\" <= $4::bigint"
    "   ORDER BY user_id, \"offset\" DESC) l ON l.present";

enum { FEED_EVENTS, FEED_SESSIONS, FEED_EPHEMERAL, FEED_NTOPICS };

struct pusher_feed {
    rd_kafka_t *rk;
    char *topic;                    /* == topics[FEED_EVENTS] */
    char *topics[FEED_NTOPICS];
    pl_pg_pool *pg;
    pusher_hub *hub;
    pl_metrics *metrics;
    pusher_members_cache *members;
    pusher_dedup *dedup;
    pusher_members *scratch; /* feed_members' uncached answer */
    rd_kafka_topic_partition_list_t *assigned;
    char *value; /* PL_EVENT_MAX + 1: pl_event_parse wants a NUL after the JSON */
    pthread_t thread;
    int started;
    atomic_int stop;
    atomic_int ready;
    int64_t next_lag_ms;
};

static void feed_reject(pusher_feed *f, const char *reason)
{
    char labels[64];
    snprintf(labels, sizeof(labels), "reason=\"%s\"", reason);
    pl_metrics_add(f->metrics, "pusher_events_rejected_total", labels, 1);
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
    f->topic = f->topics[FEED_EVENTS] = strdup(cfg->topic);
    f->topics[FEED_SESSIONS] = strdup(cfg->sessions_topic);
    f->topics[FEED_EPHEMERAL] = strdup(cfg->ephemeral_topic);
    f->value = malloc(PL_EVENT_MAX + 1);
    if (!f->topic || !f->topics[FEED_SESSIONS] || !f->topics[FEED_EPHEMERAL] || !f->value)
        goto out;
    r = pusher_members_cache_new(&f->members, FEED_MAX_CONVERSATIONS);
    if (!r)
        r = pusher_dedup_new(&f->dedup, FEED_DEDUP_IDS);
    if (!r)
        r = pl_pg_pool_new(&f->pg, cfg->pg_dsn, 1);
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

/* Adds every partition of topic, at its end, to list. -EAGAIN to retry. */
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

/* Members of conv right after offset upto of partition, read once.
 * -EAGAIN while the projection has not applied upto yet. */
static int feed_query_members(pusher_feed *f, const char *conv, int32_t partition,
                              int64_t upto, pusher_members **out)
{
    char part[16], off[24], err[256], q[300];
    const char *params[4] = {conv, f->topic, part, off};
    PGresult *res = NULL;
    pusher_members *m = NULL;
    long long next = 0;
    PGconn *c;
    int r, n;

    snprintf(part, sizeof(part), "%d", (int)partition);
    snprintf(off, sizeof(off), "%lld", (long long)upto);
    c = pl_pg_acquire(f->pg, FEED_PG_WAIT_MS);
    if (!c) {
        pl_warn("pg_unavailable", "conversation_id=%s", conv);
        return -EIO;
    }
    r = pl_pg_exec(c, &res, err, sizeof(err), members_sql, 4, params);
    pl_pg_release(f->pg, c);
    if (r) {
        pl_error("pg_query_failed", "conversation_id=%s err=%s", conv,
                 pusher_quote(q, sizeof(q), err));
        goto out;
    }
    n = PQntuples(res);
    r = -EAGAIN;
    if (n < 1 || pl_num_parse_ll(PQgetvalue(res, 0, 0), 0, INT64_MAX, &next) ||
        (upto != INT64_MAX && next <= upto))
        goto out;
    if (PQgetisnull(res, 0, 1))
        n = 0; /* nobody: a deleted group, or one we may not know yet */
    r = -E2BIG;
    m = pusher_members_new((size_t)n);
    if (!m)
        goto out;
    for (int i = 0; i < n; i++) {
        const char *uid = PQgetvalue(res, i, 1);
        r = -EINVAL;
        if (!pl_id_valid(uid))
            goto out;
        memcpy(m->ids[i], uid, PL_ID_LEN);
    }
    *out = m;
    m = NULL;
    r = 0;
out:
    free(m);
    PQclear(res);
    return r;
}

/* feed_query_members, waiting (bounded) for the projection to catch up.
 * Blocks this thread, and so every partition: only misses and
 * membership events come here, and the projector is usually milliseconds
 * behind. -ETIMEDOUT when it stayed behind. */
static int feed_members_at(pusher_feed *f, const char *conv, int32_t partition,
                           int64_t upto, pusher_members **out)
{
    int64_t end = pl_time_mono_ms() + FEED_LAG_WAIT_MS;
    int r;

    while ((r = feed_query_members(f, conv, partition, upto, out)) == -EAGAIN &&
           !atomic_load(&f->stop)) {
        if (pl_time_mono_ms() >= end)
            return -ETIMEDOUT;
        struct timespec ts = {0, FEED_LAG_RETRY_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    return r == -EAGAIN ? -ESHUTDOWN : r;
}

/* Cache first, then Postgres as of just before the event km, which is
 * what keeps a removed member from getting anything after their removal
 * even when this pusher has never seen the conversation. *members is
 * borrowed from the cache. */
static int feed_members_exact(pusher_feed *f, const char *conv, const rd_kafka_message_t *km,
                              const pusher_members **members)
{
    pusher_members *m = NULL;
    int r;

    *members = pusher_members_cache_get(f->members, conv);
    if (*members)
        return 0;
    r = feed_members_at(f, conv, km->partition, km->offset - 1, &m);
    if (r)
        return r;
    r = pusher_members_cache_put(f->members, conv, m); /* takes m */
    if (r)
        return r;
    *members = pusher_members_cache_get(f->members, conv);
    return 0;
}

/* For events outside the events topic (no offset to be exact about): the
 * cache, else the projection as it is now. Such an answer is never
 * cached, since the projection may lag what this pusher already applied.
 * *members is borrowed until the next call. */
static int feed_members(pusher_feed *f, const char *conv, const pusher_members **members)
{
    int r;

    *members = pusher_members_cache_get(f->members, conv);
    if (*members)
        return 0;
    free(f->scratch);
    f->scratch = NULL;
    r = feed_query_members(f, conv, 0, INT64_MAX, &f->scratch);
    if (r == 0 && f->scratch->n == 0)
        r = -ENOENT;
    *members = f->scratch;
    return r;
}

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

static int feed_conversation_created(pusher_feed *f, const pl_event *ev, const char *pos)
{
    pusher_members *m = NULL;
    char *json = NULL;
    size_t len = 0;
    int r = pusher_build_conversation_created(ev, pos, &json, &len, &m);

    if (r)
        return r;
    r = feed_deliver(f, json, len, ev->ts_ms, m);
    /* The frame already went out, so a failed cache put only costs a query. */
    pusher_members_cache_put(f->members, ev->conversation_id, m);
    return r;
}

static int feed_skip(pusher_feed *f, int r, const pl_event *ev, const char *pos)
{
    if (r == -ETIMEDOUT) {
        pl_warn("projection_lag", "conversation_id=%s event_id=%s position=%s msg=\"the "
                "projection stayed behind; event not pushed\"", ev->conversation_id, ev->id,
                pos);
        feed_reject(f, "projection_lag");
    } else if (r != -ESHUTDOWN) {
        feed_reject(f, "no_members");
    }
    return 0;
}

/* Delivers an event to the conversation's members as of the event. A
 * message from a non-member is dropped, as the projection drops it. */
static int feed_to_members(pusher_feed *f, const pl_event *ev, const char *pos,
                           const rd_kafka_message_t *km)
{
    const pusher_members *to = NULL;
    char *json = NULL;
    size_t len = 0;
    int msg = strcmp(ev->type, "message.created") == 0;
    int r = msg ? pusher_build_message_created(ev, pos, &json, &len)
                : pusher_build_generic(ev, pos, &json, &len);

    if (r)
        return r;
    r = feed_members_exact(f, ev->conversation_id, km, &to);
    if (!r && (to->n == 0 || (msg && !pusher_members_has(to, ev->actor))))
        r = -ENOENT;
    if (r) {
        free(json);
        return feed_skip(f, r, ev, pos);
    }
    return feed_deliver(f, json, len, ev->ts_ms, to);
}

static int feed_is_membership(const char *type)
{
    return !strcmp(type, "member.added") || !strcmp(type, "member.removed") ||
           !strcmp(type, "member.role_changed") || !strcmp(type, "conversation.deleted");
}

/* 1 when the projection applied ev, judged from the members before and
 * after it (the projector re-checks every rule, and may refuse). */
static int feed_applied(const pl_event *ev, const pusher_members *before,
                        const pusher_members *after)
{
    const char *user = pl_json_str(ev->data, "user_id");

    if (!strcmp(ev->type, "conversation.deleted"))
        return before->n > 0 && after->n == 0;
    if (!user)
        return 0;
    if (!strcmp(ev->type, "member.added"))
        return !pusher_members_has(before, user) && pusher_members_has(after, user);
    if (!strcmp(ev->type, "member.removed"))
        return pusher_members_has(before, user) && !pusher_members_has(after, user);
    return pusher_members_has(after, user); /* role_changed: ids alone cannot tell */
}

/* A membership event: the frame goes to everyone who was a member before
 * or after it (a removed member gets the frame about themselves, a new
 * member the one that adds them), then the cache moves to "after", so
 * nothing later reaches a removed member. */
static int feed_membership(pusher_feed *f, const pl_event *ev, const char *pos,
                           const rd_kafka_message_t *km)
{
    const pusher_members *cached = NULL;
    pusher_members *before = NULL, *after = NULL, *to = NULL;
    char *json = NULL;
    size_t len = 0;
    int r = feed_members_exact(f, ev->conversation_id, km, &cached);

    if (!r && !(before = pusher_members_dup(cached)))
        r = -ENOMEM;
    if (!r)
        r = feed_members_at(f, ev->conversation_id, km->partition, km->offset, &after);
    if (r) {
        feed_skip(f, r, ev, pos);
        /* Unknown state: forget it, the next event reads it afresh. */
        pusher_members_cache_del(f->members, ev->conversation_id);
        goto out;
    }
    if (!feed_applied(ev, before, after)) {
        feed_reject(f, "not_applied");
    } else if (!(to = pusher_members_union(before, after))) {
        r = -ENOMEM;
    } else if ((r = pusher_build_generic(ev, pos, &json, &len)) == 0) {
        r = feed_deliver(f, json, len, ev->ts_ms, to);
    }
    pusher_members_cache_put(f->members, ev->conversation_id, after); /* takes after */
    after = NULL;
out:
    free(before);
    free(after);
    free(to);
    return r;
}

static void feed_event(pusher_feed *f, const rd_kafka_message_t *m)
{
    char err[160], pos[PL_POS_LEN];
    pl_event ev;
    int r;

    if (m->len > PL_EVENT_MAX) {
        pl_warn("event_rejected", "position=p%d.o%lld reason=too_large", (int)m->partition,
                (long long)m->offset);
        feed_reject(f, "invalid");
        return;
    }
    memcpy(f->value, m->payload, m->len);
    f->value[m->len] = '\0';
    r = pl_event_parse(f->value, m->len, &ev, err, sizeof(err));
    pl_metrics_add(f->metrics, "pusher_events_consumed_total", "", 1);
    if (r) {
        char q[200];
        pl_warn("event_rejected", "position=p%d.o%lld reason=%s", (int)m->partition,
                (long long)m->offset, pusher_quote(q, sizeof(q), err));
        feed_reject(f, "invalid");
        return;
    }
    pl_pos_format(pos, (pl_pos){.partition = m->partition, .offset = m->offset});
    if (pusher_dedup_check(f->dedup, ev.id) == 1) {
        pl_debug("event_duplicate", "event_id=%s position=%s", ev.id, pos);
        feed_reject(f, "duplicate");
        goto out;
    }
    if (strcmp(ev.type, "conversation.created") == 0)
        r = feed_conversation_created(f, &ev, pos);
    else if (strcmp(ev.type, "invite.created") == 0)
        r = 0; /* internal: carries a code hash, not for clients */
    else if (feed_is_membership(ev.type))
        r = feed_membership(f, &ev, pos, m);
    else
        r = feed_to_members(f, &ev, pos, m);
    if (r == -EINVAL) {
        pl_warn("event_rejected", "event_id=%s position=%s reason=bad_data", ev.id, pos);
        feed_reject(f, "invalid");
    } else if (r && r != -ESHUTDOWN) {
        pl_error("event_failed", "event_id=%s position=%s err=%d", ev.id, pos, r);
    }
out:
    pl_event_free(&ev);
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

/* The members of ev's conversation but its actor: who sees a typing event. */
static int feed_others(pusher_feed *f, const pl_event *ev, pusher_members **out)
{
    const pusher_members *all = NULL;
    pusher_members *m;
    size_t n = 0;
    int r = feed_members(f, ev->conversation_id, &all);

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
    else
        feed_event(f, m);
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

int pusher_feed_ready(pusher_feed *f)
{
    return atomic_load(&f->ready);
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
    pusher_dedup_free(f->dedup);
    pusher_members_cache_free(f->members);
    free(f->scratch);
    pl_pg_pool_free(f->pg);
    free(f->value);
    for (int i = 0; i < FEED_NTOPICS; i++)
        free(f->topics[i]);
    free(f);
}
