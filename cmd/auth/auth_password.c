#include "auth_password.h"

#include <errno.h>
#include <string.h>

#define PW_OPSLIMIT 2ULL
#define PW_MEMLIMIT (19ULL << 20)

int auth_password_hash(const char *pw, size_t len, char out[AUTH_HASH_LEN])
{
    /* Fails only when the memory for the hash cannot be had. */
    if (crypto_pwhash_str_alg(out, pw, len, PW_OPSLIMIT, PW_MEMLIMIT,
                              crypto_pwhash_ALG_ARGON2ID13) != 0)
        return -ENOMEM;
    return 0;
}

int auth_password_verify(const char *hash, const char *pw, size_t len)
{
    return crypto_pwhash_str_verify(hash, pw, len) == 0 ? 0 : -EACCES;
}

int auth_password_needs_rehash(const char *hash)
{
    /* -1 (another algorithm, e.g. argon2i) also calls for a new hash. */
    return crypto_pwhash_str_needs_rehash(hash, PW_OPSLIMIT, PW_MEMLIMIT) != 0;
}

int auth_password_dummy(char out[AUTH_HASH_LEN])
{
    unsigned char pw[32];
    int r;

    randombytes_buf(pw, sizeof(pw));
    r = auth_password_hash((const char *)pw, sizeof(pw), out);
    sodium_memzero(pw, sizeof(pw));
    return r;
}
