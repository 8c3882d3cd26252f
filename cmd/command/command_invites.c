/* POST /api/v1/conversations/{id}/invites {expires_in_s?, max_uses?} (admin+)
 * POST /api/v1/invites/{code}/accept
 *
 * A code is 128 random bits, base64url. Only its BLAKE2b-256 hash goes
 * into the event and the projection, so neither can hand out invites.
 * Uses are counted by the projector in stream order (a conversation's
 * events share a partition), which keeps max_uses exact under races. */
#include "command_group.h"
#include "pl_log.h"
#include "pl_time.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CODE_BYTES 16
#define CODE_LEN 22 /* base64url of 16 bytes, unpadded */
#define HASH_HEX 65
#define EXPIRES_DEFAULT_S (7 * 86400)
#define EXPIRES_MAX_S (30 * 86400)
#define USES_MAX 100000

typedef struct invite_state {
    char code[CODE_LEN + 1];
    int64_t expires_ms;
    long long max_uses; /* 0: unlimited */
} invite_state;

static void code_hash(const char *code, char out[HASH_HEX])
{
    unsigned char h[32];
    crypto_generichash(h, sizeof(h), (const unsigned char *)code, strlen(code), NULL, 0);
    sodium_bin2hex(out, HASH_HEX, h, sizeof(h));
}

