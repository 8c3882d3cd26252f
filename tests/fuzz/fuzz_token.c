/* pl_token_verify with a fixed key: no input without the secret key may
 * ever verify. The seed corpus holds a correctly signed but expired token
 * (key from the seed below), so mutations reach the claims parser. */
#include "fuzz.h"
#include "pl_token.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* 2030-01-01: the signed seed expired long before. */
#define FUZZ_NOW 1893456000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    static int ready;
    char *s = fuzz_cstr(data, size);
    pl_token_claims c;
    int r;

    if (!ready) {
        unsigned char seed[crypto_sign_SEEDBYTES];
        if (sodium_init() < 0)
            abort();
        memset(seed, 0x42, sizeof(seed));
        crypto_sign_seed_keypair(pk, sk, seed);
        ready = 1;
    }
    r = pl_token_verify(pk, s, FUZZ_NOW, &c);
    if (r == 0 || (r != -EINVAL && r != -EACCES && r != -PL_E_EXPIRED))
        abort();
    free(s);
    return 0;
}
