/* Export worker threads: claim a job, build it, record the outcome; sleep
 * up to a second when the queue is empty (a create on this instance wakes
 * one at once; jobs created on another instance wait for the poll). */
#include "export.h"
#include "pl_log.h"
#include "pl_time.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define POLL_MS 1000
#define SWEEP_MS 60000

struct media_exporter {
    media *m;
    atomic_int stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int kicks;
    atomic_int started; /* hands each worker its index */
    int n;
    pthread_t *threads;
    char owner[128]; /* instance:pid, for lease_owner */
};

static void idle_wait(media_exporter *x)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += POLL_MS / 1000;
    pthread_mutex_lock(&x->mu);
    while (!x->kicks && !atomic_load(&x->stop))
        if (pthread_cond_timedwait(&x->cv, &x->mu, &ts) == ETIMEDOUT)
            break;
    if (x->kicks)
        x->kicks--;
    pthread_mutex_unlock(&x->mu);
}

/* Records how a build ended. Transient failures go back to the queue
 * until EXPORT_MAX_ATTEMPTS. */
static void outcome(media_exporter *x, const export_job *j, int r, uint64_t size)
{
    media *m = x->m;

    if (r == 0 && export_finish(m, j, size) == 0) {
        pl_info("export_done", "id=%s user=%s size=%llu items=%lld attempt=%s", j->id,
                j->user, (unsigned long long)size, j->done, j->attempt);
    } else if (r == -ECANCELED) {
        export_release(m, j);
        pl_info("export_released", "id=%s msg=\"stopping; back to the queue\"", j->id);
    } else if (r == -ESTALE) {
        pl_warn("export_lost", "id=%s attempt=%s msg=\"lease taken over\"", j->id, j->attempt);
    } else if (r == -EFBIG) {
        export_fail(m, j, "the export is larger than the server allows");
    } else if (r == -EACCES) {
        export_fail(m, j, "no longer a member of the conversation");
    } else if (r != 0 && atoi(j->attempt) >= EXPORT_MAX_ATTEMPTS) {
        export_fail(m, j, "could not be built; try again later");
    } else if (r != 0) {
        /* The lease runs out and the job is retried. */
        pl_warn("export_retry", "id=%s attempt=%s msg=\"%s\"", j->id, j->attempt,
                strerror(-r));
    }
}

static void run_one(media_exporter *x, export_job *j)
{
    uint64_t size = 0;
    int r;

    j->stop = &x->stop;
    if (atoi(j->attempt) > EXPORT_MAX_ATTEMPTS) {
        export_fail(x->m, j, "could not be built; try again later");
        return;
    }
    pl_info("export_start", "id=%s user=%s scope=%s attempt=%s", j->id, j->user,
            j->account ? "account" : "conversation", j->attempt);
    r = export_build(x->m, j, &size);
    outcome(x, j, r, size);
}

static void *worker(void *arg)
{
    media_exporter *x = arg;
    int64_t last_sweep = 0;
    int sweeper = atomic_fetch_add(&x->started, 1) == 0; /* one sweeper per instance */

    while (!atomic_load(&x->stop)) {
        export_job j;
        int r;

        if (sweeper && pl_time_mono_ms() - last_sweep >= SWEEP_MS) {
            export_sweep(x->m);
            last_sweep = pl_time_mono_ms();
        }
        r = export_claim(x->m, x->owner, &j);
        if (r == 1)
            run_one(x, &j);
        else
            idle_wait(x);
    }
    return NULL;
}

int media_exporter_start(media *m)
{
    media_exporter *x = calloc(1, sizeof(*x));

    if (!x || !(x->threads = calloc((size_t)m->ex.workers, sizeof(pthread_t)))) {
        free(x);
        return -ENOMEM;
    }
    x->m = m;
    pthread_mutex_init(&x->mu, NULL);
    pthread_cond_init(&x->cv, NULL);
    snprintf(x->owner, sizeof(x->owner), "%s:%d", m->c->instance, (int)getpid());
    for (x->n = 0; x->n < m->ex.workers; x->n++)
        if (pthread_create(&x->threads[x->n], NULL, worker, x) != 0)
            break;
    m->exporter = x;
    return x->n > 0 ? 0 : -EAGAIN;
}

void media_exporter_kick(media_exporter *x)
{
    if (!x)
        return;
    pthread_mutex_lock(&x->mu);
    x->kicks++;
    pthread_cond_signal(&x->cv);
    pthread_mutex_unlock(&x->mu);
}

void media_exporter_stop(media_exporter *x)
{
    if (!x)
        return;
    atomic_store(&x->stop, 1);
    pthread_mutex_lock(&x->mu);
    pthread_cond_broadcast(&x->cv);
    pthread_mutex_unlock(&x->mu);
    for (int i = 0; i < x->n; i++)
        pthread_join(x->threads[i], NULL);
    pthread_cond_destroy(&x->cv);
    pthread_mutex_destroy(&x->mu);
    free(x->threads);
    free(x);
}
