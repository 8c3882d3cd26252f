/* pl_pg: a fixed-size pool of libpq connections plus query helpers.
 * Threads borrow a connection for one unit of work and give it back. */
#ifndef PL_PG_H
#define PL_PG_H

#include <libpq-fe.h>

#define PL_PG_DEFAULT_DSN "host=127.0.0.1 port=5433 dbname=parley user=parley connect_timeout=5"

typedef struct pl_pg_pool pl_pg_pool;

/* Connects lazily: the pool is valid even while Postgres is down. dsn is
 * copied. */
int pl_pg_pool_new(pl_pg_pool **out, const char *dsn, int size);
void pl_pg_pool_free(pl_pg_pool *p);
/* Waits up to timeout_ms for a free, connected connection. NULL when none
 * came in time or Postgres is unreachable. Give it back with pl_pg_release. */
PGconn *pl_pg_acquire(pl_pg_pool *p, int timeout_ms);
void pl_pg_release(pl_pg_pool *p, PGconn *c);
/* 0 when a trivial query succeeds. */
int pl_pg_ping(pl_pg_pool *p);

/* One connection outside any pool (notices silenced); NULL on failure.
 * The caller PQfinish-es it. */
PGconn *pl_pg_connect(const char *dsn);

/* Runs a parameterised statement (text params; NULL means SQL NULL).
 * On success *res (if res is non-NULL) is owned by the caller (PQclear).
 * Returns 0, or -EIO with the server's message in err. */
int pl_pg_exec(PGconn *c, PGresult **res, char *err, size_t errlen, const char *sql,
               int nparams, const char *const *params);
/* Like pl_pg_exec for statements with no result rows. */
int pl_pg_cmd(PGconn *c, const char *sql);
/* The SQLSTATE of the last failed pl_pg_exec, e.g. "23505". */
const char *pl_pg_sqlstate(const PGresult *res);

/* Applies steps[i] for every i not yet recorded for component, each in its
 * own transaction, under an advisory lock so concurrent instances agree. */
int pl_pg_migrate(PGconn *c, const char *component, const char *const *steps, int n,
                  char *err, size_t errlen);
/* The same with unqualified names: creates schema if missing and applies
 * the steps with search_path = schema (reset afterwards), so one list of
 * steps can build a projection under any schema name. */
int pl_pg_migrate_in(PGconn *c, const char *component, const char *schema,
                     const char *const *steps, int n, char *err, size_t errlen);

#endif
