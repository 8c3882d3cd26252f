/* Pure logic of cmd/pusher: map, dedup, membership cache, hub, builders,
 * per-socket resume state, client frame parsing. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pl_event.h"
#include "pusher_build.h"
#include "pusher_cache.h"
#include "pusher_hub.h"
#include "pusher_conv.h"
#include "pusher_map.h"
#include "pusher_recent.h"
#include "pusher_req.h"

static void id_of(char out[PL_ID_LEN], int i)
{
    snprintf(out, PL_ID_LEN, "00000000-0000-4000-8000-%012d", i);
}

static pusher_frame *frame_of(const char *s)
{
    pusher_frame *f = NULL;
    ck_assert_int_eq(pusher_frame_new(&f, s, strlen(s)), 0);
    return f;
}

static char emitted[64][8];
static int nemitted;

static void collect(void *arg, pusher_frame *f)
{
    (void)arg;
    snprintf(emitted[nemitted++], 8, "%s", (const char *)pusher_frame_payload(f));
    pusher_frame_unref(f);
}

/* Live frames are held while replaying; the overlap with the replay is
 * dropped; after the end, nothing at or below the last offset goes out. */
START_TEST(convs_replay_then_held_without_repeats)
{
    pusher_convs *c = NULL;
    char conv[PL_ID_LEN];
    pl_pos last;
    pusher_frame *f7 = frame_of("f7"), *f8 = frame_of("f8"), *f9 = frame_of("f9");

    id_of(conv, 1);
    nemitted = 0;
    ck_assert_int_eq(pusher_convs_new(&c, 10), 0);
    ck_assert_int_eq(pusher_convs_begin(c, conv, (pl_pos){3, 4}), 0);
    ck_assert_int_eq(pusher_convs_begin(c, conv, (pl_pos){3, 4}), -EALREADY);
    /* live 7, 8 arrive during the replay: held */
    ck_assert_int_eq(pusher_convs_live(c, conv, (pl_pos){3, 7}, f7), PUSHER_CONV_HELD);
    ck_assert_int_eq(pusher_convs_live(c, conv, (pl_pos){3, 8}, f8), PUSHER_CONV_HELD);
    /* the replay reads 4 (already seen), 5, 7 (overlap with live) */
    ck_assert_int_eq(pusher_convs_replayed(c, conv, (pl_pos){3, 4}), PUSHER_CONV_DROP);
    ck_assert_int_eq(pusher_convs_replayed(c, conv, (pl_pos){3, 5}), PUSHER_CONV_SEND);
    ck_assert_int_eq(pusher_convs_replayed(c, conv, (pl_pos){3, 7}), PUSHER_CONV_SEND);
    ck_assert(pusher_convs_replaying(c, conv, &last));
    ck_assert_int_eq(last.offset, 7);
    ck_assert_int_eq(pusher_convs_end(c, conv, collect, NULL, &last), 0);
    ck_assert_int_eq(nemitted, 1); /* f7 was sent by the replay: only f8 */
    ck_assert_str_eq(emitted[0], "f8");
    ck_assert_int_eq(last.offset, 8);
    ck_assert_int_eq(pusher_convs_end(c, conv, collect, NULL, &last), -ENOENT);
    /* live again: a repeat is dropped, the next goes out */
    ck_assert_int_eq(pusher_convs_live(c, conv, (pl_pos){3, 8}, f8), PUSHER_CONV_DROP);
    ck_assert_int_eq(pusher_convs_live(c, conv, (pl_pos){3, 9}, f9), PUSHER_CONV_SEND);
    ck_assert_int_eq(pusher_convs_replayed(c, conv, (pl_pos){3, 10}), PUSHER_CONV_DROP);
    pusher_convs_free(c);
    pusher_frame_unref(f7);
    pusher_frame_unref(f8);
    pusher_frame_unref(f9);
}
END_TEST

