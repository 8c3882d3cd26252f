#include "pusher_recent.h"

#include <errno.h>
#include <stdlib.h>

#define RECENT_MAX_PARTITIONS 65536

typedef struct recent_part {
    pusher_delivery **ring; /* cap entries, oldest at head */
    size_t head, len;
    int64_t floor;          /* every delivery from this offset on is kept */
} recent_part;

struct pusher_recent {
    recent_part *parts;
    size_t nparts, cap;
};

int pusher_recent_new(pusher_recent **out, size_t per_partition)
{
    pusher_recent *r = calloc(1, sizeof(*r));

    if (!r)
        return -ENOMEM;
    r->cap = per_partition;
    *out = r;
    return 0;
}

void pusher_recent_free(pusher_recent *r)
{
    if (!r)
        return;
    for (size_t p = 0; p < r->nparts; p++) {
        recent_part *rp = &r->parts[p];
        for (size_t i = 0; i < rp->len; i++)
            pusher_delivery_free(rp->ring[(rp->head + i) % r->cap]);
        free(rp->ring);
    }
    free(r->parts);
    free(r);
}

static recent_part *part_get(pusher_recent *r, int32_t partition)
{
    size_t want = (size_t)partition + 1;
    recent_part *n;

    if (partition < 0 || partition >= RECENT_MAX_PARTITIONS)
        return NULL;
    if (want > r->nparts) {
        n = realloc(r->parts, want * sizeof(*n));
        if (!n)
            return NULL;
        for (size_t p = r->nparts; p < want; p++)
            n[p] = (recent_part){.floor = -1};
        r->parts = n;
        r->nparts = want;
    }
    n = &r->parts[partition];
    if (!n->ring && !(n->ring = calloc(r->cap, sizeof(*n->ring))))
        return NULL;
    return n;
}

static const pusher_delivery *part_at(const pusher_recent *r, const recent_part *rp, size_t i)
{
    return rp->ring[(rp->head + i) % r->cap];
}

void pusher_recent_keep(pusher_recent *r, pusher_delivery *d)
{
    recent_part *rp = r->cap && d->offset >= 0 ? part_get(r, d->partition) : NULL;

    if (!rp || (rp->len && d->offset <= part_at(r, rp, rp->len - 1)->offset)) {
        pusher_delivery_free(d); /* nowhere to keep it, or not newer */
        return;
    }
    if (rp->floor < 0)
        rp->floor = d->offset;
    if (rp->len == r->cap) {
        pusher_delivery *old = rp->ring[rp->head];
        rp->floor = old->offset + 1;
        pusher_delivery_free(old);
        rp->head = (rp->head + 1) % r->cap;
        rp->len--;
    }
    rp->ring[(rp->head + rp->len++) % r->cap] = d;
}

int pusher_recent_covers(const pusher_recent *r, int32_t partition, int64_t after)
{
    const recent_part *rp;

    if (partition < 0 || (size_t)partition >= r->nparts)
        return 0;
    rp = &r->parts[partition];
    return rp->len && after + 1 >= rp->floor && after <= part_at(r, rp, rp->len - 1)->offset;
}

void pusher_recent_each(const pusher_recent *r, int32_t partition, int64_t after,
                        void (*fn)(void *arg, const pusher_delivery *d), void *arg)
{
    const recent_part *rp;
    size_t lo = 0, hi;

    if (partition < 0 || (size_t)partition >= r->nparts)
        return;
    rp = &r->parts[partition];
    hi = rp->len;
    while (lo < hi) { /* the first kept offset past `after` */
        size_t mid = lo + (hi - lo) / 2;
        if (part_at(r, rp, mid)->offset <= after)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < rp->len; lo++)
        fn(arg, part_at(r, rp, lo));
}
