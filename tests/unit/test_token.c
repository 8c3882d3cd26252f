/* pl_token: Ed25519 JWTs. Every malformed or forged token is refused with
 * the documented code, and keys round-trip through files. */
#include "pl_check.h"
#include "pl_token.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define B64URL sodium_base64_VARIANT_URLSAFE_NO_PADDING

static unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
static unsigned char pk2[crypto_sign_PUBLICKEYBYTES], sk2[crypto_sign_SECRETKEYBYTES];

static const pl_token_claims claims = {
    .sub = "123e4567-e89b-42d3-a456-426614174000",
    .sid = "00000000-0000-4000-8000-000000000001",
    .usr = "alice",
    .iat = 1700000000,
    .exp = 1700000900,
};
#define NOW 1700000100

static void setup(void)
{
    ck_assert_int_ge(sodium_init(), 0);
    crypto_sign_keypair(pk, sk);
    crypto_sign_keypair(pk2, sk2);
}

static char *sign(void)
{
    char *tok = NULL;
    ck_assert_int_eq(pl_token_sign(sk, &claims, &tok), 0);
    ck_assert_ptr_nonnull(tok);
    return tok;
}

static int verify(const char *tok)
{
    pl_token_claims out;
    memset(&out, 0x5a, sizeof(out));
    int r = pl_token_verify(pk, tok, NOW, &out);
    if (r) {
        /* out is untouched on failure */
        for (size_t i = 0; i < sizeof(out); i++)
            ck_assert_int_eq(((unsigned char *)&out)[i], 0x5a);
    }
    return r;
}

/* header.payload.signature from raw parts, signed with key (NULL: sig as given). */
static char *forge(const char *header, const char *payload_b64_or_null,
                   const char *payload_json, const unsigned char *key)
{
    char *t = calloc(1, 4096);
    unsigned char sig[crypto_sign_BYTES];
    size_t n;

    sodium_bin2base64(t, 4096, (const unsigned char *)header, strlen(header), B64URL);
    strcat(t, ".");
    n = strlen(t);
    if (payload_b64_or_null)
        strcat(t, payload_b64_or_null);
    else
        sodium_bin2base64(t + n, 4096 - n, (const unsigned char *)payload_json,
                          strlen(payload_json), B64URL);
    crypto_sign_detached(sig, NULL, (unsigned char *)t, strlen(t), key ? key : sk);
    strcat(t, ".");
    n = strlen(t);
    sodium_bin2base64(t + n, 4096 - n, sig, sizeof(sig), B64URL);
    return t;
}

static const char hdr[] = "{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}";
static const char good_payload[] =
    "{\"sub\":\"123e4567-e89b-42d3-a456-426614174000\","
    "\"sid\":\"00000000-0000-4000-8000-000000000001\",\"usr\":\"bob\","
    "\"iat\":1,\"exp\":1700000900}";

START_TEST(test_round_trip)
{
    char *tok = sign();
    pl_token_claims out;

    ck_assert_ptr_null(strchr(tok, '='));
    ck_assert_ptr_null(strchr(tok, '+'));
    ck_assert_int_eq(pl_token_verify(pk, tok, NOW, &out), 0);
    ck_assert_str_eq(out.sub, claims.sub);
    ck_assert_str_eq(out.sid, claims.sid);
    ck_assert_str_eq(out.usr, claims.usr);
    ck_assert(out.iat == claims.iat);
    ck_assert(out.exp == claims.exp);
    free(tok);
}
END_TEST

START_TEST(test_forge_helper_is_honest)
{
    /* The hand-built tokens below are only meaningful if a good one passes. */
    char *t = forge(hdr, NULL, good_payload, NULL);
    ck_assert_int_eq(verify(t), 0);
    free(t);
}
END_TEST

START_TEST(test_tampered_payload)
{
    char *tok = sign();
    char *p = strchr(tok, '.') + 5;

    *p = *p == 'A' ? 'B' : 'A';
    ck_assert_int_eq(verify(tok), -EACCES);
    free(tok);
}
END_TEST