START_TEST(convs_pending_cap_and_table_cap)
{
    pusher_convs *c = NULL;
    char conv[PL_ID_LEN], other[PL_ID_LEN];
    pusher_frame *f = frame_of("x");
    int i;

    id_of(conv, 1);
    id_of(other, 2);
    ck_assert_int_eq(pusher_convs_new(&c, 1), 0);
    ck_assert_int_eq(pusher_convs_begin(c, conv, (pl_pos){0, 0}), 0);
    for (i = 1; i <= PUSHER_CONV_MAX_PENDING; i++)
        ck_assert_int_eq(pusher_convs_live(c, conv, (pl_pos){0, i}, f), PUSHER_CONV_HELD);
    ck_assert_int_eq(pusher_convs_live(c, conv, (pl_pos){0, i}, f), PUSHER_CONV_OVERFLOW);
    /* the table holds one conversation: another is sent untracked */
    ck_assert_int_eq(pusher_convs_live(c, other, (pl_pos){1, 1}, f), PUSHER_CONV_SEND);
    ck_assert_int_eq(pusher_convs_live(c, other, (pl_pos){1, 1}, f), PUSHER_CONV_SEND);
    ck_assert_int_eq(pusher_convs_begin(c, other, (pl_pos){1, 1}), -ENOSPC);
    pusher_convs_free(c); /* releases the held references */
    ck_assert_int_eq(atomic_load(&f->refs), 1);
    pusher_frame_unref(f);
}
END_TEST

static pusher_delivery *recent_delivery(int32_t partition, int64_t offset, const char *conv)
{
    static const char users[1][PL_ID_LEN] = {"aaaaaaaa-1111-4111-8111-111111111111"};
    pusher_delivery *d = NULL;

    ck_assert_int_eq(pusher_delivery_new(&d, NULL, 0, users, 1), 0);
    d->partition = partition;
    d->offset = offset;
    snprintf(d->conv, sizeof(d->conv), "%s", conv);
    return d;
}

static void recent_collect(void *arg, const pusher_delivery *d)
{
    int64_t *seen = arg;
    seen[++seen[0]] = d->offset;
}

/* What the recent deliveries answer for, and in which order. */
START_TEST(recent_covers_only_what_it_kept)
{
    pusher_recent *r = NULL;
    int64_t seen[8];

    ck_assert_int_eq(pusher_recent_new(&r, 3), 0);
    ck_assert(!pusher_recent_covers(r, 2, 10)); /* nothing kept yet */
    pusher_recent_keep(r, recent_delivery(2, 10, "c1"));
    pusher_recent_keep(r, recent_delivery(2, 12, "c2")); /* 11: no delivery */
    pusher_recent_keep(r, recent_delivery(2, 12, "c2")); /* not newer: dropped */
    ck_assert(pusher_recent_covers(r, 2, 9) && pusher_recent_covers(r, 2, 12));
    ck_assert(!pusher_recent_covers(r, 2, 8)); /* 9 may have been a delivery */
    ck_assert(!pusher_recent_covers(r, 2, 13)); /* not read this far */
    ck_assert(!pusher_recent_covers(r, 1, 10));
    pusher_recent_keep(r, recent_delivery(2, 13, "c1"));
    pusher_recent_keep(r, recent_delivery(2, 15, "c1")); /* drops 10 */
    ck_assert(!pusher_recent_covers(r, 2, 9));
    ck_assert(pusher_recent_covers(r, 2, 10));
    seen[0] = 0;
    pusher_recent_each(r, 2, 12, recent_collect, seen);
    ck_assert_int_eq(seen[0], 2);
    ck_assert(seen[1] == 13 && seen[2] == 15);
    seen[0] = 0;
    pusher_recent_each(r, 2, 10, recent_collect, seen);
    ck_assert_int_eq(seen[0], 3);
    pusher_recent_free(r);
    ck_assert_int_eq(pusher_recent_new(&r, 0), 0); /* keeps nothing */
    pusher_recent_keep(r, recent_delivery(0, 1, "c1"));
    ck_assert(!pusher_recent_covers(r, 0, 1));
    pusher_recent_free(r);
}
END_TEST

START_TEST(req_parses_auth_with_resume)
{
    const char ok[] = "{\"type\":\"auth\",\"access_token\":\"t\",\"resume\":{"
                      "\"00000000-0000-4000-8000-000000000001\":\"p3.o1234\"}}";
    const char twice[] = "{\"type\":\"auth\",\"resume\":{"
                         "\"00000000-0000-4000-8000-000000000001\":\"p3.o1\","
                         "\"00000000-0000-4000-8000-000000000001\":\"p3.o2\"}}";
    const char badpos[] = "{\"type\":\"auth\",\"resume\":{"
                          "\"00000000-0000-4000-8000-000000000001\":\"p3.o-1\"}}";
    pusher_req r;
    char err[64];

    ck_assert_int_eq(pusher_req_parse(ok, strlen(ok), &r, err, sizeof(err)), 0);
    ck_assert_int_eq(r.type, PUSHER_REQ_AUTH);
    ck_assert_str_eq(r.access_token, "t");
    ck_assert_uint_eq(r.nresume, 1);
    ck_assert_int_eq(r.resume[0].pos.partition, 3);
    ck_assert_int_eq(r.resume[0].pos.offset, 1234);
    pusher_req_free(&r);
    ck_assert_int_eq(pusher_req_parse(twice, strlen(twice), &r, err, sizeof(err)), -EBADMSG);
    ck_assert_int_eq(pusher_req_parse(badpos, strlen(badpos), &r, err, sizeof(err)), -EBADMSG);
    ck_assert_int_eq(pusher_req_parse("[1]", 3, &r, err, sizeof(err)), -EINVAL);
    ck_assert_int_eq(pusher_req_parse("{\"type\":\"ping\"}", 15, &r, err, sizeof(err)), 0);
    ck_assert_int_eq(r.type, PUSHER_REQ_PING);
    pusher_req_free(&r);
}
END_TEST

