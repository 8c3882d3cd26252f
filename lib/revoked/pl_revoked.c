#include "pl_revoked.h"
#include "pl_json.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SET_MIN_CAP 64 /* slots; always a power of two, at most half full */

typedef struct slot {
    char sid[PL_ID_LEN]; /* "" = empty */
    int64_t until_ms;
} slot;

struct pl_revoked {
    pthread_rwlock_t lock;
    slot *slots;
    size_t cap, n;
};

static uint64_t sid_hash(const char *sid)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < PL_ID_LEN - 1; i++)
        h = (h ^ (unsigned char)sid[i]) * 1099511628211ULL;
    return h;
}

/* The slot holding sid, or the empty slot where it would go. */
static slot *find(slot *slots, size_t cap, const char *sid)
{
    size_t i = (size_t)sid_hash(sid) & (cap - 1);
    while (slots[i].sid[0] && memcmp(slots[i].sid, sid, PL_ID_LEN) != 0)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

int pl_revoked_new(pl_revoked **out)
{
    pl_revoked *s = calloc(1, sizeof(*s));

    if (!s || !(s->slots = calloc(SET_MIN_CAP, sizeof(slot)))) {
        free(s);
        return -ENOMEM;
    }
    s->cap = SET_MIN_CAP;
    pthread_rwlock_init(&s->lock, NULL);
    *out = s;
    return 0;
}

void pl_revoked_free(pl_revoked *s)
{
    if (!s)
        return;
    pthread_rwlock_destroy(&s->lock);
    free(s->slots);
    free(s);
}

/* Moves the live entries (until > now_ms) into a table of cap slots.
 * Called with the write lock held. */
static int rehash(pl_revoked *s, size_t cap, int64_t now_ms)
{
    slot *t = calloc(cap, sizeof(slot));
    size_t n = 0;

    if (!t)
        return -ENOMEM;
    for (size_t i = 0; i < s->cap; i++) {
        if (!s->slots[i].sid[0] || s->slots[i].until_ms <= now_ms)
            continue;
        *find(t, cap, s->slots[i].sid) = s->slots[i];
        n++;
    }
    free(s->slots);
    s->slots = t;
    s->cap = cap;
    s->n = n;
    return 0;
}

int pl_revoked_add(pl_revoked *s, const char *sid, int64_t until_ms)
{
    slot *e;
    int r = 0;

    if (!pl_id_valid(sid))
        return -EINVAL;
    pthread_rwlock_wrlock(&s->lock);
    if ((s->n + 1) * 2 > s->cap)
        r = rehash(s, s->cap * 2, INT64_MIN); /* keeps everything */
    if (r)
        goto out;
    e = find(s->slots, s->cap, sid);
    if (!e->sid[0]) {
        memcpy(e->sid, sid, PL_ID_LEN);
        e->until_ms = until_ms;
        s->n++;
    } else if (until_ms > e->until_ms) {
        e->until_ms = until_ms;
    }
out:
    pthread_rwlock_unlock(&s->lock);
    return r;
}

int pl_revoked_has(pl_revoked *s, const char *sid, int64_t now_ms)
{
    const slot *e;
    int hit;

    if (!s || !pl_id_valid(sid))
        return 0;
    pthread_rwlock_rdlock(&s->lock);
    e = find(s->slots, s->cap, sid);
    hit = e->sid[0] && now_ms < e->until_ms;
    pthread_rwlock_unlock(&s->lock);
    return hit;
}

size_t pl_revoked_prune(pl_revoked *s, int64_t now_ms)
{
    size_t cap = SET_MIN_CAP, n;

    pthread_rwlock_wrlock(&s->lock);
    while (cap < s->n * 2) /* shrinks too, once a burst has expired */
        cap *= 2;
    rehash(s, cap, now_ms); /* on -ENOMEM the old table stays, expired or not */
    n = s->n;
    pthread_rwlock_unlock(&s->lock);
    return n;
}

size_t pl_revoked_count(pl_revoked *s)
{
    size_t n;

    pthread_rwlock_rdlock(&s->lock);
    n = s->n;
    pthread_rwlock_unlock(&s->lock);
    return n;
}

int pl_revoked_parse(const char *json, size_t len, pl_revoked_event *out)
{
    const char *type, *uid, *sid;
    long long ts = 0;
    yajl_val t = NULL;
    char err[64];
    int r = -EINVAL;

    memset(out, 0, sizeof(*out));
    if (pl_json_parse(json, len, &t, err, sizeof(err)) != 0)
        return -EINVAL;
    type = pl_json_str(t, "type");
    uid = pl_json_str(t, "user_id");
    sid = pl_json_str(t, "session_id");
    if (!YAJL_IS_OBJECT(t) || !type)
        goto out;
    if (strcmp(type, "session.revoked") != 0) {
        r = -ENOTSUP;
        goto out;
    }
    if (!pl_id_valid(uid) || !pl_id_valid(sid) ||
        (pl_json_get(t, "ts") && (pl_json_int(t, "ts", &ts) != 0 || ts < 0)))
        goto out;
    memcpy(out->user_id, uid, PL_ID_LEN);
    memcpy(out->session_id, sid, PL_ID_LEN);
    out->ts_ms = ts;
    r = 0;
out:
    yajl_tree_free(t);
    return r;
}
