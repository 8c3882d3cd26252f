#include "pl_revoked_feed.h"
#include "pl_kafka_tail.h"
#include "pl_time.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define FEED_PRUNE_EVERY_MS 10000

struct pl_revoked_feed {
    pl_kafka_tail *tail;
    pl_revoked *set;
    int64_t window_ms;
    pl_revoked_fn on_revoked;
    void *arg;
    int64_t next_prune_ms; /* the tail's thread only */
};

static void feed_record(void *arg, const rd_kafka_message_t *m)
{
    pl_revoked_feed *f = arg;
    pl_revoked_event ev;
    char *json;
    int64_t ts;

    if (!m->payload || !(json = malloc(m->len + 1)))
        return;
    memcpy(json, m->payload, m->len);
    json[m->len] = '\0';
    /* A malformed record is skipped: waiting cannot fix it. */
    if (pl_revoked_parse(json, m->len, &ev) == 0) {
        ts = ev.ts_ms > 0 ? ev.ts_ms : rd_kafka_message_timestamp(m, NULL);
        if (ts <= 0)
            ts = pl_time_real_ms();
        pl_revoked_add(f->set, ev.session_id, ts + f->window_ms);
        if (f->on_revoked)
            f->on_revoked(f->arg, &ev);
    }
    free(json);
}

static void feed_tick(void *arg)
{
    pl_revoked_feed *f = arg;
    int64_t now = pl_time_mono_ms();

    if (now >= f->next_prune_ms) {
        pl_revoked_prune(f->set, pl_time_real_ms());
        f->next_prune_ms = now + FEED_PRUNE_EVERY_MS;
    }
}

int pl_revoked_feed_new(pl_revoked_feed **out, const pl_revoked_feed_cfg *cfg, char *err,
                        size_t errlen)
{
    pl_revoked_feed *f = calloc(1, sizeof(*f));
    pl_kafka_tail_cfg tc = {.brokers = cfg->brokers, .client_id = cfg->client_id,
                            .topic = cfg->topic, .window_ms = cfg->window_ms,
                            .on_record = feed_record, .on_tick = feed_tick, .arg = f};
    int r = -ENOMEM;

    if (!f || pl_revoked_new(&f->set) != 0)
        goto out;
    f->window_ms = cfg->window_ms;
    f->on_revoked = cfg->on_revoked;
    f->arg = cfg->arg;
    r = pl_kafka_tail_new(&f->tail, &tc, err, errlen);
    if (r)
        goto out;
    *out = f;
    f = NULL;
out:
    pl_revoked_feed_free(f);
    return r;
}

int pl_revoked_feed_start(pl_revoked_feed *f)
{
    return pl_kafka_tail_start(f->tail);
}

int pl_revoked_feed_ready(pl_revoked_feed *f)
{
    return f && pl_kafka_tail_ready(f->tail);
}

int pl_revoked_feed_has(pl_revoked_feed *f, const char *sid)
{
    return f && pl_revoked_has(f->set, sid, pl_time_real_ms());
}

size_t pl_revoked_feed_count(pl_revoked_feed *f)
{
    return f ? pl_revoked_count(f->set) : 0;
}

void pl_revoked_feed_free(pl_revoked_feed *f)
{
    if (!f)
        return;
    pl_kafka_tail_free(f->tail); /* joins the thread that uses the set */
    pl_revoked_free(f->set);
    free(f);
}
