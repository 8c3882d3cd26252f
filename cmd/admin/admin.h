/* parley-admin: operator commands. They talk to Postgres, Kafka and the
 * stores directly, so running them needs the operator's database
 * credential (PARLEY_PG_DSN for a role that owns the history schema) —
 * the admin credential. */
#ifndef ADMIN_H
#define ADMIN_H

#include <libpq-fe.h>
#include <stdint.h>

#include "pl_buf.h"
#include "pl_store.h"

typedef struct admin_ctx {
    PGconn *pg;
    const char *topic;
    const char *archive_dir;
    const char *brokers;
    long long batch; /* events per replay transaction */
} admin_ctx;

/* Prints one problem line and counts it. */
void admin_problem(long *count, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Exit codes: 0 whole, 1 problems found, 2 could not run. */
int admin_archive_verify(const admin_ctx *ctx);
/* Checks every catalogued history snapshot; prints each problem. The
 * number of problems, or -1 when the catalog cannot be read. */
long admin_verify_snapshots(PGconn *pg, pl_store *store, long *snapshots, long *messages);

/* parley-admin replay. from_ms < 0 rebuilds from the start of the log
 * into a fresh schema, then swaps it in (verify: compares it with the live
 * one instead); from_ms >= 0 re-applies events since then into the live
 * projection. Exit codes: 0 done (or equal), 1 mismatch, 2 could not run. */
int admin_replay_run(const admin_ctx *ctx, int64_t from_ms, int verify);

#endif
