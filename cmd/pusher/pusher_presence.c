#include "pusher_presence.h"
#include "pl_json.h"
#include "pl_kafka.h"
#include "pl_log.h"
#include "pl_pg.h"
#include "pl_presence_feed.h"
#include "pl_time.h"
#include "pusher_map.h"
#include "pusher_util.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PR_MAX_PEERS 5000        /* co-members told about one user */
#define PR_PEERS_TTL_MS 10000    /* how long a co-member list is reused */
#define PR_PEERS_CACHE_MAX 10000 /* users whose lists are cached */
#define PR_PG_WAIT_MS 1000
#define PR_SWEEP_MAX 1000        /* dead keys cleaned per sweep */
#define PR_SWEEP_TTLS 10         /* an instance silent this long is swept */
#define PR_FLUSH_MS 3000

typedef struct pr_peers {
    int64_t at_ms;
    size_t n;
    char ids[][PL_ID_LEN];
} pr_peers;

struct pusher_presence {
    char self[PL_PRESENCE_INSTANCE_MAX];
    char *topic;
    int64_t ttl_ms, hb_ms, next_hb_ms, next_sweep_ms;
    rd_kafka_t *producer;
    pl_presence *agg;
    pl_presence_feed *feed;
    pl_pg_pool *pg;
    pusher_hub *hub;
    pusher_map *local;  /* user id -> open sockets (as a pointer), lws thread */
    pusher_map *peers;  /* user id -> pr_peers, presence thread */
    int janitor;        /* presence thread */
};

/* Every record of a user lands in one partition, whichever pusher wrote
 * it: hash only the part of the key before '/'. Per-user order is what
 * makes every reader agree on which record closed a user's last socket. */
static int32_t pr_partitioner(const rd_kafka_topic_t *rkt, const void *key, size_t keylen,
                              int32_t partition_cnt, void *topic_opaque, void *msg_opaque)
{
    const unsigned char *k = key;
    uint32_t h = 2166136261u; /* FNV-1a, 32 bits */

    (void)rkt;
    (void)topic_opaque;
    (void)msg_opaque;
    for (size_t i = 0; i < keylen && k[i] != '/'; i++)
        h = (h ^ k[i]) * 16777619u;
    return (int32_t)(h % (uint32_t)partition_cnt);
}

static int pr_producer(pusher_presence *p, const char *brokers, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_topic_conf_t *tc;
    int r = pl_kafka_conf_new(&conf, brokers, p->self, err, errlen);

    if (!r)
        r = pl_kafka_conf_set(conf, "enable.idempotence", "true", err, errlen);
    if (!r)
        r = pl_kafka_conf_set(conf, "linger.ms", "5", err, errlen);
    if (r)
        goto out;
    tc = rd_kafka_topic_conf_new();
    if (!tc) {
        r = -ENOMEM;
        goto out;
    }
    rd_kafka_topic_conf_set_partitioner_cb(tc, pr_partitioner);
    rd_kafka_conf_set_default_topic_conf(conf, tc); /* takes tc */
    p->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errlen);
    if (!p->producer) {
        r = -EINVAL;
        goto out;
    }
    conf = NULL;
out:
    if (conf)
        rd_kafka_conf_destroy(conf);
    return r;
}

/* value NULL: a tombstone. Any thread; never blocks. */
static void pr_produce(pusher_presence *p, const char *key, const char *value, size_t len)
{
    rd_kafka_resp_err_t e = rd_kafka_producev(
        p->producer, RD_KAFKA_V_TOPIC(p->topic), RD_KAFKA_V_KEY(key, strlen(key)),
        RD_KAFKA_V_VALUE((void *)value, value ? len : 0),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);

    if (e)
        pl_warn("presence_unpublished", "key=%s code=%s", key, rd_kafka_err2name(e));
}

/* "<user_id>/<self>" with the count, or "<self>" (user_id NULL) as a
 * heartbeat; sockets <= 0 sends a tombstone. */
