/* pl_time_parse_iso: RFC 3339 in, Unix milliseconds out; pl_time_iso's
 * output parses back to the same instant. */
#include "pl_check.h"
#include "pl_time.h"

#include <errno.h>

static int64_t parse(const char *s)
{
    int64_t ms = -42;
    ck_assert_msg(pl_time_parse_iso(s, &ms) == 0, "%s should parse", s);
    return ms;
}

START_TEST(test_valid)
{
    ck_assert(parse("1970-01-01T00:00:00Z") == 0);
    ck_assert(parse("2024-05-01T12:00:00Z") == 1714564800000LL);
    ck_assert(parse("2024-05-01T12:00:00.5Z") == 1714564800500LL);
    ck_assert(parse("2024-05-01T12:00:00.123456789Z") == 1714564800123LL);
    ck_assert(parse("2024-05-01T14:30:00+02:30") == 1714564800000LL);
    ck_assert(parse("2024-05-01t06:00:00-06:00") == 1714564800000LL);
    ck_assert(parse("2024-02-29T00:00:00z") == 1709164800000LL);
    ck_assert(parse("9999-12-31T23:59:59Z") == 253402300799000LL);
}
END_TEST

START_TEST(test_round_trip)
{
    char buf[PL_TIME_ISO_LEN];
    const int64_t samples[] = {0, 1, 999, 1714564800123LL, 253402300799999LL};
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        pl_time_iso(buf, samples[i]);
        ck_assert(parse(buf) == samples[i]);
    }
}
END_TEST

static const char *const bad[] = {
    "", "2024", "2024-05-01", "2024-05-01T12:00Z", "2024-05-01 12:00:00Z",
    "2024-05-01T12:00:00", "2024-13-01T00:00:00Z", "2024-00-01T00:00:00Z",
    "2023-02-29T00:00:00Z", "2024-04-31T00:00:00Z", "2024-05-01T24:00:00Z",
    "2024-05-01T12:60:00Z", "2024-05-01T12:00:60Z", "2024-05-01T12:00:00.Z",
    "2024-05-01T12:00:00+2:00", "2024-05-01T12:00:00+02:60", "2024-05-01T12:00:00Zx",
    "1969-12-31T23:59:59Z", "1970-01-01T00:00:00+00:01", "+024-05-01T12:00:00Z",
    "2024-05-01T12:00:00 Z", "2024-05-01T12:00:00+0200", "9999-12-31T23:59:59-00:01",
};

START_TEST(test_invalid)
{
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t ms = -7;
        ck_assert_msg(pl_time_parse_iso(bad[i], &ms) == -EINVAL, "%s should not parse",
                      bad[i]);
    }
}
END_TEST

static Suite *time_suite(void)
{
    Suite *s = suite_create("time");
    TCase *tc = tcase_create("parse_iso");
    tcase_add_test(tc, test_valid);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_invalid);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    return pl_check_main(time_suite(), argc, argv);
}
