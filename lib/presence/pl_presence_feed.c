#include "pl_presence_feed.h"
#include "pl_kafka_tail.h"
#include "pl_time.h"

#include <errno.h>
#include <stdlib.h>

struct pl_presence_feed {
    pl_kafka_tail *tail;
    pl_presence *agg;
    pl_presence_hook_fn hook;
    void *arg;
};

static void feed_record(void *arg, const rd_kafka_message_t *m)
{
    pl_presence_feed *f = arg;
    int64_t ts = rd_kafka_message_timestamp(m, NULL);

    /* A malformed record is skipped: it cannot be fixed by waiting. A
     * record without a payload is a tombstone and goes in as one. */
    if (m->key)
        pl_presence_apply(f->agg, m->key, m->key_len, m->payload, m->payload ? m->len : 0,
                          ts > 0 ? ts : pl_time_real_ms(), pl_time_real_ms());
}

static void feed_ready(void *arg)
{
    pl_presence_feed *f = arg;

    pl_presence_set_live(f->agg, 1);
}

static void feed_tick(void *arg)
{
    pl_presence_feed *f = arg;
    /* The hook first: it may look at who is alive as of now, which the
     * tick then acts on with the same clock. */
    int64_t now = pl_time_real_ms();

    if (f->hook)
        f->hook(f->arg, now);
    pl_presence_tick(f->agg, now);
}

int pl_presence_feed_new(pl_presence_feed **out, const char *brokers, const char *client_id,
                         const char *topic, pl_presence *agg, pl_presence_hook_fn hook,
                         void *arg, char *err, size_t errlen)
{
    pl_presence_feed *f = calloc(1, sizeof(*f));
    pl_kafka_tail_cfg tc = {.brokers = brokers, .client_id = client_id, .topic = topic,
                            .on_record = feed_record, .on_ready = feed_ready,
                            .on_tick = feed_tick, .arg = f};
    int r = f ? 0 : -ENOMEM;

    if (r)
        return r;
    f->agg = agg;
    f->hook = hook;
    f->arg = arg;
    r = pl_kafka_tail_new(&f->tail, &tc, err, errlen);
    if (r) {
        free(f);
        return r;
    }
    *out = f;
    return 0;
}

int pl_presence_feed_start(pl_presence_feed *f)
{
    return pl_kafka_tail_start(f->tail);
}

int pl_presence_feed_ready(pl_presence_feed *f)
{
    return f && pl_kafka_tail_ready(f->tail);
}

void pl_presence_feed_free(pl_presence_feed *f)
{
    if (!f)
        return;
    pl_kafka_tail_free(f->tail);
    free(f);
}