static void pr_publish(pusher_presence *p, const char *user_id, long long sockets)
{
    char key[PL_ID_LEN + PL_PRESENCE_INSTANCE_MAX + 1], *json = NULL;
    size_t len = 0;
    pl_jw w;

    snprintf(key, sizeof(key), "%s%s%s", user_id ? user_id : "", user_id ? "/" : "", p->self);
    if (user_id && sockets <= 0) {
        pr_produce(p, key, NULL, 0);
        return;
    }
    if (pl_jw_init(&w))
        goto fail;
    pl_jw_obj(&w);
    if (user_id)
        pl_jw_kstr(&w, "user_id", user_id);
    pl_jw_kstr(&w, "instance", p->self);
    if (user_id)
        pl_jw_kint(&w, "sockets", sockets);
    pl_jw_kint(&w, "at", pl_time_real_ms());
    pl_jw_end_obj(&w);
    if (pl_jw_finish(&w, &json, &len))
        goto fail;
    pr_produce(p, key, json, len);
    free(json);
    return;
fail:
    pl_warn("presence_unpublished", "key=%s errno=%d", key, ENOMEM);
}

void pusher_presence_socket(pusher_presence *p, const char *user_id, int delta)
{
    intptr_t n;

    if (!p)
        return;
    n = (intptr_t)pusher_map_get(p->local, user_id) + delta;
    if (n > 0 && pusher_map_put(p->local, user_id, (void *)n, NULL)) {
        pl_warn("presence_untracked", "user_id=%s errno=%d", user_id, ENOMEM);
        return;
    }
    if (n <= 0)
        pusher_map_del(p->local, user_id);
    pr_publish(p, user_id, (long long)n);
}

static const char peers_sql[] =
    "SELECT DISTINCT o.user_id::text FROM history.members m"
    " JOIN history.members o ON o.conversation_id = m.conversation_id"
    " WHERE m.user_id = $1 AND o.user_id <> $1 LIMIT 5000";

static int pr_peers_query(pusher_presence *p, const char *user_id, pr_peers **out)
{
    const char *params[1] = {user_id};
    PGresult *res = NULL;
    pr_peers *m = NULL;
    char err[256], q[300];
    PGconn *c = pl_pg_acquire(p->pg, PR_PG_WAIT_MS);
    int r = -EIO, n;

    if (!c) {
        pl_warn("pg_unavailable", "user_id=%s what=presence_peers", user_id);
        return -EIO;
    }
    r = pl_pg_exec(c, &res, err, sizeof(err), peers_sql, 1, params);
    pl_pg_release(p->pg, c);
    if (r) {
        pl_error("pg_query_failed", "user_id=%s err=%s", user_id,
                 pusher_quote(q, sizeof(q), err));
        goto out;
    }
    n = PQntuples(res);
    if (n > PR_MAX_PEERS)
        n = PR_MAX_PEERS;
    r = -ENOMEM;
    m = calloc(1, sizeof(*m) + (size_t)n * PL_ID_LEN);
    if (!m)
        goto out;
    for (int i = 0; i < n; i++)
        if (pl_id_valid(PQgetvalue(res, i, 0)))
            memcpy(m->ids[m->n++], PQgetvalue(res, i, 0), PL_ID_LEN);
    m->at_ms = pl_time_mono_ms();
    *out = m;
    r = 0;
out:
    PQclear(res);
    return r;
}

/* The co-members of user_id, cached for PR_PEERS_TTL_MS: a user who
 * reconnects in a loop costs one query per pusher every few seconds.
 * Borrowed until the next call. */
static const pr_peers *pr_peers_get(pusher_presence *p, const char *user_id)
{
    pr_peers *m = pusher_map_get(p->peers, user_id), *old = NULL;

    if (m && pl_time_mono_ms() - m->at_ms < PR_PEERS_TTL_MS)
        return m;
    if (pr_peers_query(p, user_id, &m))
        return NULL;
    if (pusher_map_count(p->peers) >= PR_PEERS_CACHE_MAX)
        pusher_map_clear(p->peers, free);
    if (pusher_map_put(p->peers, user_id, m, (void **)&old)) {
        free(m);
        return NULL;
    }
    free(old);
    return m;
}

