/* pl_range: the forms a resuming client sends, and what is ignored or
 * unsatisfiable. */
#include "pl_check.h"
#include "pl_range.h"

static int parse(const char *h, uint64_t size, uint64_t *off, uint64_t *len)
{
    *off = *len = 12345;
    return pl_range_parse(h, size, off, len);
}

START_TEST(test_forms)
{
    uint64_t off, len;

    ck_assert_int_eq(parse("bytes=10-99", 1000, &off, &len), PL_RANGE_PARTIAL);
    ck_assert_uint_eq(off, 10);
    ck_assert_uint_eq(len, 90);
    ck_assert_int_eq(parse("bytes=990-", 1000, &off, &len), PL_RANGE_PARTIAL);
    ck_assert_uint_eq(off, 990);
    ck_assert_uint_eq(len, 10);
    ck_assert_int_eq(parse("Bytes= 0-5000 ", 1000, &off, &len), PL_RANGE_PARTIAL);
    ck_assert_uint_eq(off, 0);
    ck_assert_uint_eq(len, 1000); /* clamped to the end */
    ck_assert_int_eq(parse("bytes=-7", 1000, &off, &len), PL_RANGE_PARTIAL);
    ck_assert_uint_eq(off, 993);
    ck_assert_uint_eq(len, 7);
    ck_assert_int_eq(parse("bytes=-5000", 1000, &off, &len), PL_RANGE_PARTIAL);
    ck_assert_uint_eq(off, 0);
    ck_assert_uint_eq(len, 1000);
    ck_assert_int_eq(parse("bytes=5-5", 1000, &off, &len), PL_RANGE_PARTIAL);
    ck_assert_uint_eq(len, 1);
}
END_TEST

START_TEST(test_ignored_and_unsatisfiable)
{
    uint64_t off, len;

    ck_assert_int_eq(parse(NULL, 1000, &off, &len), PL_RANGE_NONE);
    ck_assert_int_eq(parse("", 1000, &off, &len), PL_RANGE_NONE);
    ck_assert_int_eq(parse("items=1-2", 1000, &off, &len), PL_RANGE_NONE);
    ck_assert_int_eq(parse("bytes=1-2,5-6", 1000, &off, &len), PL_RANGE_NONE);
    ck_assert_int_eq(parse("bytes=9-2", 1000, &off, &len), PL_RANGE_NONE);
    ck_assert_int_eq(parse("bytes=-", 1000, &off, &len), PL_RANGE_NONE);
    ck_assert_int_eq(parse("bytes=a-b", 1000, &off, &len), PL_RANGE_NONE);
    ck_assert_int_eq(parse("bytes=1-2x", 1000, &off, &len), PL_RANGE_NONE);
    ck_assert_uint_eq(off, 12345); /* untouched */
    ck_assert_int_eq(parse("bytes=1000-", 1000, &off, &len), PL_RANGE_UNSATISFIABLE);
    ck_assert_int_eq(parse("bytes=-0", 1000, &off, &len), PL_RANGE_UNSATISFIABLE);
    ck_assert_int_eq(parse("bytes=0-", 0, &off, &len), PL_RANGE_UNSATISFIABLE);
    ck_assert_int_eq(parse("bytes=99999999999999999999999-", 1000, &off, &len),
                     PL_RANGE_UNSATISFIABLE);
}
END_TEST

int main(int argc, char **argv)
{
    Suite *s = suite_create("range");
    TCase *tc = tcase_create("range");
    tcase_add_test(tc, test_forms);
    tcase_add_test(tc, test_ignored_and_unsatisfiable);
    suite_add_tcase(s, tc);
    return pl_check_main(s, argc, argv);
}
