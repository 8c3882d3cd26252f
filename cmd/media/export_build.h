/* State shared by the files of one archive build; internal to
 * export_build.c and export_files.c. The builder owns every pointer. */
#ifndef MEDIA_EXPORT_BUILD_H
#define MEDIA_EXPORT_BUILD_H

#include "export.h"
#include "pl_json.h"
#include "pl_zip.h"

typedef struct xb {
    media *m;
    export_job *j;
    PGconn *pg;        /* inside the snapshot while in_txn */
    int in_txn;
    pl_zip *z;
    pl_store_writer *w; /* the archive, committed at the end */
    int64_t now_ms;
    PGresult *convs;   /* conversation ids (column 0) */
    PGresult *atts;    /* id, content_type, size, width, height, filename */
    char *conv_array;  /* the ids as a Postgres array literal */
    char *manifest, *account, *users, *attachments; /* JSON, reused by data.js */
    long long nmsgs;   /* messages written to the messages.jsonl files */
    char (*senders)[PL_ID_LEN]; /* senders of archived messages: sorted, unique */
    size_t nsenders, sendercap;
} xb;

/* export_build.c */
int xb_add_jw(xb *b, const char *name, pl_jw *w, char **keep);
int xb_step(xb *b);
int xb_messages(xb *b, const char *conv, int jsonl);
/* The senders of archived messages seen so far as a Postgres array
 * literal (caller frees), or NULL on ENOMEM. */
char *xb_senders_array(const xb *b);

/* export_files.c */
int xb_query_scope(xb *b);
int xb_query_attachments(xb *b);
int xb_query_total(xb *b);
int xb_attachment_files(xb *b);
int xb_meta_files(xb *b);
int xb_viewer_files(xb *b);

#endif
