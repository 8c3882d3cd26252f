/* The one place an export reads messages. It pages history.messages with
 * the read API's own columns and writer (PL_HISTORY_MESSAGE_COLS_FOR,
 * pl_history_message_write), so an export shows a message exactly as GET
 * .../messages does; history kept elsewhere (an archive) joins here. */
#include "export.h"
#include "pl_history.h"

#include <stdio.h>

int export_read_page(PGconn *pg, const char *conv, const char *viewer, const char *sender,
                     long long after, PGresult **res)
{
    char a[24], lim[16];
    const char *p[5] = {conv, a, lim, viewer, sender};

    snprintf(a, sizeof(a), "%lld", after);
    snprintf(lim, sizeof(lim), "%d", EXPORT_PAGE);
    return pl_pg_exec(pg, res, NULL, 0,
                      "SELECT " PL_HISTORY_MESSAGE_COLS_FOR("$4") ", m.\"offset\""
                      " FROM history.messages m"
                      " WHERE m.conversation_id = $1 AND m.\"offset\" > $2::bigint"
                      " AND ($5::uuid IS NULL OR m.sender_id = $5::uuid)"
                      " ORDER BY m.\"offset\" LIMIT $3::int",
                      5, p);
}
