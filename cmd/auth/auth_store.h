/* auth_store: every SQL statement of parley-auth (schema auth). Each call
 * borrows a pooled connection for one unit of work and gives it back.
 *
 * Errors: -EAGAIN no connection in time (Postgres down or pool busy),
 * -ENOENT no such row, -EEXIST unique violation, -EIO any other database
 * failure (logged here with its SQLSTATE). Strings are copied into the
 * caller's structs; nothing returned needs freeing. */
#ifndef AUTH_STORE_H
#define AUTH_STORE_H

#include <stdint.h>

#include "auth_input.h"
#include "auth_password.h"
#include "auth_refresh.h"
#include "pl_id.h"
#include "pl_pg.h"

typedef struct auth_user {
    char id[PL_ID_LEN];
    char username[AUTH_USERNAME_MAX + 1];
    char display_name[AUTH_DISPLAY_MAX_BYTES + 1];
    int64_t created_ms;       /* ms since the epoch */
    char hash[AUTH_HASH_LEN]; /* filled by auth_store_user_by_name only */
} auth_user;

/* Inserts u (all fields set by the caller). -EEXIST: username taken. */
int auth_store_user_create(pl_pg_pool *p, const auth_user *u);
/* username must be normalised (lower-case). */
int auth_store_user_by_name(pl_pg_pool *p, const char *username, auth_user *out);
int auth_store_user_by_id(pl_pg_pool *p, const char *id, auth_user *out);
int auth_store_user_set_hash(pl_pg_pool *p, const char *id, const char *hash);
/* Up to max users whose username is LIKE pattern, by username; *n is set
 * to how many were written to out. */
int auth_store_users_search(pl_pg_pool *p, const char *pattern, int max, auth_user *out,
                            int *n);

/* Opens session sid with its first refresh token, atomically. */
int auth_store_session_open(pl_pg_pool *p, const char *sid, const char *user_id,
                            const char *user_agent, const char *token_hash,
                            long long ttl_s);
/* Marks the session revoked; already revoked or unknown is not an error. */
int auth_store_session_revoke(pl_pg_pool *p, const char *sid, const char *user_id);

#define AUTH_BIO_MAX_CHARS 500
#define AUTH_BIO_MAX_BYTES (AUTH_BIO_MAX_CHARS * 4)

/* A user as GET /users/{id} and /users/me show it. */
typedef struct auth_profile {
    auth_user u;                         /* hash left empty */
    char bio[AUTH_BIO_MAX_BYTES + 1];
    char avatar_id[PL_ID_LEN];           /* "" when none */
    int64_t last_seen_ms;                /* 0 when never seen */
} auth_profile;

int auth_store_profile_get(pl_pg_pool *p, const char *id, auth_profile *out);
/* Sets the fields that are non-NULL; avatar_id "" clears the avatar.
 * -ENOENT when the user does not exist. */
int auth_store_profile_update(pl_pg_pool *p, const char *id, const char *display_name,
                              const char *bio, const char *avatar_id);
/* Up to max users whose username is LIKE name_pattern (skipped when NULL)
 * or whose lower(display_name) is LIKE lower(display_pattern). */
int auth_store_users_search2(pl_pg_pool *p, const char *name_pattern,
                             const char *display_pattern, int max, auth_user *out, int *n);
/* Records when the user was last seen; never moves it backwards. */
int auth_store_last_seen(pl_pg_pool *p, const char *user_id, int64_t ms);

typedef struct auth_session {
    char id[PL_ID_LEN];
    char user_agent[AUTH_USER_AGENT_MAX + 1];
    int64_t created_ms, last_used_ms;
} auth_session;

/* The user's live (not revoked) sessions, newest first, at most max. */
int auth_store_sessions_list(pl_pg_pool *p, const char *user_id, int max,
                             auth_session *out, int *n);
/* Revokes one of user_id's sessions (again is fine). -ENOENT when sid is
 * not one of the user's sessions. */
int auth_store_session_revoke_own(pl_pg_pool *p, const char *sid, const char *user_id);
/* Called once per session revoked by auth_store_password_change. */
typedef void (*auth_revoked_fn)(void *arg, const char *sid);
/* In one transaction: stores the new hash and revokes every live session
 * of user_id except keep_sid, calling fn for each. */
int auth_store_password_change(pl_pg_pool *p, const char *user_id, const char *keep_sid,
                               const char *hash, auth_revoked_fn fn, void *arg);

typedef enum {
    AUTH_ROTATE_OK,
    AUTH_ROTATE_UNKNOWN, /* no such token */
    AUTH_ROTATE_REUSED,  /* used before: the session is now revoked */
    AUTH_ROTATE_REVOKED, /* its session was revoked */
    AUTH_ROTATE_EXPIRED,
} auth_rotate_result;

/* Refresh-token rotation in one transaction, the token row locked FOR
 * UPDATE so concurrent uses of one token serialise: the second sees it
 * used. On AUTH_ROTATE_OK, old is used, new_hash is stored for the same
 * session, and sid and user describe the session. On AUTH_ROTATE_REUSED
 * sid and user are set too. Returns 0 whenever *res is meaningful. */
int auth_store_refresh_rotate(pl_pg_pool *p, const char *old_hash, const char *new_hash,
                              long long ttl_s, auth_rotate_result *res,
                              char sid[PL_ID_LEN], auth_user *user);

#endif
