/* archive_jobs: the archiver's periodic jobs, on a thread of their own
 * with their own Postgres connection, so they never hold up archiving:
 *
 *   tiering  moves hot history rows older than the retention policy into
 *            history snapshots (archive_tier.c);
 *   purge    deletes snapshots older than the purge policy unless a legal
 *            hold covers them (archive_purge.c). */
#ifndef ARCHIVE_JOBS_H
#define ARCHIVE_JOBS_H

#include <libpq-fe.h>
#include <stdatomic.h>

#include "pl_metrics.h"
#include "pl_store.h"
#include "pl_svc.h"

typedef struct archive_policy {
    long long hot_s;       /* PARLEY_RETENTION_HOT_DAYS, in seconds */
    long long purge_s;     /* PARLEY_PURGE_DAYS in seconds; 0: never */
    long long interval_ms; /* PARLEY_RETENTION_INTERVAL_MS */
    long long batch;       /* PARLEY_RETENTION_BATCH: messages per snapshot */
} archive_policy;

typedef struct archive_jobs archive_jobs;

/* c, m and store are borrowed and must outlive the jobs. */
int archive_jobs_start(archive_jobs **out, const pl_svc_common *c, pl_metrics *m,
                       pl_store *store, archive_policy pol);
/* Stops after the batch in progress and joins the thread. Accepts NULL. */
void archive_jobs_stop(archive_jobs *j);

/* One pass of each job; *stop is polled between batches. The number of
 * messages tiered (snapshots purged), or -EIO. */
int archive_tier_pass(PGconn *pg, pl_store *store, const char *topic,
                      const archive_policy *pol, const atomic_int *stop);
int archive_purge_pass(PGconn *pg, pl_store *store, const archive_policy *pol,
                       const atomic_int *stop);

#endif
