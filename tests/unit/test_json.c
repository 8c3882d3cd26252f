/* pl_json: parsing behind limits, and a writer that escapes and validates. */
#include "pl_check.h"
#include "pl_json.h"

#include <errno.h>
#include <stdio.h>

static char err[128];

/* n '[' then n ']', optionally wrapped: pre + brackets + post. */
static char *nested(const char *pre, int n, const char *post)
{
    size_t lp = strlen(pre), lq = strlen(post);
    char *s = malloc(lp + 2 * (size_t)n + lq + 1);

    ck_assert_ptr_nonnull(s);
    memcpy(s, pre, lp);
    memset(s + lp, '[', (size_t)n);
    memset(s + lp + n, ']', (size_t)n);
    memcpy(s + lp + 2 * (size_t)n, post, lq + 1);
    return s;
}

static int parse(const char *s, yajl_val *v)
{
    err[0] = '\0';
    return pl_json_parse(s, strlen(s), v, err, sizeof(err));
}

START_TEST(test_parse_ok_and_lookups)
{
    yajl_val v = NULL;
    long long n = 0;

    ck_assert_int_eq(parse("{\"a\":\"x\",\"n\":42,\"f\":1.5,\"o\":{},\"l\":[1]}", &v), 0);
    ck_assert(YAJL_IS_OBJECT(v));
    ck_assert_str_eq(pl_json_str(v, "a"), "x");
    ck_assert_int_eq(pl_json_int(v, "n", &n), 0);
    ck_assert_int_eq(n, 42);
    ck_assert_ptr_null(pl_json_str(v, "n"));
    ck_assert_int_eq(pl_json_int(v, "a", &n), -EINVAL);
    ck_assert_int_eq(pl_json_int(v, "f", &n), -EINVAL);
    ck_assert_int_eq(pl_json_int(v, "missing", &n), -EINVAL);
    ck_assert_int_eq(n, 42);
    ck_assert(YAJL_IS_OBJECT(pl_json_get(v, "o")));
    ck_assert(YAJL_IS_ARRAY(pl_json_get(v, "l")));
    ck_assert_ptr_null(pl_json_get(v, "missing"));
    /* Lookups on a non-object are NULL, not a crash. */
    ck_assert_ptr_null(pl_json_get(pl_json_get(v, "l"), "a"));
    ck_assert_ptr_null(pl_json_get(NULL, "a"));
    ck_assert_ptr_null(pl_json_str(NULL, "a"));
    yajl_tree_free(v);
}
END_TEST

static const char *const invalid[] = {
    "", "{", "[1,]", "nul", "{\"a\" 1}", "[1] [2]", "\"unterminated", "{'a':1}",
    "[\"\xff\"]", /* invalid UTF-8 */
    "[01]",
};

START_TEST(test_parse_invalid)
{
    yajl_val v = (yajl_val)&v;

    ck_assert_int_eq(parse(invalid[_i], &v), -EINVAL);
    ck_assert_msg(strncmp(err, "invalid JSON", 12) == 0 || strstr(err, "UTF-8"), "err: %s",
                  err);
    ck_assert_ptr_null(strchr(err, '\n'));
    ck_assert(v == (yajl_val)&v); /* out untouched */
}
END_TEST

START_TEST(test_depth_limit)
{
    yajl_val v = NULL;
    char *s;

    s = nested("", PL_JSON_MAX_DEPTH, "");
    ck_assert_int_eq(parse(s, &v), 0);
    yajl_tree_free(v);
    free(s);

    s = nested("", PL_JSON_MAX_DEPTH + 1, "");
    ck_assert_int_eq(parse(s, &v), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "deeper"));
    free(s);

    /* Objects count too. */
    char obj[8 * 40] = "";
    for (int i = 0; i < 33; i++)
        strcat(obj, "{\"a\":");
    strcat(obj, "1");
    for (int i = 0; i < 33; i++)
        strcat(obj, "}");
    ck_assert_int_eq(parse(obj, &v), -EINVAL);

    /* Siblings do not add up. */
    s = malloc(64 * 4 + 3);
    strcpy(s, "[");
    for (int i = 0; i < 64; i++)
        strcat(s, i ? ",[1]" : "[1]");
    strcat(s, "]");
    ck_assert_int_eq(parse(s, &v), 0);
    yajl_tree_free(v);
    free(s);
}
END_TEST

