/* pl_archive_read: reading the cold tier of history (history snapshots,
 * see pl_snapshot.h) through the catalog in archive.snapshots. The read
 * API's cross-tier pages and search use it, and so can an export job:
 * the same code turns a snapshot line into the API's message object.
 *
 * A page borrows nothing: it owns the decompressed snapshots its messages
 * point into, until pl_archive_page_free. Calls block on Postgres and on
 * the store; use them from worker threads. */
#ifndef PL_ARCHIVE_READ_H
#define PL_ARCHIVE_READ_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "pl_buf.h"
#include "pl_json.h"
#include "pl_store.h"

typedef struct pl_archive_msg {
    int64_t offset;
    const char *json; /* the snapshot's stored message, inside a page's buffer */
    size_t len;
} pl_archive_msg;

typedef struct pl_archive_page {
    pl_archive_msg *msgs;
    size_t n, cap;
    pl_buf *raws; /* decompressed snapshots */
    size_t nraws, rawcap;
} pl_archive_page;

void pl_archive_page_init(pl_archive_page *p);
void pl_archive_page_free(pl_archive_page *p);

/* Appends up to want messages of conversation conv with lo < offset < hi
 * to out, newest first when backwards, else oldest first. Snapshots purged
 * while this runs are skipped. 0, -EIO (database or store), -EBADMSG (a
 * snapshot does not match its recorded hash or format), -ENOMEM. */
int pl_archive_page_read(PGconn *pg, pl_store *store, const char *conv, int64_t lo,
                         int64_t hi, int backwards, size_t want, pl_archive_page *out);
/* Appends, in snapshot order, the messages of snapshot key (whose SHA-256
 * must be sha256) at the n given offsets (any order). Same errors. */
int pl_archive_pick(pl_store *store, const char *key, const char *sha256,
                    const int64_t *offsets, size_t n, pl_archive_page *out);

/* Loads archived message mid of conv: *msg is the stored message
 * (yajl_tree_free). 0, -ENOENT (not archived, or purged), -EIO, -EBADMSG. */
int pl_archive_lookup(PGconn *pg, pl_store *store, const char *conv, const char *mid,
                      yajl_val *msg);
/* Writes a reply's "quoted" object {id, sender_id, text, deleted} for a
 * stored message (the value only, no key). */
void pl_archive_quoted_write(pl_jw *w, yajl_val msg);
/* The same for pl_history_message_write_q's quote callback: msg is a
 * yajl_val, or NULL for a null quote. */
void pl_archive_quoted_cb(pl_jw *w, void *msg);

/* Writes the read API's message object for a stored message, as seen by
 * viewer (reactions' "me"; NULL: nobody). */
void pl_archive_message_write(pl_jw *w, const char *json, size_t len, const char *viewer);
/* The same for a message already parsed (pl_archive_lookup's); m is borrowed. */
void pl_archive_message_write_tree(pl_jw *w, yajl_val m, const char *viewer);
/* A pl_history_cold_fn (store is the pl_store): writes archived message
 * mid of conv as viewer sees it. 0, -ENOENT (purged, or its snapshot is
 * unreadable: parley-admin archive verify names it), -EIO. */
int pl_archive_last_message(void *store, PGconn *pg, pl_jw *w, const char *conv,
                            const char *mid, const char *viewer);

#endif
