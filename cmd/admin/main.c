/* parley-admin: operator tool.
 *
 *   parley-admin archive verify    check every segment chain and hash
 *
 * Settings come from the same PARLEY_* variables as the services. */
#include "admin.h"
#include "pl_cfg.h"
#include "pl_pg.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: parley-admin archive verify\n"
    "\n"
    "  archive verify   walk every partition's archive segments: recompute each\n"
    "                   SHA-256, follow the hash chain, and report every tampered\n"
    "                   segment, gap or missing range by name. Exit 0 when whole,\n"
    "                   1 when anything is wrong, 2 when it could not run.\n"
    "\n"
    "Settings: PARLEY_PG_DSN (the operator's database credential), PARLEY_EVENTS_TOPIC,\n"
    "PARLEY_ARCHIVE_DIR.\n";

void admin_problem(long *count, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    (*count)++;
}

int main(int argc, char **argv)
{
    admin_ctx ctx = {0};
    int code;

    if (argc != 3 || strcmp(argv[1], "archive") != 0 || strcmp(argv[2], "verify") != 0) {
        fputs(usage, argc > 1 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
        return argc > 1 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    if (sodium_init() < 0)
        return 2;
    ctx.topic = pl_cfg_str("PARLEY_EVENTS_TOPIC", "parley.events");
    ctx.archive_dir = pl_cfg_str("PARLEY_ARCHIVE_DIR", "archive");
    ctx.pg = pl_pg_connect(pl_cfg_str("PARLEY_PG_DSN", PL_PG_DEFAULT_DSN));
    if (!ctx.pg) {
        fprintf(stderr, "parley-admin: cannot connect to Postgres (PARLEY_PG_DSN)\n");
        return 2;
    }
    code = admin_archive_verify(&ctx);
    PQfinish(ctx.pg);
    return code;
}
