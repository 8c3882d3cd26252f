#include "pusher_build.h"
#include "pl_id.h"
#include "pl_time.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BUILD_MAX_TEXT 65536
#define BUILD_MAX_TITLE 1024
#define BUILD_MAX_CLIENT_ID 128

/* 1 when s is a string of at most max bytes. */
static int str_ok(const char *s, size_t max)
{
    return s && strnlen(s, max + 1) <= max;
}

static int role_ok(const char *r)
{
    return r && (strcmp(r, "owner") == 0 || strcmp(r, "admin") == 0 ||
                 strcmp(r, "member") == 0);
}

/* Checks data.members and copies the user ids out. */
static int read_members(yajl_val arr, pusher_members **out)
{
    pusher_members *m;
    size_t n;

    if (!YAJL_IS_ARRAY(arr) || arr->u.array.len == 0)
        return -EINVAL;
    n = arr->u.array.len;
    m = pusher_members_new(n);
    if (!m)
        return n > PUSHER_MAX_MEMBERS ? -EINVAL : -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        yajl_val o = arr->u.array.values[i];
        const char *uid = pl_json_str(o, "user_id");
        if (!pl_id_valid(uid) || !role_ok(pl_json_str(o, "role"))) {
            free(m);
            return -EINVAL;
        }
        memcpy(m->ids[i], uid, PL_ID_LEN);
    }
    *out = m;
    return 0;
}

static void write_members(pl_jw *w, yajl_val arr)
{
    pl_jw_arr(w);
    for (size_t i = 0; i < arr->u.array.len; i++) {
        yajl_val o = arr->u.array.values[i];
        pl_jw_obj(w);
        pl_jw_kstr(w, "user_id", pl_json_str(o, "user_id"));
        pl_jw_kstr(w, "role", pl_json_str(o, "role"));
        pl_jw_end_obj(w);
    }
    pl_jw_end_arr(w);
}

int pusher_build_conversation_created(const pl_event *ev, const char *pos, char **json,
                                      size_t *len, pusher_members **members)
{
    const char *kind = pl_json_str(ev->data, "kind");
    yajl_val title = pl_json_get(ev->data, "title");
    yajl_val arr = pl_json_get(ev->data, "members");
    char iso[PL_TIME_ISO_LEN];
    pusher_members *m = NULL;
    pl_jw w;
    int r;

    if (!kind || (strcmp(kind, "direct") != 0 && strcmp(kind, "group") != 0))
        return -EINVAL;
    if (title && !YAJL_IS_NULL(title) &&
        !(YAJL_IS_STRING(title) && str_ok(title->u.string, BUILD_MAX_TITLE)))
        return -EINVAL;
    r = read_members(arr, &m);
    if (r)
        return r;
    pl_time_iso(iso, ev->ts_ms);
    r = pl_jw_init(&w);
    if (r)
        goto out;
    pl_jw_obj(&w);
    pl_jw_kstr(&w, "type", "conversation.created");
    pl_jw_kstr(&w, "position", pos);
    pl_jw_key(&w, "conversation");
    pl_jw_obj(&w);
    pl_jw_kstr(&w, "id", ev->conversation_id);
    pl_jw_kstr(&w, "kind", kind);
    pl_jw_kstr(&w, "title", YAJL_IS_STRING(title) ? title->u.string : NULL);
    pl_jw_kstr(&w, "created_by", ev->actor);
    pl_jw_kstr(&w, "created_at", iso);
    pl_jw_key(&w, "members");
    write_members(&w, arr);
    pl_jw_kstr(&w, "position", pos);
    pl_jw_end_obj(&w);
    pl_jw_end_obj(&w);
    r = pl_jw_finish(&w, json, len);
    if (r)
        goto out;
    *members = m;
    m = NULL;
out:
    free(m);
    return r;
}

/* reply_to (id or null) and mentions (user ids) as the event has them;
 * the quoted message itself is the client's to look up. */
static void write_reply_and_mentions(pl_jw *w, yajl_val data)
{
    const char *reply = pl_json_str(data, "reply_to");
    yajl_val men = pl_json_get(data, "mentions");

    pl_jw_kstr(w, "reply_to", pl_id_valid(reply) ? reply : NULL);
    pl_jw_key(w, "mentions");
    pl_jw_arr(w);
    for (size_t i = 0; YAJL_IS_ARRAY(men) && i < men->u.array.len && i < 50; i++) {
        yajl_val v = men->u.array.values[i];
        if (YAJL_IS_STRING(v) && pl_id_valid(v->u.string))
            pl_jw_str(w, v->u.string);
    }
    pl_jw_end_arr(w);
}

