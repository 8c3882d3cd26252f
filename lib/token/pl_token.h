/* pl_token: short-lived access tokens as JWTs signed with Ed25519 (EdDSA).
 * Only auth holds the secret key; every other service verifies locally
 * with the public key, so no request needs a round trip to auth. */
#ifndef PL_TOKEN_H
#define PL_TOKEN_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#include "pl_id.h"

#define PL_TOKEN_MAX 2048
#define PL_E_EXPIRED 1001 /* returned negated */

typedef struct pl_token_claims {
    char sub[PL_ID_LEN]; /* user id */
    char sid[PL_ID_LEN]; /* session id */
    char usr[64];        /* username, for logs and display */
    int64_t iat;         /* seconds since the epoch */
    int64_t exp;
} pl_token_claims;

/* On success *out is a malloc'd token (caller frees). */
int pl_token_sign(const unsigned char sk[crypto_sign_SECRETKEYBYTES],
                  const pl_token_claims *c, char **out);
/* 0 when the signature is good and now < exp. -EINVAL malformed, -EACCES
 * bad signature, -PL_E_EXPIRED expired. */
int pl_token_verify(const unsigned char pk[crypto_sign_PUBLICKEYBYTES],
                    const char *tok, int64_t now, pl_token_claims *out);

/* Key files hold one line of standard base64. 0, -errno on I/O, -EINVAL. */
int pl_token_load_public(const char *path, unsigned char pk[crypto_sign_PUBLICKEYBYTES]);
int pl_token_load_secret(const char *path, unsigned char sk[crypto_sign_SECRETKEYBYTES]);
/* Writes a fresh key pair: dir/ed25519.key (0600) and dir/ed25519.pub. */
int pl_token_keygen(const char *dir);

#endif
