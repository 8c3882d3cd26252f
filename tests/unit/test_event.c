/* pl_event: the envelope written by begin/end parses back, and parse
 * refuses every envelope that breaks the contract. */
#include "pl_check.h"
#include "pl_event.h"
#include "pl_id.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>

#define ID1 "123e4567-e89b-42d3-a456-426614174000"
#define ID2 "00000000-0000-4000-8000-000000000002"
#define ID3 "00000000-0000-4000-8000-000000000003"

static char err[128];

static int parse(const char *s, pl_event *ev)
{
    err[0] = '\0';
    return pl_event_parse(s, strlen(s), ev, err, sizeof(err));
}

START_TEST(test_begin_end_round_trip)
{
    pl_jw w;
    pl_event ev;
    char *out = NULL;
    size_t len = 0;

    ck_assert_int_eq(pl_event_begin(&w, "message.created", ID1, ID2, ID3, 1700000000123LL), 0);
    pl_jw_kstr(&w, "text", "hi \"there\"");
    pl_jw_kint(&w, "seq", 7);
    ck_assert_int_eq(pl_event_end(&w, &out, &len), 0);
    ck_assert_uint_eq(len, strlen(out));
    ck_assert_str_eq(out, "{\"v\":1,\"id\":\"" ID1 "\",\"type\":\"message.created\","
                          "\"ts\":1700000000123,\"actor\":\"" ID2 "\","
                          "\"conversation_id\":\"" ID3 "\","
                          "\"data\":{\"text\":\"hi \\\"there\\\"\",\"seq\":7}}");

    ck_assert_int_eq(pl_event_parse(out, len, &ev, err, sizeof(err)), 0);
    ck_assert_ptr_nonnull(ev.tree);
    ck_assert_str_eq(ev.id, ID1);
    ck_assert_str_eq(ev.type, "message.created");
    ck_assert(ev.ts_ms == 1700000000123LL);
    ck_assert_str_eq(ev.actor, ID2);
    ck_assert_str_eq(ev.conversation_id, ID3);
    ck_assert(YAJL_IS_OBJECT(ev.data));
    ck_assert_str_eq(pl_json_str(ev.data, "text"), "hi \"there\"");
    pl_event_free(&ev);
    ck_assert_ptr_null(ev.tree);
    pl_event_free(&ev); /* twice is harmless */
    pl_event_free(NULL);
    free(out);
}
END_TEST

START_TEST(test_fresh_id_when_null)
{
    pl_jw w;
    pl_event a, b;
    char *o1 = NULL, *o2 = NULL;

    ck_assert_int_eq(pl_event_begin(&w, "t", NULL, ID2, ID3, 1), 0);
    ck_assert_int_eq(pl_event_end(&w, &o1, NULL), 0);
    ck_assert_int_eq(pl_event_begin(&w, "t", NULL, ID2, ID3, 1), 0);
    ck_assert_int_eq(pl_event_end(&w, &o2, NULL), 0);
    ck_assert_int_eq(parse(o1, &a), 0);
    ck_assert_int_eq(parse(o2, &b), 0);
    ck_assert(pl_id_valid(a.id));
    ck_assert_str_ne(a.id, b.id);
    ck_assert_uint_eq(a.data->u.object.len, 0);
    pl_event_free(&a);
    pl_event_free(&b);
    free(o1);
    free(o2);
}
END_TEST

START_TEST(test_begin_writer_error)
{
    pl_jw w;
    char *out = NULL;

    /* Invalid UTF-8 in the type poisons the writer; end reports it. */
    ck_assert_int_eq(pl_event_begin(&w, "bad\xff", ID1, ID2, ID3, 1), -EINVAL);
    ck_assert_int_eq(pl_event_end(&w, &out, NULL), -EINVAL);
    ck_assert_ptr_null(out);
}
END_TEST

#define ENV(v, id, type, ts, actor, conv, data)                                      \
    "{\"v\":" v ",\"id\":" id ",\"type\":" type ",\"ts\":" ts ",\"actor\":" actor    \
    ",\"conversation_id\":" conv ",\"data\":" data "}"
#define Q(x) "\"" x "\""

START_TEST(test_parse_minimal_ok)
{
    pl_event ev;

    ck_assert_int_eq(parse(ENV("1", Q(ID1), Q("x"), "0", Q(ID2), Q(ID3), "{}"), &ev), 0);
    pl_event_free(&ev);
    /* Field order and unknown extra fields do not matter. */
    ck_assert_int_eq(parse("{\"data\":{\"a\":[1]},\"extra\":true,\"conversation_id\":" Q(ID3)
                           ",\"actor\":" Q(ID2) ",\"ts\":5,\"type\":\"y\",\"id\":" Q(ID1)
                           ",\"v\":1}",
                           &ev),
                     0);
    ck_assert(ev.ts_ms == 5);
    pl_event_free(&ev);
}
END_TEST

