/* GET /api/v1/exports/{id}/download: the finished archive, to its owner
 * only, with single-range requests so a broken download resumes where it
 * stopped (the archive never changes once done, so its ETag is its id and
 * If-Range only has to compare that). */
#include "export.h"
#include "pl_log.h"
#include "pl_range.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* 1 done, 0 not yet, -ENOENT not this user's (or expired), -EIO. */
static int export_ready(media *m, const char *id, const char *user)
{
    const char *p[2] = {id, user};
    PGresult *res = NULL;
    PGconn *pg = pl_pg_acquire(m->pool, 2000);
    int r;

    if (!pg)
        return -EIO;
    r = pl_pg_exec(pg, &res, NULL, 0,
                   "SELECT state = 'done' FROM media.exports"
                   " WHERE id = $1 AND user_id = $2 AND expires_at > now()",
                   2, p);
    pl_pg_release(m->pool, pg);
    if (r == 0)
        r = PQntuples(res) != 1 ? -ENOENT : PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return r;
}

static int common_headers(pl_http_req *req, const char *id, const char *etag)
{
    char disp[96];
    int r;

    snprintf(disp, sizeof(disp), "attachment; filename=\"parley-export-%s.zip\"", id);
    r = pl_http_set_header(req, "Content-Disposition", disp);
    if (r == 0)
        r = pl_http_set_header(req, "Accept-Ranges", "bytes");
    if (r == 0)
        r = pl_http_set_header(req, "ETag", etag);
    if (r == 0)
        r = pl_http_set_header(req, "X-Content-Type-Options", "nosniff");
    return r;
}

/* Sends fd (taken over) whole, or the range asked for. */
static void send_archive(pl_http_req *req, const char *id, int fd, uint64_t size)
{
    const char *range = pl_http_header(req, "Range");
    const char *if_range = pl_http_header(req, "If-Range");
    char etag[PL_ID_LEN + 2], cr[80];
    uint64_t off = 0, len = size;
    int kind;

    snprintf(etag, sizeof(etag), "\"%s\"", id);
    if (if_range && strcmp(if_range, etag) != 0)
        range = NULL; /* another version than the client holds: send it all */
    kind = pl_range_parse(range, size, &off, &len);
    if (common_headers(req, id, etag) != 0) {
        close(fd);
        pl_http_reply_internal(req, -E2BIG);
        return;
    }
    if (kind == PL_RANGE_UNSATISFIABLE) {
        close(fd);
        snprintf(cr, sizeof(cr), "bytes */%" PRIu64, size);
        pl_http_set_header(req, "Content-Range", cr);
        pl_http_reply_error(req, 416, "range_not_satisfiable", "the range is past the end");
        return;
    }
    if (kind == PL_RANGE_PARTIAL) {
        snprintf(cr, sizeof(cr), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, off, off + len - 1,
                 size);
        pl_http_set_header(req, "Content-Range", cr);
    }
    pl_http_reply_fd_at(req, kind == PL_RANGE_PARTIAL ? 206 : 200, fd, off, len,
                        "application/zip");
}

void media_export_download(pl_http_req *req, void *ctx)
{
    media *m = ctx;
    const char *id = pl_http_param(req, "id");
    uint64_t size;
    int fd, r;

    if (!pl_id_valid(id)) {
        pl_http_reply_error(req, 404, "not_found", "no such export");
        return;
    }
    r = export_ready(m, id, pl_http_claims(req)->sub);
    if (r == -ENOENT) {
        pl_http_reply_error(req, 404, "not_found", "no such export");
        return;
    }
    if (r == 0) {
        pl_http_set_header(req, "Retry-After", "2");
        pl_http_reply_error(req, 409, "not_ready", "the export is not finished yet");
        return;
    }
    if (r < 0 || (r = pl_store_open(m->exports, id, &fd, &size)) != 0) {
        if (r != -EIO)
            pl_error("export_open", "id=%s msg=\"%s\"", id, strerror(-r));
        pl_http_reply_error(req, 503, "unavailable", "export unavailable; retry");
        return;
    }
    send_archive(req, id, fd, size);
}
