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
 * sid is set too. Returns 0 whenever *res is meaningful. */
int auth_store_refresh_rotate(pl_pg_pool *p, const char *old_hash, const char *new_hash,
                              long long ttl_s, auth_rotate_result *res,
                              char sid[PL_ID_LEN], auth_user *user);

#endif
