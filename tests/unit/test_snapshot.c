/* pl_snapshot and pl_archive_read: what tiering writes comes back as the
 * read API's message objects, in order, and a changed byte is caught. */
#include "pl_archive_object.h"
#include "pl_archive_read.h"
#include "pl_check.h"
#include "pl_snapshot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONV "11111111-1111-4111-8111-111111111111"
#define ALICE "aaaaaaaa-1111-4111-8111-111111111111"
#define BOB "bbbbbbbb-1111-4111-8111-111111111111"

static const char *msg_a =
    "{\"id\":\"m1\",\"conversation_id\":\"" CONV "\",\"client_msg_id\":\"c1\","
    "\"sender_id\":\"" ALICE "\",\"text\":\"hello\",\"created_ms\":1700000000123,"
    "\"partition\":3,\"offset\":10,\"edited_ms\":1700000001000,\"deleted_ms\":null,"
    "\"reply_to\":null,\"quoted\":null,\"mentions\":[\"" BOB "\"],"
    "\"reactions\":[{\"emoji\":\"\\ud83d\\udc4d\",\"users\":[\"" ALICE "\",\"" BOB "\"]}],"
    "\"attachments\":[]}";
static const char *msg_b =
    "{\"id\":\"m2\",\"conversation_id\":\"" CONV "\",\"client_msg_id\":\"c2\","
    "\"sender_id\":\"" BOB "\",\"text\":\"\",\"created_ms\":1700000002000,"
    "\"partition\":3,\"offset\":12,\"edited_ms\":null,\"deleted_ms\":1700000003000,"
    "\"reply_to\":\"m1\",\"quoted\":{\"id\":\"m1\",\"sender_id\":\"" ALICE "\","
    "\"text\":\"hello\",\"deleted\":false},\"mentions\":[],\"reactions\":[],"
    "\"attachments\":[]}";

static void encode(pl_buf *out, char hash[PL_SEGMENT_HASH_HEX])
{
    pl_snapshot_header h = {.conversation_id = CONV, .partition = 3, .first = 10,
                            .last = 12, .count = 2};
    pl_buf lines;

    pl_buf_init(&lines, 1 << 20);
    ck_assert_int_eq(pl_snapshot_line(&lines, 10, msg_a, strlen(msg_a)), 0);
    ck_assert_int_eq(pl_snapshot_line(&lines, 12, msg_b, strlen(msg_b)), 0);
    ck_assert_int_eq(pl_snapshot_line(&lines, 13, "{\n}", 3), -EINVAL);
    ck_assert_int_eq(pl_snapshot_encode(&h, &lines, out, hash), 0);
    pl_buf_free(&lines);
}

static char *written(const pl_archive_msg *m, const char *viewer)
{
    pl_jw w;
    char *s = NULL;
    size_t n;

    ck_assert_int_eq(pl_jw_init(&w), 0);
    pl_archive_message_write(&w, m->json, m->len, viewer);
    ck_assert_int_eq(pl_jw_finish(&w, &s, &n), 0);
    return s;
}

static void put(pl_store *s, const char *key, const void *p, size_t n)
{
    pl_store_writer *w = NULL;

    ck_assert_int_eq(pl_store_put_begin(s, key, &w), 0);
    ck_assert_int_eq(pl_store_put_write(w, p, n), 0);
    ck_assert_int_eq(pl_store_put_commit(w), 0);
}

