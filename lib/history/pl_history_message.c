/* Message objects as every API shows them. */
#include "pl_history.h"
#include "pl_history_internal.h"
#include "pl_num.h"
#include "pl_pg.h"
#include "pl_pos.h"
#include "pl_time.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Column offsets from col0, as PL_HISTORY_MESSAGE_COLS_FOR lists them. */
enum {
    C_ID, C_CONV, C_CMID, C_SENDER, C_TEXT, C_CREATED, C_PART, C_OFF,
    C_EDITED, C_DELETED, C_REPLY_TO, C_Q_SENDER, C_Q_TEXT, C_Q_DELETED,
    C_MENTIONS, C_REACTIONS, C_ATTACHMENTS,
};

static void time_or_null(pl_jw *w, const char *key, const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col)) {
        pl_jw_key(w, key);
        pl_jw_null(w);
    } else {
        pl_history_time_write(w, key, res, row, col);
    }
}

/* {id, sender_id, text, deleted} of the message replied to; a deleted one
 * shows no text. null when the reply names nothing we hold. */
static void quoted_write(pl_jw *w, const PGresult *res, int row, int col0)
{
    int deleted = PQgetvalue(res, row, col0 + C_Q_DELETED)[0] == 't';

    pl_jw_key(w, "quoted");
    if (PQgetisnull(res, row, col0 + C_Q_SENDER)) {
        pl_jw_null(w);
        return;
    }
    pl_jw_obj(w);
    pl_jw_kstr(w, "id", PQgetvalue(res, row, col0 + C_REPLY_TO));
    pl_jw_kstr(w, "sender_id", PQgetvalue(res, row, col0 + C_Q_SENDER));
    pl_jw_kstr(w, "text", deleted ? "" : PQgetvalue(res, row, col0 + C_Q_TEXT));
    pl_jw_key(w, "deleted");
    pl_jw_bool(w, deleted);
    pl_jw_end_obj(w);
}

/* "a,b,c" -> ["a","b","c"] */
static void mentions_write(pl_jw *w, const char *s)
{
    pl_jw_key(w, "mentions");
    pl_jw_arr(w);
    while (*s) {
        size_t n = strcspn(s, ",");
        pl_jw_strn(w, s, n);
        s += n + (s[n] == ',');
    }
    pl_jw_end_arr(w);
}

/* emoji US count US me (RS ...) -> [{emoji, count, me}] */
static void reactions_write(pl_jw *w, const char *s)
{
    pl_jw_key(w, "reactions");
    pl_jw_arr(w);
    while (*s) {
        size_t rec = strcspn(s, "\x1e");
        size_t e = strcspn(s, "\x1f");
        long long count = 0;
        char num[24];
        if (e < rec) {
            size_t c = strcspn(s + e + 1, "\x1f");
            if (c < sizeof(num) && e + 1 + c < rec) {
                memcpy(num, s + e + 1, c);
                num[c] = '\0';
                pl_num_parse_ll(num, 0, INT64_MAX, &count);
                pl_jw_obj(w);
                pl_jw_key(w, "emoji");
                pl_jw_strn(w, s, e);
                pl_jw_kint(w, "count", count);
                pl_jw_key(w, "me");
                pl_jw_bool(w, s[e + 1 + c + 1] == '1');
                pl_jw_end_obj(w);
            }
        }
        s += rec + (s[rec] == '\x1e');
    }
    pl_jw_end_arr(w);
}

/* The JSON array Postgres built (NULL: none); a tombstone shows none. */
static void attachments_write(pl_jw *w, const PGresult *res, int row, int col, int deleted)
{
    const char *s = PQgetvalue(res, row, col);
    yajl_val v = NULL;

    pl_jw_key(w, "attachments");
    if (deleted || PQgetisnull(res, row, col) ||
        pl_json_parse(s, strlen(s), &v, NULL, 0) != 0 || !YAJL_IS_ARRAY(v)) {
        pl_jw_arr(w);
        pl_jw_end_arr(w);
    } else {
        pl_jw_value(w, v);
    }
    yajl_tree_free(v);
}

void pl_history_message_write(pl_jw *w, const PGresult *res, int row, int col0)
{
    pl_history_message_write_q(w, res, row, col0, NULL, NULL);
}

void pl_history_message_write_q(pl_jw *w, const PGresult *res, int row, int col0,
                                pl_history_quoted_fn quoted, void *arg)
{
    int deleted = !PQgetisnull(res, row, col0 + C_DELETED);

    pl_jw_obj(w);
    pl_jw_kstr(w, "id", PQgetvalue(res, row, col0 + C_ID));
    pl_jw_kstr(w, "conversation_id", PQgetvalue(res, row, col0 + C_CONV));
    pl_jw_kstr(w, "client_msg_id", PQgetvalue(res, row, col0 + C_CMID));
    pl_jw_kstr(w, "sender_id", PQgetvalue(res, row, col0 + C_SENDER));
    pl_jw_kstr(w, "text", deleted ? "" : PQgetvalue(res, row, col0 + C_TEXT));
    pl_history_time_write(w, "created_at", res, row, col0 + C_CREATED);
    pl_history_pos_write(w, res, row, col0 + C_PART);
    time_or_null(w, "edited_at", res, row, col0 + C_EDITED);
    time_or_null(w, "deleted_at", res, row, col0 + C_DELETED);
    pl_jw_kstr(w, "reply_to", PQgetisnull(res, row, col0 + C_REPLY_TO)
                                  ? NULL : PQgetvalue(res, row, col0 + C_REPLY_TO));
    if (PQgetisnull(res, row, col0 + C_REPLY_TO)) {
        pl_jw_key(w, "quoted");
        pl_jw_null(w);
    } else if (quoted && PQgetisnull(res, row, col0 + C_Q_SENDER)) {
        pl_jw_key(w, "quoted");
        quoted(w, arg);
    } else {
        quoted_write(w, res, row, col0);
    }
    mentions_write(w, deleted ? "" : PQgetvalue(res, row, col0 + C_MENTIONS));
    reactions_write(w, deleted ? "" : PQgetvalue(res, row, col0 + C_REACTIONS));
    attachments_write(w, res, row, col0 + C_ATTACHMENTS, deleted);
    pl_jw_end_obj(w);
}
