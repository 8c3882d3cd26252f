/* pl_history: reads of the history projection (schema "history") shared
 * by the read API and the command API. The projector owns the tables. */
#ifndef PL_HISTORY_H
#define PL_HISTORY_H

#include <libpq-fe.h>

#include "pl_json.h"

/* Columns pl_history_message_write expects, in this order, for alias m.
 * viewer is the SQL expression (a parameter like "$5") of the user who
 * reads: reactions say whether that user reacted ("me"). Quoted replies,
 * mentions and reactions come as scalar subqueries so any query can list
 * messages without extra joins; reactions are packed as
 * emoji US count US me, records separated by RS (emoji never hold
 * control characters, so the packing is unambiguous). */
#define PL_HISTORY_MESSAGE_COLS_FOR(viewer)                                       \
    "m.id, m.conversation_id, m.client_msg_id, m.sender_id, m.text, "             \
    "(extract(epoch from m.created_at)*1000)::bigint, m.partition, m.\"offset\", " \
    "(extract(epoch from m.edited_at)*1000)::bigint, "                            \
    "(extract(epoch from m.deleted_at)*1000)::bigint, m.reply_to, "               \
    "(SELECT q.sender_id FROM history.messages q WHERE q.id = m.reply_to), "      \
    "(SELECT q.text FROM history.messages q WHERE q.id = m.reply_to), "           \
    "(SELECT q.deleted_at IS NOT NULL FROM history.messages q"                    \
    " WHERE q.id = m.reply_to), "                                                 \
    "(SELECT string_agg(x.user_id::text, ',' ORDER BY x.user_id)"                 \
    " FROM history.mentions x WHERE x.message_id = m.id), "                       \
    "(SELECT string_agg(x.emoji || E'\\x1f' || x.n || E'\\x1f' || x.me::int,"     \
    " E'\\x1e' ORDER BY x.first, x.emoji) FROM (SELECT r.emoji, count(*) AS n,"   \
    " coalesce(bool_or(r.user_id = " viewer "::uuid), false) AS me,"               \
    " min(r.\"offset\") AS first FROM history.reactions r"                        \
    " WHERE r.message_id = m.id GROUP BY r.emoji) x), "                          \
    "(SELECT json_agg(json_strip_nulls(json_build_object('id', a.attachment_id,"  \
    " 'content_type', a.content_type, 'size', a.size, 'width', a.width,"         \
    " 'height', a.height, 'filename', a.filename)) ORDER BY a.ord)"              \
    " FROM history.message_attachments a WHERE a.message_id = m.id)"
#define PL_HISTORY_MESSAGE_NCOLS 17
/* Offsets of the reply's target id and of the quote's sender (NULL when
 * the target is not a hot row) among those columns. */
#define PL_HISTORY_COL_REPLY_TO 10
#define PL_HISTORY_COL_QUOTED_SENDER 11
/* The same for no particular reader: every reaction's "me" is false. */
#define PL_HISTORY_MESSAGE_COLS PL_HISTORY_MESSAGE_COLS_FOR("NULL")

/* 1 if user belongs to conversation, 0 if not (or no such conversation),
 * -EIO on a database error. */
int pl_history_is_member(PGconn *c, const char *conversation_id, const char *user_id);
/* Writes {"id",...,"members":[...],"last_message":...}. -ENOENT when the
 * conversation does not exist, -EIO on a database error. */
int pl_history_conversation_write(PGconn *c, const char *conversation_id, pl_jw *w);
/* The same, plus viewer's own fields (pl_history_viewer_write) when
 * viewer is not NULL. */
int pl_history_conversation_write_as(PGconn *c, const char *conversation_id,
                                     const char *viewer, pl_jw *w);
/* Writes, as the value of "last_message", message_id of conversation_id
 * that the hot table no longer holds (retention moved it into the
 * archive). 0 once written; nonzero with nothing written, and then
 * -ENOENT means there is no such message any more (a null is written)
 * and anything else fails the whole object. */
typedef int (*pl_history_cold_fn)(void *arg, PGconn *c, pl_jw *w, const char *conversation_id,
                                  const char *message_id, const char *viewer);
/* pl_history_conversation_write_as, with cold (may be NULL) writing a last
 * message that was archived. */
int pl_history_conversation_write_cold(PGconn *c, const char *conversation_id,
                                       const char *viewer, pl_history_cold_fn cold,
                                       void *cold_arg, pl_jw *w);
/* Writes "unread_count" (messages by others after viewer's read marker,
 * not deleted), "mention_count" (those of them mentioning viewer) and
 * "last_read_position" (null before the first read) into the open object.
 * Counted in one statement at read time, so the numbers are exact for one
 * snapshot however sends and reads interleave. -EIO on a database error. */
int pl_history_viewer_write(PGconn *c, const char *conversation_id, const char *viewer,
                            pl_jw *w);
/* The same object without "members" and "last_message": small enough to
 * ride in an event whatever the group's size. Same errors. */
int pl_history_conversation_summary_write(PGconn *c, const char *conversation_id, pl_jw *w);
/* Writes one message object from row of res, columns
 * PL_HISTORY_MESSAGE_COLS_FOR from col0 on. A deleted message is a
 * tombstone: empty text, deleted_at set, no reactions or mentions. */
void pl_history_message_write(pl_jw *w, const PGresult *res, int row, int col0);
/* The same, but when the message replies to one that is not a hot row,
 * quoted (if not NULL) writes the "quoted" value instead of null: the
 * read API finds archived targets in the cold tier. */
typedef void (*pl_history_quoted_fn)(pl_jw *w, void *arg);
void pl_history_message_write_q(pl_jw *w, const PGresult *res, int row, int col0,
                                pl_history_quoted_fn quoted, void *arg);

#endif
