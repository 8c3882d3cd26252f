#include "command_live.h"
#include "command.h"
#include "pl_cfg.h"
#include "pl_event.h"
#include "pl_history.h"
#include "pl_log.h"
#include "pl_num.h"
#include "pl_time.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* One typing event per user and conversation per TYPING_EVERY_S: clients
 * send on every keystroke, everyone else needs one per few seconds. */
#define TYPING_EVERY_S 3.0
#define TYPING_SLOTS 65536

static pl_rate *typing_rate;
static pthread_once_t typing_once = PTHREAD_ONCE_INIT;

static void typing_init(void)
{
    if (pl_rate_new(&typing_rate, 1.0 / TYPING_EVERY_S, 1.0, TYPING_SLOTS) != 0)
        typing_rate = NULL; /* then nothing is throttled; logged by the caller */
}

/* The member check both routes share, with the conversation's partition.
 * 1 member (with *partition), 0 not (replied 404), <0 replied 503. */
static int live_member(command *cmd, pl_http_req *req, const char *conv, long long *partition)
{
    const char *params[2] = {conv, pl_http_claims(req)->sub};
    PGresult *res = NULL;
    PGconn *pg = command_pg(cmd, req);
    int r;

    if (!pg)
        return -EIO;
    r = pl_pg_exec(pg, &res, NULL, 0,
                   "SELECT c.partition FROM history.conversations c"
                   " JOIN history.members m ON m.conversation_id = c.id"
                   " WHERE c.id = $1 AND m.user_id = $2",
                   2, params);
    pl_pg_release(cmd->pool, pg);
    if (!r)
        r = PQntuples(res) == 1 &&
            pl_num_parse_ll(PQgetvalue(res, 0, 0), 0, INT32_MAX, partition) == 0;
    PQclear(res);
    if (r == 0)
        pl_http_reply_error(req, 404, "not_found", "no such conversation");
    else if (r < 0)
        pl_http_reply_error(req, 503, "unavailable", "database unavailable; retry");
    return r;
}

static void typing_delivered(void *opaque, int err, const char *errstr, int32_t partition,
                             int64_t offset)
{
    (void)opaque;
    (void)partition;
    (void)offset;
    if (err) /* best effort: the next keystroke sends another */
        pl_debug("typing_lost", "msg=\"%s\"", errstr ? errstr : "");
}

static void typing_publish(command *cmd, const char *user, const char *conv)
{
    char *ev = NULL;
    size_t len = 0;
    pl_jw w;
    int r = pl_event_begin(&w, "typing", NULL, user, conv, pl_time_real_ms());

    if (!r)
        r = pl_event_end(&w, &ev, &len);
    if (!r)
        r = pl_kafka_produce(cmd->producer,
                             pl_cfg_str("PARLEY_EPHEMERAL_TOPIC", "parley.ephemeral"), conv,
                             ev, len, typing_delivered, NULL);
    if (r)
        pl_warn("typing_not_sent", "conversation_id=%s err=%d", conv, r);
    free(ev);
}

void command_typing(pl_http_req *req, void *ctx)
{
    command *cmd = ctx;
    const char *conv = pl_http_param(req, "id"), *user = pl_http_claims(req)->sub;
    const char *parts[2] = {user, conv};
    char key[PL_ID_LEN];
    long long part;

    if (!pl_id_valid(conv)) {
        pl_http_reply_error(req, 404, "not_found", "no such conversation");
        return;
    }
    if (live_member(cmd, req, conv, &part) != 1)
        return;
    pthread_once(&typing_once, typing_init);
    /* pl_rate keys are short; a derived id names the pair in 36 bytes. */
    pl_id_derive(key, "parley.typing", parts, 2);
    if (!typing_rate || pl_rate_take(typing_rate, key, pl_time_mono_ms()))
        typing_publish(cmd, user, conv);
    pl_http_reply(req, 202, strdup("{}"));
}

typedef struct read_state {
    char conv[PL_ID_LEN];
} read_state;

static int read_event(const char *user, const char *conv, const char *pos, char **ev,
                      size_t *len)
{
    pl_jw w;
    int r = pl_event_begin(&w, "read.updated", NULL, user, conv, pl_time_real_ms());

    if (r)
        return r;
    pl_jw_kstr(&w, "user_id", user);
    pl_jw_kstr(&w, "last_read_position", pos);
    return pl_event_end(&w, ev, len);
}

void command_read(pl_http_req *req, void *ctx)
{
    command *cmd = ctx;
    const char *conv = pl_http_param(req, "id"), *user = pl_http_claims(req)->sub, *ps;
    command_op *op = NULL;
    yajl_val body = NULL;
    char *ev = NULL;
    size_t len = 0;
    long long part;
    pl_pos pos;

    if (!pl_id_valid(conv)) {
        pl_http_reply_error(req, 404, "not_found", "no such conversation");
        return;
    }
    if (pl_http_body_json(req, &body) != 0)
        return;
    ps = pl_json_str(body, "position");
    if (!ps || pl_pos_parse(ps, &pos) != 0) {
        pl_http_reply_error(req, 400, "bad_request", "position must be a position string");
        goto out;
    }
    if (!command_rate_ok(cmd, req) || live_member(cmd, req, conv, &part) != 1)
        goto out;
    if (pos.partition != part) {
        pl_http_reply_error(req, 400, "bad_request", "position is not in this conversation");
        goto out;
    }
    op = calloc(1, sizeof(*op));
    if (!op || read_event(user, conv, ps, &ev, &len) != 0) {
        pl_http_reply_internal(req, -ENOMEM);
        goto out;
    }
    *op = (command_op){.cmd = cmd, .req = req, .done = command_position_done, .data = NULL};
    command_produce(op, conv, ev, len);
    op = NULL;
out:
    free(op);
    free(ev);
    yajl_tree_free(body);
}