START_TEST(test_tampered_signature)
{
    char *tok = sign();
    char *p = strrchr(tok, '.') + 1;

    *p = *p == 'A' ? 'B' : 'A';
    ck_assert_int_eq(verify(tok), -EACCES);
    free(tok);
}
END_TEST

START_TEST(test_swapped_payload)
{
    /* A payload from another valid token under this token's signature. */
    pl_token_claims other = claims;
    char *a = sign(), *b = NULL, *mix = calloc(1, 4096);

    strcpy(other.usr, "mallory");
    ck_assert_int_eq(pl_token_sign(sk, &other, &b), 0);
    size_t ha = (size_t)(strchr(a, '.') - a);
    memcpy(mix, a, ha);
    strncat(mix, strchr(b, '.'), (size_t)(strrchr(b, '.') - strchr(b, '.')));
    strcat(mix, strrchr(a, '.'));
    ck_assert_int_eq(verify(mix), -EACCES);
    free(a);
    free(b);
    free(mix);
}
END_TEST

START_TEST(test_wrong_key)
{
    char *tok = sign();
    pl_token_claims out;

    ck_assert_int_eq(pl_token_verify(pk2, tok, NOW, &out), -EACCES);
    free(tok);
    tok = forge(hdr, NULL, good_payload, sk2);
    ck_assert_int_eq(verify(tok), -EACCES);
    free(tok);
}
END_TEST

START_TEST(test_expired)
{
    char *tok = sign();
    pl_token_claims out;

    ck_assert_int_eq(pl_token_verify(pk, tok, claims.exp - 1, &out), 0);
    ck_assert_int_eq(pl_token_verify(pk, tok, claims.exp, &out), -PL_E_EXPIRED);
    ck_assert_int_eq(pl_token_verify(pk, tok, claims.exp + 3600, &out), -PL_E_EXPIRED);
    free(tok);
}
END_TEST

START_TEST(test_malformed_shape)
{
    char *tok = sign(), buf[4096];

    ck_assert_int_eq(verify(""), -EINVAL);
    ck_assert_int_eq(verify("abc"), -EINVAL);
    ck_assert_int_eq(verify("a.b"), -EINVAL);
    ck_assert_int_eq(verify(".."), -EINVAL);
    ck_assert_int_eq(verify("a.b.c.d"), -EINVAL);
    snprintf(buf, sizeof(buf), "%s.", tok); /* four parts */
    ck_assert_int_eq(verify(buf), -EINVAL);
    snprintf(buf, sizeof(buf), "%s.x", tok);
    ck_assert_int_eq(verify(buf), -EINVAL);
    snprintf(buf, sizeof(buf), ".%s", tok);
    ck_assert_int_eq(verify(buf), -EINVAL);
    free(tok);
}
END_TEST

START_TEST(test_malformed_base64)
{
    char *tok = sign(), buf[4096];
    const char *d1 = strchr(tok, '.'), *d2 = strrchr(tok, '.');

    /* Bad base64 in the header. */
    snprintf(buf, sizeof(buf), "!!!%s", tok);
    ck_assert_int_eq(verify(buf), -EINVAL);
    /* Standard (not URL-safe) alphabet and padding in the signature. */
    snprintf(buf, sizeof(buf), "%.*s+/==", (int)(d2 + 1 - tok), tok);
    ck_assert_int_eq(verify(buf), -EINVAL);
    /* Truncated signature. */
    snprintf(buf, sizeof(buf), "%.*s", (int)strlen(tok) - 4, tok);
    ck_assert_int_eq(verify(buf), -EINVAL);
    /* Empty signature. */
    snprintf(buf, sizeof(buf), "%.*s", (int)(d2 + 1 - tok), tok);
    ck_assert_int_eq(verify(buf), -EINVAL);
    free(tok);
    (void)d1;

    /* Bad base64 in the payload, correctly signed: the signature covers
     * the text, so only the decode can refuse it. */
    tok = forge(hdr, "e30*", NULL, NULL);
    ck_assert_int_eq(verify(tok), -EINVAL);
    free(tok);
}
END_TEST

