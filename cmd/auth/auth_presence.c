#include "auth_presence.h"
#include "pl_presence_feed.h"
#include "pl_time.h"

#include <errno.h>
#include <stdlib.h>

struct auth_presence {
    pl_presence *agg;
    pl_presence_feed *feed;
};

int auth_presence_new(auth_presence **out, const char *brokers, const char *client_id,
                      const char *topic, int64_t ttl_ms, char *err, size_t errlen)
{
    auth_presence *p = calloc(1, sizeof(*p));
    int r = p ? 0 : -ENOMEM;

    if (!r)
        r = pl_presence_new(&p->agg, ttl_ms, NULL, NULL);
    if (!r)
        r = pl_presence_feed_new(&p->feed, brokers, client_id, topic, p->agg, NULL, NULL, err,
                                 errlen);
    if (!r)
        r = pl_presence_feed_start(p->feed);
    if (r) {
        auth_presence_free(p);
        return r;
    }
    *out = p;
    return 0;
}

void auth_presence_free(auth_presence *p)
{
    if (!p)
        return;
    pl_presence_feed_free(p->feed);
    pl_presence_free(p->agg);
    free(p);
}

int auth_presence_online(const auth_presence *p, const char *user_id, int64_t *last_seen_ms)
{
    if (!p)
        return 0;
    return pl_presence_online(p->agg, user_id, pl_time_real_ms(), last_seen_ms);
}
