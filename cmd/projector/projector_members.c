/* Group events: profile updates, deletion, membership, roles, invites.
 *
 * The command API only pre-checks. Here every rule is enforced again in
 * stream order, inside the statement that applies the change, so an event
 * produced by someone demoted or removed earlier in the log changes
 * nothing. Every membership change is also logged by offset
 * (history.member_log): pushers read who was a member at a given offset. */
#include "projector_events.h"
#include "pl_cfg.h"
#include "pl_id.h"
#include "pl_log.h"
#include "pl_pg.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* SQL fragments: conv is a live group; actor holds one of roles in conv. */
#define GROUP_ALIVE(conv)                                                           \
    "EXISTS (SELECT 1 FROM conversations WHERE id = " conv                  \
    " AND kind = 'group' AND deleted_at IS NULL)"
#define ACTOR_HAS(conv, actor, roles)                                               \
    "EXISTS (SELECT 1 FROM members WHERE conversation_id = " conv           \
    " AND user_id = " actor " AND role IN " roles ")"

static long long group_cap(void)
{
    static long long cap = 0;
    if (!cap && pl_cfg_int("PARLEY_GROUP_MAX_MEMBERS", 1000, 2, 10000, &cap) != 0) {
        pl_warn("config", "setting=PARLEY_GROUP_MAX_MEMBERS msg=\"2-10000; using 1000\"");
        cap = 1000;
    }
    return cap;
}

static int bad(apply_ctx *a, const char *why)
{
    snprintf(a->err, a->errlen, "%s %s", a->ev->type, why);
    return -EINVAL;
}

/* data: {"changes": {title?, description?, avatar_id?, public?}} */
int apply_conversation_updated(apply_ctx *a)
{
    yajl_val ch = pl_json_get(a->ev->data, "changes");
    yajl_val t, d, av, pub;
    PGresult *res = NULL;

    if (!YAJL_IS_OBJECT(ch))
        return bad(a, "lacks changes");
    t = pl_json_get(ch, "title");
    d = pl_json_get(ch, "description");
    av = pl_json_get(ch, "avatar_id");
    pub = pl_json_get(ch, "public");
    if ((t && !YAJL_IS_STRING(t)) || (d && !YAJL_IS_STRING(d) && !YAJL_IS_NULL(d)) ||
        (av && !YAJL_IS_NULL(av) && !(YAJL_IS_STRING(av) && pl_id_valid(av->u.string))) ||
        (pub && !YAJL_IS_TRUE(pub) && !YAJL_IS_FALSE(pub)))
        return bad(a, "has a malformed change");
    const char *p[] = {a->ev->conversation_id, a->ev->actor,
                       t ? t->u.string : NULL,
                       d ? "t" : "f", YAJL_IS_STRING(d) ? d->u.string : NULL,
                       av ? "t" : "f", YAJL_IS_STRING(av) ? av->u.string : NULL,
                       pub ? (YAJL_IS_TRUE(pub) ? "t" : "f") : NULL};
    int r = pl_pg_exec(a->pg, &res, a->err, a->errlen,
        "UPDATE conversations SET title = coalesce($3, title),"
        " description = CASE WHEN $4::bool THEN $5 ELSE description END,"
        " avatar_id = CASE WHEN $6::bool THEN $7::uuid ELSE avatar_id END,"
        " public = coalesce($8::bool, public)"
        " WHERE id = $1 AND kind = 'group' AND deleted_at IS NULL"
        " AND " ACTOR_HAS("$1", "$2", "('owner','admin')"),
        8, p);
    return apply_result(a, res, r);
}

