#include "archive_jobs.h"
#include "pl_log.h"
#include "pl_time.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

struct archive_jobs {
    const pl_svc_common *c;
    pl_metrics *metrics;
    pl_store *store;
    archive_policy pol;
    atomic_int stop;
    pthread_t thread;
    PGconn *pg;
};

static int pg_ready(archive_jobs *j)
{
    if (j->pg && PQstatus(j->pg) == CONNECTION_OK)
        return 0;
    if (j->pg)
        PQfinish(j->pg);
    j->pg = pl_pg_connect(j->c->pg_dsn);
    return j->pg ? 0 : -EIO;
}

static void pass(archive_jobs *j)
{
    int n;

    if (pg_ready(j)) {
        pl_warn("jobs", "msg=\"postgres unavailable; next interval\"");
        return;
    }
    n = archive_tier_pass(j->pg, j->store, j->c->events_topic, &j->pol, &j->stop);
    if (n > 0)
        pl_metrics_add(j->metrics, "archiver_messages_tiered_total", "", n);
    n = n < 0 ? n : archive_purge_pass(j->pg, j->store, &j->pol, &j->stop);
    if (n > 0)
        pl_metrics_add(j->metrics, "archiver_snapshots_purged_total", "", n);
    if (n < 0) {
        /* A statement failed: drop the connection, whatever state it is in. */
        PQfinish(j->pg);
        j->pg = NULL;
    }
}

static void *run(void *arg)
{
    archive_jobs *j = arg;
    int64_t next = pl_time_mono_ms() + j->pol.interval_ms;

    while (!atomic_load(&j->stop)) {
        if (pl_time_mono_ms() < next) {
            pl_time_sleep_ms(100);
            continue;
        }
        pass(j);
        next = pl_time_mono_ms() + j->pol.interval_ms;
    }
    return NULL;
}

int archive_jobs_start(archive_jobs **out, const pl_svc_common *c, pl_metrics *m,
                       pl_store *store, archive_policy pol)
{
    archive_jobs *j = calloc(1, sizeof(*j));

    if (!j)
        return -ENOMEM;
    *j = (archive_jobs){.c = c, .metrics = m, .store = store, .pol = pol};
    atomic_init(&j->stop, 0);
    if (pthread_create(&j->thread, NULL, run, j) != 0) {
        free(j);
        return -EAGAIN;
    }
    *out = j;
    return 0;
}

void archive_jobs_stop(archive_jobs *j)
{
    if (!j)
        return;
    atomic_store(&j->stop, 1);
    pthread_join(j->thread, NULL);
    if (j->pg)
        PQfinish(j->pg);
    free(j);
}
