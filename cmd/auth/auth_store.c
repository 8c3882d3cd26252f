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
    if (*res == AUTH_ROTATE_REUSED) {
        /* The family dies: whoever holds the newer token is cut off too. */
        r = exec(c, NULL, "UPDATE auth.sessions SET revoked_at = now()"
                          " WHERE id = $1 AND revoked_at IS NULL", 1, &sp);
    } else if (*res == AUTH_ROTATE_OK) {
        user_from_row(row, 0, 4, user);
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
