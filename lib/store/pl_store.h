/* pl_store: where attachment bytes live, behind a small interface so the
 * filesystem backend can be joined by an S3-compatible one.
 *
 * Objects are named by a key (1-64 characters of [a-z0-9-], e.g. a UUID)
 * and are immutable: written once, read many times, deleted.
 *
 *   put     pl_store_put_begin -> pl_store_put_write... -> pl_store_put_commit
 *           (or pl_store_put_abort). Nothing is visible under the key before
 *           commit returns 0, and a commit is durable. Writes arrive in
 *           order, in chunks of any size, so a backend can stream them (an S3
 *           backend maps this onto a multipart upload: write buffers parts of
 *           >= 5 MiB, commit completes the upload, abort aborts it).
 *   open    a readable fd positioned at 0, and the size. The HTTP layer
 *           sends the fd with sendfile. (An S3 backend would either spool
 *           the object into an unlinked temp file or grow a "redirect to a
 *           presigned URL" variant of this call; callers handle -ENOTSUP.)
 *   delete  removes the object; deleting a missing key is not an error.
 *
 * Every call may block on I/O; call them from worker threads only. A store
 * may be used from many threads at once; one writer from one at a time. */
#ifndef PL_STORE_H
#define PL_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct pl_store pl_store;
typedef struct pl_store_writer pl_store_writer;

/* What a backend implements. */
typedef struct pl_store_ops {
    int (*put_begin)(pl_store *s, const char *key, pl_store_writer **out);
    int (*put_write)(pl_store_writer *w, const void *p, size_t n);
    int (*put_commit)(pl_store_writer *w); /* frees w whatever happens */
    void (*put_abort)(pl_store_writer *w); /* frees w */
    int (*open)(pl_store *s, const char *key, int *fd, uint64_t *size);
    int (*del)(pl_store *s, const char *key);
    void (*free)(pl_store *s);
} pl_store_ops;

/* A backend's store and writer structs start with these, so the generic
 * calls can dispatch. */
struct pl_store {
    const pl_store_ops *ops;
};
struct pl_store_writer {
    pl_store *store;
};

/* The filesystem backend under dir (created if missing, mode 0700).
 * Objects go to dir/<k0k1>/<k2k3>/<key>; a put writes a temp file in the
 * same directory, fsyncs it, renames it into place and fsyncs the
 * directory. 0, -EINVAL (dir too long), or the mkdir error. */
int pl_store_fs_new(pl_store **out, const char *dir);

/* 1 if key is a valid object key. */
int pl_store_key_valid(const char *key);

/* The calls below check the key (-EINVAL) and dispatch to the backend.
 * Errors are negative errno; open gives -ENOENT for a missing key. */
int pl_store_put_begin(pl_store *s, const char *key, pl_store_writer **out);
int pl_store_put_write(pl_store_writer *w, const void *p, size_t n);
/* Makes the object visible and durable; frees w, also on failure. */
int pl_store_put_commit(pl_store_writer *w);
/* Drops what was written; frees w. Accepts NULL. */
void pl_store_put_abort(pl_store_writer *w);
/* On success the caller owns *fd and closes it. */
int pl_store_open(pl_store *s, const char *key, int *fd, uint64_t *size);
int pl_store_delete(pl_store *s, const char *key);
/* Accepts NULL. */
void pl_store_free(pl_store *s);

#endif
