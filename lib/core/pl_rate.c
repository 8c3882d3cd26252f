#include "pl_rate.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RATE_PROBE 8
#define RATE_KEY 40

typedef struct bucket {
    char key[RATE_KEY]; /* keys are compared as stored: cut to RATE_KEY-1 */
    int used;
    double tokens;
    int64_t last_ms;
} bucket;

struct pl_rate {
    pthread_mutex_t lock;
    double per_ms;
    double burst;
    size_t slots;
    bucket *b;
};

int pl_rate_new(pl_rate **out, double per_sec, double burst, size_t slots)
{
    pl_rate *r;

    if (slots == 0 || per_sec <= 0 || burst < 1)
        return -EINVAL;
    r = calloc(1, sizeof(*r));
    if (!r || !(r->b = calloc(slots, sizeof(bucket)))) {
        free(r);
        return -ENOMEM;
    }
    pthread_mutex_init(&r->lock, NULL);
    r->per_ms = per_sec / 1000.0;
    r->burst = burst;
    r->slots = slots;
    *out = r;
    return 0;
}

void pl_rate_free(pl_rate *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->lock);
    free(r->b);
    free(r);
}

/* Hashes what is stored, so long keys land where they are compared. */
static size_t rate_hash(const char *s)
{
    size_t h = 1469598103934665603ULL;
    for (size_t i = 0; *s && i < RATE_KEY - 1; s++, i++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* The key's bucket, or a recycled one; lock held. */
static bucket *rate_find(pl_rate *r, const char *key)
{
    size_t h = rate_hash(key);
    bucket *victim = NULL;

    for (size_t i = 0; i < RATE_PROBE; i++) {
        bucket *b = &r->b[(h + i) % r->slots];
        if (b->used && strncmp(b->key, key, RATE_KEY - 1) == 0)
            return b;
        if (!victim || !b->used || (victim->used && b->last_ms < victim->last_ms))
            victim = b;
    }
    snprintf(victim->key, sizeof(victim->key), "%s", key);
    victim->used = 0;
    return victim;
}

int pl_rate_take(pl_rate *r, const char *key, int64_t now_ms)
{
    int ok;

    pthread_mutex_lock(&r->lock);
    bucket *b = rate_find(r, key);
    if (!b->used) {
        b->used = 1;
        b->tokens = r->burst;
    } else if (now_ms > b->last_ms) {
        b->tokens += (double)(now_ms - b->last_ms) * r->per_ms;
        if (b->tokens > r->burst)
            b->tokens = r->burst;
    }
    b->last_ms = now_ms;
    ok = b->tokens >= 1.0;
    if (ok)
        b->tokens -= 1.0;
    pthread_mutex_unlock(&r->lock);
    return ok;
}
