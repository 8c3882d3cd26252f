#include "pusher_route.h"
#include "pl_event.h"
#include "pl_log.h"
#include "pl_num.h"
#include "pl_pg.h"
#include "pl_pos.h"
#include "pl_time.h"
#include "pusher_build.h"
#include "pusher_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROUTE_PG_WAIT_MS 1000
#define ROUTE_LAG_WAIT_MS 5000 /* how long an event waits for the projection */
#define ROUTE_LAG_RETRY_MS 20

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

struct pusher_route {
    char *topic;
    pl_pg_pool *pg;
    pl_metrics *metrics;
    pusher_members_cache *members;
    pusher_dedup *dedup;     /* NULL: none */
    size_t dedup_max;
    pusher_members *scratch; /* members_now's uncached answer */
    char *value;             /* PL_EVENT_MAX + 1: pl_event_parse wants a NUL */
    pusher_route_sink sink;
    void *sink_arg;
    const atomic_int *stop;
};

int pusher_route_new(pusher_route **out, const pusher_route_cfg *cfg)
{
    pusher_route *r = calloc(1, sizeof(*r));
    int rc = -ENOMEM;

    if (!r)
        return -ENOMEM;
    r->metrics = cfg->metrics;
    r->sink = cfg->sink;
    r->sink_arg = cfg->sink_arg;
    r->stop = cfg->stop;
    r->topic = strdup(cfg->topic);
    r->value = malloc(PL_EVENT_MAX + 1);
    if (!r->topic || !r->value)
        goto out;
    rc = pusher_members_cache_new(&r->members, cfg->max_conversations);
    r->dedup_max = cfg->dedup_ids;
    if (!rc && cfg->dedup_ids)
        rc = pusher_dedup_new(&r->dedup, cfg->dedup_ids);
    if (!rc)
        rc = pl_pg_pool_new(&r->pg, cfg->pg_dsn, 1);
    if (rc)
        goto out;
    *out = r;
    r = NULL;
out:
    pusher_route_free(r);
    return rc;
}

void pusher_route_free(pusher_route *r)
{
    if (!r)
        return;
    pusher_dedup_free(r->dedup);
    pusher_members_cache_free(r->members);
    free(r->scratch);
    pl_pg_pool_free(r->pg);
    free(r->value);
    free(r->topic);
    free(r);
}

void pusher_route_reject(pusher_route *r, const char *reason)
{
    char labels[64];

    if (!r->metrics)
        return;
    snprintf(labels, sizeof(labels), "reason=\"%s\"", reason);
    pl_metrics_add(r->metrics, "pusher_events_rejected_total", labels, 1);
}

void pusher_route_forget(pusher_route *r, const char *conv)
{
    pusher_members_cache_del(r->members, conv);
    if (r->dedup) { /* a fresh set; on failure the old one stays */
        pusher_dedup *d = NULL;
        if (pusher_dedup_new(&d, r->dedup_max) == 0) {
            pusher_dedup_free(r->dedup);
            r->dedup = d;
        }
    }
}

/* Members of conv right after offset upto of partition, read once.
 * -EAGAIN while the projection has not applied upto yet. */