int apply_conversation_deleted(apply_ctx *a)
{
    const char *p[] = {a->ev->conversation_id, a->ev->actor, a->ts, a->offset};
    PGresult *res = NULL;
    int r = pl_pg_exec(a->pg, &res, a->err, a->errlen,
        "WITH ok AS (UPDATE conversations"
        "  SET deleted_at = to_timestamp($3::bigint / 1000.0)"
        "  WHERE id = $1 AND kind = 'group' AND deleted_at IS NULL"
        "  AND " ACTOR_HAS("$1", "$2", "('owner')") " RETURNING id),"
        " inv AS (DELETE FROM invites WHERE conversation_id IN (SELECT id FROM ok)),"
        " del AS (DELETE FROM members WHERE conversation_id IN (SELECT id FROM ok)"
        "  RETURNING user_id)"
        " INSERT INTO member_log SELECT $1, user_id, $4, false FROM del"
        " ON CONFLICT DO NOTHING",
        4, p);
    return apply_result(a, res, r);
}

/* data: {user_id, role, via: admin|join|invite, invite_id?, conversation}.
 * The cap, the actor's right and the invite's remaining uses are all
 * judged here, in log order, which is what makes use counting exact. */
int apply_member_added(apply_ctx *a)
{
    const char *user = pl_json_str(a->ev->data, "user_id");
    const char *via = pl_json_str(a->ev->data, "via");
    const char *inv = pl_json_str(a->ev->data, "invite_id");
    char cap[24];
    PGresult *res = NULL;

    if (!pl_id_valid(user) || !via ||
        (strcmp(via, "admin") && strcmp(via, "join") && strcmp(via, "invite")))
        return bad(a, "lacks user_id or a known via");
    if (!strcmp(via, "invite") && !pl_id_valid(inv))
        return bad(a, "via invite lacks invite_id");
    snprintf(cap, sizeof(cap), "%lld", group_cap());
    const char *p[] = {a->ev->conversation_id, user, a->ev->actor, via,
                       strcmp(via, "invite") ? NULL : inv, a->ts, a->offset, cap};
    int r = pl_pg_exec(a->pg, &res, a->err, a->errlen,
        "WITH conv AS (SELECT c.id FROM conversations c"
        "  WHERE c.id = $1 AND c.kind = 'group' AND c.deleted_at IS NULL"
        "  AND (SELECT count(*) FROM members WHERE conversation_id = $1) < $8::int"
        "  AND NOT EXISTS (SELECT 1 FROM members"
        "                  WHERE conversation_id = $1 AND user_id = $2)"
        "  AND CASE $4 WHEN 'admin' THEN " ACTOR_HAS("$1", "$3", "('owner','admin')")
        "    WHEN 'join' THEN c.public AND $2::uuid = $3::uuid"
        "    ELSE $2::uuid = $3::uuid END),"
        " inv AS (UPDATE invites SET uses = uses + 1"
        "  WHERE $4 = 'invite' AND id = $5::uuid AND conversation_id = $1"
        "  AND expires_at > to_timestamp($6::bigint / 1000.0)"
        "  AND (max_uses IS NULL OR uses < max_uses) AND EXISTS (SELECT 1 FROM conv)"
        "  RETURNING id),"
        " ins AS (INSERT INTO members (conversation_id, user_id, role, joined_at)"
        "  SELECT id, $2, 'member', to_timestamp($6::bigint / 1000.0) FROM conv"
        "  WHERE $4 <> 'invite' OR EXISTS (SELECT 1 FROM inv)"
        "  ON CONFLICT DO NOTHING RETURNING user_id)"
        " INSERT INTO member_log SELECT $1, user_id, $7, true FROM ins"
        " ON CONFLICT DO NOTHING",
        8, p);
    return apply_result(a, res, r);
}

/* data: {user_id, reason: left|removed}. Nobody removes the owner; the
 * owner cannot leave; an admin removes members only, the owner anyone. */
