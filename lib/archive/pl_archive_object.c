#include "pl_archive_object.h"
#include "pl_segment.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* The whole object into b (initialised here). */
static int read_all(pl_store *s, const char *key, pl_buf *b)
{
    char chunk[65536];
    uint64_t size = 0;
    int fd = -1, r;
    ssize_t n;

    pl_buf_init(b, PL_ARCHIVE_OBJECT_MAX);
    r = pl_store_open(s, key, &fd, &size);
    if (r)
        return r;
    while ((n = read(fd, chunk, sizeof(chunk))) > 0)
        if (pl_buf_append(b, chunk, (size_t)n)) {
            n = -1;
            errno = EFBIG;
            break;
        }
    r = n < 0 ? -errno : 0;
    close(fd);
    return r;
}

int pl_archive_object_load(pl_store *s, const char *key, const char *sha256, pl_buf *raw)
{
    char hash[PL_SEGMENT_HASH_HEX];
    pl_buf data;
    int r = read_all(s, key, &data);

    pl_buf_init(raw, 0);
    if (r == 0) {
        pl_segment_hash(data.data ? data.data : "", data.len, hash);
        r = strcmp(hash, sha256) != 0 ? -EBADMSG : 0;
    }
    if (r == 0 && pl_segment_decompress(data.data ? data.data : "", data.len, raw) != 0)
        r = -EINVAL;
    pl_buf_free(&data);
    return r;
}
