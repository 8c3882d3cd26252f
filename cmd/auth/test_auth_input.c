/* Unit tests for auth_input: the rules clients meet at the door. */
#include "auth_input.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

START_TEST(username_rules)
{
    char out[AUTH_USERNAME_MAX + 1];
    const char *why = NULL;

    ck_assert_int_eq(auth_input_username("Alice_1.x", out, &why), 0);
    ck_assert_str_eq(out, "alice_1.x");
    ck_assert_int_eq(auth_input_username("ab", out, &why), -EINVAL);
    ck_assert_int_eq(auth_input_username("abc", out, &why), 0);
    ck_assert_int_eq(auth_input_username("a23456789012345678901234567890123", out, &why),
                     -EINVAL);
    ck_assert_int_eq(auth_input_username("a2345678901234567890123456789012", out, &why), 0);
    ck_assert_int_eq(auth_input_username("bad name", out, &why), -EINVAL);
    ck_assert_ptr_nonnull(why);
    ck_assert_int_eq(auth_input_username("bäd", out, &why), -EINVAL);
    ck_assert_int_eq(auth_input_username("a%b", out, &why), -EINVAL);
    ck_assert_int_eq(auth_input_username(NULL, out, &why), -EINVAL);
}
END_TEST

START_TEST(display_name_rules)
{
    char out[AUTH_DISPLAY_MAX_BYTES + 1], big[300];
    const char *why = NULL;

    ck_assert_int_eq(auth_input_display_name("  Zoë 🚀 \n", out, &why), 0);
    ck_assert_str_eq(out, "Zoë 🚀");
    ck_assert_int_eq(auth_input_display_name("   ", out, &why), -EINVAL);
    ck_assert_int_eq(auth_input_display_name("a\x01" "b", out, &why), -EINVAL);
    ck_assert_int_eq(auth_input_display_name("a\xc2\x85" "b", out, &why), -EINVAL); /* C1 */
    ck_assert_int_eq(auth_input_display_name("\xc0\xaf", out, &why), -EINVAL); /* overlong */
    ck_assert_int_eq(auth_input_display_name("\xed\xa0\x80", out, &why), -EINVAL); /* surrogate */
    ck_assert_int_eq(auth_input_display_name("\xe2\x82", out, &why), -EINVAL); /* truncated */
    /* 64 four-byte characters fit; 65 do not. */
    for (int i = 0; i < 65; i++)
        memcpy(big + 4 * i, "\xf0\x9f\x9a\x80", 4);
    big[4 * 64] = '\0';
    ck_assert_int_eq(auth_input_display_name(big, out, &why), 0);
    ck_assert_uint_eq(strlen(out), 256);
    big[4 * 64] = '\xf0';
    big[4 * 65] = '\0';
    ck_assert_int_eq(auth_input_display_name(big, out, &why), -EINVAL);
}
END_TEST

START_TEST(password_rules)
{
    char big[AUTH_PASSWORD_MAX + 2];

    ck_assert_int_eq(auth_input_password("1234567", NULL), -EINVAL);
    ck_assert_int_eq(auth_input_password("12345678", NULL), 0);
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ck_assert_int_eq(auth_input_password(big, NULL), -EINVAL);
    big[AUTH_PASSWORD_MAX] = '\0';
    ck_assert_int_eq(auth_input_password(big, NULL), 0);
}
END_TEST

START_TEST(like_prefix)
{
    char out[AUTH_LIKE_MAX + 1];
    const char *why = NULL;

    ck_assert_int_eq(auth_input_like_prefix("Al_i.", out, &why), 0);
    ck_assert_str_eq(out, "al\\_i.%");
    ck_assert_int_eq(auth_input_like_prefix("", out, &why), -EINVAL);
    ck_assert_int_eq(auth_input_like_prefix(NULL, out, &why), -EINVAL);
    ck_assert_int_eq(auth_input_like_prefix("a%", out, &why), -EINVAL);
    ck_assert_int_eq(auth_input_like_prefix("a\\", out, &why), -EINVAL);
    ck_assert_int_eq(auth_input_like_prefix("________________________________", out, &why), 0);
    ck_assert_uint_eq(strlen(out), AUTH_LIKE_MAX);
}
END_TEST

START_TEST(user_agent)
{
    char out[AUTH_USER_AGENT_MAX + 1], big[400];

    auth_input_user_agent(NULL, out);
    ck_assert_str_eq(out, "");
    auth_input_user_agent("curl/8 \xff\t", out);
    ck_assert_str_eq(out, "curl/8 ??");
    memset(big, 'u', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    auth_input_user_agent(big, out);
    ck_assert_uint_eq(strlen(out), AUTH_USER_AGENT_MAX);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("auth_input");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, username_rules);
    tcase_add_test(tc, display_name_rules);
    tcase_add_test(tc, password_rules);
    tcase_add_test(tc, like_prefix);
    tcase_add_test(tc, user_agent);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
