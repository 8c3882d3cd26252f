/* Checksums of a projection: per table, the row count and an md5 over its
 * rows as text, in text order, so two schemas built from the same events
 * compare equal whatever order they were written in. offsets.updated_at
 * is left out: it is when a batch committed, not anything in the log. */
#include "admin_replay.h"
#include "pl_buf.h"
#include "pl_pg.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

typedef struct table_sum {
    char rows[24];
    char md5[40];
} table_sum;

/* One table of one schema; "absent" when the schema has no such table. */
static int table_checksum(PGconn *pg, const char *schema, const char *table, table_sum *out)
{
    const char *p[2] = {schema, table};
    PGresult *res = NULL;
    pl_buf sql;
    int rc;

    snprintf(out->rows, sizeof(out->rows), "-");
    snprintf(out->md5, sizeof(out->md5), "absent");
    rc = pl_pg_exec(pg, &res, NULL, 0,
                    "SELECT string_agg(quote_ident(attname), ',' ORDER BY attnum),"
                    " format('%I.%I', $1::text, $2::text)"
                    " FROM pg_attribute WHERE attrelid = to_regclass(format('%I.%I', $1::text,"
                    " $2::text)) AND attnum > 0 AND NOT attisdropped"
                    " AND NOT ($2 = 'offsets' AND attname = 'updated_at')", 2, p);
    if (rc || PQgetisnull(res, 0, 0)) {
        PQclear(res);
        return rc;
    }
    pl_buf_init(&sql, 1 << 16);
    rc = pl_buf_printf(&sql, "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n'"
                       " ORDER BY t::text), '')) FROM (SELECT %s FROM %s) t",
                       PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1)) ? -ENOMEM : 0;
    PQclear(res);
    res = NULL;
    if (!rc)
        rc = pl_pg_exec(pg, &res, NULL, 0, sql.data, 0, NULL);
    if (!rc) {
        snprintf(out->rows, sizeof(out->rows), "%s", PQgetvalue(res, 0, 0));
        snprintf(out->md5, sizeof(out->md5), "%s", PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    pl_buf_free(&sql);
    return rc;
}

/* md5 of the lines that describe one schema: its checksum as a whole. */
static int total(PGconn *pg, const pl_buf *lines, char out[40])
{
    const char *p[1] = {lines->data ? lines->data : ""};
    PGresult *res = NULL;
    int rc = pl_pg_exec(pg, &res, NULL, 0, "SELECT md5($1)", 1, p);
    if (!rc)
        snprintf(out, 40, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return rc;
}

int admin_checksum_compare(PGconn *pg, const char *live, const char *rebuilt)
{
    const char *p[2] = {live, rebuilt};
    PGresult *tables = NULL;
    pl_buf la, lb;
    char ta[40], tb[40];
    int rc, differ = 0;

    pl_buf_init(&la, 1 << 20);
    pl_buf_init(&lb, 1 << 20);
    rc = pl_pg_exec(pg, &tables, NULL, 0,
                    "SELECT DISTINCT c.relname FROM pg_class c JOIN pg_namespace n"
                    " ON n.oid = c.relnamespace WHERE n.nspname IN ($1, $2)"
                    " AND c.relkind = 'r' ORDER BY 1", 2, p);
    printf("%-22s %-44s %-44s\n", "table", live, rebuilt);
    for (int i = 0; !rc && i < PQntuples(tables); i++) {
        const char *t = PQgetvalue(tables, i, 0);
        table_sum a, b;
        rc = table_checksum(pg, live, t, &a);
        if (!rc)
            rc = table_checksum(pg, rebuilt, t, &b);
        if (rc)
            break;
        int same = strcmp(a.rows, b.rows) == 0 && strcmp(a.md5, b.md5) == 0;
        differ |= !same;
        printf("%-22s %8s rows %-32s  %8s rows %-32s  %s\n", t, a.rows, a.md5, b.rows, b.md5,
               same ? "equal" : "DIFFERENT");
        if (pl_buf_printf(&la, "%s %s %s\n", t, a.rows, a.md5) ||
            pl_buf_printf(&lb, "%s %s %s\n", t, b.rows, b.md5))
            rc = -ENOMEM;
    }
    if (!rc)
        rc = total(pg, &la, ta);
    if (!rc)
        rc = total(pg, &lb, tb);
    if (!rc)
        printf("checksum %s=%s %s=%s %s\n", live, ta, rebuilt, tb,
               differ ? "MISMATCH" : "equal");
    else
        fprintf(stderr, "parley-admin: checksum failed: %s", PQerrorMessage(pg));
    PQclear(tables);
    pl_buf_free(&la);
    pl_buf_free(&lb);
    return rc ? rc : differ;
}