int pusher_build_message_created(const pl_event *ev, const char *pos, char **json,
                                 size_t *len)
{
    const char *mid = pl_json_str(ev->data, "message_id");
    const char *cid = pl_json_str(ev->data, "client_msg_id");
    const char *text = pl_json_str(ev->data, "text");
    char iso[PL_TIME_ISO_LEN];
    pl_jw w;
    int r;

    if (!pl_id_valid(mid) || !str_ok(cid, BUILD_MAX_CLIENT_ID) ||
        !str_ok(text, BUILD_MAX_TEXT))
        return -EINVAL;
    pl_time_iso(iso, ev->ts_ms);
    r = pl_jw_init(&w);
    if (r)
        return r;
    pl_jw_obj(&w);
    pl_jw_kstr(&w, "type", "message.created");
    pl_jw_kstr(&w, "conversation_id", ev->conversation_id);
    pl_jw_kstr(&w, "position", pos);
    pl_jw_key(&w, "message");
    pl_jw_obj(&w);
    pl_jw_kstr(&w, "id", mid);
    pl_jw_kstr(&w, "client_msg_id", cid);
    pl_jw_kstr(&w, "sender_id", ev->actor);
    pl_jw_kstr(&w, "text", text);
    write_reply_and_mentions(&w, ev->data);
    pl_jw_kstr(&w, "created_at", iso);
    pl_jw_kstr(&w, "position", pos);
    /* The command API wrote this metadata; the event is at most 64 KiB. */
    pl_jw_key(&w, "attachments");
    if (YAJL_IS_ARRAY(pl_json_get(ev->data, "attachments")))
        pl_jw_value(&w, pl_json_get(ev->data, "attachments"));
    else {
        pl_jw_arr(&w);
        pl_jw_end_arr(&w);
    }
    pl_jw_end_obj(&w);
    pl_jw_end_obj(&w);
    return pl_jw_finish(&w, json, len);
}

int pusher_build_generic(const pl_event *ev, const char *pos, char **json, size_t *len)
{
    char iso[PL_TIME_ISO_LEN];
    yajl_val d = ev->data;
    pl_jw w;
    int r = pl_jw_init(&w);

    if (r)
        return r;
    pl_time_iso(iso, ev->ts_ms);
    pl_jw_obj(&w);
    pl_jw_kstr(&w, "type", ev->type);
    pl_jw_kstr(&w, "conversation_id", ev->conversation_id);
    pl_jw_kstr(&w, "position", pos);
    pl_jw_kstr(&w, "actor_id", ev->actor);
    pl_jw_kstr(&w, "at", iso);
    for (size_t i = 0; i < d->u.object.len; i++) {
        const char *k = d->u.object.keys[i];
        /* The envelope's keys win; data cannot forge them. */
        if (!strcmp(k, "type") || !strcmp(k, "conversation_id") || !strcmp(k, "position") ||
            !strcmp(k, "actor_id") || !strcmp(k, "at"))
            continue;
        pl_jw_key(&w, k);
        pl_jw_value(&w, d->u.object.values[i]);
    }
    pl_jw_end_obj(&w);
    return pl_jw_finish(&w, json, len);
}

int pusher_build_ready(const char *user_id, const char *session_id, char **json,
                       size_t *len)
{
    pl_jw w;
    int r = pl_jw_init(&w);

    if (r)
        return r;
    pl_jw_obj(&w);
    pl_jw_kstr(&w, "type", "ready");
    pl_jw_kstr(&w, "user_id", user_id);
    pl_jw_kstr(&w, "session_id", session_id);
    pl_jw_end_obj(&w);
    return pl_jw_finish(&w, json, len);
}

int pusher_build_simple(const char *type, char **json, size_t *len)
{
    pl_jw w;
    int r = pl_jw_init(&w);

    if (r)
        return r;
    pl_jw_obj(&w);
    pl_jw_kstr(&w, "type", type);
    pl_jw_end_obj(&w);
    return pl_jw_finish(&w, json, len);
}

int pusher_build_resume_end(const char *conv, const char *pos, const char *reason,
                            char **json, size_t *len)
{
    pl_jw w;
    int r = pl_jw_init(&w);

    if (r)
        return r;
    pl_jw_obj(&w);
    pl_jw_kstr(&w, "type", reason ? "resume.gap" : "resume.done");
    pl_jw_kstr(&w, "conversation_id", conv);
    pl_jw_kstr(&w, reason ? "from" : "position", pos);
    if (reason)
        pl_jw_kstr(&w, "reason", reason);
    pl_jw_end_obj(&w);
    return pl_jw_finish(&w, json, len);
}

int pusher_build_reconnect(long long after_ms, char **json, size_t *len)
{
    pl_jw w;
    int r = pl_jw_init(&w);

    if (r)
        return r;
    pl_jw_obj(&w);
    pl_jw_kstr(&w, "type", "reconnect");
    pl_jw_kint(&w, "after_ms", after_ms);
    pl_jw_end_obj(&w);
    return pl_jw_finish(&w, json, len);
}

int pusher_build_error(const char *code, const char *message, char **json, size_t *len)
{
    pl_jw w;
    int r = pl_jw_init(&w);

    if (r)
        return r;
    pl_jw_obj(&w);
    pl_jw_kstr(&w, "type", "error");
    pl_jw_key(&w, "error");
    pl_jw_obj(&w);
    pl_jw_kstr(&w, "code", code);
    pl_jw_kstr(&w, "message", message);
    pl_jw_end_obj(&w);
    pl_jw_end_obj(&w);
    return pl_jw_finish(&w, json, len);
}