START_TEST(test_wrong_header)
{
    static const char *const headers[] = {
        "{\"alg\":\"none\",\"typ\":\"JWT\"}",
        "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
        "{\"alg\":\"EdDSA\"}",
        "{\"typ\":\"JWT\",\"alg\":\"EdDSA\"}",
        "{\"alg\":\"EdDSA\",\"typ\":\"JWT\"} ",
        "",
    };
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        char *t = forge(headers[i], NULL, good_payload, NULL);
        ck_assert_msg(verify(t) == -EINVAL, "accepted header %s", headers[i]);
        free(t);
    }
}
END_TEST

START_TEST(test_bad_claims)
{
    static const char *const payloads[] = {
        "not json",
        "[]",
        "{}",
        "{\"sub\":\"123e4567-e89b-42d3-a456-426614174000\","
        "\"sid\":\"00000000-0000-4000-8000-000000000001\",\"usr\":\"bob\",\"iat\":1}",
        "{\"sub\":\"NOT-AN-ID\",\"sid\":\"00000000-0000-4000-8000-000000000001\","
        "\"usr\":\"bob\",\"iat\":1,\"exp\":1700000900}",
        "{\"sub\":\"123e4567-e89b-42d3-a456-426614174000\","
        "\"sid\":\"00000000-0000-4000-8000-000000000001\",\"usr\":\"bob\","
        "\"iat\":1,\"exp\":\"1700000900\"}",
        "{\"sub\":\"123e4567-e89b-42d3-a456-426614174000\","
        "\"sid\":\"00000000-0000-4000-8000-000000000001\","
        "\"usr\":\"0123456789012345678901234567890123456789012345678901234567890123\","
        "\"iat\":1,\"exp\":1700000900}",
        "{\"sub\":\"123e4567-e89b-42d3-a456-426614174000\","
        "\"sid\":\"00000000-0000-4000-8000-000000000001\",\"usr\":7,"
        "\"iat\":1,\"exp\":1700000900}",
    };
    for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
        char *t = forge(hdr, NULL, payloads[i], NULL);
        ck_assert_msg(verify(t) == -EINVAL, "accepted payload #%zu", i);
        free(t);
    }
}
END_TEST

START_TEST(test_too_long)
{
    char *t = malloc(PL_TOKEN_MAX + 1);

    memset(t, 'A', PL_TOKEN_MAX);
    t[PL_TOKEN_MAX] = '\0';
    t[10] = '.';
    t[20] = '.';
    ck_assert_int_eq(verify(t), -EINVAL);
    free(t);
}
END_TEST

static char tmpdir[64];

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

