/* The parts of an export archive besides the message streams: what it
 * covers, attachments, profiles, the manifest and the offline viewer.
 *
 * "Own data" (an account export) is: the profile (account.json), every
 * conversation the user is in with its members (conversation.json), the
 * messages the user sent there (messages.jsonl), every attachment the user
 * uploaded, and the public profiles of the people in those conversations
 * (users.json). Other people's messages are theirs; a conversation export
 * gives a member the whole history they can see. */
#include "export_build.h"
#include "pl_fname.h"
#include "pl_archive_read.h"
#include "pl_history.h"
#include "pl_pos.h"
#include "pl_time.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ATT_COLS "a.id, a.content_type, a.size, a.width, a.height, a.filename"
enum { A_ID, A_TYPE, A_SIZE, A_W, A_H, A_NAME };

int xb_query_scope(xb *b)
{
    const char *p[2] = {b->j->user, b->j->account ? NULL : b->j->conv};
    pl_buf arr;
    int r = pl_pg_exec(b->pg, &b->convs, NULL, 0,
                       "SELECT c.id FROM history.conversations c"
                       " JOIN history.members mb ON mb.conversation_id = c.id"
                       " AND mb.user_id = $1"
                       " WHERE c.deleted_at IS NULL AND ($2::uuid IS NULL OR c.id = $2::uuid)"
                       " ORDER BY c.created_at, c.id",
                       2, p);
    if (r)
        return -EIO;
    if (!b->j->account && PQntuples(b->convs) == 0)
        return -EACCES; /* left, or the group is gone */
    pl_buf_init(&arr, 64u << 20);
    r = pl_buf_puts(&arr, "{");
    for (int i = 0; i < PQntuples(b->convs) && !r; i++)
        r = pl_buf_printf(&arr, "%s%s", i ? "," : "", PQgetvalue(b->convs, i, 0));
    if (!r)
        r = pl_buf_puts(&arr, "}");
    if (!r)
        b->conv_array = pl_buf_steal(&arr);
    pl_buf_free(&arr);
    return r;
}

/* A conversation export carries the attachments of its live messages,
 * hot or archived; an account export every attachment the user uploaded. */
int xb_query_attachments(xb *b)
{
    const char *p = b->j->account ? b->j->user : b->j->conv;
    int r = pl_pg_exec(b->pg, &b->atts, NULL, 0,
                       b->j->account
                           ? "SELECT " ATT_COLS " FROM media.attachments a"
                             " WHERE a.uploader_id = $1 ORDER BY a.created_at, a.id"
                           : "SELECT " ATT_COLS " FROM media.attachments a WHERE a.id IN ("
                             " SELECT ma.attachment_id FROM history.message_attachments ma"
                             " JOIN history.messages m ON m.id = ma.message_id"
                             " AND m.deleted_at IS NULL WHERE ma.conversation_id = $1"
                             " UNION SELECT x.attachment_id FROM archive.attachments x"
                             " JOIN archive.search s ON s.message_id = x.message_id"
                             " AND NOT s.deleted WHERE x.conversation_id = $1)"
                             " ORDER BY a.id",
                       1, &p);
    if (r)
        return -EIO;
    /* Leave room for the JSON and viewer entries under the ZIP limit. */
    return PQntuples(b->atts) > PL_ZIP_MAX_ENTRIES - 1000 ? -EFBIG : 0;
}

/* Messages of both tiers plus attachments. The archive keeps no sender
 * outside the snapshots, so an account export counts every archived
 * message of its conversations: each is read to find the user's. */
int xb_query_total(xb *b)
{
    const char *p[2] = {b->conv_array, b->j->account ? b->j->user : NULL};
    PGresult *res = NULL;
    int r = pl_pg_exec(b->pg, &res, NULL, 0,
                       "SELECT (SELECT count(*) FROM history.messages"
                       " WHERE conversation_id = ANY($1::uuid[])"
                       " AND ($2::uuid IS NULL OR sender_id = $2::uuid))"
                       " + (SELECT count(*) FROM archive.search"
                       " WHERE conversation_id = ANY($1::uuid[]))",
                       2, p);
    if (r == 0)
        b->j->total = atoll(PQgetvalue(res, 0, 0)) + PQntuples(b->atts);
    PQclear(res);
    return r ? -EIO : 0;
}

/* Copies one stored attachment into the open entry. */
static int copy_fd(xb *b, int fd)
{
    char buf[65536];
    ssize_t n;
    int r = 0;

    while (r == 0 && (n = read(fd, buf, sizeof(buf))) != 0)
        r = n < 0 ? -errno : pl_zip_write(b->z, buf, (size_t)n);
    return r;
}