static int route_query_members(pusher_route *rt, const char *conv, int32_t partition,
                               int64_t upto, pusher_members **out)
{
    char part[16], off[24], err[256], q[300];
    const char *params[4] = {conv, rt->topic, part, off};
    PGresult *res = NULL;
    pusher_members *m = NULL;
    long long next = 0;
    PGconn *c;
    int r, n;

    snprintf(part, sizeof(part), "%d", (int)partition);
    snprintf(off, sizeof(off), "%lld", (long long)upto);
    c = pl_pg_acquire(rt->pg, ROUTE_PG_WAIT_MS);
    if (!c) {
        pl_warn("pg_unavailable", "conversation_id=%s", conv);
        return -EIO;
    }
    r = pl_pg_exec(c, &res, err, sizeof(err), members_sql, 4, params);
    pl_pg_release(rt->pg, c);
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

/* route_query_members, waiting (bounded) for the projection to catch up.
 * Blocks this thread, and so every partition: only misses and
 * membership events come here, and the projector is usually milliseconds
 * behind. -ETIMEDOUT when it stayed behind. */
static int route_members_at(pusher_route *rt, const char *conv, int32_t partition,
                            int64_t upto, pusher_members **out)
{
    int64_t end = pl_time_mono_ms() + ROUTE_LAG_WAIT_MS;
    int r;

    while ((r = route_query_members(rt, conv, partition, upto, out)) == -EAGAIN &&
           !atomic_load(rt->stop)) {
        if (pl_time_mono_ms() >= end)
            return -ETIMEDOUT;
        struct timespec ts = {0, ROUTE_LAG_RETRY_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    return r == -EAGAIN ? -ESHUTDOWN : r;
}

/* Cache first, then Postgres as of just before the event km, which is
 * what keeps a removed member from getting anything after their removal
 * even when this router has never seen the conversation. *members is
 * borrowed from the cache. */
static int route_members_exact(pusher_route *rt, const char *conv,
                               const rd_kafka_message_t *km, const pusher_members **members)
{
    pusher_members *m = NULL;
    int r;

    *members = pusher_members_cache_get(rt->members, conv);
    if (*members)
        return 0;
    r = route_members_at(rt, conv, km->partition, km->offset - 1, &m);
    if (r)
        return r;
    r = pusher_members_cache_put(rt->members, conv, m); /* takes m */
    if (r)
        return r;
    *members = pusher_members_cache_get(rt->members, conv);
    return 0;
}

int pusher_route_members_now(pusher_route *rt, const char *conv,
                             const pusher_members **members)
{
    int r;

    *members = pusher_members_cache_get(rt->members, conv);
    if (*members)
        return 0;
    free(rt->scratch);
    rt->scratch = NULL;
    r = route_query_members(rt, conv, 0, INT64_MAX, &rt->scratch);
    if (r == 0 && rt->scratch->n == 0)
        r = -ENOENT;
    *members = rt->scratch;
    return r;
}

/* Takes json. The delivery names the record it came from. */
static int route_deliver(pusher_route *rt, const pl_event *ev, const rd_kafka_message_t *km,
                         char *json, size_t len, const pusher_members *to)
{
    pusher_delivery *d = NULL;
    pusher_frame *frame = NULL;
    int r = pusher_frame_from_json(&frame, json, len);

    if (r)
        return r;
    r = pusher_delivery_new(&d, frame, ev->ts_ms, (const char(*)[PL_ID_LEN])to->ids, to->n);
    if (r)
        return r;
    memcpy(d->conv, ev->conversation_id, PL_ID_LEN);
    d->partition = km->partition;
    d->offset = km->offset;
    return rt->sink(rt->sink_arg, d);
}

static int route_conversation_created(pusher_route *rt, const pl_event *ev, const char *pos,
                                      const rd_kafka_message_t *km)
{
    pusher_members *m = NULL;
    char *json = NULL;
    size_t len = 0;
    int r = pusher_build_conversation_created(ev, pos, &json, &len, &m);

    if (r)
        return r;
    r = route_deliver(rt, ev, km, json, len, m);
    /* The frame already went out, so a failed cache put only costs a query. */
    pusher_members_cache_put(rt->members, ev->conversation_id, m);
    return r;
}

static int route_skip(pusher_route *rt, int r, const pl_event *ev, const char *pos)
{
    if (r == -ETIMEDOUT) {
        pl_warn("projection_lag", "conversation_id=%s event_id=%s position=%s msg=\"the "
                "projection stayed behind; event not pushed\"", ev->conversation_id, ev->id,
                pos);
        pusher_route_reject(rt, "projection_lag");
    } else if (r != -ESHUTDOWN) {
        pusher_route_reject(rt, "no_members");
    }
    return 0;
}

/* Delivers an event to the conversation's members as of the event. A
 * message from a non-member is dropped, as the projection drops it. */
static int route_to_members(pusher_route *rt, const pl_event *ev, const char *pos,
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
    r = route_members_exact(rt, ev->conversation_id, km, &to);
    if (!r && (to->n == 0 || (msg && !pusher_members_has(to, ev->actor))))
        r = -ENOENT;
    if (r) {
        free(json);
        return route_skip(rt, r, ev, pos);
    }
    return route_deliver(rt, ev, km, json, len, to);
}

static int route_is_membership(const char *type)
{
    return !strcmp(type, "member.added") || !strcmp(type, "member.removed") ||
           !strcmp(type, "member.role_changed") || !strcmp(type, "conversation.deleted");
}

/* 1 when the projection applied ev, judged from the members before and
 * after it (the projector re-checks every rule, and may refuse). */
static int route_applied(const pl_event *ev, const pusher_members *before,
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
static int route_membership(pusher_route *rt, const pl_event *ev, const char *pos,
                            const rd_kafka_message_t *km)
{
    const pusher_members *cached = NULL;
    pusher_members *before = NULL, *after = NULL, *to = NULL;
    char *json = NULL;
    size_t len = 0;
    int r = route_members_exact(rt, ev->conversation_id, km, &cached);

    if (!r && !(before = pusher_members_dup(cached)))
        r = -ENOMEM;
    if (!r)
        r = route_members_at(rt, ev->conversation_id, km->partition, km->offset, &after);
    if (r) {
        route_skip(rt, r, ev, pos);
        /* Unknown state: forget it, the next event reads it afresh. */
        pusher_members_cache_del(rt->members, ev->conversation_id);
        goto out;
    }
    if (!route_applied(ev, before, after)) {
        pusher_route_reject(rt, "not_applied");
    } else if (!(to = pusher_members_union(before, after))) {
        r = -ENOMEM;
    } else if ((r = pusher_build_generic(ev, pos, &json, &len)) == 0) {
        r = route_deliver(rt, ev, km, json, len, to);
    }
    pusher_members_cache_put(rt->members, ev->conversation_id, after); /* takes after */
    after = NULL;
out:
    free(before);
    free(after);
    free(to);
    return r;
}

static int route_event(pusher_route *rt, const pl_event *ev, const char *pos,
                       const rd_kafka_message_t *m)
{
    if (rt->dedup && pusher_dedup_check(rt->dedup, ev->id) == 1) {
        pl_debug("event_duplicate", "event_id=%s position=%s", ev->id, pos);
        pusher_route_reject(rt, "duplicate");
        return 0;
    }
    if (strcmp(ev->type, "conversation.created") == 0)
        return route_conversation_created(rt, ev, pos, m);
    if (strcmp(ev->type, "invite.created") == 0)
        return 0; /* internal: carries a code hash, not for clients */
    if (route_is_membership(ev->type))
        return route_membership(rt, ev, pos, m);
    return route_to_members(rt, ev, pos, m);
}

void pusher_route_record(pusher_route *rt, const rd_kafka_message_t *m)
{
    char err[160], pos[PL_POS_LEN], q[200];
    pl_event ev;
    int r;

    if (m->len > PL_EVENT_MAX || !m->payload) {
        pl_warn("event_rejected", "position=p%d.o%lld reason=too_large", (int)m->partition,
                (long long)m->offset);
        pusher_route_reject(rt, "invalid");
        return;
    }
    memcpy(rt->value, m->payload, m->len);
    rt->value[m->len] = '\0';
    r = pl_event_parse(rt->value, m->len, &ev, err, sizeof(err));
    if (rt->metrics)
        pl_metrics_add(rt->metrics, "pusher_events_consumed_total", "", 1);
    if (r) {
        pl_warn("event_rejected", "position=p%d.o%lld reason=%s", (int)m->partition,
                (long long)m->offset, pusher_quote(q, sizeof(q), err));
        pusher_route_reject(rt, "invalid");
        return;
    }
    pl_pos_format(pos, (pl_pos){.partition = m->partition, .offset = m->offset});
    r = route_event(rt, &ev, pos, m);
    if (r == -EINVAL) {
        pl_warn("event_rejected", "event_id=%s position=%s reason=bad_data", ev.id, pos);
        pusher_route_reject(rt, "invalid");
    } else if (r && r != -ESHUTDOWN) {
        pl_error("event_failed", "event_id=%s position=%s err=%d", ev.id, pos, r);
    }
    pl_event_free(&ev);
}
