/* auth: the state parley-auth's handlers share. main() builds it before
 * the HTTP server starts and frees it after the server stops; in between it
 * is read-only, so handlers on any MHD thread use it without locks. */
#ifndef AUTH_H
#define AUTH_H

#include <sodium.h>

#include "auth_password.h"
#include "pl_kafka.h"
#include "pl_metrics.h"
#include "pl_pg.h"
#include "pl_rate.h"

typedef struct auth_presence auth_presence;

typedef struct auth_ctx {
    pl_pg_pool *pool;     /* owned by main() */
    pl_metrics *metrics;  /* owned by main() */
    long long access_ttl_s;
    long long refresh_ttl_s;
    unsigned char sk[crypto_sign_SECRETKEYBYTES]; /* signs access tokens */
    unsigned char pk[crypto_sign_PUBLICKEYBYTES]; /* verifies PL_HTTP_AUTH */
    char dummy_hash[AUTH_HASH_LEN];               /* see auth_password_dummy */
    pl_kafka_producer *producer; /* session.revoked; owned by main() */
    const char *sessions_topic;
    pl_rate *login_account;      /* login attempts per username */
    pl_rate *login_ip;           /* login and register attempts per client IP */
    long long retry_account_s, retry_ip_s; /* Retry-After for each */
    auth_presence *presence;     /* NULL: everyone reads offline */
} auth_ctx;

#endif
