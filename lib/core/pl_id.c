#include "pl_id.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

static void id_format(char out[PL_ID_LEN], unsigned char b[16])
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = '\0';
}

void pl_id_random(char out[PL_ID_LEN])
{
    unsigned char b[16];
    randombytes_buf(b, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    id_format(out, b);
}

void pl_id_derive(char out[PL_ID_LEN], const char *ns, const char *const *parts,
                  size_t n)
{
    crypto_generichash_state st;
    unsigned char b[16];
    const unsigned char zero = 0;

    crypto_generichash_init(&st, NULL, 0, sizeof(b));
    crypto_generichash_update(&st, (const unsigned char *)ns, strlen(ns));
    for (size_t i = 0; i < n; i++) {
        crypto_generichash_update(&st, &zero, 1);
        crypto_generichash_update(&st, (const unsigned char *)parts[i], strlen(parts[i]));
    }
    crypto_generichash_final(&st, b, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x80); /* v8: custom, name-based */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    id_format(out, b);
}

int pl_id_valid(const char *s)
{
    if (!s || strlen(s) != 36)
        return 0;
    for (int i = 0; i < 36; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return 0;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return 0;
        }
    }
    return 1;
}
