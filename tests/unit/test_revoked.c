/* pl_revoked: the set of revoked sessions, its expiry, and the records of
 * the sessions topic. */
#include "pl_check.h"
#include "pl_revoked.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static pl_revoked *s;

static void teardown(void)
{
    pl_revoked_free(s);
    s = NULL;
}

static void sid_n(char out[PL_ID_LEN], int n)
{
    snprintf(out, PL_ID_LEN, "00000000-0000-4000-8000-%012d", n);
}

START_TEST(test_add_has_expire)
{
    const char *a = "6f1c2d3e-4b5a-4c6d-8e7f-0123456789ab";
    const char *b = "6f1c2d3e-4b5a-4c6d-8e7f-0123456789ac";

    ck_assert_int_eq(pl_revoked_new(&s), 0);
    ck_assert_int_eq(pl_revoked_has(s, a, 0), 0);
    ck_assert_int_eq(pl_revoked_add(s, a, 1000), 0);
    ck_assert_int_eq(pl_revoked_has(s, a, 999), 1);
    ck_assert_int_eq(pl_revoked_has(s, b, 999), 0);
    /* Expired entries stop counting before pruning removes them. */
    ck_assert_int_eq(pl_revoked_has(s, a, 1000), 0);
    /* A later revocation of the same session extends it; an earlier one
     * does not shorten it. */
    ck_assert_int_eq(pl_revoked_add(s, a, 5000), 0);
    ck_assert_int_eq(pl_revoked_add(s, a, 2000), 0);
    ck_assert_int_eq(pl_revoked_has(s, a, 4999), 1);
    ck_assert_uint_eq(pl_revoked_count(s), 1);
    ck_assert_int_eq(pl_revoked_add(s, "not-an-id", 5000), -EINVAL);
    ck_assert_int_eq(pl_revoked_has(s, "", 0), 0);
    ck_assert_int_eq(pl_revoked_has(NULL, a, 0), 0);
}
END_TEST

START_TEST(test_grow_and_prune)
{
    char sid[PL_ID_LEN];

    ck_assert_int_eq(pl_revoked_new(&s), 0);
    for (int i = 0; i < 5000; i++) {
        sid_n(sid, i);
        ck_assert_int_eq(pl_revoked_add(s, sid, i < 4000 ? 100 : 200), 0);
    }
    ck_assert_uint_eq(pl_revoked_count(s), 5000);
    for (int i = 0; i < 5000; i++) {
        sid_n(sid, i);
        ck_assert_int_eq(pl_revoked_has(s, sid, 50), 1);
    }
    ck_assert_uint_eq(pl_revoked_prune(s, 100), 1000);
    for (int i = 0; i < 5000; i++) {
        sid_n(sid, i);
        ck_assert_int_eq(pl_revoked_has(s, sid, 150), i >= 4000);
    }
    ck_assert_uint_eq(pl_revoked_prune(s, 200), 0);
    sid_n(sid, 7);
    ck_assert_int_eq(pl_revoked_add(s, sid, 300), 0);
    ck_assert_int_eq(pl_revoked_has(s, sid, 250), 1);
}
END_TEST

static int parse(const char *json, pl_revoked_event *ev)
{
    return pl_revoked_parse(json, strlen(json), ev);
}

START_TEST(test_parse)
{
    pl_revoked_event ev;

    ck_assert_int_eq(parse("{\"v\":1,\"type\":\"session.revoked\",\"ts\":1700000000000,"
                           "\"user_id\":\"6f1c2d3e-4b5a-4c6d-8e7f-0123456789ab\","
                           "\"session_id\":\"00000000-0000-4000-8000-000000000001\"}",
                           &ev),
                     0);
    ck_assert_str_eq(ev.user_id, "6f1c2d3e-4b5a-4c6d-8e7f-0123456789ab");
    ck_assert_str_eq(ev.session_id, "00000000-0000-4000-8000-000000000001");
    ck_assert_int_eq(ev.ts_ms, 1700000000000LL);
    /* ts is optional; the caller falls back to the record's time. */
    ck_assert_int_eq(parse("{\"type\":\"session.revoked\","
                           "\"user_id\":\"6f1c2d3e-4b5a-4c6d-8e7f-0123456789ab\","
                           "\"session_id\":\"00000000-0000-4000-8000-000000000001\"}",
                           &ev),
                     0);
    ck_assert_int_eq(ev.ts_ms, 0);
    ck_assert_int_eq(parse("{\"type\":\"session.created\"}", &ev), -ENOTSUP);
    ck_assert_int_eq(parse("{\"type\":\"session.revoked\",\"user_id\":\"x\","
                           "\"session_id\":\"00000000-0000-4000-8000-000000000001\"}", &ev),
                     -EINVAL);
    ck_assert_int_eq(parse("{\"type\":\"session.revoked\","
                           "\"user_id\":\"6f1c2d3e-4b5a-4c6d-8e7f-0123456789ab\","
                           "\"session_id\":\"00000000-0000-4000-8000-000000000001\","
                           "\"ts\":\"soon\"}", &ev),
                     -EINVAL);
    ck_assert_int_eq(parse("[]", &ev), -EINVAL);
    ck_assert_int_eq(parse("", &ev), -EINVAL);
    ck_assert_int_eq(parse("{\"type\":1}", &ev), -EINVAL);
}
END_TEST

int main(int argc, char **argv)
{
    Suite *su = suite_create("revoked");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_add_has_expire);
    tcase_add_test(tc, test_grow_and_prune);
    tcase_add_test(tc, test_parse);
    suite_add_tcase(su, tc);
    return pl_check_main(su, argc, argv);
}
