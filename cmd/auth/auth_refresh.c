#include "auth_refresh.h"

#include <errno.h>
#include <string.h>

#define B64URL sodium_base64_VARIANT_URLSAFE_NO_PADDING

static void hash_raw(const unsigned char raw[AUTH_REFRESH_RAW],
                     char hash[AUTH_REFRESH_HASH_LEN])
{
    unsigned char h[crypto_generichash_BYTES];

    crypto_generichash(h, sizeof(h), raw, AUTH_REFRESH_RAW, NULL, 0);
    hash[0] = '\\';
    hash[1] = 'x';
    sodium_bin2hex(hash + 2, AUTH_REFRESH_HASH_LEN - 2, h, sizeof(h));
}

void auth_refresh_new(char tok[AUTH_REFRESH_LEN], char hash[AUTH_REFRESH_HASH_LEN])
{
    unsigned char raw[AUTH_REFRESH_RAW];

    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(tok, AUTH_REFRESH_LEN, raw, sizeof(raw), B64URL);
    hash_raw(raw, hash);
    sodium_memzero(raw, sizeof(raw));
}

int auth_refresh_hash(const char *tok, char hash[AUTH_REFRESH_HASH_LEN])
{
    unsigned char raw[AUTH_REFRESH_RAW];
    size_t n, len = tok ? strnlen(tok, AUTH_REFRESH_LEN) : 0;

    /* Exactly one encoding per token: no padding, no trailing bytes. */
    if (len != AUTH_REFRESH_LEN - 1 ||
        sodium_base642bin(raw, sizeof(raw), tok, len, NULL, &n, NULL, B64URL) != 0 ||
        n != sizeof(raw))
        return -EINVAL;
    hash_raw(raw, hash);
    sodium_memzero(raw, sizeof(raw));
    return 0;
}
