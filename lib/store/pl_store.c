/* The backend-neutral half of pl_store: key checks and dispatch. */
#include "pl_store.h"

#include <errno.h>
#include <string.h>

int pl_store_key_valid(const char *key)
{
    size_t n = key ? strnlen(key, 65) : 0;

    if (n < 4 || n > 64)
        return 0;
    return strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

int pl_store_put_begin(pl_store *s, const char *key, pl_store_writer **out)
{
    if (!pl_store_key_valid(key))
        return -EINVAL;
    return s->ops->put_begin(s, key, out);
}

int pl_store_put_write(pl_store_writer *w, const void *p, size_t n)
{
    return w->store->ops->put_write(w, p, n);
}

int pl_store_put_commit(pl_store_writer *w)
{
    return w->store->ops->put_commit(w);
}

void pl_store_put_abort(pl_store_writer *w)
{
    if (w)
        w->store->ops->put_abort(w);
}

int pl_store_open(pl_store *s, const char *key, int *fd, uint64_t *size)
{
    if (!pl_store_key_valid(key))
        return -EINVAL;
    return s->ops->open(s, key, fd, size);
}

int pl_store_delete(pl_store *s, const char *key)
{
    if (!pl_store_key_valid(key))
        return -EINVAL;
    return s->ops->del(s, key);
}

void pl_store_free(pl_store *s)
{
    if (s)
        s->ops->free(s);
}