static int pr_frame(const char *user_id, int online, int64_t last_seen_ms, char **json,
                    size_t *len)
{
    char ts[PL_TIME_ISO_LEN];
    pl_jw w;
    int r = pl_jw_init(&w);

    if (r)
        return r;
    pl_jw_obj(&w);
    pl_jw_kstr(&w, "type", "presence.changed");
    pl_jw_kstr(&w, "user_id", user_id);
    pl_jw_kstr(&w, "status", online ? "online" : "offline");
    if (last_seen_ms > 0)
        pl_time_iso(ts, last_seen_ms);
    pl_jw_kstr(&w, "last_seen", last_seen_ms > 0 ? ts : NULL);
    pl_jw_end_obj(&w);
    return pl_jw_finish(&w, json, len);
}

static void pr_deliver(pusher_presence *p, const char *user_id, int online, int64_t last_seen)
{
    const pr_peers *to = pr_peers_get(p, user_id);
    pusher_delivery *d = NULL;
    pusher_frame *frame = NULL;
    char *json = NULL;
    size_t len = 0;

    if (!to || !to->n)
        return;
    if (pr_frame(user_id, online, last_seen, &json, &len) ||
        pusher_frame_from_json(&frame, json, len) || /* takes json */
        pusher_delivery_new(&d, frame, pl_time_real_ms(), (const char(*)[PL_ID_LEN])to->ids,
                            to->n)) /* takes frame */
        return;
    pusher_hub_push(p->hub, d); /* takes d */
}

/* GREATEST: several writers (a janitor sweep after a failover) agree. */
static void pr_write_last_seen(pusher_presence *p, const char *user_id, int64_t ms)
{
    char ms_s[24], err[256], q[300];
    const char *params[2] = {user_id, ms_s};
    PGconn *c = pl_pg_acquire(p->pg, PR_PG_WAIT_MS);

    snprintf(ms_s, sizeof(ms_s), "%lld", (long long)ms);
    if (!c) {
        pl_warn("pg_unavailable", "user_id=%s what=last_seen", user_id);
        return;
    }
    if (pl_pg_exec(c, NULL, err, sizeof(err),
                   "UPDATE auth.users SET last_seen_at = to_timestamp($2::bigint / 1000.0)"
                   " WHERE id = $1 AND (last_seen_at IS NULL OR"
                   " last_seen_at < to_timestamp($2::bigint / 1000.0))",
                   2, params))
        pl_error("pg_query_failed", "user_id=%s what=last_seen err=%s", user_id,
                 pusher_quote(q, sizeof(q), err));
    pl_pg_release(p->pg, c);
}

/* Presence thread, with the aggregate's lock held. */
static void pr_on_change(void *arg, const char *user_id, int online, int64_t last_seen,
                         const char *cause)
{
    pusher_presence *p = arg;

    pl_debug("presence_changed", "user_id=%s status=%s", user_id,
             online ? "online" : "offline");
    pr_deliver(p, user_id, online, last_seen);
    if (!online && (cause ? strcmp(cause, p->self) == 0 : p->janitor))
        pr_write_last_seen(p, user_id, last_seen);
}

typedef struct pr_dead_key {
    char user_id[PL_ID_LEN]; /* "" for the instance's own heartbeat key */
    char instance[PL_PRESENCE_INSTANCE_MAX];
    int online;
    int64_t last_seen_ms;
} pr_dead_key;

typedef struct pr_sweep {
    pr_dead_key *keys;
    size_t n;
} pr_sweep;

static void pr_collect(void *arg, const char *user_id, const char *instance, int online,
                       int64_t last_seen_ms)
{
    pr_sweep *s = arg;
    pr_dead_key *k = &s->keys[s->n++];

    snprintf(k->user_id, sizeof(k->user_id), "%s", user_id ? user_id : "");
    snprintf(k->instance, sizeof(k->instance), "%s", instance);
    k->online = online;
    k->last_seen_ms = last_seen_ms;
}

/* The janitor clears what crashed instances left in the topic, long after
 * their users went offline (so a pusher that was only cut off for a while
 * can still come back): last_seen first, then tombstones, so a janitor
 * that dies halfway leaves work the next one finds. */
