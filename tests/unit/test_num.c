/* pl_num: the whole string is one decimal within bounds, or -EINVAL. */
#include "pl_num.h"
#include "pl_check.h"

#include <errno.h>
#include <limits.h>

START_TEST(test_accepts)
{
    long long v;

    ck_assert_int_eq(pl_num_parse_ll("0", 0, 10, &v), 0);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(pl_num_parse_ll("42", 0, 100, &v), 0);
    ck_assert_int_eq(v, 42);
    ck_assert_int_eq(pl_num_parse_ll("-7", -10, 10, &v), 0);
    ck_assert_int_eq(v, -7);
    ck_assert_int_eq(pl_num_parse_ll("9223372036854775807", LLONG_MIN, LLONG_MAX, &v), 0);
    ck_assert(v == LLONG_MAX);
    ck_assert_int_eq(pl_num_parse_ll("-9223372036854775808", LLONG_MIN, LLONG_MAX, &v), 0);
    ck_assert(v == LLONG_MIN);
}
END_TEST

static const char *const bad[] = {
    "",    "12a", " 1",  "1 ",   "+1",  "-",    "--1",  "- 1", "0x10", "1e3",
    "1.0", "\t1", "1\n", "١",    "a1",  "1,000", "٣",
    "9223372036854775808", "-9223372036854775809", "99999999999999999999999",
};

START_TEST(test_rejects)
{
    long long v = 1234;

    ck_assert_msg(pl_num_parse_ll(bad[_i], LLONG_MIN, LLONG_MAX, &v) == -EINVAL,
                  "accepted \"%s\"", bad[_i]);
    ck_assert_int_eq(v, 1234); /* out is untouched on failure */
}
END_TEST

START_TEST(test_null)
{
    long long v = 5;
    ck_assert_int_eq(pl_num_parse_ll(NULL, 0, 10, &v), -EINVAL);
    ck_assert_int_eq(v, 5);
}
END_TEST

START_TEST(test_bounds)
{
    long long v = 99;

    ck_assert_int_eq(pl_num_parse_ll("1", 1, 5, &v), 0);
    ck_assert_int_eq(pl_num_parse_ll("5", 1, 5, &v), 0);
    ck_assert_int_eq(v, 5);
    v = 99;
    ck_assert_int_eq(pl_num_parse_ll("0", 1, 5, &v), -EINVAL);
    ck_assert_int_eq(pl_num_parse_ll("6", 1, 5, &v), -EINVAL);
    ck_assert_int_eq(pl_num_parse_ll("-1", 0, 5, &v), -EINVAL);
    ck_assert_int_eq(v, 99);
    /* Out of range even though strtoll clamps to exactly the bound. */
    ck_assert_int_eq(pl_num_parse_ll("9223372036854775808", 0, LLONG_MAX, &v), -EINVAL);
    ck_assert_int_eq(v, 99);
}
END_TEST

START_TEST(test_errno_clean)
{
    long long v;

    /* A stale errno from an earlier call must not fail a good parse. */
    errno = ERANGE;
    ck_assert_int_eq(pl_num_parse_ll("3", 0, 5, &v), 0);
    ck_assert_int_eq(v, 3);
}
END_TEST

static Suite *num_suite(void)
{
    Suite *s = suite_create("pl_num");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_accepts);
    tcase_add_loop_test(tc, test_rejects, 0, (int)(sizeof(bad) / sizeof(bad[0])));
    tcase_add_test(tc, test_null);
    tcase_add_test(tc, test_bounds);
    tcase_add_test(tc, test_errno_clean);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    return pl_check_main(num_suite(), argc, argv);
}