static void mkdir_tmp(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/pl_token_test.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void rm_tmp(void)
{
    nftw(tmpdir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

static char *path(const char *name)
{
    static char p[2][128];
    static int k;
    k ^= 1;
    snprintf(p[k], sizeof(p[k]), "%s/%s", tmpdir, name);
    return p[k];
}

START_TEST(test_keygen_and_load)
{
    unsigned char lpk[crypto_sign_PUBLICKEYBYTES], lsk[crypto_sign_SECRETKEYBYTES];
    struct stat st;
    pl_token_claims out;
    char *tok = NULL;

    mkdir_tmp();
    ck_assert_int_eq(pl_token_keygen(tmpdir), 0);
    ck_assert_int_eq(stat(path("ed25519.key"), &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert_int_eq(pl_token_load_secret(path("ed25519.key"), lsk), 0);
    ck_assert_int_eq(pl_token_load_public(path("ed25519.pub"), lpk), 0);
    /* The pair matches: libsodium's secret key ends with the public key. */
    ck_assert_int_eq(memcmp(lsk + 32, lpk, 32), 0);
    ck_assert_int_eq(pl_token_sign(lsk, &claims, &tok), 0);
    ck_assert_int_eq(pl_token_verify(lpk, tok, NOW, &out), 0);
    free(tok);

    /* Refuses to overwrite, and the keys on disk are unchanged. */
    ck_assert_int_eq(pl_token_keygen(tmpdir), -EEXIST);
    ck_assert_int_eq(pl_token_load_public(path("ed25519.pub"), pk2), 0);
    ck_assert_int_eq(memcmp(pk2, lpk, sizeof(lpk)), 0);

    /* Wrong-size keys are refused. */
    ck_assert_int_eq(pl_token_load_public(path("ed25519.key"), lpk), -EINVAL);
    ck_assert_int_eq(pl_token_load_secret(path("ed25519.pub"), lsk), -EINVAL);
    rm_tmp();
}
END_TEST

START_TEST(test_load_errors)
{
    unsigned char k[crypto_sign_PUBLICKEYBYTES];
    FILE *f;

    mkdir_tmp();
    ck_assert_int_eq(pl_token_load_public(path("missing"), k), -ENOENT);
    ck_assert_int_eq(pl_token_keygen("/nonexistent/dir"), -ENOENT);
    f = fopen(path("empty"), "w");
    fclose(f);
    ck_assert_int_eq(pl_token_load_public(path("empty"), k), -EINVAL);
    f = fopen(path("garbage"), "w");
    fputs("not base64 at all!\n", f);
    fclose(f);
    ck_assert_int_eq(pl_token_load_public(path("garbage"), k), -EINVAL);
    /* CRLF line endings are fine. */
    char line[128];
    sodium_bin2base64(line, sizeof(line), pk, sizeof(pk), sodium_base64_VARIANT_ORIGINAL);
    f = fopen(path("crlf"), "w");
    fprintf(f, "%s\r\n", line);
    fclose(f);
    ck_assert_int_eq(pl_token_load_public(path("crlf"), k), 0);
    ck_assert_int_eq(memcmp(k, pk, sizeof(k)), 0);
    rm_tmp();
}
END_TEST

/* KNOWN BUG (lib/token/pl_token.c, pl_token_keygen): the secret key is
 * written before the public one, so when dir/ed25519.pub already exists
 * keygen fails with -EEXIST but leaves a fresh ed25519.key behind that
 * does not match the .pub. Fix: create both with O_EXCL into temporary
 * names and link() them into place, or check/unlink on failure. */
START_TEST(test_keygen_failure_leaves_nothing)
{
    struct stat st;
    FILE *f;

    mkdir_tmp();
    f = fopen(path("ed25519.pub"), "w");
    fputs("old\n", f);
    fclose(f);
    ck_assert_int_eq(pl_token_keygen(tmpdir), -EEXIST);
    int left = stat(path("ed25519.key"), &st) == 0;
    rm_tmp();
    ck_assert_msg(!left, "keygen failed but left ed25519.key behind");
}
END_TEST

static Suite *token_suite(void)
{
    Suite *s = suite_create("pl_token");
    TCase *tc = tcase_create("verify");
    TCase *tk = tcase_create("keys");
    TCase *kb = tcase_create("keygen_partial");

    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_forge_helper_is_honest);
    tcase_add_test(tc, test_tampered_payload);
    tcase_add_test(tc, test_tampered_signature);
    tcase_add_test(tc, test_swapped_payload);
    tcase_add_test(tc, test_wrong_key);
    tcase_add_test(tc, test_expired);
    tcase_add_test(tc, test_malformed_shape);
    tcase_add_test(tc, test_malformed_base64);
    tcase_add_test(tc, test_wrong_header);
    tcase_add_test(tc, test_bad_claims);
    tcase_add_test(tc, test_too_long);
    suite_add_tcase(s, tc);

    tcase_add_checked_fixture(tk, setup, NULL);
    tcase_add_test(tk, test_keygen_and_load);
    tcase_add_test(tk, test_load_errors);
    suite_add_tcase(s, tk);

    tcase_add_checked_fixture(kb, setup, NULL);
    tcase_add_test(kb, test_keygen_failure_leaves_nothing);
    suite_add_tcase(s, kb);
    return s;
}

int main(int argc, char **argv)
{
    return pl_check_main(token_suite(), argc, argv);
}
