#include "pl_token.h"
#include "pl_json.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char token_header[] = "{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}";
#define B64URL sodium_base64_VARIANT_URLSAFE_NO_PADDING

static int b64_append(char *dst, size_t cap, const void *src, size_t n)
{
    size_t need = sodium_base64_ENCODED_LEN(n, B64URL);
    size_t used = strlen(dst);
    if (used + need > cap)
        return -E2BIG;
    sodium_bin2base64(dst + used, cap - used, src, n, B64URL);
    return 0;
}

static int claims_json(const pl_token_claims *c, char **out, size_t *len)
{
    pl_jw w;
    int r = pl_jw_init(&w);
    if (r)
        return r;
    pl_jw_obj(&w);
    pl_jw_kstr(&w, "sub", c->sub);
    pl_jw_kstr(&w, "sid", c->sid);
    pl_jw_kstr(&w, "usr", c->usr);
    pl_jw_kint(&w, "iat", c->iat);
    pl_jw_kint(&w, "exp", c->exp);
    pl_jw_end_obj(&w);
    return pl_jw_finish(&w, out, len);
}

int pl_token_sign(const unsigned char sk[crypto_sign_SECRETKEYBYTES],
                  const pl_token_claims *c, char **out)
{
    unsigned char sig[crypto_sign_BYTES];
    char *payload = NULL, *tok = NULL;
    size_t plen;
    int r;

    r = claims_json(c, &payload, &plen);
    if (r)
        goto out;
    tok = calloc(1, PL_TOKEN_MAX);
    if (!tok) {
        r = -ENOMEM;
        goto out;
    }
    r = b64_append(tok, PL_TOKEN_MAX, token_header, strlen(token_header));
    if (!r)
        strcat(tok, ".");
    if (!r)
        r = b64_append(tok, PL_TOKEN_MAX, payload, plen);
    if (r)
        goto out;
    crypto_sign_detached(sig, NULL, (unsigned char *)tok, strlen(tok), sk);
    strcat(tok, ".");
    r = b64_append(tok, PL_TOKEN_MAX, sig, sizeof(sig));
    if (r)
        goto out;
    *out = tok;
    tok = NULL;
out:
    free(payload);
    free(tok);
    return r;
}

static int b64_decode(const char *s, size_t n, unsigned char *dst, size_t cap,
                      size_t *outlen)
{
    if (sodium_base642bin(dst, cap, s, n, NULL, outlen, NULL, B64URL) != 0)
        return -EINVAL;
    return 0;
}

static int claims_parse(const unsigned char *json, size_t n, pl_token_claims *c)
{
    char err[64];
    yajl_val v = NULL;
    const char *sub, *sid, *usr;
    long long iat, exp;
    int r;

    r = pl_json_parse((const char *)json, n, &v, err, sizeof(err));
    if (r)
        return r;
    sub = pl_json_str(v, "sub");
    sid = pl_json_str(v, "sid");
    usr = pl_json_str(v, "usr");
    r = -EINVAL;
    if (!pl_id_valid(sub) || !pl_id_valid(sid) || !usr || strlen(usr) >= sizeof(c->usr))
        goto out;
    if (pl_json_int(v, "iat", &iat) || pl_json_int(v, "exp", &exp))
        goto out;
    memcpy(c->sub, sub, PL_ID_LEN);
    memcpy(c->sid, sid, PL_ID_LEN);
    snprintf(c->usr, sizeof(c->usr), "%s", usr);
    c->iat = iat;
    c->exp = exp;
    r = 0;
out:
    yajl_tree_free(v);
    return r;
}

int pl_token_verify(const unsigned char pk[crypto_sign_PUBLICKEYBYTES],
                    const char *tok, int64_t now, pl_token_claims *out)
{
    unsigned char buf[PL_TOKEN_MAX], sig[crypto_sign_BYTES + 1];
    const char *d1, *d2;
    size_t n, tlen = strnlen(tok, PL_TOKEN_MAX);
    pl_token_claims c;

    if (tlen >= PL_TOKEN_MAX)
        return -EINVAL;
    d1 = strchr(tok, '.');
    d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d2 || strchr(d2 + 1, '.'))
        return -EINVAL;
    if (b64_decode(tok, (size_t)(d1 - tok), buf, sizeof(buf) - 1, &n) ||
        n != strlen(token_header) || memcmp(buf, token_header, n) != 0)
        return -EINVAL;
    if (b64_decode(d2 + 1, tlen - (size_t)(d2 + 1 - tok), sig, sizeof(sig), &n) ||
        n != crypto_sign_BYTES)
        return -EINVAL;
    if (crypto_sign_verify_detached(sig, (const unsigned char *)tok,
                                    (size_t)(d2 - tok), pk) != 0)
        return -EACCES;
    if (b64_decode(d1 + 1, (size_t)(d2 - d1 - 1), buf, sizeof(buf) - 1, &n))
        return -EINVAL;
    buf[n] = '\0';
    if (claims_parse(buf, n, &c))
        return -EINVAL;
    if (now >= c.exp)
        return -PL_E_EXPIRED;
    *out = c;
    return 0;
}

static int key_read(const char *path, unsigned char *key, size_t keylen)
{
    char line[256];
    size_t n;
    FILE *f = fopen(path, "r");
    int r = 0;

    if (!f)
        return -errno;
    if (!fgets(line, sizeof(line), f)) {
        r = -EINVAL;
        goto out;
    }
    line[strcspn(line, "\r\n")] = '\0';
    if (sodium_base642bin(key, keylen, line, strlen(line), NULL, &n, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 || n != keylen)
        r = -EINVAL;
out:
    fclose(f);
    return r;
}

int pl_token_load_public(const char *path, unsigned char pk[crypto_sign_PUBLICKEYBYTES])
{
    return key_read(path, pk, crypto_sign_PUBLICKEYBYTES);
}

int pl_token_load_secret(const char *path, unsigned char sk[crypto_sign_SECRETKEYBYTES])
{
    return key_read(path, sk, crypto_sign_SECRETKEYBYTES);
}

static int key_write(const char *dir, const char *name, mode_t mode,
                     const unsigned char *key, size_t keylen)
{
    char path[4096], line[256];
    int fd, r = 0;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    sodium_bin2base64(line, sizeof(line), key, keylen, sodium_base64_VARIANT_ORIGINAL);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    if (fd < 0)
        return -errno;
    strcat(line, "\n");
    if (write(fd, line, strlen(line)) != (ssize_t)strlen(line) || fsync(fd) != 0)
        r = -EIO;
    close(fd);
    return r;
}

int pl_token_keygen(const char *dir)
{
    unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    char path[4096];
    int r;

    crypto_sign_keypair(pk, sk);
    r = key_write(dir, "ed25519.key", 0600, sk, sizeof(sk));
    sodium_memzero(sk, sizeof(sk));
    if (r)
        return r;
    r = key_write(dir, "ed25519.pub", 0644, pk, sizeof(pk));
    if (r) { /* never leave half a pair behind */
        snprintf(path, sizeof(path), "%s/ed25519.key", dir);
        unlink(path);
    }
    return r;
}