START_TEST(map_put_get_del_grow)
{
    pusher_map *m = NULL;
    char k[PL_ID_LEN];
    void *old = NULL;

    ck_assert_int_eq(pusher_map_new(&m), 0);
    for (int i = 0; i < 5000; i++) {
        id_of(k, i);
        ck_assert_int_eq(pusher_map_put(m, k, (void *)(long)(i + 1), NULL), 0);
    }
    ck_assert_uint_eq(pusher_map_count(m), 5000);
    id_of(k, 42);
    ck_assert_ptr_eq(pusher_map_get(m, k), (void *)43L);
    ck_assert_int_eq(pusher_map_put(m, k, (void *)7L, &old), 0);
    ck_assert_ptr_eq(old, (void *)43L);
    ck_assert_ptr_eq(pusher_map_del(m, k), (void *)7L);
    ck_assert_ptr_null(pusher_map_get(m, k));
    ck_assert_uint_eq(pusher_map_count(m), 4999);
    pusher_map_free(m, NULL);
}
END_TEST

START_TEST(dedup_forgets_oldest)
{
    pusher_dedup *d = NULL;
    char k[PL_ID_LEN];

    ck_assert_int_eq(pusher_dedup_new(&d, 3), 0);
    for (int i = 0; i < 3; i++) {
        id_of(k, i);
        ck_assert_int_eq(pusher_dedup_check(d, k), 0);
    }
    id_of(k, 1);
    ck_assert_int_eq(pusher_dedup_check(d, k), 1);
    id_of(k, 3);
    ck_assert_int_eq(pusher_dedup_check(d, k), 0); /* evicts 0 */
    id_of(k, 0);
    ck_assert_int_eq(pusher_dedup_check(d, k), 0);
    pusher_dedup_free(d);
}
END_TEST

START_TEST(members_cache_clears_when_full)
{
    pusher_members_cache *c = NULL;
    char k[PL_ID_LEN];

    ck_assert_int_eq(pusher_members_cache_new(&c, 2), 0);
    for (int i = 0; i < 3; i++) {
        pusher_members *m = pusher_members_new(1);
        ck_assert_ptr_nonnull(m);
        id_of(m->ids[0], 100 + i);
        id_of(k, i);
        ck_assert_int_eq(pusher_members_cache_put(c, k, m), 0);
    }
    ck_assert_uint_eq(pusher_members_cache_count(c), 1);
    id_of(k, 2);
    ck_assert_ptr_nonnull(pusher_members_cache_get(c, k));
    ck_assert_ptr_null(pusher_members_new(PUSHER_MAX_MEMBERS + 1));
    pusher_members_cache_free(c);
}
END_TEST

static int wakes;
static void count_wake(void *arg)
{
    (void)arg;
    wakes++;
}

