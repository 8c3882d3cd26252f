#include "pl_presence.h"
#include "pl_id.h"
#include "pl_json.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_BUCKETS 1024
#define FORGET_TTLS 10 /* offline users and dead instances kept this many ttls */
#define GRACE_MAX_MS 2000

typedef struct pr_inst {
    char name[PL_PRESENCE_INSTANCE_MAX];
    int64_t heard_ms; /* newest "at" from this instance */
    int used, alive;
    size_t users;     /* slots naming this instance */
} pr_inst;

typedef struct pr_slot {
    int inst;
    long long sockets;
} pr_slot;

typedef struct pr_user {
    struct pr_user *next;
    struct pr_user *pnext; /* in the pending-offline list */
    char id[PL_ID_LEN];
    int online, n;  /* online: as the records say now */
    int shown;      /* as announced (and answered): online lags by the grace */
    int pending;
    int64_t last_seen_ms, off_ms;
    char cause[PL_PRESENCE_INSTANCE_MAX];
    pr_slot s[PL_PRESENCE_SLOTS];
} pr_user;

struct pl_presence {
    pthread_mutex_t lock;
    int64_t ttl_ms;
    pl_presence_change_fn fn;
    void *arg;
    int live;
    int64_t next_forget_ms; /* the user sweep runs once a ttl */
    int64_t grace_ms, now_ms;
    pr_user *pending;       /* went offline, not announced yet */
    pr_inst *insts;
    pr_user **buckets;
    size_t nbuckets, count;
};

static uint64_t pr_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

int pl_presence_new(pl_presence **out, int64_t ttl_ms, pl_presence_change_fn fn, void *arg)
{
    pl_presence *p;

    if (ttl_ms < 1)
        return -EINVAL;
    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->insts = calloc(PL_PRESENCE_MAX_INSTANCES, sizeof(*p->insts));
    p->buckets = calloc(MIN_BUCKETS, sizeof(*p->buckets));
    if (!p->insts || !p->buckets) {
        free(p->insts);
        free(p->buckets);
        free(p);
        return -ENOMEM;
    }
    pthread_mutex_init(&p->lock, NULL);
    p->nbuckets = MIN_BUCKETS;
    p->ttl_ms = ttl_ms;
    p->grace_ms = ttl_ms / 4 < GRACE_MAX_MS ? ttl_ms / 4 : GRACE_MAX_MS;
    p->fn = fn;
    p->arg = arg;
    *out = p;
    return 0;
}

void pl_presence_free(pl_presence *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nbuckets; i++) {
        pr_user *u = p->buckets[i];
        while (u) {
            pr_user *next = u->next;
            free(u);
            u = next;
        }
    }
    pthread_mutex_destroy(&p->lock);
    free(p->buckets);
    free(p->insts);
    free(p);
}

void pl_presence_set_live(pl_presence *p, int live)
{
    pthread_mutex_lock(&p->lock);
    p->live = live;
    pthread_mutex_unlock(&p->lock);
}

int pl_presence_key_parse(const char *key, size_t keylen, char *user_id, char *instance)
{
    const char *slash = key ? memchr(key, '/', keylen) : NULL;
    const char *name = slash ? slash + 1 : key;
    size_t ulen = slash ? (size_t)(slash - key) : 0, nlen = key ? keylen - (size_t)(name - key) : 0;

    if (!key || nlen == 0 || nlen >= PL_PRESENCE_INSTANCE_MAX || memchr(name, '/', nlen) ||
        memchr(key, '\0', keylen))
        return -EINVAL;
    if (slash) {
        if (ulen != PL_ID_LEN - 1)
            return -EINVAL;
        memcpy(user_id, key, ulen);
        user_id[ulen] = '\0';
        if (!pl_id_valid(user_id))
            return -EINVAL;
    } else {
        user_id[0] = '\0';
    }
    memcpy(instance, name, nlen);
    instance[nlen] = '\0';
    return 0;
}