START_TEST(test_depth_ok_direct)
{
    ck_assert(pl_json_depth_ok("[[]]", 4, 2));
    ck_assert(!pl_json_depth_ok("[[[]]]", 6, 2));
    ck_assert(pl_json_depth_ok("\"[[[\"", 5, 0));
    ck_assert(pl_json_depth_ok("[\"\\\"[[\"]", 9, 1));
    /* Only len bytes are looked at. */
    ck_assert(pl_json_depth_ok("[[[", 1, 1));
}
END_TEST

START_TEST(test_nul_byte_rejected)
{
    static const char s[] = "[\"a\0b\"]";
    yajl_val v = NULL;

    ck_assert_int_eq(pl_json_parse(s, sizeof(s) - 1, &v, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "NUL"));
    ck_assert_ptr_null(v);
}
END_TEST

/* yajl passes these on; Postgres would refuse them after the 202. */
START_TEST(test_bad_unicode_rejected)
{
    static const char *bad[] = {"[\"\xed\xa0\x80\"]", "[\"\xc0\xaf\"]",
                                "[\"\xf4\x90\x80\x80\"]", "[\"\\ud800\"]",
                                "[\"\\udc00\"]", "[\"\\ud800\\u0041\"]", "[\"\\ud800x\"]"};
    yajl_val v = NULL;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_int_eq(pl_json_parse(bad[i], strlen(bad[i]), &v, err, sizeof(err)), -EINVAL);
        ck_assert_ptr_null(v);
    }
    /* A proper pair is fine, and decodes to U+1F44D. */
    ck_assert_int_eq(pl_json_parse("[\"\\ud83d\\udc4d\"]", 16, &v, err, sizeof(err)), 0);
    ck_assert_str_eq(v->u.array.values[0]->u.string, "\xf0\x9f\x91\x8d");
    yajl_tree_free(v);
}
END_TEST

