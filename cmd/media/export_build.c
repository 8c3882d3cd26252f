/* Builds one export archive. Everything is read inside one REPEATABLE
 * READ snapshot, so the JSON files and the viewer's data.js (which reads
 * the messages a second time) agree exactly. Layout:
 *
 *   manifest.json                       what this is, who, when, the counts
 *   account.json                        (account exports) the profile
 *   users.json                          profiles of everyone who appears
 *   conversations/<id>/conversation.json  as GET /conversations/{id} shows it
 *   conversations/<id>/messages.jsonl   one message per line, as GET .../messages
 *                                       (archived ones first, then hot ones)
 *   attachments.json                    [{id, ..., path}] (path null: missing)
 *   attachments/<id>/<filename>         the bytes
 *   data.js, index.html                 the offline viewer
 */
#include "export.h"
#include "export_build.h"
#include "pl_archive_read.h"
#include "pl_history.h"
#include "pl_id.h"
#include "pl_log.h"
#include "pl_time.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int sink(void *ctx, const void *p, size_t n)
{
    return pl_store_put_write(ctx, p, n);
}

/* Adds the writer's text as a deflated entry; w is released. */
int xb_add_jw(xb *b, const char *name, pl_jw *w, char **keep)
{
    char *s = NULL;
    size_t n = 0;
    int r = pl_jw_finish(w, &s, &n);

    if (r == 0)
        r = pl_zip_add(b->z, name, PL_ZIP_DEFLATE, b->now_ms, s, n);
    if (r == 0 && keep)
        *keep = s;
    else
        free(s);
    return r;
}

/* After each message or attachment: pace, stop, checkpoint now and then. */
int xb_step(xb *b)
{
    export_job *j = b->j;

    j->done++;
    if (b->m->ex.pace_ms)
        pl_time_sleep_ms(b->m->ex.pace_ms);
    if (atomic_load(j->stop))
        return -ECANCELED;
    if (pl_time_mono_ms() - j->checkpoint_ms < 1000)
        return 0;
    return export_checkpoint(b->m, j);
}

/* Remembers an archived message's sender for users.json (the hot ones
 * come from SQL): a sorted set, since a sender writes many messages. */
