/* The command API: validates a write, authorises it against the read
 * model, turns it into one event on the events topic, and answers once
 * Kafka has acknowledged it (with its position). */
#ifndef COMMAND_H
#define COMMAND_H

#include "pl_history_wait.h"
#include "pl_kafka.h"
#include "pl_rate.h"
#include "pl_svc.h"

typedef struct command {
    const pl_svc_common *c;
    pl_pg_pool *pool;
    pl_kafka_producer *producer;
    pl_history_wait *wait;
    pl_rate *rate;
    pl_metrics *metrics;
    long long wait_ms; /* how long a create waits for its projection */
} command;

/* What to do once Kafka acknowledged an event. Runs on the producer
 * thread; must reply to req (directly or after a non-blocking hand-off)
 * and free the op. */
typedef struct command_op command_op;
typedef void (*command_done_fn)(command_op *op, int err, pl_pos pos);

struct command_op {
    command *cmd;
    pl_http_req *req;
    command_done_fn done;
    void *data; /* the route's own state, freed by done */
};

/* Produces event (keyed by conversation_id) and suspends req until done
 * runs. On failure replies itself and frees op. Takes ownership of op. */
void command_produce(command_op *op, const char *conversation_id, const char *event,
                     size_t len);
/* 1 if caller may act now; otherwise it has replied 429. */
int command_rate_ok(command *cmd, pl_http_req *req);
/* Borrows a connection or replies 503 and returns NULL. */
PGconn *command_pg(command *cmd, pl_http_req *req);

/* A command_done_fn for writes that answer 202 {position}. op->data is
 * freed. */
void command_position_done(command_op *op, int err, pl_pos pos);

void command_send_message(pl_http_req *req, void *ctx);
void command_create_conversation(pl_http_req *req, void *ctx);

#endif
