#include "migrations.h"

/* The history projection. Append steps; never edit a step that shipped.
 *
 * Table names are unqualified: pl_pg_migrate_in applies the steps with
 * search_path = the projection's schema, so the same list builds the live
 * "history" and a rebuild's "history_rebuild". Steps 2+ named "history."
 * when they shipped; dropping the prefix changed no object they create
 * (applied with search_path = history), and pl_pg_migrate records steps by
 * (component, version) only, so databases that already ran them never run
 * them again. Step 1 creates the live schema by name; a rebuild skips it. */
const char *const history_migrations[] = {
    "CREATE SCHEMA IF NOT EXISTS history",

    "CREATE TABLE conversations ("
    " id uuid PRIMARY KEY,"
    " kind text NOT NULL CHECK (kind IN ('direct','group')),"
    " title text,"
    " created_by uuid NOT NULL,"
    " created_at timestamptz NOT NULL,"
    " partition int NOT NULL,"
    " \"offset\" bigint NOT NULL,"
    " last_message_id uuid,"
    " last_activity_at timestamptz NOT NULL)",

    "CREATE TABLE members ("
    " conversation_id uuid NOT NULL REFERENCES conversations(id),"
    " user_id uuid NOT NULL,"
    " role text NOT NULL CHECK (role IN ('owner','admin','member')),"
    " joined_at timestamptz NOT NULL,"
    " PRIMARY KEY (conversation_id, user_id));"
    "CREATE INDEX members_by_user ON members(user_id)",

    "CREATE TABLE messages ("
    " id uuid PRIMARY KEY,"
    " conversation_id uuid NOT NULL REFERENCES conversations(id),"
    " sender_id uuid NOT NULL,"
    " client_msg_id text NOT NULL,"
    " text text NOT NULL,"
    " created_at timestamptz NOT NULL,"
    " event_id uuid NOT NULL,"
    " partition int NOT NULL,"
    " \"offset\" bigint NOT NULL);"
    "CREATE UNIQUE INDEX messages_by_position ON messages(conversation_id, \"offset\")",

    /* Consumed offsets live beside the rows they produced: one transaction
     * commits both, so a crash can neither lose nor double an event. */
    "CREATE TABLE offsets ("
    " topic text NOT NULL,"
    " partition int NOT NULL,"
    " next_offset bigint NOT NULL,"
    " updated_at timestamptz NOT NULL DEFAULT now(),"
    " PRIMARY KEY (topic, partition))",

    /* Messages: edits, tombstones, replies, reactions, mentions, and a
     * search vector in both stemmings (a Russian text and an English one
     * each match their own stems; tombstones hold no text, so no terms). */
    "ALTER TABLE messages ADD COLUMN edited_at timestamptz,"
    " ADD COLUMN deleted_at timestamptz, ADD COLUMN reply_to uuid,"
    " ADD COLUMN search tsvector GENERATED ALWAYS AS ("
    "  setweight(to_tsvector('english', text), 'A') ||"
    "  setweight(to_tsvector('russian', text), 'A')) STORED;"
    "CREATE INDEX messages_search ON messages USING gin (search);"
    "CREATE TABLE reactions ("
    " message_id uuid NOT NULL REFERENCES messages(id),"
    " user_id uuid NOT NULL,"
    " emoji text NOT NULL,"
    " \"offset\" bigint NOT NULL,"
    " PRIMARY KEY (message_id, emoji, user_id));"
    "CREATE TABLE mentions ("
    " message_id uuid NOT NULL REFERENCES messages(id),"
    " conversation_id uuid NOT NULL,"
    " user_id uuid NOT NULL,"
    " \"offset\" bigint NOT NULL,"
    " PRIMARY KEY (message_id, user_id));"
    "CREATE INDEX mentions_by_user ON mentions (user_id, conversation_id, \"offset\");"
    /* AND over per-word (english OR russian) queries, for search. */
    "CREATE AGGREGATE tsquery_and_agg(tsquery)"
    " (sfunc = tsquery_and, stype = tsquery)",

    /* Groups: profile fields, visibility and soft deletion (a deleted
     * group keeps its rows but has no members, so it is 404 for all). */
    "ALTER TABLE conversations ADD COLUMN description text,"
    " ADD COLUMN avatar_id uuid, ADD COLUMN public boolean NOT NULL DEFAULT false,"
    " ADD COLUMN deleted_at timestamptz;"
    "CREATE INDEX conversations_public ON conversations (lower(title), id)"
    " WHERE public AND deleted_at IS NULL",

    /* Membership by stream offset: lets a pusher ask "who was a member at
     * offset k" exactly, however far the projection has run ahead. */
    "CREATE TABLE member_log ("
    " conversation_id uuid NOT NULL,"
    " user_id uuid NOT NULL,"
    " \"offset\" bigint NOT NULL,"
    " present boolean NOT NULL,"
    " PRIMARY KEY (conversation_id, user_id, \"offset\"));"
    "INSERT INTO member_log"
    " SELECT m.conversation_id, m.user_id, c.\"offset\", true"
    " FROM members m JOIN conversations c ON c.id = m.conversation_id",

    /* Only the code's hash is kept: the table cannot hand out invites. */
    "CREATE TABLE invites ("
    " id uuid PRIMARY KEY,"
    " conversation_id uuid NOT NULL REFERENCES conversations(id),"
    " code_hash text NOT NULL UNIQUE,"
    " created_by uuid NOT NULL,"
    " created_at timestamptz NOT NULL,"
    " expires_at timestamptz NOT NULL,"
    " max_uses int,"
    " uses int NOT NULL DEFAULT 0)",

    /* Attachments posted in a message, with the metadata the command API
     * copied into the event, so history never joins media.*; the
     * conversation id is what download authorisation asks about. */
    "CREATE TABLE message_attachments ("
    " message_id uuid NOT NULL REFERENCES messages(id),"
    " ord int NOT NULL,"
    " attachment_id uuid NOT NULL,"
    " conversation_id uuid NOT NULL,"
    " content_type text NOT NULL,"
    " size bigint NOT NULL,"
    " width int,"
    " height int,"
    " filename text NOT NULL,"
    " PRIMARY KEY (message_id, ord));"
    "CREATE INDEX message_attachments_by_attachment"
    " ON message_attachments (attachment_id, conversation_id)",

    /* Read markers: the offset (in the conversation's partition) of the
     * last event the user has read; it only moves forward. Unread counts
     * are computed from it at read time over messages_by_position. */
    "CREATE TABLE read_markers ("
    " conversation_id uuid NOT NULL,"
    " user_id uuid NOT NULL,"
    " \"offset\" bigint NOT NULL,"
    " updated_at timestamptz NOT NULL,"
    " PRIMARY KEY (conversation_id, user_id))",
};

const int history_migrations_count =
    (int)(sizeof(history_migrations) / sizeof(history_migrations[0]));
