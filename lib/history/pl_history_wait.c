#include "pl_history_wait.h"
#include "pl_num.h"
#include "pl_time.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#define WAIT_MAX 10000
#define WAIT_POLL_MS 3
#define WAIT_MAX_PARTITIONS 4096

typedef struct waiter {
    struct waiter *next;
    pl_pos pos;
    int64_t deadline; /* monotonic ms */
    int reached;
    pl_history_wait_fn fn;
    void *opaque;
} waiter;

struct pl_history_wait {
    pl_pg_pool *pool;
    const char *topic;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stop;
    int count;
    waiter *head;
    int64_t applied[WAIT_MAX_PARTITIONS]; /* next offset to apply, per partition */
};

/* Refreshes applied[] from history.offsets. */
static int wait_refresh(pl_history_wait *w)
{
    PGresult *res = NULL;
    PGconn *c = pl_pg_acquire(w->pool, 1000);
    int r;

    if (!c)
        return -EIO;
    r = pl_pg_exec(c, &res, NULL, 0,
                   "SELECT partition, next_offset FROM history.offsets WHERE topic=$1", 1,
                   &w->topic);
    pl_pg_release(w->pool, c);
    if (r == 0) {
        pthread_mutex_lock(&w->lock);
        for (int i = 0; i < PQntuples(res); i++) {
            long long p, o;
            if (pl_num_parse_ll(PQgetvalue(res, i, 0), 0, WAIT_MAX_PARTITIONS - 1, &p) ||
                pl_num_parse_ll(PQgetvalue(res, i, 1), 0, INT64_MAX, &o))
                continue;
            w->applied[p] = o;
        }
        pthread_mutex_unlock(&w->lock);
    }
    PQclear(res);
    return r;
}

/* Unlinks the waiters that are done; the caller fires them. Lock held. */
static waiter *wait_collect(pl_history_wait *w, int64_t now, int all)
{
    waiter *done = NULL, **pp = &w->head;
    while (*pp) {
        waiter *x = *pp;
        int reached = w->applied[x->pos.partition] > x->pos.offset;
        if (all || reached || now >= x->deadline) {
            *pp = x->next;
            x->next = done;
            x->reached = reached;
            done = x;
            w->count--;
        } else {
            pp = &x->next;
        }
    }
    return done;
}

static void wait_fire(waiter *done)
{
    while (done) {
        waiter *n = done->next;
        done->fn(done->opaque, done->reached);
        free(done);
        done = n;
    }
}

static void *wait_loop(void *arg)
{
    pl_history_wait *w = arg;

    pthread_mutex_lock(&w->lock);
    while (!w->stop) {
        if (!w->head) {
            pthread_cond_wait(&w->cond, &w->lock);
            continue;
        }
        pthread_mutex_unlock(&w->lock);
        wait_refresh(w);
        pthread_mutex_lock(&w->lock);
        waiter *done = wait_collect(w, pl_time_mono_ms(), 0);
        pthread_mutex_unlock(&w->lock);
        wait_fire(done);
        pl_time_sleep_ms(WAIT_POLL_MS);
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int pl_history_wait_new(pl_history_wait **out, pl_pg_pool *pool, const char *topic)
{
    pl_history_wait *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->pool = pool;
    w->topic = topic;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    if (pthread_create(&w->thread, NULL, wait_loop, w) != 0) {
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->cond);
        free(w);
        return -EAGAIN;
    }
    *out = w;
    return 0;
}

int pl_history_wait_add(pl_history_wait *w, pl_pos pos, int timeout_ms,
                        pl_history_wait_fn fn, void *opaque)
{
    waiter *x;

    if (pos.partition < 0 || pos.partition >= WAIT_MAX_PARTITIONS)
        return -EINVAL;
    pthread_mutex_lock(&w->lock);
    if (w->applied[pos.partition] > pos.offset) {
        pthread_mutex_unlock(&w->lock);
        fn(opaque, 1);
        return 0;
    }
    if (w->count >= WAIT_MAX || !(x = calloc(1, sizeof(*x)))) {
        pthread_mutex_unlock(&w->lock);
        return -ENOBUFS;
    }
    x->pos = pos;
    x->deadline = pl_time_mono_ms() + timeout_ms;
    x->fn = fn;
    x->opaque = opaque;
    x->next = w->head;
    w->head = x;
    w->count++;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    return 0;
}

void pl_history_wait_free(pl_history_wait *w)
{
    waiter *done;

    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = 1;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    done = wait_collect(w, INT64_MAX, 1);
    wait_fire(done);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    free(w);
}
