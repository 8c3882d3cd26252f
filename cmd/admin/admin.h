/* parley-admin: operator commands. They talk to Postgres and the stores
 * directly, so running them needs the operator's database credential
 * (PARLEY_PG_DSN) — the admin credential. */
#ifndef ADMIN_H
#define ADMIN_H

#include <libpq-fe.h>

typedef struct admin_ctx {
    PGconn *pg;
    const char *topic;
    const char *archive_dir;
    const char *brokers;
} admin_ctx;

/* Prints one problem line and counts it. */
void admin_problem(long *count, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Exit codes: 0 whole, 1 problems found, 2 could not run. */
int admin_archive_verify(const admin_ctx *ctx);

#endif
