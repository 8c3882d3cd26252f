/* auth_limit: brute-force protection for login, register and password
 * change. Two token-bucket tables (pl_rate, bounded memory): one keyed by
 * account (normalised username or user id), one by client IP
 * (pl_http_peer_ip). They live in each auth instance's memory, so N
 * instances allow N times the configured rates. */
#ifndef AUTH_LIMIT_H
#define AUTH_LIMIT_H

#include "auth.h"
#include "pl_http.h"

/* Reads PARLEY_LOGIN_RATE_* into ctx and builds the tables. -EINVAL after
 * logging a bad setting, -ENOMEM. */
int auth_limit_init(auth_ctx *ctx);
void auth_limit_free(auth_ctx *ctx);
/* 1 when the request may go on. Otherwise it has replied 429 with
 * Retry-After and returns 0. account may be NULL (IP budget only). */
int auth_limit_ok(pl_http_req *req, const auth_ctx *ctx, const char *account);

#endif
