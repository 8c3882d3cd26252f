/* The archive schema's migrations. Both the archiver (which writes it)
 * and the read API (which reads snapshots and the search index) apply
 * them, so either may start first. Append steps; never edit a shipped one. */
#include "pl_archive_schema.h"

const char *const archive_migrations[] = {
    "CREATE SCHEMA IF NOT EXISTS archive",

    "CREATE TABLE archive.segments ("
    " id bigserial PRIMARY KEY,"
    " topic text NOT NULL,"
    " partition int NOT NULL,"
    " range_start bigint NOT NULL,"
    " range_end bigint NOT NULL CHECK (range_end >= range_start),"
    " event_count int NOT NULL,"
    " store_key text NOT NULL,"
    " sha256 text NOT NULL,"
    " prev_sha256 text NOT NULL,"
    " bytes bigint NOT NULL,"
    " raw_bytes bigint NOT NULL,"
    " created_at timestamptz NOT NULL DEFAULT now(),"
    " UNIQUE (topic, partition, range_start))",

    "CREATE TABLE archive.segment_index ("
    " segment_id bigint NOT NULL REFERENCES archive.segments(id),"
    " conversation_id uuid NOT NULL,"
    " first_offset bigint NOT NULL,"
    " last_offset bigint NOT NULL,"
    " event_count int NOT NULL,"
    " min_ts timestamptz NOT NULL,"
    " max_ts timestamptz NOT NULL,"
    " PRIMARY KEY (segment_id, conversation_id));"
    "CREATE INDEX segment_index_by_conversation"
    " ON archive.segment_index (conversation_id, first_offset)",

    "CREATE TABLE archive.offsets ("
    " topic text NOT NULL,"
    " partition int NOT NULL,"
    " next_offset bigint NOT NULL,"
    " updated_at timestamptz NOT NULL DEFAULT now(),"
    " PRIMARY KEY (topic, partition))",

    /* History snapshots: the final state of tiered messages, one object
     * per (conversation, offset range); a conversation's snapshots cover
     * a prefix of its history, so max(last_offset) splits cold from hot. */
    "CREATE TABLE archive.snapshots ("
    " id bigserial PRIMARY KEY,"
    " conversation_id uuid NOT NULL,"
    " partition int NOT NULL,"
    " first_offset bigint NOT NULL,"
    " last_offset bigint NOT NULL CHECK (last_offset >= first_offset),"
    " first_at timestamptz NOT NULL,"
    " last_at timestamptz NOT NULL,"
    " message_count int NOT NULL,"
    " store_key text NOT NULL UNIQUE,"
    " sha256 text NOT NULL,"
    " bytes bigint NOT NULL,"
    " raw_bytes bigint NOT NULL,"
    " created_at timestamptz NOT NULL DEFAULT now(),"
    " UNIQUE (conversation_id, first_offset));"
    "CREATE INDEX snapshots_by_last ON archive.snapshots (conversation_id, last_offset);"
    /* One row per tiered message: where it is, and its search terms (the
     * tsvector of the hot row, no text), so search outlives the hot rows. */
    "CREATE TABLE archive.search ("
    " message_id uuid PRIMARY KEY,"
    " conversation_id uuid NOT NULL,"
    " \"offset\" bigint NOT NULL,"
    " snapshot_id bigint NOT NULL REFERENCES archive.snapshots(id) ON DELETE CASCADE,"
    " deleted boolean NOT NULL,"
    " search tsvector NOT NULL);"
    "CREATE INDEX search_terms ON archive.search USING gin (search);"
    "CREATE INDEX search_by_snapshot ON archive.search (snapshot_id);"
    /* Attachments of tiered messages, for download authorisation (what
     * history.message_attachments answers for hot ones). */
    "CREATE TABLE archive.attachments ("
    " attachment_id uuid NOT NULL,"
    " conversation_id uuid NOT NULL,"
    " message_id uuid NOT NULL REFERENCES archive.search(message_id) ON DELETE CASCADE,"
    " PRIMARY KEY (attachment_id, conversation_id, message_id));"
    /* Per-conversation overrides of PARLEY_RETENTION_HOT_DAYS and
     * PARLEY_PURGE_DAYS, in seconds (NULL: the global setting). */
    "CREATE TABLE archive.policies ("
    " conversation_id uuid PRIMARY KEY,"
    " hot_seconds bigint CHECK (hot_seconds >= 0),"
    " purge_seconds bigint CHECK (purge_seconds >= 0),"
    " updated_at timestamptz NOT NULL DEFAULT now());"
    /* Legal holds: an active hold (released_at NULL) on a conversation,
     * or on a user (every conversation they were ever a member of),
     * blocks every purge. Every change is audited. */
    "CREATE TABLE archive.holds ("
    " id bigserial PRIMARY KEY,"
    " kind text NOT NULL CHECK (kind IN ('conversation','user')),"
    " subject uuid NOT NULL,"
    " reason text NOT NULL,"
    " created_by text NOT NULL,"
    " created_at timestamptz NOT NULL DEFAULT now(),"
    " released_by text,"
    " released_at timestamptz,"
    " release_reason text);"
    "CREATE INDEX holds_active ON archive.holds (kind, subject) WHERE released_at IS NULL;"
    "CREATE TABLE archive.audit ("
    " id bigserial PRIMARY KEY,"
    " at timestamptz NOT NULL DEFAULT now(),"
    " actor text NOT NULL,"
    " action text NOT NULL,"
    " subject text NOT NULL,"
    " detail text NOT NULL)",
};

const int archive_migrations_count =
    (int)(sizeof(archive_migrations) / sizeof(archive_migrations[0]));
