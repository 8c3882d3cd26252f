/* Message objects as every API shows them. */
#include "pl_history.h"
#include "pl_history_internal.h"
#include "pl_num.h"
#include "pl_pg.h"
#include "pl_pos.h"
#include "pl_time.h"

#include <errno.h>
#include <stdlib.h>

void pl_history_message_write(pl_jw *w, const PGresult *res, int row, int col0)
{
    pl_jw_obj(w);
    pl_jw_kstr(w, "id", PQgetvalue(res, row, col0));
    pl_jw_kstr(w, "conversation_id", PQgetvalue(res, row, col0 + 1));
    pl_jw_kstr(w, "client_msg_id", PQgetvalue(res, row, col0 + 2));
    pl_jw_kstr(w, "sender_id", PQgetvalue(res, row, col0 + 3));
    pl_jw_kstr(w, "text", PQgetvalue(res, row, col0 + 4));
    pl_history_time_write(w, "created_at", res, row, col0 + 5);
    pl_history_pos_write(w, res, row, col0 + 6);
    pl_jw_end_obj(w);
}

