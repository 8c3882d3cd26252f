#include "command_attach.h"
#include "pl_id.h"
#include "pl_num.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int command_attach_present(yajl_val body)
{
    yajl_val v = pl_json_get(body, "attachment_ids");
    return YAJL_IS_ARRAY(v) && v->u.array.len > 0;
}

int command_attach_parse(pl_http_req *req, yajl_val body, command_attach *a)
{
    yajl_val v = pl_json_get(body, "attachment_ids");

    memset(a, 0, sizeof(*a));
    if (!v || YAJL_IS_NULL(v))
        return 0;
    if (!YAJL_IS_ARRAY(v) || v->u.array.len > COMMAND_ATTACH_MAX) {
        pl_http_reply_error(req, 400, "bad_request",
                            "attachment_ids must be an array of at most 10 ids");
        return -EINVAL;
    }
    for (size_t i = 0; i < v->u.array.len; i++) {
        yajl_val s = v->u.array.values[i];
        if (!YAJL_IS_STRING(s) || !pl_id_valid(s->u.string)) {
            pl_http_reply_error(req, 400, "bad_request", "attachment_ids holds a bad id");
            return -EINVAL;
        }
        for (size_t j = 0; j < a->n; j++)
            if (strcmp(a->ids[j], s->u.string) == 0) {
                pl_http_reply_error(req, 400, "bad_request",
                                    "attachment_ids names an attachment twice");
                return -EINVAL;
            }
        memcpy(a->ids[a->n++], s->u.string, PL_ID_LEN);
    }
    return 0;
}

int command_attach_check(command *cmd, pl_http_req *req, command_attach *a)
{
    char arr[COMMAND_ATTACH_MAX * PL_ID_LEN + 3] = "{";
    const char *p[2] = {arr, pl_http_claims(req)->sub};
    size_t o = 1;
    PGconn *pg;
    int r;

    if (a->n == 0)
        return 0;
    /* A Postgres array literal of canonical UUIDs: nothing to escape. */
    for (size_t i = 0; i < a->n; i++)
        o += (size_t)snprintf(arr + o, sizeof(arr) - o, "%s%s", i ? "," : "", a->ids[i]);
    snprintf(arr + o, sizeof(arr) - o, "}");
    pg = command_pg(cmd, req);
    if (!pg)
        return -EIO;
    r = pl_pg_exec(pg, &a->rows, NULL, 0,
                   "SELECT id, content_type, size, width, height, filename"
                   " FROM media.attachments WHERE id = ANY($1::uuid[]) AND uploader_id = $2",
                   2, p);
    pl_pg_release(cmd->pool, pg);
    if (r) {
        pl_http_reply_error(req, 503, "unavailable", "database unavailable; retry");
        return r;
    }
    if ((size_t)PQntuples(a->rows) != a->n) {
        /* Someone else's upload looks exactly like a missing one. */
        pl_http_reply_error(req, 400, "bad_attachment",
                            "attachment_ids names an attachment you have not uploaded");
        return -ENOENT;
    }
    return 0;
}

static void row_write(pl_jw *w, const PGresult *res, int i)
{
    long long n;

    pl_jw_obj(w);
    pl_jw_kstr(w, "id", PQgetvalue(res, i, 0));
    pl_jw_kstr(w, "content_type", PQgetvalue(res, i, 1));
    if (pl_num_parse_ll(PQgetvalue(res, i, 2), 0, INT64_MAX, &n) == 0)
        pl_jw_kint(w, "size", n);
    for (int c = 3; c <= 4; c++)
        if (!PQgetisnull(res, i, c) &&
            pl_num_parse_ll(PQgetvalue(res, i, c), 1, INT32_MAX, &n) == 0)
            pl_jw_kint(w, c == 3 ? "width" : "height", n);
    pl_jw_kstr(w, "filename", PQgetvalue(res, i, 5));
    pl_jw_end_obj(w);
}

void command_attach_write(pl_jw *w, const command_attach *a)
{
    if (a->n == 0 || !a->rows)
        return;
    pl_jw_key(w, "attachments");
    pl_jw_arr(w);
    /* In the order the sender listed them. */
    for (size_t i = 0; i < a->n; i++)
        for (int k = 0; k < PQntuples(a->rows); k++)
            if (strcmp(PQgetvalue(a->rows, k, 0), a->ids[i]) == 0)
                row_write(w, a->rows, k);
    pl_jw_end_arr(w);
}

void command_attach_free(command_attach *a)
{
    PQclear(a->rows);
    a->rows = NULL;
}
