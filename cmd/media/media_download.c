/* GET /api/v1/attachments/{id}: for the uploader, and for members of a
 * conversation where a message carrying it was posted (the history
 * projection says which for hot messages, archive.attachments for
 * archived ones). Everyone else gets the same 404 as for an id that does
 * not exist. */
#include "media.h"
#include "pl_fname.h"
#include "pl_id.h"
#include "pl_log.h"
#include "pl_num.h"
#include "pl_sniff.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct found {
    char content_type[128];
    char filename[PL_FNAME_MAX + 1];
} found;

/* 0 and *f when user may read id, -ENOENT when not (or no such id), -EIO. */
static int lookup(media *m, const char *id, const char *user, found *f)
{
    const char *p[2] = {id, user};
    PGresult *res = NULL;
    PGconn *pg = pl_pg_acquire(m->pool, 2000);
    int r;

    if (!pg)
        return -EAGAIN;
    r = pl_pg_exec(pg, &res, NULL, 0,
                   "SELECT a.content_type, a.filename FROM media.attachments a"
                   " WHERE a.id = $1 AND (a.uploader_id = $2 OR EXISTS ("
                   "  SELECT 1 FROM history.message_attachments ma"
                   "  JOIN history.members mb ON mb.conversation_id = ma.conversation_id"
                   "  WHERE ma.attachment_id = a.id AND mb.user_id = $2"
                   " UNION ALL SELECT 1 FROM archive.attachments aa"
                   "  JOIN history.members mb ON mb.conversation_id = aa.conversation_id"
                   "  WHERE aa.attachment_id = a.id AND mb.user_id = $2))",
                   2, p);
    pl_pg_release(m->pool, pg);
    if (r == 0 && PQntuples(res) != 1)
        r = -ENOENT;
    if (r == 0) {
        snprintf(f->content_type, sizeof(f->content_type), "%s", PQgetvalue(res, 0, 0));
        snprintf(f->filename, sizeof(f->filename), "%s", PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    return r;
}

/* Images may show inline; everything else downloads. nosniff keeps a
 * browser from second-guessing the type we detected. */
static int set_headers(pl_http_req *req, const found *f)
{
    char disp[PL_FNAME_DISPOSITION_LEN];
    int r = pl_fname_disposition(f->filename, pl_sniff_is_image(f->content_type), disp,
                                 sizeof(disp));
    if (r == 0)
        r = pl_http_set_header(req, "Content-Disposition", disp);
    if (r == 0)
        r = pl_http_set_header(req, "X-Content-Type-Options", "nosniff");
    if (r == 0)
        r = pl_http_set_header(req, "Cache-Control", "private, max-age=3600");
    if (r == 0)
        r = pl_http_set_header(req, "Content-Security-Policy", "default-src 'none'; sandbox");
    return r;
}

void media_download(pl_http_req *req, void *ctx)
{
    media *m = ctx;
    const char *id = pl_http_param(req, "id");
    uint64_t size;
    found f;
    int fd = -1, r;

    if (!pl_id_valid(id)) {
        pl_http_reply_error(req, 404, "not_found", "no such attachment");
        return;
    }
    r = lookup(m, id, pl_http_claims(req)->sub, &f);
    if (r == -ENOENT) {
        pl_http_reply_error(req, 404, "not_found", "no such attachment");
        return;
    }
    if (r) {
        pl_http_reply_error(req, 503, "unavailable", "database unavailable; retry");
        return;
    }
    r = pl_store_open(m->store, id, &fd, &size);
    if (r) {
        pl_error("store_open", "id=%s msg=\"%s\"", id, strerror(-r));
        pl_http_reply_error(req, 503, "unavailable", "attachment unavailable; retry");
        return;
    }
    if (set_headers(req, &f) != 0) {
        close(fd);
        pl_http_reply_internal(req, -E2BIG);
        return;
    }
    pl_http_reply_fd(req, 200, fd, size, f.content_type);
}
