/* pl_buf: the limit is exact, growth keeps contents, steal never returns NULL. */
#include "pl_buf.h"
#include "pl_check.h"

#include <errno.h>
#include <stdint.h>

START_TEST(test_init_is_empty)
{
    pl_buf b;
    pl_buf_init(&b, 10);
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_uint_eq(b.max, 10);
    pl_buf_free(&b);
}
END_TEST

START_TEST(test_limit_exact)
{
    pl_buf b;
    char big[65];

    memset(big, 'x', sizeof(big));
    pl_buf_init(&b, 64);
    ck_assert_int_eq(pl_buf_append(&b, big, 64), 0);
    ck_assert_uint_eq(b.len, 64);
    /* One byte past max fails and leaves the buffer as it was. */
    ck_assert_int_eq(pl_buf_append(&b, "y", 1), -E2BIG);
    ck_assert_uint_eq(b.len, 64);
    ck_assert_uint_eq(strlen(b.data), 64);
    ck_assert_int_eq(b.data[63], 'x');
    /* Appending nothing at the limit is fine. */
    ck_assert_int_eq(pl_buf_append(&b, "", 0), 0);
    pl_buf_free(&b);

    pl_buf_init(&b, 64);
    ck_assert_int_eq(pl_buf_append(&b, big, 65), -E2BIG);
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.len, 0);
    pl_buf_free(&b);
}
END_TEST

START_TEST(test_limit_split)
{
    pl_buf b;

    pl_buf_init(&b, 5);
    ck_assert_int_eq(pl_buf_puts(&b, "abc"), 0);
    ck_assert_int_eq(pl_buf_puts(&b, "def"), -E2BIG);
    ck_assert_int_eq(pl_buf_puts(&b, "de"), 0);
    ck_assert_str_eq(b.data, "abcde");
    ck_assert_int_eq(pl_buf_puts(&b, "f"), -E2BIG);
    pl_buf_free(&b);
}
END_TEST

START_TEST(test_limit_zero_and_huge)
{
    pl_buf b;

    pl_buf_init(&b, 0);
    ck_assert_int_eq(pl_buf_append(&b, "a", 1), -E2BIG);
    ck_assert_int_eq(pl_buf_printf(&b, "%d", 1), -E2BIG);
    ck_assert_int_eq(pl_buf_printf(&b, "%s", ""), 0);
    ck_assert_str_eq(b.data, "");
    pl_buf_free(&b);

    /* A length that would wrap len + n must not pass the check. */
    pl_buf_init(&b, SIZE_MAX - 1);
    ck_assert_int_eq(pl_buf_puts(&b, "abc"), 0);
    ck_assert_int_eq(pl_buf_append(&b, "x", SIZE_MAX - 2), -E2BIG);
    ck_assert_int_eq(pl_buf_append(&b, "x", SIZE_MAX), -E2BIG);
    ck_assert_str_eq(b.data, "abc");
    pl_buf_free(&b);
}
END_TEST

START_TEST(test_printf_growth)
{
    pl_buf b;
    char chunk[301];

    memset(chunk, 'a', 300);
    chunk[300] = '\0';
    pl_buf_init(&b, 1 << 20);
    for (int i = 0; i < 20; i++) {
        ck_assert_int_eq(pl_buf_printf(&b, "%04d:%s|", i, chunk), 0);
        ck_assert_uint_eq(b.len, (size_t)(i + 1) * 306);
        ck_assert_uint_ge(b.cap, b.len + 1);
        ck_assert_int_eq(b.data[b.len], '\0');
    }
    ck_assert_uint_eq(strlen(b.data), b.len);
    for (int i = 0; i < 20; i++) {
        char want[6];
        snprintf(want, sizeof(want), "%04d:", i);
        ck_assert_int_eq(memcmp(b.data + (size_t)i * 306, want, 5), 0);
        ck_assert_int_eq(b.data[(size_t)i * 306 + 305], '|');
    }
    pl_buf_free(&b);
}
END_TEST

START_TEST(test_printf_limit)
{
    pl_buf b;

    pl_buf_init(&b, 8);
    ck_assert_int_eq(pl_buf_printf(&b, "%s", "1234"), 0);
    ck_assert_int_eq(pl_buf_printf(&b, "%d", 12345), -E2BIG);
    ck_assert_str_eq(b.data, "1234");
    ck_assert_uint_eq(b.len, 4);
    ck_assert_int_eq(pl_buf_printf(&b, "%d", 5678), 0);
    ck_assert_str_eq(b.data, "12345678");
    pl_buf_free(&b);
}
END_TEST

START_TEST(test_steal_empty)
{
    pl_buf b;
    char *s;

    pl_buf_init(&b, 16);
    s = pl_buf_steal(&b);
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(s, "");
    free(s);
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.len, 0);
    pl_buf_free(&b);
}
END_TEST

START_TEST(test_steal_then_reuse)
{
    pl_buf b;
    char *s;

    pl_buf_init(&b, 16);
    ck_assert_int_eq(pl_buf_puts(&b, "hello"), 0);
    s = pl_buf_steal(&b);
    ck_assert_str_eq(s, "hello");
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_uint_eq(b.cap, 0);
    ck_assert_uint_eq(b.max, 16);
    /* The buffer starts over, with its limit intact. */
    ck_assert_int_eq(pl_buf_puts(&b, "again"), 0);
    ck_assert_str_eq(b.data, "again");
    ck_assert_int_eq(pl_buf_append(&b, "0123456789abcdef", 12), -E2BIG);
    ck_assert_str_eq(s, "hello");
    free(s);
    pl_buf_free(&b);
}
END_TEST

START_TEST(test_reset_and_double_free)
{
    pl_buf b;
    size_t cap;

    pl_buf_init(&b, 1024);
    pl_buf_reset(&b); /* on an empty buffer */
    ck_assert_int_eq(pl_buf_puts(&b, "abcdef"), 0);
    cap = b.cap;
    pl_buf_reset(&b);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_str_eq(b.data, "");
    ck_assert_uint_eq(b.cap, cap);
    ck_assert_int_eq(pl_buf_puts(&b, "xy"), 0);
    ck_assert_str_eq(b.data, "xy");
    pl_buf_free(&b);
    pl_buf_free(&b);
    ck_assert_ptr_null(b.data);
}
END_TEST

START_TEST(test_binary_append)
{
    pl_buf b;
    static const char bin[] = {'a', '\0', 'b'};

    pl_buf_init(&b, 16);
    ck_assert_int_eq(pl_buf_append(&b, bin, sizeof(bin)), 0);
    ck_assert_uint_eq(b.len, 3);
    ck_assert_int_eq(memcmp(b.data, bin, 3), 0);
    ck_assert_int_eq(b.data[3], '\0');
    pl_buf_free(&b);
}
END_TEST

static Suite *buf_suite(void)
{
    Suite *s = suite_create("pl_buf");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_init_is_empty);
    tcase_add_test(tc, test_limit_exact);
    tcase_add_test(tc, test_limit_split);
    tcase_add_test(tc, test_limit_zero_and_huge);
    tcase_add_test(tc, test_printf_growth);
    tcase_add_test(tc, test_printf_limit);
    tcase_add_test(tc, test_steal_empty);
    tcase_add_test(tc, test_steal_then_reuse);
    tcase_add_test(tc, test_reset_and_double_free);
    tcase_add_test(tc, test_binary_append);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    return pl_check_main(buf_suite(), argc, argv);
}
