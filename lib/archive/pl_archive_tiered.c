#include "pl_archive_tiered.h"
#include "pl_pg.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int plain_ident(const char *s)
{
    if (!*s || strlen(s) > 48)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || *s == '_'))
            return 0;
    return 1;
}

int pl_archive_drop_tiered(PGconn *pg, const char *schema, const char *conv)
{
    char sql[1024];
    PGresult *res = NULL;
    int r;

    if (!plain_ident(schema))
        return -EINVAL;
    r = pl_pg_exec(pg, &res, NULL, 0, "SELECT to_regclass('archive.snapshots') IS NOT NULL",
                   0, NULL);
    if (r == 0 && strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
        PQclear(res);
        return 0;
    }
    PQclear(res);
    if (r)
        return -EIO;
    snprintf(sql, sizeof(sql),
             "WITH e AS (SELECT conversation_id, max(last_offset) AS w FROM archive.snapshots"
             "  WHERE $1::uuid IS NULL OR conversation_id = $1::uuid GROUP BY 1),"
             " ids AS (SELECT m.id FROM %1$s.messages m JOIN e"
             "  ON e.conversation_id = m.conversation_id WHERE m.\"offset\" <= e.w),"
             " r AS (DELETE FROM %1$s.reactions WHERE message_id IN (SELECT id FROM ids)),"
             " x AS (DELETE FROM %1$s.mentions WHERE message_id IN (SELECT id FROM ids)),"
             " a AS (DELETE FROM %1$s.message_attachments"
             "  WHERE message_id IN (SELECT id FROM ids))"
             " DELETE FROM %1$s.messages WHERE id IN (SELECT id FROM ids)",
             schema);
    r = pl_pg_exec(pg, &res, NULL, 0, sql, 1, &conv);
    PQclear(res);
    return r ? -EIO : 0;
}