static int sender_add(xb *b, const char *id)
{
    size_t lo = 0, hi = b->nsenders;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(b->senders[mid], id);
        if (c == 0)
            return 0;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (!pl_id_valid(id))
        return 0; /* not a user; nothing to look up */
    if (b->nsenders == b->sendercap) {
        size_t cap = b->sendercap ? b->sendercap * 2 : 16;
        char(*n)[PL_ID_LEN] = realloc(b->senders, cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        b->senders = n;
        b->sendercap = cap;
    }
    memmove(&b->senders[lo + 1], &b->senders[lo], (b->nsenders - lo) * sizeof(*b->senders));
    memcpy(b->senders[lo], id, PL_ID_LEN);
    b->nsenders++;
    return 0;
}

char *xb_senders_array(const xb *b)
{
    char *s;
    pl_buf arr;
    int r;

    pl_buf_init(&arr, 64u << 20);
    r = pl_buf_puts(&arr, "{");
    for (size_t i = 0; i < b->nsenders && !r; i++)
        r = pl_buf_printf(&arr, "%s%s", i ? "," : "", b->senders[i]);
    if (!r)
        r = pl_buf_puts(&arr, "}");
    s = r ? NULL : pl_buf_steal(&arr);
    pl_buf_free(&arr);
    return s;
}

typedef struct xb_out {
    xb *b;
    int jsonl, first;
} xb_out;

/* One message into the open entry: a JSON line (counting progress) or,
 * for data.js, an element of a comma-separated list. */
static int on_message(void *arg, const char *json, size_t len, const char *sender, int cold)
{
    xb_out *o = arg;
    xb *b = o->b;
    int r = pl_zip_write(b->z, ",", !o->jsonl && !o->first);

    o->first = 0;
    if (!r)
        r = pl_zip_write(b->z, json, len);
    if (!r && o->jsonl)
        r = pl_zip_write(b->z, "\n", 1);
    if (!r && o->jsonl && cold)
        r = sender_add(b, sender);
    if (!r && o->jsonl) {
        b->nmsgs++;
        r = xb_step(b);
    }
    return r;
}

/* Streams the conversation's messages, both tiers, oldest first. An
 * account export has only the user's; the archived messages of others it
 * had to read count as done, as the total counts them (xb_query_total). */
int xb_messages(xb *b, const char *conv, int jsonl)
{
    xb_out o = {b, jsonl, 1};
    long long skipped = 0;
    int r = export_read_messages(b->pg, b->m->archive, conv, b->j->user,
                                 b->j->account ? b->j->user : NULL, on_message, &o, &skipped);

    if (r == 0 && jsonl)
        b->j->done += skipped;
    return r;
}

static int conversation_files(xb *b, const char *conv)
{
    char name[128];
    pl_jw w;
    int r;

    if ((r = pl_jw_init(&w)) != 0)
        return r;
    if ((r = pl_history_conversation_write_cold(b->pg, conv, b->j->user, pl_archive_last_message,
                                                b->m->archive, &w)) != 0) {
        pl_jw_free(&w);
        return r == -ENOENT ? -EACCES : -EIO;
    }
    snprintf(name, sizeof(name), "conversations/%s/conversation.json", conv);
    if ((r = xb_add_jw(b, name, &w, NULL)) != 0)
        return r;
    snprintf(name, sizeof(name), "conversations/%s/messages.jsonl", conv);
    if ((r = pl_zip_begin(b->z, name, PL_ZIP_DEFLATE, b->now_ms)) != 0 ||
        (r = xb_messages(b, conv, 1)) != 0)
        return r;
    return pl_zip_end(b->z);
}

/* BEGIN the snapshot and list what the export covers. */
static int scope_load(xb *b)
{
    int r = pl_pg_cmd(b->pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") ? -EIO : 0;

    if (r == 0)
        b->in_txn = 1;
    if (r == 0)
        r = xb_query_scope(b);
    if (r == 0)
        r = xb_query_attachments(b);
    if (r == 0)
        r = xb_query_total(b);
    return r;
}

static int build(xb *b)
{
    int r = scope_load(b);

    if (r == 0)
        r = export_checkpoint(b->m, b->j);
    for (int i = 0; r == 0 && i < PQntuples(b->convs); i++)
        r = conversation_files(b, PQgetvalue(b->convs, i, 0));
    if (r == 0)
        r = xb_attachment_files(b);
    if (r == 0)
        r = xb_meta_files(b);
    if (r == 0)
        r = xb_viewer_files(b);
    if (r == 0)
        r = pl_zip_finish(b->z);
    return r;
}

static void xb_free(xb *b)
{
    if (b->pg) {
        if (b->in_txn)
            pl_pg_cmd(b->pg, "ROLLBACK"); /* read only: nothing to keep */
        pl_pg_release(b->m->pool, b->pg);
    }
    PQclear(b->convs);
    PQclear(b->atts);
    free(b->conv_array);
    free(b->manifest);
    free(b->account);
    free(b->users);
    free(b->attachments);
    free(b->senders);
    pl_zip_free(b->z);
    pl_store_put_abort(b->w);
}

int export_build(media *m, export_job *j, uint64_t *size)
{
    xb b = {.m = m, .j = j, .now_ms = pl_time_real_ms()};
    int r;

    if (!(b.pg = pl_pg_acquire(m->pool, 5000)))
        return -EIO;
    r = pl_store_put_begin(m->exports, j->id, &b.w);
    if (r == 0)
        r = pl_zip_new(&b.z, sink, b.w, (uint64_t)m->ex.max_bytes);
    if (r == 0)
        r = build(&b);
    if (r == 0) {
        *size = pl_zip_bytes(b.z);
        r = pl_store_put_commit(b.w);
        b.w = NULL;
    }
    xb_free(&b);
    return r;
}
