/* pl_text: reaction keys, @mentions and search terms. */
#include "pl_check.h"
#include "pl_text.h"

#include <errno.h>
#include <string.h>

START_TEST(test_emoji)
{
    ck_assert(pl_text_emoji_ok("👍"));
    ck_assert(pl_text_emoji_ok("+1"));
    ck_assert(pl_text_emoji_ok("👨‍👩‍👧‍👦")); /* ZWJ sequence: 7 code points */
    ck_assert(pl_text_emoji_ok("❤️"));
    ck_assert(pl_text_emoji_ok("abcdefghijklmnop"));   /* 16 */
    ck_assert(!pl_text_emoji_ok("abcdefghijklmnopq")); /* 17 */
    ck_assert(!pl_text_emoji_ok(""));
    ck_assert(!pl_text_emoji_ok(NULL));
    ck_assert(!pl_text_emoji_ok("a b"));
    ck_assert(!pl_text_emoji_ok("a\tb"));
    ck_assert(!pl_text_emoji_ok("\x7f"));
    ck_assert(!pl_text_emoji_ok("\xc2\xa0"));     /* NBSP */
    ck_assert(!pl_text_emoji_ok("\xe3\x80\x80")); /* ideographic space */
    ck_assert(!pl_text_emoji_ok("\xe2\x80\xae")); /* RTL override */
    ck_assert(!pl_text_emoji_ok("a/b"));
    ck_assert(!pl_text_emoji_ok("\xff"));
    ck_assert(!pl_text_emoji_ok("\xc0\xaf"));         /* overlong '/' */
    ck_assert(!pl_text_emoji_ok("\xed\xa0\x80"));     /* surrogate */
    ck_assert(!pl_text_emoji_ok("\xf0\x9f\x91"));     /* truncated */
    ck_assert(!pl_text_emoji_ok("\xf4\x90\x80\x80")); /* past U+10FFFF */
}
END_TEST

START_TEST(test_mentions)
{
    char names[PL_TEXT_MENTIONS_MAX][PL_TEXT_NAME_MAX + 1];
    int n = pl_text_mentions("hi @Alice, @bob.smith. and @alice again @x @ab", names, 50);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(names[0], "alice");
    ck_assert_str_eq(names[1], "bob.smith");
    ck_assert_int_eq(pl_text_mentions("mail me: bob@example.com", names, 50), 0);
    ck_assert_int_eq(pl_text_mentions("@@carol", names, 50), 0);
    ck_assert_int_eq(pl_text_mentions("(@carol_1)", names, 50), 1);
    ck_assert_str_eq(names[0], "carol_1");
    ck_assert_int_eq(pl_text_mentions("привет@carol", names, 50), 0);
    ck_assert_int_eq(pl_text_mentions("@abcdefghijklmnopqrstuvwxyz0123456", names, 50), 0);
    ck_assert_int_eq(pl_text_mentions("@abcdefghijklmnopqrstuvwxyz012345", names, 50), 1);
    ck_assert_int_eq(pl_text_mentions("@aaa @bbb @ccc", names, 2), 2);
    ck_assert_int_eq(pl_text_mentions("@", names, 50), 0);
    ck_assert_int_eq(pl_text_mentions("", names, 50), 0);
}
END_TEST

static int terms(const char *q, const char *want)
{
    pl_buf b;
    int r;
    pl_buf_init(&b, 4096);
    r = pl_text_tsquery_terms(q, &b);
    if (r == 0)
        ck_assert_str_eq(b.data, want);
    pl_buf_free(&b);
    return r;
}

START_TEST(test_terms)
{
    ck_assert_int_eq(terms("running", "{\"'running':*\"}"), 0);
    ck_assert_int_eq(terms("  run fast ", "{\"'run'\",\"'fast':*\"}"), 0);
    ck_assert_int_eq(terms("бегал", "{\"'бегал':*\"}"), 0);
    /* Operators, quotes and backslashes only ever separate words. */
    ck_assert_int_eq(terms("a'b\\c&!(d):*|e<->f\"g{h},i",
                           "{\"'a'\",\"'b'\",\"'c'\",\"'d'\",\"'e'\",\"'f'\",\"'g'\","
                           "\"'h'\",\"'i':*\"}"), 0);
    ck_assert_int_eq(terms("", NULL), -ENOENT);
    ck_assert_int_eq(terms("&|!:*'", NULL), -ENOENT);
    ck_assert_int_eq(terms("a b c d e f g h i j k l m n o p", "{\"'a'\",\"'b'\",\"'c'\","
                           "\"'d'\",\"'e'\",\"'f'\",\"'g'\",\"'h'\",\"'i'\",\"'j'\",\"'k'\","
                           "\"'l'\",\"'m'\",\"'n'\",\"'o'\",\"'p':*\"}"), 0);
    ck_assert_int_eq(terms("a b c d e f g h i j k l m n o p q", NULL), -E2BIG);
}
END_TEST

static Suite *text_suite(void)
{
    Suite *s = suite_create("pl_text");
    TCase *tc = tcase_create("text");

    tcase_add_test(tc, test_emoji);
    tcase_add_test(tc, test_mentions);
    tcase_add_test(tc, test_terms);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    return pl_check_main(text_suite(), argc, argv);
}
