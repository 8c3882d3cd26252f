#include "pl_pg.h"
#include "pl_time.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pl_pg_pool {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    char *dsn;
    int size;
    int nfree;
    PGconn **free; /* stack of idle connections (may be NULL: not yet made) */
};

int pl_pg_pool_new(pl_pg_pool **out, const char *dsn, int size)
{
    pl_pg_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->dsn = strdup(dsn);
    p->free = calloc((size_t)size, sizeof(PGconn *));
    if (!p->dsn || !p->free) {
        free(p->dsn);
        free(p->free);
        free(p);
        return -ENOMEM;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    p->size = size;
    p->nfree = size; /* slots; connections are made on first use */
    *out = p;
    return 0;
}

void pl_pg_pool_free(pl_pg_pool *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->nfree; i++)
        if (p->free[i])
            PQfinish(p->free[i]);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    free(p->free);
    free(p->dsn);
    free(p);
}

static void notice_drop(void *arg, const char *message)
{
    (void)arg; /* "relation exists, skipping" and the like: not our log's */
    (void)message;
}

PGconn *pl_pg_connect(const char *dsn)
{
    PGconn *c = PQconnectdb(dsn);
    if (PQstatus(c) != CONNECTION_OK) {
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, notice_drop, NULL);
    return c;
}

PGconn *pl_pg_acquire(pl_pg_pool *p, int timeout_ms)
{
    int64_t deadline = pl_time_real_ms() + timeout_ms;
    struct timespec ts = {.tv_sec = deadline / 1000,
                          .tv_nsec = (deadline % 1000) * 1000000};
    PGconn *c;

    pthread_mutex_lock(&p->lock);
    while (p->nfree == 0)
        if (pthread_cond_timedwait(&p->cond, &p->lock, &ts) == ETIMEDOUT) {
            pthread_mutex_unlock(&p->lock);
            return NULL;
        }
    c = p->free[--p->nfree];
    p->free[p->nfree] = NULL;
    pthread_mutex_unlock(&p->lock);

    /* Connect outside the lock: it can take a while. */
    if (c && PQstatus(c) != CONNECTION_OK) {
        PQfinish(c);
        c = NULL;
    }
    if (!c)
        c = pl_pg_connect(p->dsn);
    if (!c)
        pl_pg_release(p, NULL); /* give the slot back */
    return c;
}

void pl_pg_release(pl_pg_pool *p, PGconn *c)
{
    /* A connection left inside a transaction must not leak into the next
     * borrower; reset it. */
    if (c && PQtransactionStatus(c) != PQTRANS_IDLE) {
        PQfinish(c);
        c = NULL;
    }
    pthread_mutex_lock(&p->lock);
    p->free[p->nfree++] = c;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

int pl_pg_ping(pl_pg_pool *p)
{
    PGconn *c = pl_pg_acquire(p, 1000);
    int r;
    if (!c)
        return -EIO;
    r = pl_pg_cmd(c, "SELECT 1");
    pl_pg_release(p, c);
    return r;
}

int pl_pg_exec(PGconn *c, PGresult **res, char *err, size_t errlen, const char *sql,
               int nparams, const char *const *params)
{
    int idle = PQtransactionStatus(c) == PQTRANS_IDLE;
    PGresult *r = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);

    /* A pooled connection outlives a Postgres restart without noticing. A
     * statement outside a transaction on a dead connection did not commit
     * (short of a crash between commit and reply, which our idempotent
     * writes tolerate), so reconnect and try it once. */
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && idle &&
        PQstatus(c) == CONNECTION_BAD) {
        PQreset(c);
        if (PQstatus(c) == CONNECTION_OK) {
            PQclear(r);
            r = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);
            st = PQresultStatus(r);
        }
    }

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        if (err)
            snprintf(err, errlen, "%s", PQresultErrorMessage(r));
        if (res)
            *res = r; /* so the caller can read the SQLSTATE */
        else
            PQclear(r);
        return -EIO;
    }
    if (res)
        *res = r;
    else
        PQclear(r);
    return 0;
}

