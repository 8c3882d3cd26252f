#include "read.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int read_pos_param(pl_http_req *req, const char *name, pl_pos *out)
{
    const char *v = pl_http_query(req, name);
    char msg[96];

    if (!v || !*v)
        return 0;
    if (pl_pos_parse(v, out) == 0)
        return 1;
    snprintf(msg, sizeof(msg), "%s is not a position (like p3.o17)", name);
    pl_http_reply_error(req, 400, "bad_request", msg);
    return -1;
}

static void on_reached(void *opaque, int reached)
{
    read_query *q = opaque;

    if (reached)
        q->serve(q->api, q->req, q);
    else
        pl_http_reply_error(q->req, 503, "not_caught_up",
                            "the history has not reached min_position yet; retry");
    free(q);
}

void read_dispatch(read_query *q)
{
    pl_pos min;
    int r = read_pos_param(q->req, "min_position", &min);

    if (r < 0) {
        free(q);
        return;
    }
    if (r == 0) {
        q->serve(q->api, q->req, q);
        free(q);
        return;
    }
    pl_http_suspend(q->req);
    r = pl_history_wait_add(q->api->wait, min, (int)q->api->wait_ms, on_reached, q);
    if (r == -EINVAL)
        pl_http_reply_error(q->req, 400, "bad_request", "min_position is out of range");
    else if (r)
        pl_http_reply_error(q->req, 503, "unavailable", "too many waiting reads; retry");
    if (r)
        free(q);
}