static void pr_sweep_dead(pusher_presence *p, int64_t now)
{
    char key[PL_ID_LEN + PL_PRESENCE_INSTANCE_MAX + 1];
    pr_sweep s = {.keys = calloc(PR_SWEEP_MAX, sizeof(pr_dead_key))};

    if (!s.keys)
        return;
    pl_presence_dead_each(p->agg, now, PR_SWEEP_TTLS * p->ttl_ms, PR_SWEEP_MAX, pr_collect, &s);
    for (size_t i = 0; i < s.n; i++) {
        pr_dead_key *k = &s.keys[i];
        if (k->user_id[0] && !k->online && k->last_seen_ms > 0)
            pr_write_last_seen(p, k->user_id, k->last_seen_ms);
        snprintf(key, sizeof(key), "%s%s%s", k->user_id, k->user_id[0] ? "/" : "",
                 k->instance);
        pr_produce(p, key, NULL, 0);
    }
    if (s.n)
        pl_info("presence_swept", "keys=%zu", s.n);
    free(s.keys);
}

/* Presence thread, after every poll. */
static void pr_hook(void *arg, int64_t now)
{
    pusher_presence *p = arg;

    rd_kafka_poll(p->producer, 0); /* delivery reports, errors */
    p->janitor = pl_presence_is_janitor(p->agg, p->self, now);
    if (now >= p->next_hb_ms) {
        p->next_hb_ms = now + p->hb_ms;
        pr_publish(p, NULL, 1);
    }
    if (now >= p->next_sweep_ms && pl_presence_feed_ready(p->feed)) {
        p->next_sweep_ms = now + PR_SWEEP_TTLS * p->hb_ms;
        if (p->janitor)
            pr_sweep_dead(p, now);
    }
}

int pusher_presence_new(pusher_presence **out, const pusher_presence_cfg *cfg, pusher_hub *hub,
                        char *err, size_t errlen)
{
    pusher_presence *p = calloc(1, sizeof(*p));
    int r = -ENOMEM;

    if (!p)
        return -ENOMEM;
    /* The suffix keeps a restarted pusher (same PARLEY_INSTANCE) from
     * speaking for, or being blamed for, its predecessor's sockets. */
    snprintf(p->self, sizeof(p->self), "%.80s-%08x", cfg->instance, randombytes_random());
    p->hub = hub;
    p->ttl_ms = cfg->ttl_ms;
    p->hb_ms = cfg->ttl_ms / 3 > 0 ? cfg->ttl_ms / 3 : 1;
    p->topic = strdup(cfg->topic);
    if (!p->topic || pusher_map_new(&p->local) || pusher_map_new(&p->peers))
        goto out;
    r = pl_pg_pool_new(&p->pg, cfg->pg_dsn, 1);
    if (!r)
        r = pl_presence_new(&p->agg, cfg->ttl_ms, pr_on_change, p);
    if (!r)
        r = pr_producer(p, cfg->brokers, err, errlen);
    if (!r)
        r = pl_presence_feed_new(&p->feed, cfg->brokers, p->self, cfg->topic, p->agg, pr_hook,
                                 p, err, errlen);
    if (r)
        goto out;
    pl_info("presence_instance", "instance=%s topic=%s ttl_ms=%lld", p->self, p->topic,
            (long long)p->ttl_ms);
    *out = p;
    p = NULL;
out:
    pusher_presence_free(p);
    return r;
}

int pusher_presence_start(pusher_presence *p)
{
    return pl_presence_feed_start(p->feed);
}

int pusher_presence_ready(pusher_presence *p)
{
    return pl_presence_feed_ready(p->feed);
}

void pusher_presence_free(pusher_presence *p)
{
    if (!p)
        return;
    pl_presence_feed_free(p->feed); /* no more hooks or callbacks */
    if (p->producer) {
        /* Sockets are closed by now; a count left over is still ours. */
        if (p->local && pusher_map_count(p->local))
            pl_warn("presence_leftover", "users=%zu", pusher_map_count(p->local));
        pr_produce(p, p->self, NULL, 0); /* stopped cleanly: not a crash */
        if (rd_kafka_flush(p->producer, PR_FLUSH_MS))
            pl_warn("presence_unflushed", "instance=%s", p->self);
        rd_kafka_destroy(p->producer);
    }
    pl_presence_free(p->agg);
    pl_pg_pool_free(p->pg);
    pusher_map_free(p->local, NULL);
    pusher_map_free(p->peers, free);
    free(p->topic);
    free(p);
}