int pl_pg_cmd(PGconn *c, const char *sql)
{
    return pl_pg_exec(c, NULL, NULL, 0, sql, 0, NULL);
}

const char *pl_pg_sqlstate(const PGresult *res)
{
    const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return s ? s : "";
}

/* A step may hold several statements, which only the simple protocol takes. */
static int pg_exec_script(PGconn *c, const char *sql, char *err, size_t errlen)
{
    PGresult *res = PQexec(c, sql);
    int r = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -EIO;
    if (r)
        snprintf(err, errlen, "%s", PQresultErrorMessage(res));
    PQclear(res);
    return r;
}

static int migrate_step(PGconn *c, const char *component, int version,
                        const char *sql, char *err, size_t errlen)
{
    char v[16];
    const char *params[2] = {component, v};
    PGresult *res = NULL;
    int r;

    snprintf(v, sizeof(v), "%d", version);
    r = pl_pg_exec(c, &res, err, errlen,
                   "SELECT 1 FROM public.schema_migrations WHERE component=$1 AND version=$2",
                   2, params);
    if (r || PQntuples(res) > 0)
        goto out;
    r = pl_pg_cmd(c, "BEGIN");
    if (!r)
        r = pg_exec_script(c, sql, err, errlen);
    if (!r)
        r = pl_pg_exec(c, NULL, err, errlen,
                       "INSERT INTO public.schema_migrations(component, version) VALUES ($1,$2)",
                       2, params);
    if (pl_pg_cmd(c, r ? "ROLLBACK" : "COMMIT") != 0 && !r)
        r = -EIO;
out:
    PQclear(res);
    return r;
}

/* Creates schema and makes it the session's only search_path entry, so
 * the steps' unqualified names land there. */
static int migrate_enter(PGconn *c, const char *schema, char *err, size_t errlen)
{
    char *id = PQescapeIdentifier(c, schema, strlen(schema));
    char sql[256];
    int r;

    if (!id)
        return -ENOMEM;
    snprintf(sql, sizeof(sql), "CREATE SCHEMA IF NOT EXISTS %s", id);
    r = pl_pg_exec(c, NULL, err, errlen, sql, 0, NULL);
    snprintf(sql, sizeof(sql), "SET search_path = %s", id);
    if (!r)
        r = pl_pg_exec(c, NULL, err, errlen, sql, 0, NULL);
    PQfreemem(id);
    return r;
}

int pl_pg_migrate_in(PGconn *c, const char *component, const char *schema,
                     const char *const *steps, int n, char *err, size_t errlen)
{
    int r;

    /* Serialises instances starting together, the CREATE included. */
    r = pl_pg_exec(c, NULL, err, errlen, "SELECT pg_advisory_lock(7478001)", 0, NULL);
    if (r)
        return r;
    r = pl_pg_exec(c, NULL, err, errlen,
                   "CREATE TABLE IF NOT EXISTS public.schema_migrations ("
                   " component text NOT NULL, version int NOT NULL,"
                   " applied_at timestamptz NOT NULL DEFAULT now(),"
                   " PRIMARY KEY (component, version))",
                   0, NULL);
    if (!r && schema)
        r = migrate_enter(c, schema, err, errlen);
    for (int i = 0; i < n && !r; i++)
        r = migrate_step(c, component, i + 1, steps[i], err, errlen);
    if (schema)
        pl_pg_cmd(c, "RESET search_path");
    pl_pg_cmd(c, "SELECT pg_advisory_unlock(7478001)");
    return r;
}

int pl_pg_migrate(PGconn *c, const char *component, const char *const *steps, int n,
                  char *err, size_t errlen)
{
    return pl_pg_migrate_in(c, component, NULL, steps, n, err, errlen);
}
