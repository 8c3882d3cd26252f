#include "archive_cli.h"
#include "pl_id.h"
#include "pl_num.h"
#include "pl_pg.h"

#include <stdio.h>
#include <string.h>

#define USAGE                                                                           \
    "usage: parley-archiver hold conversation|user ID --by WHO --reason WHY\n"          \
    "       parley-archiver release HOLD_ID --by WHO --reason WHY\n"                    \
    "       parley-archiver holds\n"                                                    \
    "       parley-archiver policy CONVERSATION_ID [--hot-seconds N|default]\n"         \
    "                       [--purge-seconds N|default] --by WHO --reason WHY\n"

typedef struct cli_opts {
    const char *by, *reason, *hot, *purge;
} cli_opts;

/* --name value pairs after the positional arguments. 0 or -1. */
static int opts_parse(int argc, char **argv, int from, cli_opts *o)
{
    for (int i = from; i < argc; i += 2) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v || !*v)
            return -1;
        if (strcmp(argv[i], "--by") == 0)
            o->by = v;
        else if (strcmp(argv[i], "--reason") == 0)
            o->reason = v;
        else if (strcmp(argv[i], "--hot-seconds") == 0)
            o->hot = v;
        else if (strcmp(argv[i], "--purge-seconds") == 0)
            o->purge = v;
        else
            return -1;
    }
    return 0;
}

/* Runs sql and prints each row's columns separated by tabs. */
static int run(PGconn *pg, const char *sql, int n, const char *const *p, int need_row)
{
    PGresult *res = NULL;
    char err[256];
    int r = pl_pg_exec(pg, &res, err, sizeof(err), sql, n, p);

    if (r)
        fprintf(stderr, "parley-archiver: %s\n", err);
    for (int i = 0; !r && i < PQntuples(res); i++)
        for (int k = 0; k < PQnfields(res); k++)
            printf("%s%s", PQgetvalue(res, i, k), k + 1 < PQnfields(res) ? "\t" : "\n");
    if (!r && need_row && PQntuples(res) == 0) {
        fprintf(stderr, "parley-archiver: nothing matched\n");
        r = -1;
    }
    PQclear(res);
    return r ? 1 : 0;
}

static int cmd_hold(PGconn *pg, const char *kind, const char *id, const cli_opts *o)
{
    const char *p[4] = {kind, id, o->reason, o->by};
    return run(pg,
        "WITH h AS (INSERT INTO archive.holds (kind, subject, reason, created_by)"
        " VALUES ($1, $2, $3, $4) RETURNING id),"
        " a AS (INSERT INTO archive.audit (actor, action, subject, detail)"
        " SELECT $4, 'hold', $1 || ' ' || $2, format('hold %s: %s', h.id, $3::text) FROM h)"
        " SELECT 'hold', id FROM h",
        4, p, 1);
}

static int cmd_release(PGconn *pg, const char *id, const cli_opts *o)
{
    const char *p[3] = {id, o->reason, o->by};
    return run(pg,
        "WITH h AS (UPDATE archive.holds SET released_at = now(), released_by = $3,"
        " release_reason = $2 WHERE id = $1::bigint AND released_at IS NULL"
        " RETURNING id, kind, subject),"
        " a AS (INSERT INTO archive.audit (actor, action, subject, detail)"
        " SELECT $3, 'release', h.kind || ' ' || h.subject, format('hold %s: %s', h.id, $2)"
        " FROM h)"
        " SELECT 'released', id FROM h",
        3, p, 1);
}

/* "default" clears an override (NULL); absent keeps it. */
static const char *seconds_arg(const char *v, int *bad)
{
    long long n;
    if (!v || strcmp(v, "default") == 0)
        return NULL;
    if (pl_num_parse_ll(v, 0, 100LL * 366 * 86400, &n) != 0)
        *bad = 1;
    return v;
}

static int cmd_policy(PGconn *pg, const char *conv, const cli_opts *o)
{
    int bad = 0;
    const char *p[7] = {conv, seconds_arg(o->hot, &bad), seconds_arg(o->purge, &bad),
                        o->hot ? "t" : "f", o->purge ? "t" : "f", o->by, o->reason};
    if (bad || (!o->hot && !o->purge)) {
        fputs(USAGE, stderr);
        return 2;
    }
    return run(pg,
        "WITH p AS (INSERT INTO archive.policies AS x (conversation_id, hot_seconds,"
        "  purge_seconds) VALUES ($1, $2::bigint, $3::bigint)"
        " ON CONFLICT (conversation_id) DO UPDATE SET"
        "  hot_seconds = CASE WHEN $4::bool THEN EXCLUDED.hot_seconds ELSE x.hot_seconds END,"
        "  purge_seconds = CASE WHEN $5::bool THEN EXCLUDED.purge_seconds"
        "   ELSE x.purge_seconds END, updated_at = now()"
        " RETURNING conversation_id, hot_seconds, purge_seconds),"
        " a AS (INSERT INTO archive.audit (actor, action, subject, detail)"
        " SELECT $6, 'policy', 'conversation ' || p.conversation_id,"
        "  format('hot_seconds=%s purge_seconds=%s: %s', coalesce(p.hot_seconds::text,"
        "   'default'), coalesce(p.purge_seconds::text, 'default'), $7::text) FROM p)"
        " SELECT 'policy', conversation_id, coalesce(hot_seconds::text, 'default'),"
        "  coalesce(purge_seconds::text, 'default') FROM p",
        7, p, 1);
}

static int dispatch(PGconn *pg, int argc, char **argv)
{
    const char *cmd = argv[1];
    cli_opts o = {0};
    int pos = strcmp(cmd, "hold") == 0 ? 2 : strcmp(cmd, "holds") == 0 ? 0 : 1;

    if (argc < 2 + pos || opts_parse(argc, argv, 2 + pos, &o) != 0)
        return 2;
    if (strcmp(cmd, "holds") == 0)
        return run(pg, "SELECT id, kind, subject, created_by, created_at, reason"
                       " FROM archive.holds WHERE released_at IS NULL ORDER BY id",
                   0, NULL, 0);
    if (!o.by || !o.reason)
        return 2;
    if (strcmp(cmd, "hold") == 0 &&
        (strcmp(argv[2], "conversation") == 0 || strcmp(argv[2], "user") == 0) &&
        pl_id_valid(argv[3]))
        return cmd_hold(pg, argv[2], argv[3], &o);
    if (strcmp(cmd, "release") == 0 && pl_num_parse_ll(argv[2], 1, INT64_MAX, &(long long){0}) == 0)
        return cmd_release(pg, argv[2], &o);
    if (strcmp(cmd, "policy") == 0 && pl_id_valid(argv[2]))
        return cmd_policy(pg, argv[2], &o);
    return 2;
}

int archive_cli(const pl_svc_common *c, int argc, char **argv)
{
    PGconn *pg;
    int code;

    if (argc < 2) {
        fputs(USAGE, stderr);
        return 2;
    }
    pg = pl_pg_connect(c->pg_dsn);
    if (!pg) {
        fprintf(stderr, "parley-archiver: cannot connect to Postgres\n");
        return 1;
    }
    code = dispatch(pg, argc, argv);
    if (code == 2)
        fputs(USAGE, stderr);
    PQfinish(pg);
    return code;
}
