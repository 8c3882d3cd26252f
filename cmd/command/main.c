/* parley-command: the write side of the REST API. */
#include "command.h"
#include "command_message.h"
#include "command_group.h"
#include "command_live.h"
#include "pl_cfg.h"
#include "pl_log.h"

#include <stdio.h>

static const pl_http_route routes[] = {
    {"POST", "/api/v1/conversations", command_create_conversation, PL_HTTP_AUTH},
    {"POST", "/api/v1/conversations/{id}/messages", command_send_message, PL_HTTP_AUTH},
    {"PATCH", "/api/v1/conversations/{id}/messages/{mid}", command_edit_message, PL_HTTP_AUTH},
    {"DELETE", "/api/v1/conversations/{id}/messages/{mid}", command_delete_message,
     PL_HTTP_AUTH},
    {"PUT", "/api/v1/conversations/{id}/messages/{mid}/reactions/{emoji}",
     command_add_reaction, PL_HTTP_AUTH},
    {"DELETE", "/api/v1/conversations/{id}/messages/{mid}/reactions/{emoji}",
     command_remove_reaction, PL_HTTP_AUTH},
    {"POST", "/api/v1/conversations/{id}/typing", command_typing, PL_HTTP_AUTH},
    {"POST", "/api/v1/conversations/{id}/read", command_read, PL_HTTP_AUTH},
    {"PATCH", "/api/v1/conversations/{id}", command_update_conversation, PL_HTTP_AUTH},
    {"DELETE", "/api/v1/conversations/{id}", command_delete_conversation, PL_HTTP_AUTH},
    {"POST", "/api/v1/conversations/{id}/members", command_add_member, PL_HTTP_AUTH},
    {"PATCH", "/api/v1/conversations/{id}/members/{user_id}", command_change_role, PL_HTTP_AUTH},
    {"DELETE", "/api/v1/conversations/{id}/members/{user_id}", command_remove_member,
     PL_HTTP_AUTH},
    {"POST", "/api/v1/conversations/{id}/join", command_join, PL_HTTP_AUTH},
    {"POST", "/api/v1/conversations/{id}/invites", command_create_invite, PL_HTTP_AUTH},
    {"POST", "/api/v1/invites/{code}/accept", command_accept_invite, PL_HTTP_AUTH},
};

static int ready(void *ctx)
{
    command *cmd = ctx;
    if (pl_kafka_producer_fatal(cmd->producer) ||
        pl_kafka_ping(pl_kafka_producer_handle(cmd->producer), 500) != 0)
        return -1;
    return pl_pg_ping(cmd->pool);
}

static int settings(command *cmd, double *rate, double *burst)
{
    long long r, b;
    if (pl_cfg_int("PARLEY_CREATE_WAIT_MS", 5000, 0, 60000, &cmd->wait_ms) ||
        pl_cfg_int("PARLEY_RATE_PER_S", 20, 1, 1000000, &r) ||
        pl_cfg_int("PARLEY_RATE_BURST", 60, 1, 1000000, &b)) {
        pl_error("config", "msg=\"PARLEY_CREATE_WAIT_MS, PARLEY_RATE_PER_S or "
                           "PARLEY_RATE_BURST is not a valid integer\"");
        return -1;
    }
    *rate = (double)r;
    *burst = (double)b;
    return 0;
}

static void metrics_declare(pl_metrics *m)
{
    pl_metrics_declare(m, "command_events_produced_total", PL_METRIC_COUNTER,
                       "Events acknowledged (or not) by Kafka");
}

int main(void)
{
    pl_svc_common c;
    command cmd = {.c = &c};
    pl_http_server *http = NULL;
    pl_revoked_feed *revoked = NULL;
    pl_http_config hc;
    double rate, burst;
    char err[512];
    int code = 1, fatal = 0;

    if (pl_svc_init(&c, "command", 8082, 1) != 0 || settings(&cmd, &rate, &burst) != 0)
        return 2;
    if (pl_metrics_new(&cmd.metrics) || pl_pg_pool_new(&cmd.pool, c.pg_dsn, (int)c.pg_pool) ||
        pl_rate_new(&cmd.rate, rate, burst, 65536) ||
        pl_history_wait_new(&cmd.wait, cmd.pool, c.events_topic))
        goto out;
    metrics_declare(cmd.metrics);
    if (pl_kafka_producer_new(&cmd.producer, c.kafka_brokers, c.instance, err,
                              sizeof(err)) != 0) {
        pl_error("kafka", "msg=\"%s\"", err);
        goto out;
    }
    pl_svc_http_config(&c, &hc);
    hc.routes = routes;
    hc.nroutes = sizeof(routes) / sizeof(routes[0]);
    hc.ctx = &cmd;
    hc.metrics = cmd.metrics;
    hc.ready = ready;
    if (pl_svc_revocations(&revoked, &c, &hc) != 0)
        goto out;
    if (pl_http_start(&http, &hc) != 0) {
        pl_error("listen", "port=%lld msg=\"cannot listen\"", c.http_port);
        goto out;
    }
    pl_info("start", "port=%lld topic=%s", c.http_port, c.events_topic);
    while (!pl_svc_wait_signal(1000))
        if (pl_kafka_producer_fatal(cmd.producer)) {
            pl_error("kafka_fatal", "msg=\"idempotent producer failed; restarting\"");
            fatal = 1;
            break;
        }
    /* Drain: no new connections, every accepted write gets its answer. */
    pl_http_quiesce(http);
    pl_kafka_producer_free(cmd.producer, 10000);
    cmd.producer = NULL;
    pl_history_wait_free(cmd.wait);
    cmd.wait = NULL;
    code = fatal;
    pl_info("stop", "msg=\"drained\"");
out:
    pl_http_stop(http);
    pl_revoked_feed_free(revoked);
    pl_kafka_producer_free(cmd.producer, 10000);
    pl_history_wait_free(cmd.wait);
    pl_rate_free(cmd.rate);
    pl_pg_pool_free(cmd.pool);
    pl_metrics_free(cmd.metrics);
    return code;
}
