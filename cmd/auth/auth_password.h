/* auth_password: argon2id password hashes (libsodium), with the OWASP
 * minimum cost: 2 passes over 19 MiB. Each call costs tens of
 * milliseconds and 19 MiB, on purpose; callers must bound concurrency
 * (the HTTP thread pool does). Thread-safe. */
#ifndef AUTH_PASSWORD_H
#define AUTH_PASSWORD_H

#include <sodium.h>
#include <stddef.h>

#define AUTH_HASH_LEN crypto_pwhash_STRBYTES

/* Writes the encoded hash of pw into out. 0, or -ENOMEM. */
int auth_password_hash(const char *pw, size_t len, char out[AUTH_HASH_LEN]);
/* 0 when pw matches hash, -EACCES otherwise (malformed hash included). */
int auth_password_verify(const char *hash, const char *pw, size_t len);
/* 1 when hash was made with other parameters or another algorithm. */
int auth_password_needs_rehash(const char *hash);
/* A hash of a random password with the current parameters. Logins for
 * unknown users verify against it, so they cost the same as a wrong
 * password and do not reveal which usernames exist. 0, or -ENOMEM. */
int auth_password_dummy(char out[AUTH_HASH_LEN]);

#endif
