/* The end of a rebuild: in one transaction, fence the live projector,
 * bring the rebuilt schema exactly to (or past) the live positions, then
 * compare the two (--verify) or swap them by renaming.
 *
 * Why this cannot lose or double an event: every projector batch starts
 * by locking its partitions' rows in offsets (projector_batch.c). LOCK
 * ... IN EXCLUSIVE MODE waits for the batch in flight to commit and holds
 * off the next one, so the live positions read here stay put until
 * COMMIT. A batch that was waiting re-resolves "offsets" through its
 * search_path once it gets the lock, so it lands in the renamed-in
 * schema, where offsets is at least what live had: anything the rebuild
 * applied is then skipped (the fence), anything newer is applied. */
#include "admin_replay.h"
#include "pl_archive_tiered.h"
#include "migrations.h"
#include "pl_pg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define REBUILD_SCHEMA "history_rebuild"

/* Applies what live has and the rebuild lacks, inside the transaction. */
static int catch_up(admin_replay *r, int nparts, int64_t *live, int64_t *mine)
{
    int rc = admin_offsets_read(r->ctx->pg, REBUILD_SCHEMA, r->ctx->topic, mine, nparts);
    r->in_txn = 1;
    for (int p = 0; rc >= 0 && p < nparts; p++)
        if (mine[p] < live[p])
            rc = admin_replay_range(r, p, mine[p], live[p]);
    r->in_txn = 0;
    return rc < 0 ? rc : 0;
}

static int rename_schemas(PGconn *pg, int live_exists)
{
    char sql[160], old[64];
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    strftime(old, sizeof(old), "history_old_%Y%m%d%H%M%S", &tm);
    snprintf(sql, sizeof(sql), "ALTER SCHEMA history RENAME TO %s", old);
    if ((live_exists && pl_pg_cmd(pg, sql) != 0) ||
        pl_pg_cmd(pg, "ALTER SCHEMA " REBUILD_SCHEMA " RENAME TO history") != 0 ||
        pl_pg_cmd(pg, "DELETE FROM public.schema_migrations"
                      " WHERE component = '" REBUILD_SCHEMA "'") != 0)
        return -EIO;
    if (live_exists)
        printf("swapped: the rebuilt projection is now history; the previous one is kept as"
               " %s (DROP SCHEMA %s CASCADE once satisfied)\n", old, old);
    else
        printf("swapped: the rebuilt projection is now history\n");
    return 0;
}

int admin_swap(admin_replay *r, int nparts, int verify)
{
    PGconn *pg = r->ctx->pg;
    int64_t *live = calloc((size_t)nparts, sizeof(*live));
    int64_t *mine = calloc((size_t)nparts, sizeof(*mine));
    int rc = live && mine ? 0 : -ENOMEM, exists = 0, code = 2;

    if (!rc)
        rc = pl_pg_cmd(pg, "BEGIN");
    if (!rc)
        rc = pl_pg_cmd(pg, "SET LOCAL lock_timeout = '60s'");
    if (!rc && (exists = admin_offsets_read(pg, HISTORY_SCHEMA, r->ctx->topic, live,
                                            nparts)) < 0)
        rc = exists;
    if (!rc && exists)
        rc = pl_pg_cmd(pg, "LOCK TABLE history.offsets, " REBUILD_SCHEMA ".offsets"
                           " IN EXCLUSIVE MODE");
    if (!rc && exists) /* again: a batch may have committed while we waited */
        rc = admin_offsets_read(pg, HISTORY_SCHEMA, r->ctx->topic, live, nparts) < 0;
    if (!rc)
        rc = catch_up(r, nparts, live, mine);
    /* Messages the archive holds are not hot: the log rebuilt them too. */
    if (!rc)
        rc = pl_archive_drop_tiered(pg, REBUILD_SCHEMA, NULL);
    if (!rc && verify && !exists) {
        fprintf(stderr, "parley-admin: there is no live history projection to compare\n");
        rc = -ENOENT;
    }
    if (!rc && verify) {
        code = admin_checksum_compare(pg, HISTORY_SCHEMA, REBUILD_SCHEMA);
        rc = code < 0 ? code : 0;
    } else if (!rc) {
        rc = rename_schemas(pg, exists);
        code = 0;
    }
    if (!rc)
        rc = pl_pg_cmd(pg, "COMMIT");
    if (rc) {
        fprintf(stderr, "parley-admin: %s failed: %s", verify ? "verify" : "swap",
                PQerrorMessage(pg));
        pl_pg_cmd(pg, "ROLLBACK");
        code = 2;
    }
    free(live);
    free(mine);
    return code;
}
