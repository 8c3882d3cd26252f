/* parley-media: attachment uploads and downloads. It owns the Postgres
 * schema "media" (one row per attachment) and the bytes in a pl_store;
 * who may download is read from the history projection. */
#ifndef MEDIA_H
#define MEDIA_H

#include "pl_rate.h"
#include "pl_store.h"
#include "pl_svc.h"

typedef struct media {
    const pl_svc_common *c;
    pl_pg_pool *pool;
    pl_store *store;
    pl_metrics *metrics;
    long long max_bytes; /* PARLEY_ATTACHMENT_MAX_BYTES */
    pl_rate *rate;       /* uploads per user */
} media;

/* POST /api/v1/attachments[?filename=] with the raw bytes as the body. */
void media_upload(pl_http_req *req, void *ctx);
/* GET /api/v1/attachments/{id} */
void media_download(pl_http_req *req, void *ctx);

/* Steps for pl_pg_migrate, component "media". */
extern const char *const media_migrations[];
extern const int media_migrations_count;

#endif
