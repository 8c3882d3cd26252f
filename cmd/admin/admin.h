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
/* Reads a stored object whole into *out (caller frees). 0 or negative errno. */
int admin_read_object(pl_store *s, const char *key, pl_buf *out);

/* parley-admin replay. from_ms < 0 rebuilds from the start of the log
 * into a fresh schema, then swaps it in (verify: compares it with the live
 * one instead); from_ms >= 0 re-applies events since then into the live
 * projection. Exit codes: 0 done (or equal), 1 mismatch, 2 could not run. */
int admin_replay_run(const admin_ctx *ctx, int64_t from_ms, int verify);

#endif
