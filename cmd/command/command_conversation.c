/* PATCH /api/v1/conversations/{id} {title?, description?, avatar_id?, public?}
 * DELETE /api/v1/conversations/{id} */
#include "command_group.h"
#include "pl_utf8.h"

#include <errno.h>
#include <string.h>

#define TITLE_MAX_CHARS 128
#define DESCRIPTION_MAX_CHARS 1024

static const char *conv_param(pl_http_req *req)
{
    const char *conv = pl_http_param(req, "id");
    if (pl_id_valid(conv))
        return conv;
    pl_http_reply_error(req, 404, "not_found", "no such conversation");
    return NULL;
}

/* Checks every present field; writes "changes". Replies 400 itself. */
static int update_changes(pl_http_req *req, yajl_val body, pl_jw *w)
{
    yajl_val t = pl_json_get(body, "title"), d = pl_json_get(body, "description");
    yajl_val av = pl_json_get(body, "avatar_id"), pub = pl_json_get(body, "public");
    const char *why = NULL;

    if (!t && !d && !av && !pub)
        why = "give at least one of title, description, avatar_id, public";
    else if (t && (!YAJL_IS_STRING(t) || !pl_utf8_has_text(t->u.string) ||
                   !pl_utf8_printable(t->u.string) ||
                   pl_utf8_len(t->u.string) > TITLE_MAX_CHARS))
        why = "title must be 1-128 printable characters";
    else if (d && !YAJL_IS_NULL(d) &&
             (!YAJL_IS_STRING(d) || pl_utf8_len(d->u.string) > DESCRIPTION_MAX_CHARS))
        why = "description must be null or a string of at most 1024 characters";
    else if (av && !YAJL_IS_NULL(av) && !(YAJL_IS_STRING(av) && pl_id_valid(av->u.string)))
        why = "avatar_id must be null or an attachment id (a UUID)";
    else if (pub && !YAJL_IS_TRUE(pub) && !YAJL_IS_FALSE(pub))
        why = "public must be a boolean";
    if (why) {
        pl_http_reply_error(req, 400, "bad_request", why);
        return -EINVAL;
    }
    pl_jw_key(w, "changes");
    pl_jw_obj(w);
    if (t)
        pl_jw_kstr(w, "title", t->u.string);
    if (d) /* "" clears it as null does */
        pl_jw_kstr(w, "description", YAJL_IS_STRING(d) && d->u.string[0] ? d->u.string : NULL);
    if (av)
        pl_jw_kstr(w, "avatar_id", YAJL_IS_STRING(av) ? av->u.string : NULL);
    if (pub) {
        pl_jw_key(w, "public");
        pl_jw_bool(w, YAJL_IS_TRUE(pub));
    }
    pl_jw_end_obj(w);
    return 0;
}

void command_update_conversation(pl_http_req *req, void *ctx)
{
    command *cmd = ctx;
    const char *conv = conv_param(req);
    yajl_val body = NULL;
    command_group g;
    PGconn *pg = NULL;
    pl_jw w = {0};
    int r;

    if (!conv || pl_http_body_json(req, &body) != 0)
        return;
    if (!command_rate_ok(cmd, req) || !(pg = command_pg(cmd, req)))
        goto out;
    r = command_group_authorise(pg, req, conv, ROLE_ADMIN, &g);
    pl_pg_release(cmd->pool, pg);
    if (r)
        goto out;
    if ((r = command_group_event(&w, req, "conversation.updated", conv)) != 0) {
        pl_http_reply_internal(req, r);
        goto out;
    }
    if (update_changes(req, body, &w) != 0)
        goto out;
    command_group_produce(cmd, req, conv, &w);
out:
    pl_jw_free(&w);
    yajl_tree_free(body);
}

void command_delete_conversation(pl_http_req *req, void *ctx)
{
    command *cmd = ctx;
    const char *conv = conv_param(req);
    command_group g;
    PGconn *pg = NULL;
    pl_jw w = {0};
    int r;

    if (!conv || !command_rate_ok(cmd, req) || !(pg = command_pg(cmd, req)))
        return;
    r = command_group_authorise(pg, req, conv, ROLE_OWNER, &g);
    pl_pg_release(cmd->pool, pg);
    if (r)
        return;
    if ((r = command_group_event(&w, req, "conversation.deleted", conv)) != 0) {
        pl_http_reply_internal(req, r);
        return;
    }
    command_group_produce(cmd, req, conv, &w);
}
