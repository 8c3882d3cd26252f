#include "auth_store.h"
#include "pl_log.h"
#include "pl_num.h"
#include "pl_time.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

/* A handler waits this long for a connection before answering 503. */
#define STORE_WAIT_MS 2000

#define USER_COLS "u.id, u.username, u.display_name, " \
                  "(extract(epoch FROM u.created_at) * 1000)::bigint"

/* pl_pg_exec plus the errno mapping of auth_store.h. */
static int exec(PGconn *c, PGresult **res, const char *sql, int n,
                const char *const *params)
{
    PGresult *r = NULL;
    int rc = pl_pg_exec(c, &r, NULL, 0, sql, n, params);

    if (rc) {
        const char *state = pl_pg_sqlstate(r);
        rc = strcmp(state, "23505") == 0 ? -EEXIST : -EIO;
        if (rc == -EIO)
            pl_error("pg_error", "sqlstate=%s", state[0] ? state : "none");
        PQclear(r);
        r = NULL;
    }
    if (res)
        *res = r;
    else
        PQclear(r);
    return rc;
}

/* One statement on a borrowed connection. */
static int query(pl_pg_pool *p, PGresult **res, const char *sql, int n,
                 const char *const *params)
{
    PGconn *c = pl_pg_acquire(p, STORE_WAIT_MS);
    int r;

    if (!c)
        return -EAGAIN;
    r = exec(c, res, sql, n, params);
    pl_pg_release(p, c);
    return r;
}

/* Reads USER_COLS starting at column col. */
static void user_from_row(const PGresult *res, int row, int col, auth_user *u)
{
    long long ms = 0;

    snprintf(u->id, sizeof(u->id), "%s", PQgetvalue(res, row, col));
    snprintf(u->username, sizeof(u->username), "%s", PQgetvalue(res, row, col + 1));
    snprintf(u->display_name, sizeof(u->display_name), "%s",
             PQgetvalue(res, row, col + 2));
    pl_num_parse_ll(PQgetvalue(res, row, col + 3), LLONG_MIN, LLONG_MAX, &ms);
    u->created_ms = ms;
    u->hash[0] = '\0';
}

int auth_store_user_create(pl_pg_pool *p, const auth_user *u)
{
    char created[PL_TIME_ISO_LEN];
    const char *params[5] = {u->id, u->username, u->display_name, u->hash, created};

    pl_time_iso(created, u->created_ms);
    return query(p, NULL,
                 "INSERT INTO auth.users (id, username, display_name, password_hash,"
                 " created_at) VALUES ($1, $2, $3, $4, $5)",
                 5, params);
}

/* Runs a lookup whose first columns are USER_COLS and, if extra, the hash. */
static int user_get(pl_pg_pool *p, const char *sql, const char *key, int extra,
                    auth_user *out)
{
    PGresult *res = NULL;
    int r = query(p, &res, sql, 1, &key);

    if (r)
        goto out;
    if (PQntuples(res) == 0) {
        r = -ENOENT;
        goto out;
    }
    user_from_row(res, 0, 0, out);
    if (extra)
        snprintf(out->hash, sizeof(out->hash), "%s", PQgetvalue(res, 0, 4));
out:
    PQclear(res);
    return r;
}

int auth_store_user_by_name(pl_pg_pool *p, const char *username, auth_user *out)
{
    return user_get(p, "SELECT " USER_COLS ", u.password_hash FROM auth.users u"
                       " WHERE u.username = $1",
                    username, 1, out);
}

int auth_store_user_by_id(pl_pg_pool *p, const char *id, auth_user *out)
{
    return user_get(p, "SELECT " USER_COLS " FROM auth.users u WHERE u.id = $1", id, 0,
                    out);
}

int auth_store_user_set_hash(pl_pg_pool *p, const char *id, const char *hash)
{
    const char *params[2] = {id, hash};
    return query(p, NULL, "UPDATE auth.users SET password_hash = $2 WHERE id = $1", 2,
                 params);
}

