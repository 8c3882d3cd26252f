#include "pusher_cache.h"
#include "pusher_map.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct pusher_members_cache {
    pusher_map *map; /* conversation id -> pusher_members (owned) */
    size_t max;
};

struct pusher_dedup {
    pusher_map *map;          /* event id -> the set marker */
    char (*ring)[PL_ID_LEN];  /* insertion order, to forget the oldest */
    size_t max, head, len;
};

static char dedup_marker;

pusher_members *pusher_members_new(size_t n)
{
    pusher_members *m;

    if (n > PUSHER_MAX_MEMBERS)
        return NULL;
    m = calloc(1, sizeof(*m) + n * sizeof(m->ids[0]));
    if (m)
        m->n = n;
    return m;
}

int pusher_members_has(const pusher_members *m, const char *id)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->ids[i], id) == 0)
            return 1;
    return 0;
}

pusher_members *pusher_members_union(const pusher_members *a, const pusher_members *b)
{
    pusher_members *u = pusher_members_new(a->n + b->n);
    size_t n = a->n;

    if (!u)
        return NULL;
    memcpy(u->ids, a->ids, a->n * sizeof(a->ids[0]));
    for (size_t i = 0; i < b->n; i++)
        if (!pusher_members_has(a, b->ids[i]))
            memcpy(u->ids[n++], b->ids[i], PL_ID_LEN);
    u->n = n;
    return u;
}

pusher_members *pusher_members_dup(const pusher_members *m)
{
    pusher_members *d = pusher_members_new(m->n);
    if (d)
        memcpy(d->ids, m->ids, m->n * sizeof(m->ids[0]));
    return d;
}

int pusher_members_cache_new(pusher_members_cache **out, size_t max)
{
    pusher_members_cache *c = calloc(1, sizeof(*c));
    int r;

    if (!c)
        return -ENOMEM;
    r = pusher_map_new(&c->map);
    if (r) {
        free(c);
        return r;
    }
    c->max = max;
    *out = c;
    return 0;
}

void pusher_members_cache_free(pusher_members_cache *c)
{
    if (!c)
        return;
    pusher_map_free(c->map, free);
    free(c);
}

const pusher_members *pusher_members_cache_get(pusher_members_cache *c, const char *conv)
{
    return pusher_map_get(c->map, conv);
}

int pusher_members_cache_put(pusher_members_cache *c, const char *conv, pusher_members *m)
{
    void *old = NULL;
    int r;

    if (pusher_map_count(c->map) >= c->max && !pusher_map_get(c->map, conv))
        pusher_map_clear(c->map, free);
    r = pusher_map_put(c->map, conv, m, &old);
    if (r)
        free(m);
    free(old);
    return r;
}

void pusher_members_cache_del(pusher_members_cache *c, const char *conv)
{
    free(pusher_map_del(c->map, conv));
}

size_t pusher_members_cache_count(pusher_members_cache *c)
{
    return pusher_map_count(c->map);
}

int pusher_dedup_new(pusher_dedup **out, size_t max)
{
    pusher_dedup *d;
    int r = -ENOMEM;

    if (!max)
        return -EINVAL;
    d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    d->ring = calloc(max, sizeof(*d->ring));
    if (!d->ring)
        goto fail;
    r = pusher_map_new(&d->map);
    if (r)
        goto fail;
    d->max = max;
    *out = d;
    return 0;
fail:
    pusher_dedup_free(d);
    return r;
}

void pusher_dedup_free(pusher_dedup *d)
{
    if (!d)
        return;
    pusher_map_free(d->map, NULL);
    free(d->ring);
    free(d);
}

int pusher_dedup_check(pusher_dedup *d, const char *id)
{
    size_t slot;
    int r;

    if (pusher_map_get(d->map, id))
        return 1;
    if (strlen(id) >= PL_ID_LEN)
        return -EINVAL;
    if (d->len == d->max) {
        pusher_map_del(d->map, d->ring[d->head]);
        d->head = (d->head + 1) % d->max;
        d->len--;
    }
    r = pusher_map_put(d->map, id, &dedup_marker, NULL);
    if (r)
        return r;
    slot = (d->head + d->len) % d->max;
    memcpy(d->ring[slot], id, strlen(id) + 1);
    d->len++;
    return 0;
}
