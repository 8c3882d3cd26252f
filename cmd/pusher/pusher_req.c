#include "pusher_req.h"
#include "pl_json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int req_fail(pusher_req *r, int code, char *err, size_t errlen, const char *why)
{
    pusher_req_free(r);
    if (errlen)
        snprintf(err, errlen, "%s", why);
    return code;
}

static int req_seen(const pusher_req *r, const char *conv)
{
    for (size_t i = 0; i < r->nresume; i++)
        if (strcmp(r->resume[i].conversation_id, conv) == 0)
            return 1;
    return 0;
}

/* The resume object: conversation id -> position, each conversation once. */
static int req_resume(pusher_req *r, yajl_val obj, const char **why)
{
    size_t n;

    if (!YAJL_IS_OBJECT(obj)) {
        *why = "resume must be an object";
        return -EBADMSG;
    }
    n = obj->u.object.len;
    if (n > PUSHER_REQ_MAX_RESUME) {
        *why = "too many resume entries";
        return -EBADMSG;
    }
    if (n == 0)
        return 0;
    r->resume = calloc(n, sizeof(*r->resume));
    if (!r->resume)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const char *conv = obj->u.object.keys[i];
        yajl_val v = obj->u.object.values[i];
        pusher_req_resume *e = &r->resume[r->nresume];

        if (!pl_id_valid(conv) || req_seen(r, conv)) {
            *why = "resume key must be a conversation id, each once";
            return -EBADMSG;
        }
        if (!YAJL_IS_STRING(v) || pl_pos_parse(v->u.string, &e->pos)) {
            *why = "resume value must be a position";
            return -EBADMSG;
        }
        memcpy(e->conversation_id, conv, PL_ID_LEN);
        r->nresume++;
    }
    return 0;
}

int pusher_req_parse(const char *msg, size_t len, pusher_req *out, char *err, size_t errlen)
{
    yajl_val t = NULL, res;
    const char *type, *tok, *why = "out of memory";
    int rc = -ENOMEM;

    memset(out, 0, sizeof(*out));
    if (pl_json_parse(msg, len, &t, err, errlen) || !YAJL_IS_OBJECT(t)) {
        yajl_tree_free(t);
        return req_fail(out, -EINVAL, err, errlen, "not a JSON object");
    }
    type = pl_json_str(t, "type");
    tok = pl_json_str(t, "access_token");
    if (type && strcmp(type, "auth") == 0)
        out->type = PUSHER_REQ_AUTH;
    else if (type && strcmp(type, "ping") == 0)
        out->type = PUSHER_REQ_PING;
    if (tok && !(out->access_token = strdup(tok)))
        goto fail;
    res = pl_json_get(t, "resume");
    if (res && !YAJL_IS_NULL(res) && (rc = req_resume(out, res, &why)) != 0)
        goto fail;
    yajl_tree_free(t);
    return 0;
fail:
    yajl_tree_free(t);
    return req_fail(out, rc, err, errlen, why);
}

void pusher_req_free(pusher_req *r)
{
    free(r->access_token);
    free(r->resume);
    memset(r, 0, sizeof(*r));
}