int auth_store_users_search(pl_pg_pool *p, const char *pattern, int max, auth_user *out,
                            int *n)
{
    char limit[16];
    const char *params[2] = {pattern, limit};
    PGresult *res = NULL;
    int r, rows;

    snprintf(limit, sizeof(limit), "%d", max);
    r = query(p, &res,
              "SELECT " USER_COLS " FROM auth.users u WHERE u.username LIKE $1"
              " ORDER BY u.username LIMIT $2",
              2, params);
    if (r)
        goto out;
    rows = PQntuples(res);
    for (int i = 0; i < rows && i < max; i++)
        user_from_row(res, i, 0, &out[i]);
    *n = rows < max ? rows : max;
out:
    PQclear(res);
    return r;
}

int auth_store_session_open(pl_pg_pool *p, const char *sid, const char *user_id,
                            const char *user_agent, const char *token_hash,
                            long long ttl_s)
{
    char ttl[24];
    const char *params[5] = {sid, user_id, user_agent, token_hash, ttl};

    snprintf(ttl, sizeof(ttl), "%lld", ttl_s);
    /* One statement, so no session is left without its token. */
    return query(p, NULL,
                 "WITH s AS (INSERT INTO auth.sessions (id, user_id, user_agent,"
                 " created_at, last_used_at) VALUES ($1, $2, $3, now(), now())"
                 " RETURNING id)"
                 " INSERT INTO auth.refresh_tokens (token_hash, session_id, created_at,"
                 " expires_at) SELECT $4::bytea, s.id, now(),"
                 " now() + make_interval(secs => $5::double precision) FROM s",
                 5, params);
}

int auth_store_session_revoke(pl_pg_pool *p, const char *sid, const char *user_id)
{
    const char *params[2] = {sid, user_id};
    return query(p, NULL,
                 "UPDATE auth.sessions SET revoked_at = now()"
                 " WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
                 2, params);
}

/* Locks the session too, so a concurrent logout or reuse revocation is
 * seen here rather than overwritten. */
#define ROTATE_LOCK_SQL                                                           \
    "SELECT t.session_id, t.used_at IS NOT NULL, t.expires_at <= now(),"          \
    " s.revoked_at IS NOT NULL, " USER_COLS                                       \
    " FROM auth.refresh_tokens t JOIN auth.sessions s ON s.id = t.session_id"     \
    " JOIN auth.users u ON u.id = s.user_id WHERE t.token_hash = $1::bytea"       \
    " FOR UPDATE OF t, s"

static auth_rotate_result rotate_state(const PGresult *res)
{
    if (PQntuples(res) == 0)
        return AUTH_ROTATE_UNKNOWN;
    /* Reuse first: a replayed token must burn its session even when it
     * has expired meanwhile. */
    if (PQgetvalue(res, 0, 1)[0] == 't')
        return AUTH_ROTATE_REUSED;
    if (PQgetvalue(res, 0, 3)[0] == 't')
        return AUTH_ROTATE_REVOKED;
    if (PQgetvalue(res, 0, 2)[0] == 't')
        return AUTH_ROTATE_EXPIRED;
    return AUTH_ROTATE_OK;
}

/* The good path: spend the old token, store the new one, touch the session. */
static int rotate_apply(PGconn *c, const char *old_hash, const char *new_hash,
                        const char *sid, long long ttl_s)
{
    char ttl[24];
    const char *p_new[3] = {new_hash, sid, ttl};
    int r;

    snprintf(ttl, sizeof(ttl), "%lld", ttl_s);
    r = exec(c, NULL, "UPDATE auth.refresh_tokens SET used_at = now()"
                      " WHERE token_hash = $1::bytea", 1, &old_hash);
    if (!r)
        r = exec(c, NULL,
                 "INSERT INTO auth.refresh_tokens (token_hash, session_id, created_at,"
                 " expires_at) VALUES ($1::bytea, $2, now(),"
                 " now() + make_interval(secs => $3::double precision))",
                 3, p_new);
    if (!r)
        r = exec(c, NULL, "UPDATE auth.sessions SET last_used_at = now() WHERE id = $1",
                 1, &sid);
    return r;
}

