/* Conversation and membership events. */
#include "projector_events.h"
#include "pl_buf.h"
#include "pl_id.h"
#include "pl_pg.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define MAX_MEMBERS 1024

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

int apply_conversation_created(apply_ctx *a)
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
        " INSERT INTO conversations (id, kind, title, created_by, created_at,"
        "  partition, \"offset\", last_activity_at)"
        " VALUES ($1, $2, $3, $4, to_timestamp($5::bigint / 1000.0), $6, $7,"
        "  to_timestamp($5::bigint / 1000.0))"
        " ON CONFLICT (id) DO NOTHING RETURNING id, created_at),"
        " mem AS ("
        " INSERT INTO members (conversation_id, user_id, role, joined_at)"
        " SELECT conv.id, m.user_id, m.role, conv.created_at"
        " FROM conv, unnest($8::uuid[], $9::text[]) AS m(user_id, role)"
        " ON CONFLICT DO NOTHING RETURNING conversation_id, user_id)"
        " INSERT INTO member_log SELECT conversation_id, user_id, $7, true"
        " FROM mem ON CONFLICT DO NOTHING",
        9, p);
    r = apply_result(a, res, r);
out:
    pl_buf_free(&ids);
    pl_buf_free(&roles);
    return r;
}

