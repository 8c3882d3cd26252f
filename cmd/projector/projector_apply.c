#include "projector_apply.h"
#include "pl_buf.h"
#include "pl_event.h"
#include "pl_id.h"
#include "pl_pg.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define MAX_MEMBERS 1024

typedef struct apply_ctx {
    PGconn *pg;
    const pl_event *ev;
    char ts[24], partition[16], offset[24];
    char *err;
    size_t errlen;
} apply_ctx;

/* A constraint or data error means the event itself is bad: skip it.
 * Anything else (connection, serialization) is worth a retry. */
static int pg_result(apply_ctx *a, PGresult *res, int r)
{
    const char *state = pl_pg_sqlstate(res);
    PQclear(res);
    if (r == 0)
        return 0;
    if (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0)
        return -EINVAL;
    return -EIO;
}

static int apply_message(apply_ctx *a)
{
    const pl_event *ev = a->ev;
    const char *mid = pl_json_str(ev->data, "message_id");
    const char *cmid = pl_json_str(ev->data, "client_msg_id");
    const char *text = pl_json_str(ev->data, "text");
    const char *p[] = {mid, ev->conversation_id, ev->actor, cmid, text, a->ts,
                       ev->id, a->partition, a->offset};
    PGresult *res = NULL;

    if (!pl_id_valid(mid) || !cmid || !text) {
        snprintf(a->err, a->errlen, "message.created lacks message_id/client_msg_id/text");
        return -EINVAL;
    }
    /* The membership test makes the projection enforce, in stream order,
     * what the command API checked before producing. */
    int r = pl_pg_exec(a->pg, &res, a->err, a->errlen,
        "WITH ins AS ("
        " INSERT INTO history.messages (id, conversation_id, sender_id, client_msg_id,"
        "  text, created_at, event_id, partition, \"offset\")"
        " SELECT $1, $2, $3, $4, $5, to_timestamp($6::bigint / 1000.0), $7, $8, $9"
        " WHERE EXISTS (SELECT 1 FROM history.members"
        "               WHERE conversation_id = $2 AND user_id = $3)"
        " ON CONFLICT (id) DO NOTHING RETURNING id, created_at)"
        " UPDATE history.conversations c"
        " SET last_message_id = ins.id, last_activity_at = ins.created_at"
        " FROM ins WHERE c.id = $2",
        9, p);
    return pg_result(a, res, r);
}

/* Builds Postgres array literals of member ids and roles. */
static int members_arrays(apply_ctx *a, yajl_val members, pl_buf *ids, pl_buf *roles)
{
    size_t n = YAJL_IS_ARRAY(members) ? members->u.array.len : 0;
    int r = 0;

    if (n == 0 || n > MAX_MEMBERS) {
        snprintf(a->err, a->errlen, "conversation.created needs 1..%d members", MAX_MEMBERS);
        return -EINVAL;
    }
    r = pl_buf_puts(ids, "{") || pl_buf_puts(roles, "{");
    for (size_t i = 0; i < n && !r; i++) {
        const char *uid = pl_json_str(members->u.array.values[i], "user_id");
        const char *role = pl_json_str(members->u.array.values[i], "role");
        if (!pl_id_valid(uid) || !role ||
            (strcmp(role, "owner") && strcmp(role, "admin") && strcmp(role, "member"))) {
            snprintf(a->err, a->errlen, "member %zu has a bad user_id or role", i);
            return -EINVAL;
        }
        r = pl_buf_printf(ids, "%s%s", i ? "," : "", uid) ||
            pl_buf_printf(roles, "%s%s", i ? "," : "", role);
    }
    if (!r)
        r = pl_buf_puts(ids, "}") || pl_buf_puts(roles, "}");
    return r ? -ENOMEM : 0;
}

static int apply_conversation(apply_ctx *a)
{
    const pl_event *ev = a->ev;
    const char *kind = pl_json_str(ev->data, "kind");
    yajl_val title = pl_json_get(ev->data, "title");
    pl_buf ids, roles;
    PGresult *res = NULL;
    int r;

    if (!kind || (strcmp(kind, "direct") && strcmp(kind, "group"))) {
        snprintf(a->err, a->errlen, "conversation.created has a bad kind");
        return -EINVAL;
    }
    pl_buf_init(&ids, 64 * 1024);
    pl_buf_init(&roles, 16 * 1024);
    r = members_arrays(a, pl_json_get(ev->data, "members"), &ids, &roles);
    if (r)
        goto out;
    const char *p[] = {ev->conversation_id, kind,
                       YAJL_IS_STRING(title) ? title->u.string : NULL,
                       ev->actor, a->ts, a->partition, a->offset, ids.data, roles.data};
    r = pl_pg_exec(a->pg, &res, a->err, a->errlen,
        "WITH conv AS ("
        " INSERT INTO history.conversations (id, kind, title, created_by, created_at,"
        "  partition, \"offset\", last_activity_at)"
        " VALUES ($1, $2, $3, $4, to_timestamp($5::bigint / 1000.0), $6, $7,"
        "  to_timestamp($5::bigint / 1000.0))"
        " ON CONFLICT (id) DO NOTHING RETURNING id, created_at)"
        " INSERT INTO history.members (conversation_id, user_id, role, joined_at)"
        " SELECT conv.id, m.user_id, m.role, conv.created_at"
        " FROM conv, unnest($8::uuid[], $9::text[]) AS m(user_id, role)"
        " ON CONFLICT DO NOTHING",
        9, p);
    r = pg_result(a, res, r);
out:
    pl_buf_free(&ids);
    pl_buf_free(&roles);
    return r;
}

int projector_apply(PGconn *pg, const rd_kafka_message_t *m, char *err, size_t errlen)
{
    apply_ctx a = {.pg = pg, .err = err, .errlen = errlen};
    pl_event ev;
    char *json = NULL;
    int r;

    /* pl_event_parse needs a terminated string; Kafka payloads are not. */
    pl_buf b;
    pl_buf_init(&b, PL_EVENT_MAX);
    if (pl_buf_append(&b, m->payload ? m->payload : "", m->len) != 0) {
        snprintf(err, errlen, "event larger than %d bytes", PL_EVENT_MAX);
        return -EINVAL;
    }
    json = b.data;
    r = pl_event_parse(json, b.len, &ev, err, errlen);
    if (r)
        goto out;
    if (m->key_len != strlen(ev.conversation_id) ||
        memcmp(m->key, ev.conversation_id, m->key_len) != 0) {
        snprintf(err, errlen, "event key is not its conversation_id");
        r = -EINVAL;
        goto out;
    }
    a.ev = &ev;
    snprintf(a.ts, sizeof(a.ts), "%" PRId64, ev.ts_ms);
    snprintf(a.partition, sizeof(a.partition), "%" PRId32, m->partition);
    snprintf(a.offset, sizeof(a.offset), "%" PRId64, m->offset);
    if (strcmp(ev.type, "message.created") == 0)
        r = apply_message(&a);
    else if (strcmp(ev.type, "conversation.created") == 0)
        r = apply_conversation(&a);
    /* Unknown types belong to newer writers; skipping keeps us running. */
out:
    pl_event_free(&ev);
    pl_buf_free(&b);
    return r;
}
