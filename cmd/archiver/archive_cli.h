/* archive_cli: parley-archiver's operator commands, for legal holds and
 * per-conversation retention policies. Admin-only by construction: they
 * need the database credentials (PARLEY_PG_DSN), which no user has; every
 * change writes archive.audit (who, when, what, why) in the same
 * transaction.
 *
 *   parley-archiver hold conversation|user ID --by WHO --reason WHY
 *   parley-archiver release HOLD_ID --by WHO --reason WHY
 *   parley-archiver holds
 *   parley-archiver policy CONVERSATION_ID [--hot-seconds N|default]
 *                   [--purge-seconds N|default] --by WHO --reason WHY */
#ifndef ARCHIVE_CLI_H
#define ARCHIVE_CLI_H

#include "pl_svc.h"

/* Runs argv[1..]; the process exit code (0 ok, 1 failed, 2 usage). */
int archive_cli(const pl_svc_common *c, int argc, char **argv);

#endif
