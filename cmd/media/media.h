/* parley-media: attachment uploads and downloads. It owns the Postgres
 * schema "media" (one row per attachment) and the bytes in a pl_store;
 * who may download is read from the history projection and, for archived
 * messages, from the archive schema (archive.attachments). */
#ifndef MEDIA_H
#define MEDIA_H

#include "pl_rate.h"
#include "pl_store.h"
#include "pl_svc.h"

typedef struct media_exporter media_exporter;

/* Export settings (PARLEY_EXPORT_*), read once at start. */
typedef struct media_export_cfg {
    long long ttl_hours;  /* an export (row and archive) lives this long */
    long long max_bytes;  /* largest archive; a bigger export fails */
    long long workers;    /* jobs this instance runs at once */
    long long max_active; /* queued + running exports per user */
    long long lease_s;    /* a claimed job not checkpointed for this long is retaken */
    long long pace_ms;    /* pause after each message (throttle; tests slow jobs with it) */
} media_export_cfg;

typedef struct media {
    const pl_svc_common *c;
    pl_pg_pool *pool;
    pl_store *store;
    pl_metrics *metrics;
    long long max_bytes; /* PARLEY_ATTACHMENT_MAX_BYTES */
    pl_rate *rate;       /* uploads per user */
    pl_store *exports;   /* finished export archives, keyed by export id */
    pl_store *archive;   /* history snapshots (PARLEY_ARCHIVE_DIR), read only */
    pl_rate *export_rate; /* export requests per user */
    media_export_cfg ex;
    media_exporter *exporter; /* the job workers */
} media;

/* POST /api/v1/attachments[?filename=] with the raw bytes as the body. */
void media_upload(pl_http_req *req, void *ctx);
/* GET /api/v1/attachments/{id} */
void media_download(pl_http_req *req, void *ctx);

/* POST /api/v1/exports {"conversation_id"} or {"scope":"account"} */
void media_export_create(pl_http_req *req, void *ctx);
/* GET /api/v1/exports/{id} */
void media_export_status(pl_http_req *req, void *ctx);
/* GET /api/v1/exports/{id}/download, with Range */
void media_export_download(pl_http_req *req, void *ctx);

/* Starts m->ex.workers job threads (they claim jobs from Postgres). */
int media_exporter_start(media *m);
/* Wakes an idle worker: a job was just queued. Accepts NULL. */
void media_exporter_kick(media_exporter *x);
/* Stops the workers (a running job goes back to the queue) and frees x.
 * Accepts NULL. */
void media_exporter_stop(media_exporter *x);

/* Steps for pl_pg_migrate, component "media". */
extern const char *const media_migrations[];
extern const int media_migrations_count;

#endif