static pr_user **pr_slot_of(pl_presence *p, const char *id)
{
    pr_user **u = &p->buckets[pr_hash(id) & (p->nbuckets - 1)];
    while (*u && strcmp((*u)->id, id) != 0)
        u = &(*u)->next;
    return u;
}

/* Doubling keeps chains short; a failed grow only costs speed. */
static void pr_grow(pl_presence *p)
{
    size_t n = p->nbuckets * 2;
    pr_user **b = calloc(n, sizeof(*b));

    if (!b)
        return;
    for (size_t i = 0; i < p->nbuckets; i++) {
        pr_user *u = p->buckets[i];
        while (u) {
            pr_user *next = u->next;
            size_t j = pr_hash(u->id) & (n - 1);
            u->next = b[j];
            b[j] = u;
            u = next;
        }
    }
    free(p->buckets);
    p->buckets = b;
    p->nbuckets = n;
}

static int pr_user_get(pl_presence *p, const char *id, pr_user **out)
{
    pr_user **at = pr_slot_of(p, id), *u;

    if (*at) {
        *out = *at;
        return 0;
    }
    if (p->count >= PL_PRESENCE_MAX_USERS)
        return -E2BIG;
    u = calloc(1, sizeof(*u));
    if (!u)
        return -ENOMEM;
    memcpy(u->id, id, PL_ID_LEN);
    *at = u;
    if (++p->count > p->nbuckets * 2)
        pr_grow(p);
    *out = u;
    return 0;
}

static int pr_inst_get(pl_presence *p, const char *name, int create)
{
    int free_at = -1;

    for (int i = 0; i < PL_PRESENCE_MAX_INSTANCES; i++) {
        if (p->insts[i].used && strcmp(p->insts[i].name, name) == 0)
            return i;
        if (!p->insts[i].used && free_at < 0)
            free_at = i;
    }
    if (!create || free_at < 0)
        return create ? -E2BIG : -ENOENT;
    memset(&p->insts[free_at], 0, sizeof(p->insts[free_at]));
    strcpy(p->insts[free_at].name, name); /* length checked by the key parser */
    p->insts[free_at].used = 1;
    return free_at;
}

static void pr_announce(pl_presence *p, pr_user *u, int on, const char *cause)
{
    if (p->live && p->fn)
        p->fn(p->arg, u->id, on, u->last_seen_ms, on ? NULL : cause);
}

/* Re-derives u's status. Coming online is announced at once; going
 * offline only after the grace (pl_presence_tick), so a socket moving
 * between pushers, or a page reload, does not flicker. cause_ms is when
 * the user was last known online. */
static void pr_recompute(pl_presence *p, pr_user *u, const char *cause, int64_t cause_ms)
{
    int on = 0;

    for (int i = 0; i < u->n && !on; i++)
        on = u->s[i].sockets > 0 && p->insts[u->s[i].inst].alive;
    if (on == u->online)
        return;
    u->online = on;
    if (on) {
        if (!u->shown) {
            u->shown = 1;
            pr_announce(p, u, 1, NULL);
        }
        return; /* a pending offline is dropped by the tick */
    }
    if (cause_ms > u->last_seen_ms)
        u->last_seen_ms = cause_ms;
    snprintf(u->cause, sizeof(u->cause), "%s", cause ? cause : "");
    /* A timeout already waited a ttl: no grace on top. */
    u->off_ms = cause ? p->now_ms : p->now_ms - p->grace_ms;
    if (!p->live) {
        u->shown = 0; /* replaying: nobody to tell */
    } else if (!u->pending) {
        u->pending = 1;
        u->pnext = p->pending;
        p->pending = u;
    }
}

/* Announces the offline users whose grace ran out. */
static void pr_flush_pending(pl_presence *p)
{
    pr_user **at = &p->pending;

    while (*at) {
        pr_user *u = *at;
        if (!u->online && p->now_ms - u->off_ms < p->grace_ms) {
            at = &u->pnext;
            continue;
        }
        *at = u->pnext;
        u->pending = 0;
        if (!u->online && u->shown) {
            u->shown = 0;
            pr_announce(p, u, 0, u->cause[0] ? u->cause : NULL);
        }
    }
}

