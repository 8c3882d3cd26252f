#include "command.h"
#include "pl_log.h"
#include "pl_time.h"

#include <errno.h>
#include <stdlib.h>

static void on_delivery(void *opaque, int err, const char *errstr, int32_t partition,
                        int64_t offset)
{
    command_op *op = opaque;
    pl_pos pos = {.partition = partition, .offset = offset};

    if (err)
        pl_error("produce_failed", "msg=\"%s\"", errstr);
    pl_metrics_add(op->cmd->metrics, "command_events_produced_total",
                   err ? "result=\"error\"" : "result=\"ok\"", 1);
    op->done(op, err, pos);
}

void command_produce(command_op *op, const char *conversation_id, const char *event,
                     size_t len)
{
    command *cmd = op->cmd;
    int r = pl_kafka_produce(cmd->producer, cmd->c->events_topic, conversation_id, event,
                             len, on_delivery, op);
    if (r == 0) {
        pl_http_suspend(op->req);
        return;
    }
    pl_error("produce_failed", "msg=\"enqueue failed\" r=%d", r);
    /* done() owns the op's data; give it the failure to clean up. */
    op->done(op, r, (pl_pos){-1, -1});
}

int command_rate_ok(command *cmd, pl_http_req *req)
{
    if (pl_rate_take(cmd->rate, pl_http_claims(req)->sub, pl_time_mono_ms()))
        return 1;
    pl_http_set_header(req, "Retry-After", "1");
    pl_http_reply_error(req, 429, "rate_limited", "too many requests; slow down");
    return 0;
}

PGconn *command_pg(command *cmd, pl_http_req *req)
{
    PGconn *c = pl_pg_acquire(cmd->pool, 2000);
    if (!c)
        pl_http_reply_error(req, 503, "unavailable", "database unavailable; retry");
    return c;
}