START_TEST(test_brackets_in_strings)
{
    yajl_val v = NULL;
    char s[256];

    /* 40 brackets inside a string are text, not nesting. */
    snprintf(s, sizeof(s), "[\"%s\"]", "[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{{{{{{{{{{{");
    ck_assert_int_eq(parse(s, &v), 0);
    ck_assert_uint_eq(strlen(v->u.array.values[0]->u.string), 40);
    yajl_tree_free(v);
    /* An escaped quote does not end the string early. */
    snprintf(s, sizeof(s), "[\"\\\"%s\"]", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[");
    ck_assert_int_eq(parse(s, &v), 0);
    yajl_tree_free(v);
    /* An escaped backslash does end it: the brackets after count. */
    char *n = nested("[\"\\\\\",", 32, "]");
    ck_assert_int_eq(parse(n, &v), -EINVAL);
    free(n);
}
END_TEST

/* KNOWN BUG (lib/json/pl_json.c:8-28, pl_json_depth_ok): yajl_tree_parse
 * accepts comments, but the depth scan does not know them. A '"' inside a
 * comment makes the scan treat everything up to the next '"' as a string,
 * and ']' inside a comment lowers the count, so nesting of any depth gets
 * through to yajl (whose tree free is recursive: a stack overflow with a
 * few hundred thousand levels). Fix: skip comments in the scan, or better,
 * count depth in yajl callbacks / refuse comments. */
START_TEST(test_depth_hidden_by_comment_quote)
{
    yajl_val v = NULL;
    char *s = nested("[/*\"*/", 40, "/*\"*/]");
    int r = parse(s, &v);

    if (r == 0)
        yajl_tree_free(v);
    free(s);
    ck_assert_int_eq(r, -EINVAL);
}
END_TEST

START_TEST(test_depth_hidden_by_comment_closers)
{
    yajl_val v = NULL;
    char *s = nested("/*]]]]]]]]]]]]]]]]]]]]*/", 40, "");
    int r = parse(s, &v);

    if (r == 0)
        yajl_tree_free(v);
    free(s);
    ck_assert_int_eq(r, -EINVAL);
}
END_TEST

static char *write_str(const char *v, size_t n, int *r)
{
    pl_jw w;
    char *out = NULL;

    ck_assert_int_eq(pl_jw_init(&w), 0);
    pl_jw_arr(&w);
    pl_jw_strn(&w, v, n);
    pl_jw_end_arr(&w);
    *r = pl_jw_finish(&w, &out, NULL);
    ck_assert_ptr_null(w.g);
    return out;
}

START_TEST(test_writer_escaping)
{
    static const char in[] = "a\"b\\c/\n\r\t\b\f\x01\x1f\x7f";
    char *out;
    int r;

    out = write_str(in, sizeof(in) - 1, &r);
    ck_assert_int_eq(r, 0);
    ck_assert_str_eq(out, "[\"a\\\"b\\\\c/\\n\\r\\t\\b\\f\\u0001\\u001F\x7f\"]");
    free(out);

    /* Multi-byte UTF-8 passes through unescaped. */
    out = write_str("é日本😀", strlen("é日本😀"), &r);
    ck_assert_int_eq(r, 0);
    ck_assert_str_eq(out, "[\"é日本😀\"]");
    free(out);

    /* An embedded NUL is escaped, not a terminator. */
    out = write_str("a\0b", 3, &r);
    ck_assert_int_eq(r, 0);
    ck_assert_str_eq(out, "[\"a\\u0000b\"]");
    free(out);
}
END_TEST

START_TEST(test_writer_escaped_output_reparses)
{
    static const char in[] = "q\"\\\n\x01 é";
    yajl_val v = NULL;
    char *out;
    int r;

    out = write_str(in, sizeof(in) - 1, &r);
    ck_assert_int_eq(r, 0);
    ck_assert_int_eq(parse(out, &v), 0);
    ck_assert_str_eq(v->u.array.values[0]->u.string, in);
    yajl_tree_free(v);
    free(out);
}
END_TEST

START_TEST(test_writer_rejects_bad_utf8)
{
    static const char *const bad[] = {"\xff", "a\xc3", "\xc3\x28", "\xe2\x82",
                                      "\x80", "\xf8\x88\x80\x80\x80"};
    char *out;
    int r;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        out = (char *)&r;
        out = write_str(bad[i], strlen(bad[i]), &r);
        ck_assert_msg(r == -EINVAL, "accepted bad UTF-8 #%zu", i);
        ck_assert(out == NULL);
    }
}
END_TEST

START_TEST(test_writer_sticky_error)
{
    pl_jw w;
    char *out = NULL;

    ck_assert_int_eq(pl_jw_init(&w), 0);
    pl_jw_obj(&w);
    pl_jw_int(&w, 1); /* keys must be strings */
    ck_assert_int_eq(w.err, -EINVAL);
    pl_jw_kstr(&w, "a", "b"); /* ignored, error stays */
    pl_jw_end_obj(&w);
    ck_assert_int_eq(w.err, -EINVAL);
    ck_assert_int_eq(pl_jw_finish(&w, &out, NULL), -EINVAL);
    ck_assert_ptr_null(out);

    ck_assert_int_eq(pl_jw_init(&w), 0);
    pl_jw_end_arr(&w); /* close without open */
    ck_assert_int_eq(pl_jw_finish(&w, &out, NULL), -EINVAL);
    ck_assert_ptr_null(out);

    /* pl_jw_free twice is harmless. */
    ck_assert_int_eq(pl_jw_init(&w), 0);
    pl_jw_free(&w);
    pl_jw_free(&w);
}
END_TEST

START_TEST(test_writer_helpers)
{
    pl_jw w;
    char *out = NULL;
    size_t n = 0;

    ck_assert_int_eq(pl_jw_init(&w), 0);
    pl_jw_obj(&w);
    pl_jw_kstr(&w, "s", "v");
    pl_jw_kstr(&w, "n", NULL);
    pl_jw_kint(&w, "i", -9223372036854775807LL - 1);
    pl_jw_key(&w, "b");
    pl_jw_bool(&w, 1);
    pl_jw_key(&w, "f");
    pl_jw_bool(&w, 0);
    pl_jw_key(&w, "z");
    pl_jw_null(&w);
    pl_jw_end_obj(&w);
    ck_assert_int_eq(pl_jw_finish(&w, &out, &n), 0);
    ck_assert_str_eq(out, "{\"s\":\"v\",\"n\":null,\"i\":-9223372036854775808,"
                          "\"b\":true,\"f\":false,\"z\":null}");
    ck_assert_uint_eq(n, strlen(out));
    free(out);
}
END_TEST

static char *rewrite(const char *in)
{
    yajl_val v = NULL;
    pl_jw w;
    char *out = NULL;

    ck_assert_msg(parse(in, &v) == 0, "parse %s: %s", in, err);
    ck_assert_int_eq(pl_jw_init(&w), 0);
    pl_jw_value(&w, v);
    ck_assert_int_eq(pl_jw_finish(&w, &out, NULL), 0);
    yajl_tree_free(v);
    return out;
}

static const char *const values[] = {
    "{\"a\":[1,-2,2.5,1e300,true,false,null,\"x\"],\"b\":{},\"c\":[]}",
    "[12345678901234567890,-0.0,3.25E-7]",
    "\"top-level string\"",
    "42",
    "null",
    "[\"\\u00e9\\n\\\"\"]",
    "{\"k\\\"ey\":{\"nested\":[[[[{}]]]]}}",
};

START_TEST(test_value_round_trip)
{
    char *a = rewrite(values[_i]);
    char *b = rewrite(a);

    /* Canonical input comes back byte for byte; the output is a fixed point. */
    if (_i != 5)
        ck_assert_str_eq(a, values[_i]);
    ck_assert_str_eq(a, b);
    free(a);
    free(b);
}
END_TEST

START_TEST(test_value_null_pointer)
{
    pl_jw w;
    char *out = NULL;

    ck_assert_int_eq(pl_jw_init(&w), 0);
    pl_jw_value(&w, NULL);
    ck_assert_int_eq(pl_jw_finish(&w, &out, NULL), 0);
    ck_assert_str_eq(out, "null");
    free(out);
}
END_TEST

static Suite *json_suite(void)
{
    Suite *s = suite_create("pl_json");
    TCase *tc = tcase_create("parse");
    TCase *tw = tcase_create("write");
    TCase *kb = tcase_create("depth_vs_comments");

    tcase_add_test(tc, test_parse_ok_and_lookups);
    tcase_add_loop_test(tc, test_parse_invalid, 0, (int)(sizeof(invalid) / sizeof(invalid[0])));
    tcase_add_test(tc, test_depth_limit);
    tcase_add_test(tc, test_depth_ok_direct);
    tcase_add_test(tc, test_nul_byte_rejected);
    tcase_add_test(tc, test_brackets_in_strings);
    tcase_add_test(tc, test_bad_unicode_rejected);
    suite_add_tcase(s, tc);

    tcase_add_test(tw, test_writer_escaping);
    tcase_add_test(tw, test_writer_escaped_output_reparses);
    tcase_add_test(tw, test_writer_rejects_bad_utf8);
    tcase_add_test(tw, test_writer_sticky_error);
    tcase_add_test(tw, test_writer_helpers);
    tcase_add_loop_test(tw, test_value_round_trip, 0, (int)(sizeof(values) / sizeof(values[0])));
    tcase_add_test(tw, test_value_null_pointer);
    suite_add_tcase(s, tw);

    tcase_add_test(kb, test_depth_hidden_by_comment_quote);
    tcase_add_test(kb, test_depth_hidden_by_comment_closers);
    suite_add_tcase(s, kb);
    return s;
}

int main(int argc, char **argv)
{
    return pl_check_main(json_suite(), argc, argv);
}
