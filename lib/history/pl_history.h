/* pl_history: reads of the history projection (schema "history") shared
 * by the read API and the command API. The projector owns the tables. */
#ifndef PL_HISTORY_H
#define PL_HISTORY_H

#include <libpq-fe.h>

#include "pl_json.h"

/* Columns pl_history_message_write expects, in this order, for alias m. */
#define PL_HISTORY_MESSAGE_COLS                                                \
    "m.id, m.conversation_id, m.client_msg_id, m.sender_id, m.text, "          \
    "(extract(epoch from m.created_at)*1000)::bigint, m.partition, m.\"offset\""
#define PL_HISTORY_MESSAGE_NCOLS 8

/* 1 if user belongs to conversation, 0 if not (or no such conversation),
 * -EIO on a database error. */
int pl_history_is_member(PGconn *c, const char *conversation_id, const char *user_id);
/* Writes {"id",...,"members":[...],"last_message":...}. -ENOENT when the
 * conversation does not exist, -EIO on a database error. */
int pl_history_conversation_write(PGconn *c, const char *conversation_id, pl_jw *w);
/* Writes one message object from row of res, columns from col0 on. */
void pl_history_message_write(pl_jw *w, const PGresult *res, int row, int col0);

#endif
