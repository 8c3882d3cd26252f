#include "projector_apply.h"
#include "projector_events.h"
#include "pl_buf.h"
#include "pl_event.h"
#include "pl_pg.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* One line per event type the projection knows. */
static const struct {
    const char *type;
    int (*fn)(apply_ctx *a);
} handlers[] = {
    {"conversation.created", apply_conversation_created},
    {"message.created", apply_message_created},
    {"message.edited", apply_message_edited},
    {"message.deleted", apply_message_deleted},
    {"reaction.added", apply_reaction_added},
    {"reaction.removed", apply_reaction_removed},
    {"conversation.updated", apply_conversation_updated},
    {"conversation.deleted", apply_conversation_deleted},
    {"member.added", apply_member_added},
    {"member.removed", apply_member_removed},
    {"member.role_changed", apply_member_role_changed},
    {"invite.created", apply_invite_created},
    {"read.updated", apply_read_updated},
};

/* A constraint or data error means the event itself is bad: skip it.
 * Anything else (connection, serialization) is worth a retry. */
int apply_result(apply_ctx *a, PGresult *res, int r)
{
    /* The SQLSTATE lives in res: read it before res goes. */
    const char *state = pl_pg_sqlstate(res);
    int bad = strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0;
    (void)a;
    PQclear(res);
    if (r == 0)
        return 0;
    return bad ? -EINVAL : -EIO;
}

int projector_parse(const projector_event *m, pl_event *ev, char *err, size_t errlen)
{
    pl_buf b;
    int r;

    /* pl_event_parse needs a terminated string; Kafka payloads are not.
     * The tree copies what it keeps, so the buffer goes right away. */
    memset(ev, 0, sizeof(*ev));
    pl_buf_init(&b, PL_EVENT_MAX);
    if (pl_buf_append(&b, m->payload ? m->payload : "", m->len) != 0) {
        snprintf(err, errlen, "event larger than %d bytes", PL_EVENT_MAX);
        return -EINVAL;
    }
    r = pl_event_parse(b.data, b.len, ev, err, errlen);
    pl_buf_free(&b);
    if (r)
        return r;
    if (m->key_len != strlen(ev->conversation_id) ||
        memcmp(m->key, ev->conversation_id, m->key_len) != 0) {
        snprintf(err, errlen, "event key is not its conversation_id");
        pl_event_free(ev);
        return -EINVAL;
    }
    return 0;
}

void projector_ctx(apply_ctx *a, PGconn *pg, const projector_event *m, const pl_event *ev,
                   char *err, size_t errlen)
{
    *a = (apply_ctx){.pg = pg, .ev = ev, .err = err, .errlen = errlen};
    snprintf(a->ts, sizeof(a->ts), "%" PRId64, ev->ts_ms);
    snprintf(a->partition, sizeof(a->partition), "%" PRId32, m->partition);
    snprintf(a->offset, sizeof(a->offset), "%" PRId64, m->offset);
}

int projector_apply_parsed(PGconn *pg, const projector_event *m, const pl_event *ev,
                           char *err, size_t errlen)
{
    apply_ctx a;

    projector_ctx(&a, pg, m, ev, err, errlen);
    for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
        if (strcmp(ev->type, handlers[i].type) == 0)
            return handlers[i].fn(&a);
    /* Unknown types belong to newer writers; skipping keeps us running. */
    return 0;
}

int projector_apply(PGconn *pg, const projector_event *m, char *err, size_t errlen)
{
    pl_event ev;
    int r = projector_parse(m, &ev, err, errlen);

    if (r)
        return r;
    r = projector_apply_parsed(pg, m, &ev, err, errlen);
    pl_event_free(&ev);
    return r;
}

int projector_use_schema(PGconn *pg, const char *schema)
{
    /* set_config takes the name as a parameter; quote_ident keeps it one. */
    const char *p[1] = {schema};
    return pl_pg_exec(pg, NULL, NULL, 0,
                      "SELECT set_config('search_path', quote_ident($1), false)", 1, p);
}