int auth_store_refresh_rotate(pl_pg_pool *p, const char *old_hash, const char *new_hash,
                              long long ttl_s, auth_rotate_result *res,
                              char sid[PL_ID_LEN], auth_user *user)
{
    PGconn *c = pl_pg_acquire(p, STORE_WAIT_MS);
    PGresult *row = NULL;
    const char *sp;
    int r;

    if (!c)
        return -EAGAIN;
    r = exec(c, NULL, "BEGIN", 0, NULL);
    if (!r)
        r = exec(c, &row, ROTATE_LOCK_SQL, 1, &old_hash);
    if (r)
        goto out;
    *res = rotate_state(row);
    if (*res == AUTH_ROTATE_UNKNOWN)
        goto out;
    snprintf(sid, PL_ID_LEN, "%s", PQgetvalue(row, 0, 0));
    sp = sid;
    user_from_row(row, 0, 4, user);
    if (*res == AUTH_ROTATE_REUSED) {
        /* The family dies: whoever holds the newer token is cut off too. */
        r = exec(c, NULL, "UPDATE auth.sessions SET revoked_at = now()"
                          " WHERE id = $1 AND revoked_at IS NULL", 1, &sp);
    } else if (*res == AUTH_ROTATE_OK) {
        r = rotate_apply(c, old_hash, new_hash, sid, ttl_s);
    }
    if (!r && (*res == AUTH_ROTATE_REUSED || *res == AUTH_ROTATE_OK))
        r = exec(c, NULL, "COMMIT", 0, NULL);
out:
    /* Revoked and expired end here too: they changed nothing. */
    if (PQtransactionStatus(c) != PQTRANS_IDLE)
        exec(c, NULL, "ROLLBACK", 0, NULL);
    PQclear(row);
    pl_pg_release(p, c);
    return r;
}

#define PROFILE_COLS USER_COLS ", u.bio, coalesce(u.avatar_id::text, ''),"             \
                     " coalesce((extract(epoch FROM u.last_seen_at) * 1000)::bigint, 0)"

int auth_store_profile_get(pl_pg_pool *p, const char *id, auth_profile *out)
{
    PGresult *res = NULL;
    long long ms = 0;
    int r = query(p, &res, "SELECT " PROFILE_COLS " FROM auth.users u WHERE u.id = $1", 1,
                  &id);

    if (r)
        goto out;
    if (PQntuples(res) == 0) {
        r = -ENOENT;
        goto out;
    }
    user_from_row(res, 0, 0, &out->u);
    snprintf(out->bio, sizeof(out->bio), "%s", PQgetvalue(res, 0, 4));
    snprintf(out->avatar_id, sizeof(out->avatar_id), "%s", PQgetvalue(res, 0, 5));
    pl_num_parse_ll(PQgetvalue(res, 0, 6), 0, LLONG_MAX, &ms);
    out->last_seen_ms = ms;
out:
    PQclear(res);
    return r;
}

int auth_store_profile_update(pl_pg_pool *p, const char *id, const char *display_name,
                              const char *bio, const char *avatar_id)
{
    const char *params[4] = {id, display_name, bio, avatar_id};
    PGresult *res = NULL;
    int r;

    /* NULL parameters keep the column; '' clears the avatar. */
    r = query(p, &res,
              "UPDATE auth.users SET display_name = coalesce($2, display_name),"
              " bio = coalesce($3, bio),"
              " avatar_id = CASE WHEN $4::text IS NULL THEN avatar_id"
              " WHEN $4::text = '' THEN NULL ELSE $4::uuid END"
              " WHERE id = $1 RETURNING id",
              4, params);
    if (!r && PQntuples(res) == 0)
        r = -ENOENT;
    PQclear(res);
    return r;
}

int auth_store_users_search2(pl_pg_pool *p, const char *name_pattern,
                             const char *display_pattern, int max, auth_user *out, int *n)
{
    char limit[16];
    const char *params[3] = {name_pattern, display_pattern, limit};
    PGresult *res = NULL;
    int r, rows;

    snprintf(limit, sizeof(limit), "%d", max);
    /* Two prefix conditions, each backed by its own index (BitmapOr). */
    r = query(p, &res,
              "SELECT " USER_COLS " FROM auth.users u"
              " WHERE ($1::text IS NOT NULL AND u.username LIKE $1)"
              " OR lower(u.display_name COLLATE \"und-x-icu\")"
              " LIKE lower($2 COLLATE \"und-x-icu\")"
              " ORDER BY u.username LIMIT $3",
              3, params);
    if (r)
        goto out;
    rows = PQntuples(res);
    for (int i = 0; i < rows && i < max; i++)
        user_from_row(res, i, 0, &out[i]);
    *n = rows < max ? rows : max;
out:
    PQclear(res);
    return r;
}