static int code_valid(const char *code)
{
    size_t n = code ? strlen(code) : 0;
    if (n != CODE_LEN)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = code[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

static void invite_reply(void *opaque, int reached)
{
    command_op *op = opaque;
    invite_state *s = op->data;
    char iso[PL_TIME_ISO_LEN];
    pl_jw w;

    if (!reached)
        pl_warn("invite_unprojected", "msg=\"answering before the projection caught up\"");
    pl_time_iso(iso, s->expires_ms);
    if (pl_jw_init(&w) == 0) {
        pl_jw_obj(&w);
        pl_jw_kstr(&w, "code", s->code);
        pl_jw_kstr(&w, "expires_at", iso);
        pl_jw_key(&w, "max_uses");
        if (s->max_uses)
            pl_jw_int(&w, s->max_uses);
        else
            pl_jw_null(&w);
        pl_jw_end_obj(&w);
        pl_http_reply_jw(op->req, 201, &w);
    } else {
        pl_http_reply_internal(op->req, -ENOMEM);
    }
    free(s);
    free(op);
}

/* Like a create, the answer waits for the projection: the code works as
 * soon as the caller has it. */
static void invite_done(command_op *op, int err, pl_pos pos)
{
    if (err) {
        pl_http_reply_error(op->req, 503, "unavailable", "not accepted; retry");
        free(op->data);
        free(op);
        return;
    }
    if (pl_history_wait_add(op->cmd->wait, pos, (int)op->cmd->wait_ms, invite_reply, op))
        invite_reply(op, 0);
}

static int invite_parse(pl_http_req *req, yajl_val body, invite_state *s)
{
    yajl_val exp = pl_json_get(body, "expires_in_s"), max = pl_json_get(body, "max_uses");
    long long e = EXPIRES_DEFAULT_S;

    if (exp && !YAJL_IS_NULL(exp)) {
        if (!YAJL_IS_INTEGER(exp) || YAJL_GET_INTEGER(exp) < 1 ||
            YAJL_GET_INTEGER(exp) > EXPIRES_MAX_S) {
            pl_http_reply_error(req, 400, "bad_request",
                                "expires_in_s must be an integer from 1 to 2592000");
            return -EINVAL;
        }
        e = YAJL_GET_INTEGER(exp);
    }
    if (max && !YAJL_IS_NULL(max)) {
        if (!YAJL_IS_INTEGER(max) || YAJL_GET_INTEGER(max) < 1 ||
            YAJL_GET_INTEGER(max) > USES_MAX) {
            pl_http_reply_error(req, 400, "bad_request",
                                "max_uses must be null or an integer from 1 to 100000");
            return -EINVAL;
        }
        s->max_uses = YAJL_GET_INTEGER(max);
    }
    s->expires_ms = pl_time_real_ms() + e * 1000;
    return 0;
}

static int invite_event(pl_http_req *req, const char *conv, const invite_state *s, pl_jw *w)
{
    char id[PL_ID_LEN], hash[HASH_HEX];
    int r = command_group_event(w, req, "invite.created", conv);

    if (r)
        return r;
    pl_id_random(id);
    code_hash(s->code, hash);
    pl_jw_kstr(w, "invite_id", id);
    pl_jw_kstr(w, "code_hash", hash);
    pl_jw_kint(w, "expires_at", s->expires_ms);
    pl_jw_key(w, "max_uses");
    if (s->max_uses)
        pl_jw_int(w, s->max_uses);
    else
        pl_jw_null(w);
    return 0;
}

void command_create_invite(pl_http_req *req, void *ctx)
{
    command *cmd = ctx;
    const char *conv = pl_http_param(req, "id");
    unsigned char raw[CODE_BYTES];
    invite_state *s = NULL;
    yajl_val body = NULL;
    command_group g;
    PGconn *pg;
    pl_jw w = {0};
    int r;

    if (!pl_id_valid(conv)) {
        pl_http_reply_error(req, 404, "not_found", "no such conversation");
        return;
    }
    if (pl_http_body_json(req, &body) != 0)
        return;
    if (!(s = calloc(1, sizeof(*s)))) {
        pl_http_reply_internal(req, -ENOMEM);
        goto out;
    }
    if (invite_parse(req, body, s) || !command_rate_ok(cmd, req) || !(pg = command_pg(cmd, req)))
        goto out;
    r = command_group_authorise(pg, req, conv, ROLE_ADMIN, &g);
    pl_pg_release(cmd->pool, pg);
    if (r)
        goto out;
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(s->code, sizeof(s->code), raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    if ((r = invite_event(req, conv, s, &w)) != 0) {
        pl_http_reply_internal(req, r);
        goto out;
    }
    command_group_produce_with(cmd, req, conv, &w, invite_done, s);
    s = NULL;
out:
    free(s);
    pl_jw_free(&w);
    yajl_tree_free(body);
}

typedef struct invite_row {
    char id[PL_ID_LEN];
    char conv[PL_ID_LEN];
    int usable;
} invite_row;

/* 0 and *row for a live invite of a live group, -ENOENT, -EIO. */
static int invite_find(PGconn *pg, const char *code, invite_row *row)
{
    char hash[HASH_HEX];
    const char *p[] = {hash};
    PGresult *res = NULL;
    int r;

    code_hash(code, hash);
    r = pl_pg_exec(pg, &res, NULL, 0,
                   "SELECT i.id, i.conversation_id,"
                   " i.expires_at > now() AND (i.max_uses IS NULL OR i.uses < i.max_uses)"
                   " FROM history.invites i JOIN history.conversations c"
                   "  ON c.id = i.conversation_id AND c.deleted_at IS NULL"
                   " WHERE i.code_hash = $1",
                   1, p);
    if (r == 0 && PQntuples(res) != 1)
        r = -ENOENT;
    if (r == 0) {
        snprintf(row->id, sizeof(row->id), "%s", PQgetvalue(res, 0, 0));
        snprintf(row->conv, sizeof(row->conv), "%s", PQgetvalue(res, 0, 1));
        row->usable = PQgetvalue(res, 0, 2)[0] == 't';
    }
    PQclear(res);
    return r;
}

/* 0: produce w; 1: already a member (answered with the conversation);
 * otherwise replied. */
static int accept_check(PGconn *pg, pl_http_req *req, const char *code, invite_row *row,
                        pl_jw *w)
{
    command_group g;
    int r = invite_find(pg, code, row);

    if (r == 0)
        r = command_group_get(pg, row->conv, pl_http_claims(req)->sub, &g);
    if (r == -ENOENT)
        pl_http_reply_error(req, 404, "not_found", "no such invite");
    else if (r)
        pl_http_reply_error(req, 503, "unavailable", "database unavailable; retry");
    else if (g.role != ROLE_NONE)
        return 1;
    else if (!row->usable)
        pl_http_reply_error(req, 410, "gone", "the invite has expired or been used up");
    else if (g.members >= command_group_cap())
        pl_http_reply_error(req, 409, "group_full", "the group has reached its size limit");
    else if ((r = command_group_event(w, req, "member.added", row->conv)) != 0)
        pl_http_reply_internal(req, r);
    else {
        pl_jw_kstr(w, "user_id", pl_http_claims(req)->sub);
        pl_jw_kstr(w, "role", "member");
        pl_jw_kstr(w, "via", "invite");
        pl_jw_kstr(w, "invite_id", row->id);
        if ((r = command_group_summary(pg, row->conv, w)) == 0)
            return 0;
        pl_http_reply_error(req, 503, "unavailable", "database unavailable; retry");
    }
    return -EPERM;
}

void command_accept_invite(pl_http_req *req, void *ctx)
{
    command *cmd = ctx;
    const char *code = pl_http_param(req, "code");
    invite_row row;
    PGconn *pg;
    pl_jw w = {0};
    int r;

    if (!code_valid(code)) {
        pl_http_reply_error(req, 404, "not_found", "no such invite");
        return;
    }
    if (!command_rate_ok(cmd, req) || !(pg = command_pg(cmd, req)))
        return;
    r = accept_check(pg, req, code, &row, &w);
    if (r == 1)
        command_group_reply_conversation(cmd, req, pg, row.conv);
    pl_pg_release(cmd->pool, pg);
    if (r == 0)
        command_group_join(cmd, req, row.conv, row.id, &w);
    pl_jw_free(&w);
}
