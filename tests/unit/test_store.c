/* pl_store's filesystem backend: put is invisible until commit, abort
 * leaves nothing, keys are checked, sharded paths. */
#include "pl_check.h"
#include "pl_store.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];
static pl_store *st;

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/pl-store-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(pl_store_fs_new(&st, dir), 0);
}

static void teardown(void)
{
    char cmd[128];
    pl_store_free(st);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static const char key[] = "0123abcd-0000-4000-8000-000000000000";

START_TEST(test_put_open)
{
    pl_store_writer *w;
    char buf[16] = "";
    uint64_t size;
    int fd;

    ck_assert_int_eq(pl_store_put_begin(st, key, &w), 0);
    ck_assert_int_eq(pl_store_put_write(w, "hello ", 6), 0);
    ck_assert_int_eq(pl_store_put_write(w, "world", 5), 0);
    ck_assert_int_eq(pl_store_open(st, key, &fd, &size), -ENOENT); /* not yet */
    ck_assert_int_eq(pl_store_put_commit(w), 0);
    ck_assert_int_eq(pl_store_open(st, key, &fd, &size), 0);
    ck_assert_uint_eq(size, 11);
    ck_assert_int_eq(read(fd, buf, sizeof(buf)), 11);
    ck_assert_str_eq(buf, "hello world");
    close(fd);
    snprintf(buf, sizeof(buf), "%s", "");
    char path[256];
    struct stat s;
    snprintf(path, sizeof(path), "%s/01/23/%s", dir, key);
    ck_assert_int_eq(stat(path, &s), 0);
    ck_assert_int_eq(pl_store_delete(st, key), 0);
    ck_assert_int_eq(pl_store_open(st, key, &fd, &size), -ENOENT);
    ck_assert_int_eq(pl_store_delete(st, key), 0); /* missing is fine */
}
END_TEST

START_TEST(test_abort_leaves_nothing)
{
    pl_store_writer *w;
    char shard[256];
    struct dirent *e;
    int entries = 0;
    DIR *d;

    ck_assert_int_eq(pl_store_put_begin(st, key, &w), 0);
    ck_assert_int_eq(pl_store_put_write(w, "x", 1), 0);
    pl_store_put_abort(w);
    pl_store_put_abort(NULL);
    snprintf(shard, sizeof(shard), "%s/01/23", dir);
    d = opendir(shard);
    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)))
        entries += e->d_name[0] != '.' || strncmp(e->d_name, ".tmp", 4) == 0;
    closedir(d);
    ck_assert_int_eq(entries, 0);
}
END_TEST

START_TEST(test_keys)
{
    pl_store_writer *w;
    int fd;
    uint64_t size;

    ck_assert(pl_store_key_valid(key));
    ck_assert(!pl_store_key_valid("../../etc/passwd"));
    ck_assert(!pl_store_key_valid("ABCD"));
    ck_assert(!pl_store_key_valid("ab"));
    ck_assert(!pl_store_key_valid(NULL));
    ck_assert_int_eq(pl_store_put_begin(st, "../x/y", &w), -EINVAL);
    ck_assert_int_eq(pl_store_open(st, "a/../b", &fd, &size), -EINVAL);
    ck_assert_int_eq(pl_store_delete(st, ""), -EINVAL);
}
END_TEST

int main(int argc, char **argv)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("fs");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_put_open);
    tcase_add_test(tc, test_abort_leaves_nothing);
    tcase_add_test(tc, test_keys);
    suite_add_tcase(s, tc);
    return pl_check_main(s, argc, argv);
}
