/* archiver: the archive's consumer loop. A member of consumer group
 * parley-archiver; it buffers each assigned partition's events into an open
 * segment and seals it when it is big or old enough: the segment is stored
 * (durably) first, then recorded in the catalog together with the
 * partition's new archived end. A crash between the two leaves an
 * unrecorded object that the next writer of that range replaces, so the
 * archive has neither holes nor duplicates.
 * Everything here runs on the thread that calls archiver_run. */
#ifndef ARCHIVER_H
#define ARCHIVER_H

#include "pl_buf.h"
#include "pl_metrics.h"
#include "pl_store.h"
#include "pl_svc.h"

typedef struct archiver archiver;

typedef struct archiver_limits {
    long long events; /* seal after this many events */
    long long bytes;  /* or this many uncompressed bytes */
    long long age_ms; /* or when the oldest buffered event is this old */
} archiver_limits;

/* c, m and store are borrowed. */
int archiver_new(archiver **out, const pl_svc_common *c, pl_metrics *m, pl_store *store,
                 archiver_limits lim, char *err, size_t errlen);
/* Runs until a signal (0) or an unrecoverable error (negative); on a
 * signal it seals what is buffered first. */
int archiver_run(archiver *a);
int archiver_ready(archiver *a);
void archiver_free(archiver *a);

/* Stores data under key durably (segments and history snapshots). */
int archiver_store_put(pl_store *s, const char *key, const pl_buf *data);

#endif
