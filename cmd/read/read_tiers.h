/* read_tiers: one page of a conversation's history across the hot tier
 * (history.messages) and the cold one (history snapshots).
 *
 * A conversation's snapshots hold a prefix of its history, so the highest
 * snapshotted offset W splits it: offsets <= W are cold, > W hot. W and the
 * hot rows come from one statement (one MVCC snapshot), and tiering
 * catalogs a snapshot and deletes its rows in one transaction, so a page
 * sees every message exactly once whatever tiering does meanwhile. */
#ifndef READ_TIERS_H
#define READ_TIERS_H

#include "pl_archive_read.h"
#include "read.h"

typedef struct tier_item {
    int hot_row;  /* row of hot (message columns from column 1), or -1 */
    int cold_idx; /* index into cold.msgs, or -1 */
} tier_item;

typedef struct tier_page {
    PGresult *hot;
    pl_archive_page cold;
    tier_item *items; /* newest first when backwards, else oldest first */
    int n;
    int nhot;
    yajl_val *quoted; /* per hot row: an archived reply target, or NULL */
} tier_page;

typedef struct tier_range {
    int has_before, has_after;
    int64_t before, after; /* exclusive bounds */
    int backwards;
    int want;
} tier_range;

/* Fills p (caller frees with tier_page_free) with up to r->want messages
 * of conv in the range, as seen by viewer. 0, -EIO, -EBADMSG (a snapshot
 * failed its hash), -ENOMEM. */
int tier_page_fetch(PGconn *pg, pl_store *store, const char *conv, const char *viewer,
                    const tier_range *r, tier_page *p);
/* The offset of message mid in conv, hot or cold: 0, -ESRCH, -EIO. */
int tier_message_offset(PGconn *pg, const char *conv, const char *mid, int64_t *offset);
/* Writes item i of p as a message object. */
void tier_item_write(pl_jw *w, const tier_page *p, int i, const char *viewer);
void tier_page_free(tier_page *p);

#endif
