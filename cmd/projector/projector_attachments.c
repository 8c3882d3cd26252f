/* The attachments a message.created event carries: copied into
 * history.message_attachments with their metadata, so history pages and
 * download checks never need the media schema. */
#include "projector_events.h"
#include "pl_id.h"
#include "pl_pg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ATTACHMENTS_MAX 10

static int str_ok(yajl_val o, const char *key, size_t max)
{
    const char *s = pl_json_str(o, key);
    return s && *s && strnlen(s, max + 1) <= max;
}

/* width and height: absent, null or a positive int. */
static int dim_ok(yajl_val o, const char *key)
{
    yajl_val v = pl_json_get(o, key);
    long long n;
    return !v || YAJL_IS_NULL(v) || (pl_json_int(o, key, &n) == 0 && n > 0 && n <= INT32_MAX);
}

static int attachment_ok(yajl_val o)
{
    long long size;
    return YAJL_IS_OBJECT(o) && pl_id_valid(pl_json_str(o, "id")) &&
           str_ok(o, "content_type", 127) && str_ok(o, "filename", 200) &&
           pl_json_int(o, "size", &size) == 0 && size > 0 && dim_ok(o, "width") &&
           dim_ok(o, "height");
}

int apply_attachments_check(apply_ctx *a, yajl_val *out)
{
    yajl_val arr = pl_json_get(a->ev->data, "attachments");

    *out = NULL;
    if (!arr) /* most messages, and every event from before attachments */
        return 0;
    if (!YAJL_IS_ARRAY(arr) || arr->u.array.len > ATTACHMENTS_MAX) {
        snprintf(a->err, a->errlen, "message.created has a bad attachments array");
        return -EINVAL;
    }
    for (size_t i = 0; i < arr->u.array.len; i++)
        if (!attachment_ok(arr->u.array.values[i])) {
            snprintf(a->err, a->errlen, "message.created has a bad attachment");
            return -EINVAL;
        }
    *out = arr;
    return 0;
}

int apply_message_attachments(apply_ctx *a, const msg_created *f)
{
    yajl_val arr = f->attachments;
    const char *mid = f->mid;
    PGresult *res = NULL;
    char *json = NULL;
    pl_jw w;
    int r;

    if (!arr || arr->u.array.len == 0)
        return 0;
    r = pl_jw_init(&w);
    if (r)
        return -EIO;
    pl_jw_value(&w, arr);
    if (pl_jw_finish(&w, &json, NULL) != 0)
        return -EIO;
    const char *p[] = {mid, a->ev->conversation_id, a->ev->id, json};
    /* Only for the row this very event inserted (a message the projection
     * refused, e.g. from a non-member, gets none); replays change nothing. */
    r = pl_pg_exec(a->pg, &res, a->err, a->errlen,
        "INSERT INTO message_attachments (message_id, ord, attachment_id,"
        " conversation_id, content_type, size, width, height, filename)"
        " SELECT $1, x.ord - 1, (x.v->>'id')::uuid, $2, x.v->>'content_type',"
        "  (x.v->>'size')::bigint, (x.v->>'width')::int, (x.v->>'height')::int,"
        "  x.v->>'filename'"
        " FROM jsonb_array_elements($4::jsonb) WITH ORDINALITY AS x(v, ord)"
        " WHERE EXISTS (SELECT 1 FROM messages m"
        "               WHERE m.id = $1 AND m.conversation_id = $2 AND m.event_id = $3)"
        " ON CONFLICT DO NOTHING",
        4, p);
    free(json);
    return apply_result(a, res, r);
}
