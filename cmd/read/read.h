/* The read API: REST queries over the history projection. Every read takes
 * min_position and then answers only once the projection has applied that
 * position, which is how a client reads its own writes. */
#ifndef READ_H
#define READ_H

#include "pl_history_wait.h"
#include "pl_store.h"
#include "pl_svc.h"

typedef struct read_api {
    const pl_svc_common *c;
    pl_pg_pool *pool;
    pl_history_wait *wait;
    long long wait_ms;
    pl_store *archive; /* history snapshots (PARLEY_ARCHIVE_DIR), read only */
} read_api;

/* A parsed read; serve runs on a request thread or on the waiter thread. */
typedef struct read_query read_query;
typedef void (*read_serve_fn)(read_api *api, pl_http_req *req, const read_query *q);

struct read_query {
    read_api *api;
    pl_http_req *req;
    read_serve_fn serve;
    char user[PL_ID_LEN];
    char conv[PL_ID_LEN];
    int has_before, has_after;
    pl_pos before, after;
    int limit;
    int has_around;
    char around[PL_ID_LEN]; /* a message id: page centred on it */
};

/* Serves q now, or after min_position (if the request has one) is
 * applied. Takes ownership of q (malloc'd). */
void read_dispatch(read_query *q);
/* Parses a position query parameter. 0 absent, 1 present, -1 replied 400. */
int read_pos_param(pl_http_req *req, const char *name, pl_pos *out);

void read_conversations(pl_http_req *req, void *ctx);
void read_conversation(pl_http_req *req, void *ctx);
void read_messages(pl_http_req *req, void *ctx);
void read_search(pl_http_req *req, void *ctx);
void read_public_conversations(pl_http_req *req, void *ctx);

#endif
