/* pl_presence: folding socket counts and heartbeats into online/offline. */
#include "pl_check.h"
#include "pl_presence.h"

#include <errno.h>
#include <string.h>

#define U "0b6e2a44-5f1c-4a8e-9d3b-7c6a5b4e3d21"
#define TTL 4000 /* grace: 1000 */

typedef struct seen {
    int calls, online;
    int64_t last_seen;
    char cause[PL_PRESENCE_INSTANCE_MAX];
} seen;

static void on_change(void *arg, const char *user_id, int online, int64_t last_seen,
                      const char *cause)
{
    seen *s = arg;
    ck_assert_str_eq(user_id, U);
    s->calls++;
    s->online = online;
    s->last_seen = last_seen;
    snprintf(s->cause, sizeof(s->cause), "%s", cause ? cause : "");
}

static void rec(pl_presence *p, const char *key, const char *value, int64_t ts, int64_t now)
{
    ck_assert_int_eq(pl_presence_apply(p, key, strlen(key), value, value ? strlen(value) : 0,
                                       ts, now), 0);
}

START_TEST(test_two_instances_and_grace)
{
    pl_presence *p = NULL;
    seen s = {0};
    int64_t ls = 0;

    ck_assert_int_eq(pl_presence_new(&p, TTL, on_change, &s), 0);
    pl_presence_set_live(p, 1);
    rec(p, U "/a", "{\"user_id\":\"" U "\",\"instance\":\"a\",\"sockets\":1,\"at\":1000}", 1000,
        1000);
    ck_assert_int_eq(s.calls, 1);
    ck_assert(s.online);
    rec(p, U "/b", "{\"user_id\":\"" U "\",\"instance\":\"b\",\"sockets\":2,\"at\":1100}", 1100,
        1100);
    ck_assert_int_eq(s.calls, 1); /* already online */
    /* b closes while a still holds a socket: nothing to announce. */
    rec(p, U "/b", NULL, 1200, 1200);
    ck_assert_int_eq(s.calls, 1);
    ck_assert_int_eq(pl_presence_online(p, U, 1200, NULL), 1);
    rec(p, U "/b", "{\"user_id\":\"" U "\",\"instance\":\"b\",\"sockets\":1,\"at\":1300}", 1300,
        1300);
    pl_presence_tick(p, 2500);
    ck_assert_int_eq(s.calls, 1);
    /* The last socket closes on a: offline after the grace, caused by a. */
    rec(p, U "/b", NULL, 2600, 2600);
    rec(p, U "/a", NULL, 2700, 2700);
    pl_presence_tick(p, 3000);
    ck_assert_int_eq(s.calls, 1);
    ck_assert_int_eq(pl_presence_online(p, U, 3000, NULL), 1);
    pl_presence_tick(p, 3700);
    ck_assert_int_eq(s.calls, 2);
    ck_assert(!s.online);
    ck_assert_int_eq(s.last_seen, 2700);
    ck_assert_str_eq(s.cause, "a");
    ck_assert_int_eq(pl_presence_online(p, U, 3700, &ls), 0);
    ck_assert_int_eq(ls, 2700);
    pl_presence_free(p);
}
END_TEST

static void count_dead(void *arg, const char *user_id, const char *instance, int online,
                       int64_t last_seen_ms)
{
    (void)user_id;
    (void)online;
    (void)last_seen_ms;
    ck_assert(strcmp(instance, "a") == 0 || strcmp(instance, "b") == 0);
    ++*(int *)arg;
}

START_TEST(test_dead_instance_and_janitor)
{
    pl_presence *p = NULL;
    seen s = {0};
    int n = 0;

    ck_assert_int_eq(pl_presence_new(&p, TTL, on_change, &s), 0);
    pl_presence_set_live(p, 1);
    rec(p, "b", "{\"instance\":\"b\",\"at\":1000}", 1000, 1000);
    rec(p, U "/a", "{\"user_id\":\"" U "\",\"instance\":\"a\",\"sockets\":1,\"at\":1000}", 1000,
        1000);
    ck_assert(pl_presence_is_janitor(p, "a", 1000));
    ck_assert(!pl_presence_is_janitor(p, "b", 1000));
    pl_presence_tick(p, 4999);
    ck_assert_int_eq(s.calls, 1);
    pl_presence_tick(p, 5000); /* a silent for a ttl: no grace on top */
    ck_assert_int_eq(s.calls, 2);
    ck_assert(!s.online);
    ck_assert_int_eq(s.last_seen, 1000);
    ck_assert_str_eq(s.cause, "");
    ck_assert(pl_presence_is_janitor(p, "b", 5000));
    /* The sweep waits ten ttls; then (U, a), a and b (silent too) show. */
    ck_assert_int_eq(pl_presence_dead_each(p, 5000, 10 * TTL, 10, count_dead, &n), 0);
    ck_assert_int_eq(pl_presence_dead_each(p, 41000, 10 * TTL, 10, count_dead, &n), 3);
    ck_assert_int_eq(n, 3);
    rec(p, U "/a", NULL, 41000, 41000);
    rec(p, "a", NULL, 41000, 41000);
    ck_assert_int_eq(pl_presence_dead_each(p, 41000, 10 * TTL, 10, count_dead, &n), 1); /* b */
    pl_presence_free(p);
}
END_TEST

START_TEST(test_replay_is_quiet_and_keys_checked)
{
    pl_presence *p = NULL;
    seen s = {0};
    char uid[64], inst[PL_PRESENCE_INSTANCE_MAX];

    ck_assert_int_eq(pl_presence_new(&p, TTL, on_change, &s), 0);
    rec(p, U "/a", "{\"user_id\":\"" U "\",\"instance\":\"a\",\"sockets\":1,\"at\":1000}", 1000,
        1000);
    ck_assert_int_eq(s.calls, 0);
    ck_assert_int_eq(pl_presence_online(p, U, 1000, NULL), 1);
    pl_presence_set_live(p, 1);
    ck_assert_int_eq(pl_presence_apply(p, "x/a", 3, "{}", 2, 1, 1), -EINVAL);
    ck_assert_int_eq(pl_presence_apply(p, U "/a", strlen(U "/a"), "{\"at\":1}", 8, 1, 1),
                     -EINVAL); /* no sockets */
    ck_assert_int_eq(pl_presence_apply(p, U "/a", strlen(U "/a"), "nope", 4, 1, 1), -EINVAL);
    ck_assert_int_eq(pl_presence_key_parse("", 0, uid, inst), -EINVAL);
    ck_assert_int_eq(pl_presence_key_parse(U "/a/b", strlen(U "/a/b"), uid, inst), -EINVAL);
    ck_assert_int_eq(pl_presence_key_parse("host-1", 6, uid, inst), 0);
    ck_assert_str_eq(inst, "host-1");
    ck_assert_str_eq(uid, "");
    ck_assert_int_eq(s.calls, 0);
    pl_presence_free(p);
}
END_TEST

static Suite *presence_suite(void)
{
    Suite *s = suite_create("pl_presence");
    TCase *tc = tcase_create("presence");

    tcase_add_test(tc, test_two_instances_and_grace);
    tcase_add_test(tc, test_dead_instance_and_janitor);
    tcase_add_test(tc, test_replay_is_quiet_and_keys_checked);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    return pl_check_main(presence_suite(), argc, argv);
}
