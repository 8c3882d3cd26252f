/* parley-admin: operator tool.
 *
 *   parley-admin archive verify                     check every segment, chain and snapshot
 *   parley-admin replay [--from earliest|<time>] [--verify]
 *                                                   rebuild or repair the history projection
 *
 * Settings come from the same PARLEY_* variables as the services. */
#include "admin.h"
#include "pl_cfg.h"
#include "pl_pg.h"
#include "pl_time.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: parley-admin archive verify\n"
    "       parley-admin replay [--from earliest|<RFC 3339 time>] [--verify]\n"
    "\n"
    "  archive verify   walk every partition's archive segments: recompute each\n"
    "                   SHA-256, follow the hash chain, and report every tampered\n"
    "                   segment, gap or missing range by name; then check every\n"
    "                   history snapshot against its hash and its catalog row, and\n"
    "                   that no two of a conversation overlap. Exit 0 when whole,\n"
    "                   1 when anything is wrong, 2 when it could not run.\n"
    "\n"
    "  replay           rebuild the history projection from the events topic with the\n"
    "                   projector's own code. Offsets that Kafka's retention has\n"
    "                   dropped are read from the archive (its hashes checked); a hole\n"
    "                   in the archive stops the replay.\n"
    "    --from earliest  (default) build a fresh schema, history_rebuild, from offset\n"
    "                   0 of every partition; when it has caught up, take the lock the\n"
    "                   live projector takes per batch, apply what it still lacks, and\n"
    "                   in the same transaction rename history to history_old_<UTC\n"
    "                   time> and history_rebuild to history. The projector keeps\n"
    "                   running: its next batch writes to the new schema and skips what\n"
    "                   the rebuild applied. Drop history_old_* when satisfied.\n"
    "    --from <time>    repair in place, e.g. --from 2024-05-01T00:00:00Z: apply every\n"
    "                   event since that time again to the live history, through the same\n"
    "                   idempotent statements. It restores rows lost since then (a manual\n"
    "                   DELETE, a bug fixed since); it does not undo wrong rows, for that\n"
    "                   rebuild --from earliest. Positions only move forward.\n"
    "    --verify         rebuild history_rebuild up to where live stands and compare:\n"
    "                   prints each table's row count and md5 (rows as text, sorted;\n"
    "                   offsets.updated_at left out) for both, and one checksum each.\n"
    "                   Exit 0 equal, 1 different. Nothing is swapped; history_rebuild is\n"
    "                   left for inspection (the next replay drops it).\n"
    "                   Exit 0 done, 2 when it could not run.\n"
    "\n"
    "The admin credential is the database role: PARLEY_PG_DSN must name a role that\n"
    "owns schema history and may create schemas (services can run as roles without).\n"
    "Settings: PARLEY_PG_DSN, PARLEY_KAFKA_BROKERS, PARLEY_EVENTS_TOPIC,\n"
    "PARLEY_ARCHIVE_DIR, PARLEY_PROJECTOR_BATCH (events per replay transaction).\n";

void admin_problem(long *count, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    (*count)++;
}

/* replay's options: 0, or -1 after they were wrong. */
static int replay_args(int argc, char **argv, int64_t *from_ms, int *verify)
{
    *from_ms = -1;
    *verify = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--verify") == 0)
            *verify = 1;
        else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc) {
            const char *v = argv[++i];
            if (strcmp(v, "earliest") != 0 && pl_time_parse_iso(v, from_ms) != 0) {
                fprintf(stderr, "parley-admin: --from takes earliest or an RFC 3339 time"
                        " such as 2024-05-01T00:00:00Z\n");
                return -1;
            }
        } else
            return -1;
    }
    if (*verify && *from_ms >= 0) {
        fprintf(stderr, "parley-admin: --verify compares full rebuilds; it takes no time\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    admin_ctx ctx = {0};
    int is_verify = argc == 3 && strcmp(argv[1], "archive") == 0 &&
                    strcmp(argv[2], "verify") == 0;
    int is_replay = argc >= 2 && strcmp(argv[1], "replay") == 0;
    int64_t from_ms = -1;
    int verify = 0, code;

    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[argc - 1], "--help") == 0)) {
        fputs(usage, stdout);
        return 0;
    }
    if ((!is_verify && !is_replay) ||
        (is_replay && replay_args(argc, argv, &from_ms, &verify) != 0)) {
        fputs(usage, stderr);
        return 2;
    }
    if (sodium_init() < 0 ||
        pl_cfg_int("PARLEY_PROJECTOR_BATCH", 500, 1, 10000, &ctx.batch) != 0)
        return 2;
    ctx.topic = pl_cfg_str("PARLEY_EVENTS_TOPIC", "parley.events");
    ctx.archive_dir = pl_cfg_str("PARLEY_ARCHIVE_DIR", "archive");
    ctx.brokers = pl_cfg_str("PARLEY_KAFKA_BROKERS", "127.0.0.1:9092");
    ctx.pg = pl_pg_connect(pl_cfg_str("PARLEY_PG_DSN", PL_PG_DEFAULT_DSN));
    if (!ctx.pg) {
        fprintf(stderr, "parley-admin: cannot connect to Postgres (PARLEY_PG_DSN)\n");
        return 2;
    }
    code = is_replay ? admin_replay_run(&ctx, from_ms, verify) : admin_archive_verify(&ctx);
    PQfinish(ctx.pg);
    return code;
}
