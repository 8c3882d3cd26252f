/* pl_utf8: counting code points and spotting empty or control text. */
#include "pl_check.h"
#include "pl_utf8.h"

#include <string.h>

START_TEST(test_len)
{
    ck_assert_uint_eq(pl_utf8_len(""), 0);
    ck_assert_uint_eq(pl_utf8_len("abc"), 3);
    ck_assert_uint_eq(pl_utf8_len("é"), 1);         /* 2 bytes */
    ck_assert_uint_eq(pl_utf8_len("日本語"), 3);     /* 3 bytes each */
    ck_assert_uint_eq(pl_utf8_len("😀"), 1);        /* 4 bytes */
    ck_assert_uint_eq(pl_utf8_len("aé日😀z"), 5);
    ck_assert_uint_eq(pl_utf8_len("e\xcc\x81"), 2); /* e + combining accent */
}
END_TEST

START_TEST(test_has_text)
{
    ck_assert(!pl_utf8_has_text(""));
    ck_assert(!pl_utf8_has_text(" "));
    ck_assert(!pl_utf8_has_text(" \t\r\n \n"));
    ck_assert(pl_utf8_has_text(" a "));
    ck_assert(pl_utf8_has_text("\n.\n"));
    ck_assert(pl_utf8_has_text("é"));
    /* Only ASCII whitespace counts as blank: NBSP is text. */
    ck_assert(pl_utf8_has_text("\xc2\xa0"));
}
END_TEST

START_TEST(test_valid)
{
    static const char *good[] = {"", "plain", "\xd0\xb6", "\xe2\x80\x8f", "\xef\xbf\xbd",
                                 "\xf0\x9f\x91\x8d", "\xf4\x8f\xbf\xbf", "\xed\x9f\xbf"};
    static const char *bad[] = {
        "\xc0\xaf",             /* overlong '/' */
        "\xe0\x80\xaf",         /* overlong, three bytes */
        "\xf0\x80\x80\xaf",     /* overlong, four bytes */
        "\xed\xa0\x80",         /* surrogate U+D800 */
        "\xed\xbf\xbf",         /* surrogate U+DFFF */
        "\xf4\x90\x80\x80",     /* above U+10FFFF */
        "\xf5\x80\x80\x80", "\xff", "\x80", /* no such lead; stray continuation */
        "\xe2\x82",             /* truncated */
        "\xe2\x28\xa1",         /* bad continuation */
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        ck_assert_msg(pl_utf8_valid(good[i], strlen(good[i])), "good %zu", i);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!pl_utf8_valid(bad[i], strlen(bad[i])), "bad %zu", i);
    /* Only len bytes count: a cut inside a sequence is invalid. */
    ck_assert(!pl_utf8_valid("\xf0\x9f\x91\x8d", 3));
}
END_TEST

START_TEST(test_printable)
{
    ck_assert(pl_utf8_printable(""));
    ck_assert(pl_utf8_printable("hello, world é 日本 😀 ~"));
    ck_assert(!pl_utf8_printable("a\tb"));
    ck_assert(!pl_utf8_printable("line\n"));
    ck_assert(!pl_utf8_printable("\r"));
    ck_assert(!pl_utf8_printable("\x1b[31mred"));
    ck_assert(!pl_utf8_printable("del\x7f"));
    ck_assert(!pl_utf8_printable("\x01"));
    ck_assert(!pl_utf8_printable("\x1f"));
    ck_assert(pl_utf8_printable(" "));
}
END_TEST

static Suite *utf8_suite(void)
{
    Suite *s = suite_create("pl_utf8");
    TCase *tc = tcase_create("text");

    tcase_add_test(tc, test_len);
    tcase_add_test(tc, test_has_text);
    tcase_add_test(tc, test_printable);
    tcase_add_test(tc, test_valid);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    return pl_check_main(utf8_suite(), argc, argv);
}
