/* Export jobs inside parley-media: the queue in media.exports (claim,
 * checkpoint, finish), the archive builder and the history reads it
 * makes. Internal to cmd/media. */
#ifndef MEDIA_EXPORT_H
#define MEDIA_EXPORT_H

#include "media.h"
#include "pl_id.h"

#include <stdatomic.h>

#define EXPORT_MAX_ATTEMPTS 5

/* One claimed job. attempt is the fencing token: every write about the
 * job names it, and a job taken over by another worker has a higher one. */
typedef struct export_job {
    char id[PL_ID_LEN];
    char user[PL_ID_LEN];
    char conv[PL_ID_LEN]; /* "" for an account export */
    int account;
    char attempt[16];
    long long done, total;
    int64_t checkpoint_ms; /* monotonic time of the last checkpoint */
    const atomic_int *stop; /* set when the service stops */
} export_job;

/* Queue (export_queue.c). Each takes a pooled connection for itself. */
/* 1 and *j when a job was claimed, 0 when none is waiting, -EIO. */
int export_claim(media *m, const char *owner, export_job *j);
/* Saves progress and extends the lease: 0, -ESTALE when another worker
 * holds the job now, -EIO. */
int export_checkpoint(media *m, export_job *j);
int export_finish(media *m, const export_job *j, uint64_t size);
int export_fail(media *m, const export_job *j, const char *why);
/* Back to the queue without counting the attempt (this worker stops). */
int export_release(media *m, const export_job *j);
/* Deletes expired exports (archive first, then row). */
void export_sweep(media *m);

/* Builds the job's archive into m->exports under the job id and returns
 * its size in *size. -ECANCELED (stopping), -ESTALE (lease lost), -EFBIG
 * (over PARLEY_EXPORT_MAX_BYTES), -EACCES (no longer a member), -EIO. */
int export_build(media *m, export_job *j, uint64_t *size);

/* History reads (export_read.c), across the hot and the cold tier. */
#define EXPORT_PAGE 500
/* Called per message, oldest first: json (len bytes, NUL-terminated, the
 * callee copies what it keeps) is the read API's message object, sender
 * its sender_id, cold 1 when it came from a history snapshot. Nonzero
 * stops the read and is returned. */
typedef int (*export_msg_fn)(void *arg, const char *json, size_t len, const char *sender,
                             int cold);
/* Passes every message of conv, as viewer sees it, to fn; only sender's
 * when sender is not NULL. Run it inside the export's REPEATABLE READ
 * transaction. *skipped (if not NULL): archived messages read but not
 * sender's. 0, fn's value, -EIO, -EBADMSG (a snapshot failed its hash),
 * -ENOMEM. */
int export_read_messages(PGconn *pg, pl_store *archive, const char *conv, const char *viewer,
                         const char *sender, export_msg_fn fn, void *arg, long long *skipped);

/* The viewer (export_viewer.c): index.html, which loads data.js. */
extern const char export_viewer_html[];

#endif