static const char *const bad[] = {
    ENV("2", Q(ID1), Q("x"), "0", Q(ID2), Q(ID3), "{}"),          /* version */
    ENV("0", Q(ID1), Q("x"), "0", Q(ID2), Q(ID3), "{}"),
    ENV("\"1\"", Q(ID1), Q("x"), "0", Q(ID2), Q(ID3), "{}"),
    ENV("1.0", Q(ID1), Q("x"), "0", Q(ID2), Q(ID3), "{}"),
    "{\"id\":" Q(ID1) ",\"type\":\"x\",\"ts\":0,\"actor\":" Q(ID2)   /* no v */
    ",\"conversation_id\":" Q(ID3) ",\"data\":{}}",
    ENV("1", Q("not-an-id"), Q("x"), "0", Q(ID2), Q(ID3), "{}"),  /* bad ids */
    ENV("1", Q("123E4567-E89B-42D3-A456-426614174000"), Q("x"), "0", Q(ID2), Q(ID3), "{}"),
    ENV("1", Q(ID1), Q("x"), "0", Q("x"), Q(ID3), "{}"),
    ENV("1", Q(ID1), Q("x"), "0", Q(ID2), Q(ID3 "0"), "{}"),
    ENV("1", "7", Q("x"), "0", Q(ID2), Q(ID3), "{}"),
    ENV("1", Q(ID1), "null", "0", Q(ID2), Q(ID3), "{}"),          /* type */
    ENV("1", Q(ID1), "3", "0", Q(ID2), Q(ID3), "{}"),
    ENV("1", Q(ID1), Q("x"), "\"0\"", Q(ID2), Q(ID3), "{}"),      /* ts */
    ENV("1", Q(ID1), Q("x"), "1.5", Q(ID2), Q(ID3), "{}"),
    ENV("1", Q(ID1), Q("x"), "0", Q(ID2), Q(ID3), "[]"),          /* data */
    ENV("1", Q(ID1), Q("x"), "0", Q(ID2), Q(ID3), "null"),
    ENV("1", Q(ID1), Q("x"), "0", Q(ID2), Q(ID3), "\"{}\""),
    ENV("1", Q(ID1), Q("x"), "0", Q(ID2), Q(ID3), "1"),
    "{\"v\":1,\"id\":" Q(ID1) ",\"type\":\"x\",\"ts\":0,\"actor\":" Q(ID2)
    ",\"conversation_id\":" Q(ID3) "}",                           /* no data */
    "{\"v\":1,\"id\":" Q(ID1) ",\"type\":\"x\",\"actor\":" Q(ID2)   /* no ts */
    ",\"conversation_id\":" Q(ID3) ",\"data\":{}}",
    "[1]", "{}", "null", "", "{\"v\":1", /* not an envelope / not JSON */
};

START_TEST(test_parse_rejects)
{
    pl_event ev;

    memset(&ev, 0x5a, sizeof(ev));
    ck_assert_msg(parse(bad[_i], &ev) == -EINVAL, "accepted %s", bad[_i]);
    ck_assert_msg(err[0] != '\0', "no reason given");
    /* ev is zeroed, so pl_event_free on it is safe. */
    ck_assert_ptr_null(ev.tree);
    ck_assert_ptr_null(ev.id);
    ck_assert_ptr_null(ev.data);
    pl_event_free(&ev);
}
END_TEST

/* base + spaces to reach exactly len bytes (JSON allows trailing blanks). */
static char *padded(size_t len)
{
    static const char base[] = ENV("1", Q(ID1), Q("x"), "0", Q(ID2), Q(ID3), "{}");
    char *s = malloc(len + 1);

    ck_assert_uint_gt(len, sizeof(base));
    memcpy(s, base, sizeof(base) - 1);
    memset(s + sizeof(base) - 1, ' ', len - (sizeof(base) - 1));
    s[len] = '\0';
    return s;
}

START_TEST(test_size_limit)
{
    pl_event ev;
    char *s = padded(PL_EVENT_MAX);

    ck_assert_int_eq(pl_event_parse(s, PL_EVENT_MAX, &ev, err, sizeof(err)), 0);
    pl_event_free(&ev);
    free(s);

    s = padded(PL_EVENT_MAX + 1);
    ck_assert_int_eq(pl_event_parse(s, PL_EVENT_MAX + 1, &ev, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "larger"));
    ck_assert_ptr_null(ev.tree);
    free(s);
}
END_TEST

START_TEST(test_depth_limit_applies)
{
    pl_event ev;
    char s[512];
    int n = snprintf(s, sizeof(s), "{\"v\":1,\"id\":" Q(ID1) ",\"type\":\"x\",\"ts\":0,"
                                   "\"actor\":" Q(ID2) ",\"conversation_id\":" Q(ID3)
                                   ",\"data\":{\"a\":");
    for (int i = 0; i < 40; i++)
        s[n++] = '[';
    for (int i = 0; i < 40; i++)
        s[n++] = ']';
    strcpy(s + n, "}}");
    ck_assert_int_eq(parse(s, &ev), -EINVAL);
}
END_TEST

static Suite *event_suite(void)
{
    Suite *s = suite_create("pl_event");
    TCase *tc = tcase_create("envelope");

    tcase_add_test(tc, test_begin_end_round_trip);
    tcase_add_test(tc, test_fresh_id_when_null);
    tcase_add_test(tc, test_begin_writer_error);
    tcase_add_test(tc, test_parse_minimal_ok);
    tcase_add_loop_test(tc, test_parse_rejects, 0, (int)(sizeof(bad) / sizeof(bad[0])));
    tcase_add_test(tc, test_size_limit);
    tcase_add_test(tc, test_depth_limit_applies);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0)
        return EXIT_FAILURE;
    return pl_check_main(event_suite(), argc, argv);
}
