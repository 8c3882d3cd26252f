/* pl_zip: what it writes reads back (central directory, local headers,
 * data descriptors, stored and deflated data with their CRC-32), names
 * that could escape an unzip directory are refused, limits hold. */
#include "pl_check.h"
#include "pl_zip.h"

#include <errno.h>
#include <string.h>
#include <zlib.h>

typedef struct mem {
    unsigned char b[1 << 20];
    size_t n;
} mem;

static int to_mem(void *ctx, const void *p, size_t n)
{
    mem *m = ctx;
    if (m->n + n > sizeof(m->b))
        return -ENOSPC;
    memcpy(m->b + m->n, p, n);
    m->n += n;
    return 0;
}

static uint32_t get16(const unsigned char *p) { return p[0] | (uint32_t)p[1] << 8; }
static uint32_t get32(const unsigned char *p) { return get16(p) | get16(p + 2) << 16; }

/* Finds entry name through the central directory and returns its bytes
 * (inflated if need be) in out; the length, or -1. */
static long extract(const mem *m, const char *name, unsigned char *out, size_t cap)
{
    const unsigned char *end = m->b + m->n - 22, *c;
    uint32_t count;

    ck_assert_uint_eq(get32(end), 0x06054b50u);
    count = get16(end + 10);
    c = m->b + get32(end + 16);
    for (uint32_t i = 0; i < count; i++) {
        uint32_t nlen = get16(c + 28), method = get16(c + 10), crc = get32(c + 16);
        uint32_t csize = get32(c + 20), usize = get32(c + 24);
        ck_assert_uint_eq(get32(c), 0x02014b50u);
        if (nlen == strlen(name) && memcmp(c + 46, name, nlen) == 0) {
            const unsigned char *l = m->b + get32(c + 42);
            const unsigned char *data = l + 30 + get16(l + 26);
            ck_assert_uint_eq(get32(l), 0x04034b50u);
            ck_assert_uint_eq(get16(l + 6) & 0x0808, 0x0808);
            /* the data descriptor right after the data repeats them */
            ck_assert_uint_eq(get32(data + csize), 0x08074b50u);
            ck_assert_uint_eq(get32(data + csize + 4), crc);
            ck_assert_uint_eq(get32(data + csize + 12), usize);
            ck_assert_uint_le(usize, cap);
            if (method == PL_ZIP_STORE) {
                memcpy(out, data, usize);
            } else {
                z_stream zs = {0};
                ck_assert_int_eq(inflateInit2(&zs, -15), Z_OK);
                zs.next_in = (Bytef *)data;
                zs.avail_in = csize;
                zs.next_out = out;
                zs.avail_out = (uInt)cap;
                ck_assert_int_eq(inflate(&zs, Z_FINISH), Z_STREAM_END);
                ck_assert_uint_eq(zs.total_out, usize);
                inflateEnd(&zs);
            }
            ck_assert_uint_eq(crc32(0, out, usize), crc);
            return (long)usize;
        }
        c += 46 + nlen + get16(c + 30) + get16(c + 32);
    }
    return -1;
}

static mem m;
static unsigned char out[1 << 20];

START_TEST(test_round_trip)
{
    static char big[300000];
    pl_zip *z;

    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)("abcdefgh"[i % 8] + (i / 1000) % 3);
    m.n = 0;
    ck_assert_int_eq(pl_zip_new(&z, to_mem, &m, 0), 0);
    ck_assert_int_eq(pl_zip_add(z, "a.json", PL_ZIP_DEFLATE, 1700000000000LL, "{\"x\":1}", 7), 0);
    ck_assert_int_eq(pl_zip_begin(z, "dir/big.txt", PL_ZIP_DEFLATE, 0), 0);
    for (size_t i = 0; i < sizeof(big); i += 4096)
        ck_assert_int_eq(pl_zip_write(z, big + i, sizeof(big) - i < 4096 ? sizeof(big) - i : 4096), 0);
    ck_assert_int_eq(pl_zip_end(z), 0);
    ck_assert_int_eq(pl_zip_add(z, "raw/ünï.bin", PL_ZIP_STORE, 0, "\x00\x01\x02", 3), 0);
    ck_assert_int_eq(pl_zip_add(z, "empty", PL_ZIP_DEFLATE, 0, "", 0), 0);
    ck_assert_int_eq(pl_zip_finish(z), 0);
    ck_assert_uint_eq(pl_zip_bytes(z), m.n);
    pl_zip_free(z);

    ck_assert_int_eq(extract(&m, "a.json", out, sizeof(out)), 7);
    ck_assert_mem_eq(out, "{\"x\":1}", 7);
    ck_assert_int_eq(extract(&m, "dir/big.txt", out, sizeof(out)), (long)sizeof(big));
    ck_assert_mem_eq(out, big, sizeof(big));
    ck_assert_int_eq(extract(&m, "raw/ünï.bin", out, sizeof(out)), 3);
    ck_assert_mem_eq(out, "\x00\x01\x02", 3);
    ck_assert_int_eq(extract(&m, "empty", out, sizeof(out)), 0);
    ck_assert_int_eq(extract(&m, "missing", out, sizeof(out)), -1);
    ck_assert_uint_lt(m.n, sizeof(big) / 4); /* it did compress */
}
END_TEST

START_TEST(test_bad_names)
{
    static const char *bad[] = {"", "/etc/passwd", "../x", "a/../../x", "a/./b", "a//b",
                                "dir/", "a\\b", "tab\there", ".."};
    pl_zip *z;

    m.n = 0;
    ck_assert_int_eq(pl_zip_new(&z, to_mem, &m, 0), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_int_eq(pl_zip_begin(z, bad[i], PL_ZIP_STORE, 0), -EINVAL);
    ck_assert_int_eq(pl_zip_begin(z, "ok", 99, 0), -EINVAL);
    ck_assert_int_eq(pl_zip_write(z, "x", 1), -EINVAL); /* no entry open */
    ck_assert_int_eq(pl_zip_add(z, ".hidden/..name", PL_ZIP_STORE, 0, "x", 1), 0);
    ck_assert_int_eq(pl_zip_finish(z), 0);
    pl_zip_free(z);
}
END_TEST

START_TEST(test_limit_is_sticky)
{
    pl_zip *z;
    char data[200] = {0};

    m.n = 0;
    ck_assert_int_eq(pl_zip_new(&z, to_mem, &m, 150), 0);
    ck_assert_int_eq(pl_zip_begin(z, "f", PL_ZIP_STORE, 0), 0);
    ck_assert_int_eq(pl_zip_write(z, data, sizeof(data)), -EFBIG);
    ck_assert_int_eq(pl_zip_end(z), -EFBIG);
    ck_assert_int_eq(pl_zip_finish(z), -EFBIG);
    ck_assert_uint_le(m.n, 150);
    pl_zip_free(z);
}
END_TEST

int main(int argc, char **argv)
{
    Suite *s = suite_create("zip");
    TCase *tc = tcase_create("zip");
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_bad_names);
    tcase_add_test(tc, test_limit_is_sticky);
    suite_add_tcase(s, tc);
    return pl_check_main(s, argc, argv);
}
