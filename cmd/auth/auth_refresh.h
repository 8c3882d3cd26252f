/* auth_refresh: opaque refresh tokens. A token is 32 random bytes sent as
 * unpadded base64url; the database keeps only a BLAKE2b-256 hash of the
 * raw bytes, so a read of the table does not yield usable tokens. Hashes
 * are passed to Postgres as bytea hex text ("\x..."). Thread-safe. */
#ifndef AUTH_REFRESH_H
#define AUTH_REFRESH_H

#include <sodium.h>

#define AUTH_REFRESH_RAW 32
#define AUTH_REFRESH_LEN \
    sodium_base64_ENCODED_LEN(AUTH_REFRESH_RAW, sodium_base64_VARIANT_URLSAFE_NO_PADDING)
#define AUTH_REFRESH_HASH_LEN (2 + 2 * crypto_generichash_BYTES + 1)

/* A fresh token and the hash to store for it. */
void auth_refresh_new(char tok[AUTH_REFRESH_LEN], char hash[AUTH_REFRESH_HASH_LEN]);
/* The hash of a token a client sent; -EINVAL when it cannot be one. */
int auth_refresh_hash(const char *tok, char hash[AUTH_REFRESH_HASH_LEN]);

#endif