/* Every user counted on instance i, after i came alive or died. */
static void pr_recompute_inst(pl_presence *p, int i)
{
    for (size_t b = 0; b < p->nbuckets; b++)
        for (pr_user *u = p->buckets[b]; u; u = u->next)
            for (int k = 0; k < u->n; k++)
                if (u->s[k].inst == i) {
                    pr_recompute(p, u, NULL, p->insts[i].heard_ms);
                    break;
                }
}

static void pr_heard(pl_presence *p, int i, int64_t at_ms, int64_t now_ms)
{
    pr_inst *in = &p->insts[i];
    int alive;

    if (at_ms > in->heard_ms)
        in->heard_ms = at_ms;
    alive = now_ms - in->heard_ms < p->ttl_ms;
    if (alive != in->alive) {
        in->alive = alive;
        pr_recompute_inst(p, i);
    }
}

static void pr_slot_set(pl_presence *p, pr_user *u, int i, long long sockets)
{
    int k = 0;

    while (k < u->n && u->s[k].inst != i)
        k++;
    if (sockets <= 0) {
        if (k < u->n) {
            u->s[k] = u->s[--u->n];
            p->insts[i].users--;
        }
        return;
    }
    if (k == u->n) {
        if (u->n == PL_PRESENCE_SLOTS)
            return; /* counted on enough instances already */
        u->n++;
        p->insts[i].users++;
    }
    u->s[k].inst = i;
    u->s[k].sockets = sockets;
}

/* Drops instance i and every slot naming it (a clean stop's tombstone). */
static void pr_inst_drop(pl_presence *p, int i, int64_t ts_ms)
{
    for (size_t b = 0; b < p->nbuckets; b++)
        for (pr_user *u = p->buckets[b]; u; u = u->next) {
            int before = u->n;
            pr_slot_set(p, u, i, 0);
            if (u->n != before)
                pr_recompute(p, u, NULL, ts_ms); /* the instance is gone */
        }
    p->insts[i].used = 0;
}

static int pr_apply_locked(pl_presence *p, const char *uid, const char *name, yajl_val v,
                           int64_t ts_ms, int64_t now_ms)
{
    long long at = ts_ms, sockets = 0;
    pr_user *u = NULL;
    int i, r;

    if (v && ((pl_json_int(v, "at", &at) || at <= 0) ||
              (uid[0] && (pl_json_int(v, "sockets", &sockets) || sockets < 0))))
        return -EINVAL;
    i = pr_inst_get(p, name, v != NULL);
    if (i == -ENOENT)
        return 0; /* a tombstone for something long forgotten */
    if (i < 0)
        return i;
    if (!uid[0]) {
        if (!v)
            pr_inst_drop(p, i, ts_ms);
        else
            pr_heard(p, i, at, now_ms);
        return 0;
    }
    if (v)
        pr_heard(p, i, at, now_ms);
    r = pr_user_get(p, uid, &u);
    if (r)
        return r;
    pr_slot_set(p, u, i, sockets);
    /* Only a live instance can speak for the close (it writes last_seen). */
    pr_recompute(p, u, p->insts[i].alive ? name : NULL, at);
    return 0;
}

int pl_presence_apply(pl_presence *p, const char *key, size_t keylen, const char *value,
                      size_t len, int64_t ts_ms, int64_t now_ms)
{
    char uid[PL_ID_LEN], name[PL_PRESENCE_INSTANCE_MAX], err[64];
    yajl_val v = NULL;
    int r = pl_presence_key_parse(key, keylen, uid, name);

    if (r)
        return r;
    if (value && len && pl_json_parse(value, len, &v, err, sizeof(err)))
        return -EINVAL;
    pthread_mutex_lock(&p->lock);
    p->now_ms = now_ms;
    r = pr_apply_locked(p, uid, name, v, ts_ms, now_ms);
    pthread_mutex_unlock(&p->lock);
    yajl_tree_free(v);
    return r;
}