/* attachments/<id>/<name>; path is "" when the bytes are missing. */
static int attachment_file(xb *b, int row, char *path, size_t len)
{
    const char *id = PQgetvalue(b->atts, row, A_ID);
    char name[PL_FNAME_MAX + 1];
    uint64_t size;
    int fd, r = pl_store_open(b->m->store, id, &fd, &size);

    path[0] = '\0';
    if (r == -ENOENT)
        return 0;
    if (r)
        return -EIO;
    pl_fname_sanitize(PQgetvalue(b->atts, row, A_NAME), name);
    snprintf(path, len, "attachments/%s/%s", id, name);
    r = pl_zip_begin(b->z, path, PL_ZIP_STORE, b->now_ms); /* media is compressed */
    if (r == 0)
        r = copy_fd(b, fd);
    if (r == 0)
        r = pl_zip_end(b->z);
    close(fd);
    return r;
}

static void attachment_json(pl_jw *w, const PGresult *res, int row, const char *path)
{
    pl_jw_obj(w);
    pl_jw_kstr(w, "id", PQgetvalue(res, row, A_ID));
    pl_jw_kstr(w, "content_type", PQgetvalue(res, row, A_TYPE));
    pl_jw_kint(w, "size", atoll(PQgetvalue(res, row, A_SIZE)));
    if (!PQgetisnull(res, row, A_W)) {
        pl_jw_kint(w, "width", atoll(PQgetvalue(res, row, A_W)));
        pl_jw_kint(w, "height", atoll(PQgetvalue(res, row, A_H)));
    }
    pl_jw_kstr(w, "filename", PQgetvalue(res, row, A_NAME));
    pl_jw_kstr(w, "path", *path ? path : NULL);
    pl_jw_end_obj(w);
}

int xb_attachment_files(xb *b)
{
    char path[PL_FNAME_MAX + 64];
    pl_jw w;
    int r = pl_jw_init(&w);

    if (r)
        return r;
    pl_jw_arr(&w);
    for (int i = 0; i < PQntuples(b->atts) && !r; i++) {
        r = attachment_file(b, i, path, sizeof(path));
        if (!r)
            r = xb_step(b);
        attachment_json(&w, b->atts, i, path);
    }
    pl_jw_end_arr(&w);
    if (r) {
        pl_jw_free(&w);
        return r;
    }
    return xb_add_jw(b, "attachments.json", &w, &b->attachments);
}

/* users.json: everyone in the conversations, and every sender shown
 * (archived messages' senders are collected while writing them). */
static int users_file(xb *b)
{
    char *cold = xb_senders_array(b);
    const char *p[3] = {b->conv_array, b->j->account ? b->j->user : NULL, cold};
    PGresult *res = NULL;
    pl_jw w;
    int r = !cold ? -ENOMEM
                  : pl_pg_exec(b->pg, &res, NULL, 0,
                               "SELECT u.id, u.username, u.display_name FROM auth.users u"
                               " WHERE u.id IN (SELECT user_id FROM history.members"
                               "  WHERE conversation_id = ANY($1::uuid[])"
                               "  UNION SELECT sender_id FROM history.messages"
                               "  WHERE conversation_id = ANY($1::uuid[])"
                               "  AND ($2::uuid IS NULL OR sender_id = $2::uuid)"
                               "  UNION SELECT unnest($3::uuid[]))"
                               " ORDER BY u.username",
                               3, p) ? -EIO : 0;

    free(cold);
    if (r == 0 && (r = pl_jw_init(&w)) == 0) {
        pl_jw_arr(&w);
        for (int i = 0; i < PQntuples(res); i++) {
            pl_jw_obj(&w);
            pl_jw_kstr(&w, "id", PQgetvalue(res, i, 0));
            pl_jw_kstr(&w, "username", PQgetvalue(res, i, 1));
            pl_jw_kstr(&w, "display_name", PQgetvalue(res, i, 2));
            pl_jw_end_obj(&w);
        }
        pl_jw_end_arr(&w);
        r = xb_add_jw(b, "users.json", &w, &b->users);
    }
    PQclear(res);
    return r;
}