static pl_store *store_with(const pl_buf *out, char dir[64])
{
    pl_store *s = NULL;

    snprintf(dir, 64, "/tmp/test-snapshot-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(pl_store_fs_new(&s, dir), 0);
    put(s, "h-snap", out->data, out->len);
    return s;
}

START_TEST(test_pick_and_write)
{
    char hash[PL_SEGMENT_HASH_HEX], dir[64], *s;
    int64_t want[2] = {12, 10};
    pl_archive_page page;
    pl_buf out;
    pl_store *store;

    encode(&out, hash);
    store = store_with(&out, dir);
    pl_archive_page_init(&page);
    ck_assert_int_eq(pl_archive_pick(store, "h-snap", hash, want, 2, &page), 0);
    ck_assert_uint_eq(page.n, 2);
    ck_assert_int_eq(page.msgs[0].offset, 10); /* snapshot order */
    s = written(&page.msgs[0], BOB);
    ck_assert_str_eq(s, "{\"id\":\"m1\",\"conversation_id\":\"" CONV "\","
                        "\"client_msg_id\":\"c1\",\"sender_id\":\"" ALICE "\","
                        "\"text\":\"hello\",\"created_at\":\"2023-11-14T22:13:20.123Z\","
                        "\"position\":\"p3.o10\","
                        "\"edited_at\":\"2023-11-14T22:13:21.000Z\",\"deleted_at\":null,"
                        "\"reply_to\":null,\"quoted\":null,\"mentions\":[\"" BOB "\"],"
                        "\"reactions\":[{\"emoji\":\"\xf0\x9f\x91\x8d\",\"count\":2,"
                        "\"me\":true}],\"attachments\":[]}");
    free(s);
    s = written(&page.msgs[1], ALICE);
    ck_assert_ptr_nonnull(strstr(s, "\"deleted_at\":\"2023-11-14T22:13:23.000Z\""));
    ck_assert_ptr_nonnull(strstr(s, "\"quoted\":{\"id\":\"m1\",\"sender_id\":\"" ALICE
                                    "\",\"text\":\"hello\",\"deleted\":false}"));
    free(s);
    pl_archive_page_free(&page);
    /* A wrong hash is a tampered snapshot; a missing object was purged. */
    ck_assert_int_eq(pl_archive_pick(store, "h-snap", "00", want, 2, &page), -EBADMSG);
    pl_archive_page_free(&page);
    ck_assert_int_eq(pl_store_delete(store, "h-snap"), 0);
    ck_assert_int_eq(pl_archive_pick(store, "h-snap", hash, want, 2, &page), 0);
    ck_assert_uint_eq(page.n, 0);
    pl_archive_page_free(&page);
    pl_store_free(store);
    pl_buf_free(&out);
    rmdir(dir);
}
END_TEST

/* Every way an archive object can fail to be what the catalog says. */
START_TEST(test_object_load)
{
    char hash[PL_SEGMENT_HASH_HEX], junk_hash[PL_SEGMENT_HASH_HEX], dir[64];
    pl_snapshot_header h;
    pl_store *store;
    pl_buf out, raw;

    encode(&out, hash);
    store = store_with(&out, dir);
    ck_assert_int_eq(pl_archive_object_load(store, "h-snap", hash, &raw), 0);
    ck_assert_int_eq(pl_snapshot_scan(raw.data, raw.len, &h, NULL, NULL), 0);
    pl_buf_free(&raw);
    hash[0] = hash[0] == '0' ? '1' : '0';
    ck_assert_int_eq(pl_archive_object_load(store, "h-snap", hash, &raw), -EBADMSG);
    pl_buf_free(&raw);
    /* Hashes right but is no zstd frame: corrupt, not tampered. */
    pl_segment_hash("not zstd", 8, junk_hash);
    put(store, "h-junk", "not zstd", 8);
    ck_assert_int_eq(pl_archive_object_load(store, "h-junk", junk_hash, &raw), -EINVAL);
    pl_buf_free(&raw);
    ck_assert_int_eq(pl_archive_object_load(store, "h-gone", junk_hash, &raw), -ENOENT);
    pl_buf_free(&raw);
    ck_assert_int_eq(pl_store_delete(store, "h-junk"), 0);
    ck_assert_int_eq(pl_store_delete(store, "h-snap"), 0);
    pl_store_free(store);
    pl_buf_free(&out);
    rmdir(dir);
}
END_TEST

static int count_lines(void *arg, int64_t offset, const char *msg, size_t len)
{
    yajl_val v = NULL;
    (void)offset;
    ck_assert_int_eq(pl_snapshot_json(msg, len, &v), 0);
    yajl_tree_free(v);
    (*(int *)arg)++;
    return 0;
}

START_TEST(test_scan_rejects_damage)
{
    char hash[PL_SEGMENT_HASH_HEX];
    pl_snapshot_header h;
    pl_buf out, raw;
    int n = 0;

    encode(&out, hash);
    ck_assert_int_eq(pl_segment_decompress(out.data, out.len, &raw), 0);
    ck_assert_int_eq(pl_snapshot_scan(raw.data, raw.len, &h, count_lines, &n), 0);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(h.conversation_id, CONV);
    ck_assert_int_eq(h.first, 10);
    ck_assert_int_eq(h.last, 12);
    raw.data[raw.len - 2] = 'x'; /* the last line loses its closing brace */
    ck_assert_int_eq(pl_snapshot_scan(raw.data, raw.len, &h, NULL, NULL), -EINVAL);
    ck_assert_int_eq(pl_snapshot_scan("{}\n", 3, &h, NULL, NULL), -EINVAL);
    pl_buf_free(&raw);
    pl_buf_free(&out);
}
END_TEST

int main(int argc, char **argv)
{
    Suite *s = suite_create("snapshot");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_pick_and_write);
    tcase_add_test(tc, test_scan_rejects_damage);
    tcase_add_test(tc, test_object_load);
    suite_add_tcase(s, tc);
    return pl_check_main(s, argc, argv);
}