static void pr_forget_users(pl_presence *p, int64_t now_ms)
{
    int64_t horizon = now_ms - FORGET_TTLS * p->ttl_ms;

    for (size_t b = 0; b < p->nbuckets; b++) {
        pr_user **at = &p->buckets[b];
        while (*at) {
            pr_user *u = *at;
            if (u->n == 0 && !u->online && !u->shown && !u->pending &&
                u->last_seen_ms < horizon) {
                *at = u->next;
                free(u);
                p->count--;
            } else {
                at = &u->next;
            }
        }
    }
}

void pl_presence_tick(pl_presence *p, int64_t now_ms)
{
    pthread_mutex_lock(&p->lock);
    p->now_ms = now_ms;
    for (int i = 0; i < PL_PRESENCE_MAX_INSTANCES; i++) {
        pr_inst *in = &p->insts[i];
        if (!in->used)
            continue;
        if (in->alive && now_ms - in->heard_ms >= p->ttl_ms) {
            in->alive = 0;
            pr_recompute_inst(p, i);
        }
        /* A dead instance nobody is counted on is only clutter. */
        if (!in->alive && !in->users && now_ms - in->heard_ms >= FORGET_TTLS * p->ttl_ms)
            in->used = 0;
    }
    pr_flush_pending(p);
    if (now_ms >= p->next_forget_ms) {
        p->next_forget_ms = now_ms + p->ttl_ms;
        pr_forget_users(p, now_ms);
    }
    pthread_mutex_unlock(&p->lock);
}

int pl_presence_online(pl_presence *p, const char *user_id, int64_t now_ms,
                       int64_t *last_seen_ms)
{
    pr_user *u;
    int on = 0;

    (void)now_ms;
    pthread_mutex_lock(&p->lock);
    u = *pr_slot_of(p, user_id);
    if (u) {
        on = u->shown;
        if (last_seen_ms && u->last_seen_ms > *last_seen_ms)
            *last_seen_ms = u->last_seen_ms;
    }
    pthread_mutex_unlock(&p->lock);
    return on;
}

int pl_presence_is_janitor(pl_presence *p, const char *self, int64_t now_ms)
{
    int first = 1;

    pthread_mutex_lock(&p->lock);
    for (int i = 0; i < PL_PRESENCE_MAX_INSTANCES && first; i++) {
        pr_inst *in = &p->insts[i];
        if (in->used && now_ms - in->heard_ms < p->ttl_ms && strcmp(in->name, self) < 0)
            first = 0;
    }
    pthread_mutex_unlock(&p->lock);
    return first;
}

static int pr_dead(const pl_presence *p, int i, int64_t now_ms, int64_t dead_for_ms)
{
    return p->insts[i].used && now_ms - p->insts[i].heard_ms >= dead_for_ms;
}

size_t pl_presence_dead_each(pl_presence *p, int64_t now_ms, int64_t dead_for_ms, size_t max,
                             pl_presence_dead_fn fn, void *arg)
{
    size_t n = 0;

    if (dead_for_ms < p->ttl_ms)
        dead_for_ms = p->ttl_ms;
    pthread_mutex_lock(&p->lock);
    for (size_t b = 0; b < p->nbuckets && n < max; b++)
        for (pr_user *u = p->buckets[b]; u && n < max; u = u->next)
            for (int k = 0; k < u->n && n < max; k++)
                if (pr_dead(p, u->s[k].inst, now_ms, dead_for_ms)) {
                    fn(arg, u->id, p->insts[u->s[k].inst].name, u->online, u->last_seen_ms);
                    n++;
                }
    for (int i = 0; i < PL_PRESENCE_MAX_INSTANCES && n < max; i++)
        if (pr_dead(p, i, now_ms, dead_for_ms)) {
            fn(arg, NULL, p->insts[i].name, 0, p->insts[i].heard_ms);
            n++;
        }
    pthread_mutex_unlock(&p->lock);
    return n;
}
