#include "pusher_map.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAP_MIN_BUCKETS 64

typedef struct entry {
    struct entry *next;
    void *value;
    char key[];
} entry;

struct pusher_map {
    entry **buckets;
    size_t nbuckets; /* a power of two */
    size_t count;
};

static uint64_t map_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

int pusher_map_new(pusher_map **out)
{
    pusher_map *m = calloc(1, sizeof(*m));

    if (!m)
        return -ENOMEM;
    m->buckets = calloc(MAP_MIN_BUCKETS, sizeof(*m->buckets));
    if (!m->buckets) {
        free(m);
        return -ENOMEM;
    }
    m->nbuckets = MAP_MIN_BUCKETS;
    *out = m;
    return 0;
}

void pusher_map_clear(pusher_map *m, pusher_map_free_fn fn)
{
    for (size_t i = 0; i < m->nbuckets; i++) {
        entry *e = m->buckets[i];
        while (e) {
            entry *next = e->next;
            if (fn)
                fn(e->value);
            free(e);
            e = next;
        }
        m->buckets[i] = NULL;
    }
    m->count = 0;
}

void pusher_map_free(pusher_map *m, pusher_map_free_fn fn)
{
    if (!m)
        return;
    pusher_map_clear(m, fn);
    free(m->buckets);
    free(m);
}

static entry **map_slot(const pusher_map *m, const char *key)
{
    entry **p = &m->buckets[map_hash(key) & (m->nbuckets - 1)];
    while (*p && strcmp((*p)->key, key) != 0)
        p = &(*p)->next;
    return p;
}

void *pusher_map_get(const pusher_map *m, const char *key)
{
    entry *e = *map_slot(m, key);
    return e ? e->value : NULL;
}

/* Doubling keeps chains short; a failed grow only costs speed. */
static void map_grow(pusher_map *m)
{
    size_t n = m->nbuckets * 2;
    entry **b = calloc(n, sizeof(*b));

    if (!b)
        return;
    for (size_t i = 0; i < m->nbuckets; i++) {
        entry *e = m->buckets[i];
        while (e) {
            entry *next = e->next;
            size_t j = map_hash(e->key) & (n - 1);
            e->next = b[j];
            b[j] = e;
            e = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = n;
}

int pusher_map_put(pusher_map *m, const char *key, void *value, void **old)
{
    entry **p = map_slot(m, key);
    size_t klen;
    entry *e;

    if (old)
        *old = NULL;
    if (*p) {
        if (old)
            *old = (*p)->value;
        (*p)->value = value;
        return 0;
    }
    klen = strlen(key);
    e = malloc(sizeof(*e) + klen + 1);
    if (!e)
        return -ENOMEM;
    memcpy(e->key, key, klen + 1);
    e->value = value;
    e->next = NULL;
    *p = e;
    if (++m->count > m->nbuckets * 2)
        map_grow(m);
    return 0;
}

void *pusher_map_del(pusher_map *m, const char *key)
{
    entry **p = map_slot(m, key);
    entry *e = *p;
    void *v;

    if (!e)
        return NULL;
    *p = e->next;
    v = e->value;
    free(e);
    m->count--;
    return v;
}

size_t pusher_map_count(const pusher_map *m)
{
    return m->count;
}