int auth_store_last_seen(pl_pg_pool *p, const char *user_id, int64_t ms)
{
    char at[PL_TIME_ISO_LEN];
    const char *params[2] = {user_id, at};

    pl_time_iso(at, ms);
    return query(p, NULL,
                 "UPDATE auth.users SET last_seen_at = greatest(last_seen_at, $2::timestamptz)"
                 " WHERE id = $1",
                 2, params);
}

int auth_store_sessions_list(pl_pg_pool *p, const char *user_id, int max,
                             auth_session *out, int *n)
{
    char limit[16];
    const char *params[2] = {user_id, limit};
    PGresult *res = NULL;
    long long ms;
    int r, rows;

    snprintf(limit, sizeof(limit), "%d", max);
    r = query(p, &res,
              "SELECT id, user_agent, (extract(epoch FROM created_at) * 1000)::bigint,"
              " (extract(epoch FROM last_used_at) * 1000)::bigint FROM auth.sessions"
              " WHERE user_id = $1 AND revoked_at IS NULL"
              " ORDER BY created_at DESC, id LIMIT $2",
              2, params);
    if (r)
        goto out;
    rows = PQntuples(res);
    for (int i = 0; i < rows && i < max; i++) {
        snprintf(out[i].id, sizeof(out[i].id), "%s", PQgetvalue(res, i, 0));
        snprintf(out[i].user_agent, sizeof(out[i].user_agent), "%s", PQgetvalue(res, i, 1));
        ms = 0;
        pl_num_parse_ll(PQgetvalue(res, i, 2), LLONG_MIN, LLONG_MAX, &ms);
        out[i].created_ms = ms;
        ms = 0;
        pl_num_parse_ll(PQgetvalue(res, i, 3), LLONG_MIN, LLONG_MAX, &ms);
        out[i].last_used_ms = ms;
    }
    *n = rows < max ? rows : max;
out:
    PQclear(res);
    return r;
}

int auth_store_session_revoke_own(pl_pg_pool *p, const char *sid, const char *user_id)
{
    const char *params[2] = {sid, user_id};
    PGresult *res = NULL;
    int r = query(p, &res,
                  "UPDATE auth.sessions SET revoked_at = coalesce(revoked_at, now())"
                  " WHERE id = $1 AND user_id = $2 RETURNING id",
                  2, params);

    if (!r && PQntuples(res) == 0)
        r = -ENOENT;
    PQclear(res);
    return r;
}

int auth_store_password_change(pl_pg_pool *p, const char *user_id, const char *keep_sid,
                               const char *hash, auth_revoked_fn fn, void *arg)
{
    const char *p_hash[2] = {user_id, hash}, *p_rev[2] = {user_id, keep_sid};
    PGconn *c = pl_pg_acquire(p, STORE_WAIT_MS);
    PGresult *res = NULL;
    int r;

    if (!c)
        return -EAGAIN;
    r = exec(c, NULL, "BEGIN", 0, NULL);
    if (!r)
        r = exec(c, NULL, "UPDATE auth.users SET password_hash = $2 WHERE id = $1", 2,
                 p_hash);
    if (!r)
        r = exec(c, &res,
                 "UPDATE auth.sessions SET revoked_at = now() WHERE user_id = $1"
                 " AND id <> $2 AND revoked_at IS NULL RETURNING id",
                 2, p_rev);
    if (!r)
        r = exec(c, NULL, "COMMIT", 0, NULL);
    /* Published only once committed: a rolled-back change revoked nothing. */
    for (int i = 0; !r && i < PQntuples(res); i++)
        fn(arg, PQgetvalue(res, i, 0));
    if (PQtransactionStatus(c) != PQTRANS_IDLE)
        exec(c, NULL, "ROLLBACK", 0, NULL);
    PQclear(res);
    pl_pg_release(p, c);
    return r;
}