START_TEST(hub_queue_and_index)
{
    pusher_hub *h = NULL;
    pusher_frame *f = NULL;
    pusher_delivery *d = NULL;
    pusher_hub_node a = {0}, b = {0}, c = {0};
    char users[2][PL_ID_LEN];

    ck_assert_int_eq(pusher_hub_new(&h, 2, count_wake, NULL), 0);
    id_of(users[0], 1);
    id_of(users[1], 2);
    ck_assert_int_eq(pusher_frame_new(&f, "{}", 2), 0);
    ck_assert_int_eq(pusher_delivery_new(&d, f, 0, (const char(*)[PL_ID_LEN])users, 2), 0);
    ck_assert_int_eq(pusher_hub_push(h, d), 0);
    ck_assert_int_eq(wakes, 1);
    d = pusher_hub_pop(h);
    ck_assert_ptr_nonnull(d);
    ck_assert_uint_eq(d->nusers, 2);
    ck_assert_str_eq((char *)pusher_frame_payload(d->frame), "{}");
    pusher_delivery_free(d);
    ck_assert_ptr_null(pusher_hub_pop(h));

    ck_assert_int_eq(pusher_hub_index_add(h, &a, users[0]), 0);
    ck_assert_int_eq(pusher_hub_index_add(h, &b, users[0]), 0);
    ck_assert_int_eq(pusher_hub_index_add(h, &c, users[1]), 0);
    ck_assert_ptr_eq(pusher_hub_index_first(h, users[0]), &b);
    pusher_hub_index_del(h, &b);
    ck_assert_ptr_eq(pusher_hub_index_first(h, users[0]), &a);
    pusher_hub_index_del(h, &a);
    pusher_hub_index_del(h, &a); /* idempotent */
    ck_assert_ptr_null(pusher_hub_index_first(h, users[0]));
    ck_assert_uint_eq(pusher_hub_index_users(h), 1);

    pusher_hub_close(h);
    ck_assert_int_eq(pusher_frame_new(&f, "x", 1), 0);
    ck_assert_int_eq(pusher_delivery_new(&d, f, 0, (const char(*)[PL_ID_LEN])users, 1), 0);
    ck_assert_int_eq(pusher_hub_push(h, d), -ESHUTDOWN); /* d freed */
    pusher_hub_free(h);
}
END_TEST

static const char conv_ev[] =
    "{\"v\":1,\"id\":\"00000000-0000-4000-8000-000000000001\",\"type\":\"conversation.created\","
    "\"ts\":0,\"actor\":\"00000000-0000-4000-8000-000000000002\","
    "\"conversation_id\":\"00000000-0000-4000-8000-000000000003\",\"data\":{\"kind\":\"group\","
    "\"title\":null,\"members\":[{\"user_id\":\"00000000-0000-4000-8000-000000000002\","
    "\"role\":\"owner\"}]}}";

START_TEST(build_conversation_created)
{
    pusher_members *m = NULL;
    char *json = NULL, err[128];
    size_t len = 0;
    pl_event ev;

    ck_assert_int_eq(pl_event_parse(conv_ev, strlen(conv_ev), &ev, err, sizeof(err)), 0);
    ck_assert_int_eq(pusher_build_conversation_created(&ev, "p0.o5", &json, &len, &m), 0);
    ck_assert_str_eq(json,
        "{\"type\":\"conversation.created\",\"position\":\"p0.o5\",\"conversation\":{"
        "\"id\":\"00000000-0000-4000-8000-000000000003\",\"kind\":\"group\",\"title\":null,"
        "\"created_by\":\"00000000-0000-4000-8000-000000000002\","
        "\"created_at\":\"1970-01-01T00:00:00.000Z\",\"members\":[{\"user_id\":"
        "\"00000000-0000-4000-8000-000000000002\",\"role\":\"owner\"}],\"position\":\"p0.o5\"}}");
    ck_assert_uint_eq(m->n, 1);
    free(json);
    free(m);
    pl_event_free(&ev);
}
END_TEST

START_TEST(build_message_created_rejects_bad_data)
{
    static const char bad[] =
        "{\"v\":1,\"id\":\"00000000-0000-4000-8000-000000000001\",\"type\":\"message.created\","
        "\"ts\":0,\"actor\":\"00000000-0000-4000-8000-000000000002\","
        "\"conversation_id\":\"00000000-0000-4000-8000-000000000003\",\"data\":{"
        "\"message_id\":\"nope\",\"client_msg_id\":\"c\",\"text\":\"t\"}}";
    char *json = NULL, err[128];
    size_t len = 0;
    pl_event ev;

    ck_assert_int_eq(pl_event_parse(bad, strlen(bad), &ev, err, sizeof(err)), 0);
    ck_assert_int_eq(pusher_build_message_created(&ev, "p0.o1", &json, &len), -EINVAL);
    ck_assert_ptr_null(json);
    pl_event_free(&ev);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pusher_logic");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, map_put_get_del_grow);
    tcase_add_test(tc, dedup_forgets_oldest);
    tcase_add_test(tc, members_cache_clears_when_full);
    tcase_add_test(tc, hub_queue_and_index);
    tcase_add_test(tc, build_conversation_created);
    tcase_add_test(tc, build_message_created_rejects_bad_data);
    tcase_add_test(tc, convs_replay_then_held_without_repeats);
    tcase_add_test(tc, convs_pending_cap_and_table_cap);
    tcase_add_test(tc, req_parses_auth_with_resume);
    tcase_add_test(tc, recent_covers_only_what_it_kept);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
