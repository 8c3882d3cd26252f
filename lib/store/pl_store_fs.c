/* pl_store's filesystem backend: one file per object in sharded
 * directories, made visible by rename after fsync. */
#include "pl_store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct fs_store {
    pl_store base;
    char dir[PATH_MAX - 128]; /* room for the shard dirs and the key */
} fs_store;

typedef struct fs_writer {
    pl_store_writer base;
    int fd;
    char tmp[PATH_MAX];
    char path[PATH_MAX];
    char shard[PATH_MAX];
} fs_writer;

static int mkdir_ok(const char *p)
{
    return mkdir(p, 0700) == 0 || errno == EEXIST ? 0 : -errno;
}

/* dir/ab/cd and the object path dir/ab/cd/key (both PATH_MAX bytes).
 * The store's dir is short enough that these always fit. */
static int fs_paths(const fs_store *s, const char *key, char *shard, char *path)
{
    int n = snprintf(shard, PATH_MAX, "%s/%.2s/%.2s", s->dir, key, key + 2);
    if (n < 0 || n >= PATH_MAX)
        return -ENAMETOOLONG;
    n = snprintf(path, PATH_MAX, "%s/%s", shard, key);
    return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

static int fs_shard_make(const fs_store *s, const char *key, char *shard)
{
    char top[PATH_MAX];
    int r, n = snprintf(top, sizeof(top), "%s/%.2s", s->dir, key);

    if (n < 0 || n >= (int)sizeof(top))
        return -ENAMETOOLONG;
    r = mkdir_ok(top);
    return r ? r : mkdir_ok(shard);
}

static int fs_put_begin(pl_store *base, const char *key, pl_store_writer **out)
{
    fs_store *s = (fs_store *)base;
    fs_writer *w = calloc(1, sizeof(*w));
    int r;

    if (!w)
        return -ENOMEM;
    w->base.store = base;
    r = fs_paths(s, key, w->shard, w->path);
    if (r == 0)
        r = fs_shard_make(s, key, w->shard);
    if (r)
        goto fail;
    /* The temp file sits beside its final name, so rename is atomic; the
     * random suffix keeps two uploads of one key apart. */
    int n = snprintf(w->tmp, sizeof(w->tmp), "%s/.tmp-%s-%08x", w->shard, key,
                     randombytes_random());
    if (n < 0 || n >= (int)sizeof(w->tmp)) {
        r = -ENAMETOOLONG;
        goto fail;
    }
    w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (w->fd < 0) {
        r = -errno;
        goto fail;
    }
    *out = &w->base;
    return 0;
fail:
    free(w);
    return r;
}

static int fs_put_write(pl_store_writer *base, const void *p, size_t n)
{
    fs_writer *w = (fs_writer *)base;
    const char *c = p;

    while (n > 0) {
        ssize_t k = write(w->fd, c, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return k < 0 ? -errno : -EIO;
        c += k;
        n -= (size_t)k;
    }
    return 0;
}

static void fs_put_abort(pl_store_writer *base)
{
    fs_writer *w = (fs_writer *)base;

    if (w->fd >= 0)
        close(w->fd);
    unlink(w->tmp);
    free(w);
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

    if (fd < 0)
        return -errno;
    if (fsync(fd) != 0)
        r = -errno;
    close(fd);
    return r;
}

static int fs_put_commit(pl_store_writer *base)
{
    fs_writer *w = (fs_writer *)base;
    int r = 0;

    if (fsync(w->fd) != 0)
        r = -errno;
    if (close(w->fd) != 0 && r == 0)
        r = -errno;
    w->fd = -1;
    if (r == 0 && rename(w->tmp, w->path) != 0)
        r = -errno;
    if (r == 0)
        r = fsync_dir(w->shard); /* the rename itself must survive a crash */
    if (r)
        unlink(w->tmp);
    free(w);
    return r;
}

static int fs_open(pl_store *base, const char *key, int *fd, uint64_t *size)
{
    char shard[PATH_MAX], path[PATH_MAX];
    struct stat st;
    int f;

    int r = fs_paths((fs_store *)base, key, shard, path);
    if (r)
        return r;
    f = open(path, O_RDONLY | O_CLOEXEC);
    if (f < 0)
        return -errno;
    if (fstat(f, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(f);
        return -EIO;
    }
    *fd = f;
    *size = (uint64_t)st.st_size;
    return 0;
}

static int fs_del(pl_store *base, const char *key)
{
    char shard[PATH_MAX], path[PATH_MAX];

    int r = fs_paths((fs_store *)base, key, shard, path);
    if (r)
        return r;
    if (unlink(path) != 0 && errno != ENOENT)
        return -errno;
    return 0;
}

static void fs_free(pl_store *base)
{
    free(base);
}

static const pl_store_ops fs_ops = {
    .put_begin = fs_put_begin,
    .put_write = fs_put_write,
    .put_commit = fs_put_commit,
    .put_abort = fs_put_abort,
    .open = fs_open,
    .del = fs_del,
    .free = fs_free,
};

/* mkdir -p, 0700 for what it creates. */
static int mkdir_p(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int r = mkdir_ok(path);
        *p = '/';
        if (r)
            return r;
    }
    return mkdir_ok(path);
}

int pl_store_fs_new(pl_store **out, const char *dir)
{
    fs_store *s;
    int r;

    if (!dir || !*dir || strlen(dir) >= sizeof(s->dir))
        return -EINVAL;
    s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->base.ops = &fs_ops;
    snprintf(s->dir, sizeof(s->dir), "%s", dir);
    r = mkdir_p(s->dir);
    if (r) {
        free(s);
        return r;
    }
    *out = &s->base;
    return 0;
}