/* account.json: the profile (account exports only). */
static int account_file(xb *b)
{
    const char *id = b->j->user;
    PGresult *res = NULL;
    pl_jw w;
    int r = pl_pg_exec(b->pg, &res, NULL, 0,
                       "SELECT id, username, display_name, bio, avatar_id,"
                       " (extract(epoch from created_at)*1000)::bigint"
                       " FROM auth.users WHERE id = $1",
                       1, &id);
    if (r == 0 && PQntuples(res) != 1)
        r = -EACCES; /* the account is gone */
    if (r == 0 && (r = pl_jw_init(&w)) == 0) {
        char iso[PL_TIME_ISO_LEN];
        pl_time_iso(iso, atoll(PQgetvalue(res, 0, 5)));
        pl_jw_obj(&w);
        pl_jw_kstr(&w, "id", PQgetvalue(res, 0, 0));
        pl_jw_kstr(&w, "username", PQgetvalue(res, 0, 1));
        pl_jw_kstr(&w, "display_name", PQgetvalue(res, 0, 2));
        pl_jw_kstr(&w, "bio", PQgetvalue(res, 0, 3));
        pl_jw_kstr(&w, "avatar_id", PQgetisnull(res, 0, 4) ? NULL : PQgetvalue(res, 0, 4));
        pl_jw_kstr(&w, "created_at", iso);
        pl_jw_end_obj(&w);
        r = xb_add_jw(b, "account.json", &w, &b->account);
    }
    PQclear(res);
    return r;
}

static int manifest_file(xb *b)
{
    char iso[PL_TIME_ISO_LEN];
    int natt = PQntuples(b->atts);
    pl_jw w;
    int r = pl_jw_init(&w);

    if (r)
        return r;
    pl_time_iso(iso, b->now_ms);
    pl_jw_obj(&w);
    pl_jw_kstr(&w, "format", "parley-export");
    pl_jw_kint(&w, "version", 1);
    pl_jw_kstr(&w, "export_id", b->j->id);
    pl_jw_kstr(&w, "scope", b->j->account ? "account" : "conversation");
    pl_jw_kstr(&w, "user_id", b->j->user);
    pl_jw_kstr(&w, "conversation_id", b->j->account ? NULL : b->j->conv);
    pl_jw_kstr(&w, "exported_at", iso);
    pl_jw_key(&w, "conversations");
    pl_jw_arr(&w);
    for (int i = 0; i < PQntuples(b->convs); i++)
        pl_jw_str(&w, PQgetvalue(b->convs, i, 0));
    pl_jw_end_arr(&w);
    pl_jw_kint(&w, "message_count", b->nmsgs);
    pl_jw_kint(&w, "attachment_count", natt);
    pl_jw_end_obj(&w);
    return xb_add_jw(b, "manifest.json", &w, &b->manifest);
}

int xb_meta_files(xb *b)
{
    int r = users_file(b);
    if (r == 0 && b->j->account)
        r = account_file(b);
    if (r == 0)
        r = manifest_file(b);
    return r;
}

static int put(xb *b, const char *s)
{
    return pl_zip_write(b->z, s, strlen(s));
}

/* {"conversation":{...},"messages":[...]} for data.js */
static int viewer_conversation(xb *b, const char *conv)
{
    char *s = NULL;
    size_t n;
    pl_jw w;
    int r = pl_jw_init(&w);

    if (r)
        return r;
    r = pl_history_conversation_write_cold(b->pg, conv, b->j->user, pl_archive_last_message,
                                           b->m->archive, &w) ? -EIO : 0;
    if (r) {
        pl_jw_free(&w);
        return r;
    }
    if ((r = pl_jw_finish(&w, &s, &n)) != 0)
        return r;
    r = put(b, "{\"conversation\":");
    if (!r)
        r = pl_zip_write(b->z, s, n);
    free(s);
    if (!r)
        r = put(b, ",\"messages\":[");
    if (!r)
        r = xb_messages(b, conv, 0);
    if (!r)
        r = put(b, "]}");
    return r;
}

/* data.js defines window.PARLEY_EXPORT for index.html: a script file,
 * because a page opened from disk may load scripts but not fetch files. */
int xb_viewer_files(xb *b)
{
    const char *head[] = {"window.PARLEY_EXPORT = {\"manifest\":", b->manifest,
                          ",\"account\":", b->account ? b->account : "null",
                          ",\"users\":", b->users, ",\"attachments\":", b->attachments};
    int r = pl_zip_begin(b->z, "data.js", PL_ZIP_DEFLATE, b->now_ms);

    for (size_t i = 0; !r && i < sizeof(head) / sizeof(head[0]); i++)
        r = put(b, head[i]);
    if (!r)
        r = put(b, ",\"conversations\":[");
    for (int i = 0; !r && i < PQntuples(b->convs); i++) {
        r = put(b, i ? "," : "");
        if (!r)
            r = viewer_conversation(b, PQgetvalue(b->convs, i, 0));
    }
    if (!r)
        r = put(b, "]};\n");
    if (!r)
        r = pl_zip_end(b->z);
    if (!r)
        r = pl_zip_add(b->z, "index.html", PL_ZIP_DEFLATE, b->now_ms, export_viewer_html,
                       strlen(export_viewer_html));
    return r;
}
