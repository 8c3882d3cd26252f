/* pl_http_route: exact segment matching with bounded {params}. */
#include "pl_check.h"
#include "pl_http_route.h"

static pl_http_params p;

static int match(const char *pattern, const char *path)
{
    memset(&p, 0x5a, sizeof(p));
    return pl_http_route_match(pattern, path, &p);
}

START_TEST(test_static)
{
    ck_assert(match("/api/v1/conversations", "/api/v1/conversations"));
    ck_assert_uint_eq(p.n, 0);
    ck_assert(match("/", "/"));
    ck_assert(match("", ""));
    ck_assert(!match("/api/v1/conversations", "/api/v1/conversation"));
    ck_assert(!match("/api/v1/conversation", "/api/v1/conversations"));
    ck_assert(!match("/a", "/A"));
    ck_assert(!match("/a", "a"));
    ck_assert(!match("a", "a")); /* both must start with '/' */
    ck_assert(!match("/a", ""));
    ck_assert(!match("", "/a"));
    ck_assert(!match("/", ""));
}
END_TEST

START_TEST(test_params)
{
    ck_assert(match("/api/v1/conversations/{id}/messages",
                    "/api/v1/conversations/123e4567-e89b/messages"));
    ck_assert_uint_eq(p.n, 1);
    ck_assert_str_eq(p.name[0], "id");
    ck_assert_str_eq(p.value[0], "123e4567-e89b");

    ck_assert(match("/c/{cid}/m/{mid}", "/c/1/m/2"));
    ck_assert_uint_eq(p.n, 2);
    ck_assert_str_eq(p.name[0], "cid");
    ck_assert_str_eq(p.value[0], "1");
    ck_assert_str_eq(p.name[1], "mid");
    ck_assert_str_eq(p.value[1], "2");

    /* Values are raw segment text, with no decoding. */
    ck_assert(match("/u/{id}", "/u/a%2Fb?x=1"));
    ck_assert_str_eq(p.value[0], "a%2Fb?x=1");
    /* A param never spans a slash, and is never empty. */
    ck_assert(!match("/u/{id}", "/u/a/b"));
    ck_assert(!match("/u/{id}", "/u/"));
    ck_assert(!match("/u/{id}/x", "/u//x"));
    /* "{}" is a param with an empty name; "{x" is a literal. */
    ck_assert(match("/u/{}", "/u/v"));
    ck_assert_str_eq(p.name[0], "");
    ck_assert(!match("/u/{x", "/u/v"));
    ck_assert(match("/u/{x", "/u/{x"));
}
END_TEST

START_TEST(test_trailing_slash_and_extra)
{
    ck_assert(!match("/a", "/a/"));
    ck_assert(!match("/a/", "/a"));
    ck_assert(match("/a/", "/a/"));
    ck_assert(!match("/a/{id}", "/a/1/"));
    ck_assert(!match("/a/{id}", "/a/1/2"));
    ck_assert(!match("/a/{id}/b", "/a/1"));
    ck_assert(!match("/a", "/a/b"));
    ck_assert(!match("/a", "//a"));
}
END_TEST

START_TEST(test_segment_length)
{
    char path[300];

    strcpy(path, "/x/");
    memset(path + 3, 'v', PL_HTTP_MAX_SEGMENT);
    path[3 + PL_HTTP_MAX_SEGMENT] = '\0';
    ck_assert(match("/x/{id}", path));
    ck_assert_uint_eq(strlen(p.value[0]), PL_HTTP_MAX_SEGMENT);

    path[3 + PL_HTTP_MAX_SEGMENT] = 'v';
    path[4 + PL_HTTP_MAX_SEGMENT] = '\0';
    ck_assert(!match("/x/{id}", path));
    /* Long literal segments are fine: only params are copied. */
    ck_assert(match(path, path));
}
END_TEST

START_TEST(test_param_count)
{
    ck_assert(match("/{a}/{b}/{c}/{d}", "/1/2/3/4"));
    ck_assert_uint_eq(p.n, PL_HTTP_MAX_PARAMS);
    ck_assert_str_eq(p.value[3], "4");
    ck_assert_str_eq(p.name[3], "d");
    ck_assert(!match("/{a}/{b}/{c}/{d}/{e}", "/1/2/3/4/5"));
}
END_TEST

START_TEST(test_param_name_length)
{
    /* name[] holds 31 characters and the NUL. */
    ck_assert(match("/{aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}", "/v"));
    ck_assert_str_eq(p.name[0], "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    ck_assert(!match("/{aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}", "/v"));
}
END_TEST

START_TEST(test_n_reset)
{
    ck_assert(match("/{a}/{b}", "/1/2"));
    ck_assert(match("/x", "/x"));
    ck_assert_uint_eq(p.n, 0);
}
END_TEST

static Suite *route_suite(void)
{
    Suite *s = suite_create("pl_http_route");
    TCase *tc = tcase_create("match");

    tcase_add_test(tc, test_static);
    tcase_add_test(tc, test_params);
    tcase_add_test(tc, test_trailing_slash_and_extra);
    tcase_add_test(tc, test_segment_length);
    tcase_add_test(tc, test_param_count);
    tcase_add_test(tc, test_param_name_length);
    tcase_add_test(tc, test_n_reset);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    return pl_check_main(route_suite(), argc, argv);
}