int apply_member_removed(apply_ctx *a)
{
    const char *user = pl_json_str(a->ev->data, "user_id");
    PGresult *res = NULL;

    if (!pl_id_valid(user))
        return bad(a, "lacks user_id");
    const char *p[] = {a->ev->conversation_id, user, a->ev->actor, a->offset};
    int r = pl_pg_exec(a->pg, &res, a->err, a->errlen,
        "WITH del AS (DELETE FROM members t"
        "  WHERE t.conversation_id = $1 AND t.user_id = $2 AND t.role <> 'owner'"
        "  AND " GROUP_ALIVE("$1")
        "  AND ($2::uuid = $3::uuid OR EXISTS (SELECT 1 FROM members x"
        "       WHERE x.conversation_id = $1 AND x.user_id = $3"
        "       AND (x.role = 'owner' OR (x.role = 'admin' AND t.role = 'member'))))"
        "  RETURNING user_id)"
        " INSERT INTO member_log SELECT $1, user_id, $4, false FROM del"
        " ON CONFLICT DO NOTHING",
        4, p);
    return apply_result(a, res, r);
}

/* data: {user_id, role, previous_owner_id?}. role "owner" transfers: the
 * target becomes owner and the actor admin, in one statement. */
int apply_member_role_changed(apply_ctx *a)
{
    const char *user = pl_json_str(a->ev->data, "user_id");
    const char *role = pl_json_str(a->ev->data, "role");
    PGresult *res = NULL;

    if (!pl_id_valid(user) || !role ||
        (strcmp(role, "owner") && strcmp(role, "admin") && strcmp(role, "member")))
        return bad(a, "lacks user_id or a known role");
    const char *p[] = {a->ev->conversation_id, user, a->ev->actor, role};
    int r = pl_pg_exec(a->pg, &res, a->err, a->errlen,
        "UPDATE members SET role = CASE WHEN user_id = $2 THEN $4 ELSE 'admin' END"
        " WHERE conversation_id = $1"
        " AND (user_id = $2 OR ($4 = 'owner' AND user_id = $3))"
        " AND $2::uuid <> $3::uuid AND " GROUP_ALIVE("$1")
        " AND " ACTOR_HAS("$1", "$3", "('owner')")
        " AND EXISTS (SELECT 1 FROM members WHERE conversation_id = $1"
        "             AND user_id = $2)",
        4, p);
    return apply_result(a, res, r);
}

/* data: {invite_id, code_hash, expires_at (ms), max_uses|null} */
int apply_invite_created(apply_ctx *a)
{
    const char *id = pl_json_str(a->ev->data, "invite_id");
    const char *hash = pl_json_str(a->ev->data, "code_hash");
    yajl_val exp = pl_json_get(a->ev->data, "expires_at");
    yajl_val max = pl_json_get(a->ev->data, "max_uses");
    char exps[24], maxs[24];
    PGresult *res = NULL;

    if (!pl_id_valid(id) || !hash || strlen(hash) != 64 || !YAJL_IS_INTEGER(exp) ||
        (max && !YAJL_IS_NULL(max) && !(YAJL_IS_INTEGER(max) && YAJL_GET_INTEGER(max) > 0)))
        return bad(a, "has malformed fields");
    snprintf(exps, sizeof(exps), "%lld", (long long)YAJL_GET_INTEGER(exp));
    if (YAJL_IS_INTEGER(max))
        snprintf(maxs, sizeof(maxs), "%lld", (long long)YAJL_GET_INTEGER(max));
    const char *p[] = {a->ev->conversation_id, a->ev->actor, id, hash, a->ts, exps,
                       YAJL_IS_INTEGER(max) ? maxs : NULL};
    int r = pl_pg_exec(a->pg, &res, a->err, a->errlen,
        "INSERT INTO invites (id, conversation_id, code_hash, created_by,"
        " created_at, expires_at, max_uses)"
        " SELECT $3, $1, $4, $2, to_timestamp($5::bigint / 1000.0),"
        "  to_timestamp($6::bigint / 1000.0), $7::int"
        " WHERE " GROUP_ALIVE("$1") " AND " ACTOR_HAS("$1", "$2", "('owner','admin')")
        " ON CONFLICT DO NOTHING",
        7, p);
    return apply_result(a, res, r);
}
