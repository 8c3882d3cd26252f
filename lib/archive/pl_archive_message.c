/* A stored (snapshot) message as the read API shows it. Mirrors
 * pl_history_message_write for hot rows; tests compare the two shapes. */
#include "pl_archive_read.h"
#include "pl_pos.h"
#include "pl_snapshot.h"
#include "pl_time.h"

#include <string.h>

static void time_write(pl_jw *w, const char *key, yajl_val v)
{
    char iso[PL_TIME_ISO_LEN];

    pl_jw_key(w, key);
    if (!YAJL_IS_INTEGER(v)) {
        pl_jw_null(w);
        return;
    }
    pl_time_iso(iso, YAJL_GET_INTEGER(v));
    pl_jw_str(w, iso);
}

static void str_write(pl_jw *w, yajl_val m, const char *key)
{
    pl_jw_kstr(w, key, pl_json_str(m, key));
}

static void array_write(pl_jw *w, const char *key, yajl_val v, int empty)
{
    pl_jw_key(w, key);
    if (empty || !YAJL_IS_ARRAY(v)) {
        pl_jw_arr(w);
        pl_jw_end_arr(w);
    } else {
        pl_jw_value(w, v);
    }
}

/* [{emoji, users:[..]}] -> [{emoji, count, me}] */
static void reactions_write(pl_jw *w, yajl_val v, const char *viewer, int empty)
{
    pl_jw_key(w, "reactions");
    pl_jw_arr(w);
    for (size_t i = 0; !empty && YAJL_IS_ARRAY(v) && i < v->u.array.len; i++) {
        yajl_val r = v->u.array.values[i], users = pl_json_get(r, "users");
        const char *emoji = pl_json_str(r, "emoji");
        size_t n = YAJL_IS_ARRAY(users) ? users->u.array.len : 0;
        int me = 0;
        if (!emoji || !n)
            continue;
        for (size_t k = 0; viewer && k < n && !me; k++) {
            yajl_val u = users->u.array.values[k];
            me = YAJL_IS_STRING(u) && strcmp(u->u.string, viewer) == 0;
        }
        pl_jw_obj(w);
        pl_jw_kstr(w, "emoji", emoji);
        pl_jw_kint(w, "count", (long long)n);
        pl_jw_key(w, "me");
        pl_jw_bool(w, me);
        pl_jw_end_obj(w);
    }
    pl_jw_end_arr(w);
}

static void position_write(pl_jw *w, yajl_val m)
{
    char pos[PL_POS_LEN];
    long long part = 0, off = 0;

    pl_json_int(m, "partition", &part);
    pl_json_int(m, "offset", &off);
    pl_pos_format(pos, (pl_pos){.partition = (int32_t)part, .offset = off});
    pl_jw_kstr(w, "position", pos);
}

static void quoted_write(pl_jw *w, yajl_val q)
{
    yajl_val del = pl_json_get(q, "deleted");
    int deleted = YAJL_IS_TRUE(del);

    pl_jw_key(w, "quoted");
    if (!YAJL_IS_OBJECT(q)) {
        pl_jw_null(w);
        return;
    }
    pl_jw_obj(w);
    str_write(w, q, "id");
    str_write(w, q, "sender_id");
    pl_jw_kstr(w, "text", deleted ? "" : pl_json_str(q, "text"));
    pl_jw_key(w, "deleted");
    pl_jw_bool(w, deleted);
    pl_jw_end_obj(w);
}

void pl_archive_quoted_write(pl_jw *w, yajl_val msg)
{
    int deleted = YAJL_IS_INTEGER(pl_json_get(msg, "deleted_ms"));

    pl_jw_obj(w);
    str_write(w, msg, "id");
    str_write(w, msg, "sender_id");
    pl_jw_kstr(w, "text", deleted ? "" : pl_json_str(msg, "text"));
    pl_jw_key(w, "deleted");
    pl_jw_bool(w, deleted);
    pl_jw_end_obj(w);
}

void pl_archive_quoted_cb(pl_jw *w, void *msg)
{
    if (msg)
        pl_archive_quoted_write(w, msg);
    else
        pl_jw_null(w);
}

void pl_archive_message_write_tree(pl_jw *w, yajl_val m, const char *viewer)
{
    int deleted;

    if (!YAJL_IS_OBJECT(m)) {
        pl_jw_null(w); /* the snapshot's hash matched, so its writer erred */
        return;
    }
    deleted = YAJL_IS_INTEGER(pl_json_get(m, "deleted_ms"));
    pl_jw_obj(w);
    str_write(w, m, "id");
    str_write(w, m, "conversation_id");
    str_write(w, m, "client_msg_id");
    str_write(w, m, "sender_id");
    pl_jw_kstr(w, "text", deleted ? "" : pl_json_str(m, "text"));
    time_write(w, "created_at", pl_json_get(m, "created_ms"));
    position_write(w, m);
    time_write(w, "edited_at", pl_json_get(m, "edited_ms"));
    time_write(w, "deleted_at", pl_json_get(m, "deleted_ms"));
    str_write(w, m, "reply_to");
    quoted_write(w, pl_json_str(m, "reply_to") ? pl_json_get(m, "quoted") : NULL);
    array_write(w, "mentions", pl_json_get(m, "mentions"), deleted);
    reactions_write(w, pl_json_get(m, "reactions"), viewer, deleted);
    array_write(w, "attachments", pl_json_get(m, "attachments"), deleted);
    pl_jw_end_obj(w);
}

void pl_archive_message_write(pl_jw *w, const char *json, size_t len, const char *viewer)
{
    yajl_val m = NULL;

    if (pl_snapshot_json(json, len, &m) != 0) {
        yajl_tree_free(m);
        m = NULL;
    }
    pl_archive_message_write_tree(w, m, viewer);
    yajl_tree_free(m);
}
