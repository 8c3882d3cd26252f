#include "media.h"

/* The media schema. Append steps; never edit a step that shipped. */
const char *const media_migrations[] = {
    "CREATE SCHEMA IF NOT EXISTS media",

    /* Metadata is immutable once written: the command API copies it into
     * message.created events, so history never has to join this table. */
    "CREATE TABLE media.attachments ("
    " id uuid PRIMARY KEY,"
    " uploader_id uuid NOT NULL,"
    " content_type text NOT NULL,"
    " size bigint NOT NULL CHECK (size > 0),"
    " width int CHECK (width > 0),"
    " height int CHECK (height > 0),"
    " filename text NOT NULL,"
    " sha256 bytea NOT NULL,"
    " created_at timestamptz NOT NULL DEFAULT now());"
    "CREATE INDEX attachments_by_uploader ON media.attachments(uploader_id, created_at)",

    /* Export jobs. A worker claims one by taking its lease (FOR UPDATE SKIP
     * LOCKED) and bumping attempt, which fences every later write of an
     * earlier holder; done/total are its checkpointed progress. */
    "CREATE TABLE media.exports ("
    " id uuid PRIMARY KEY,"
    " user_id uuid NOT NULL,"
    " scope text NOT NULL CHECK (scope IN ('conversation','account')),"
    " conversation_id uuid CHECK ((scope = 'conversation') = (conversation_id IS NOT NULL)),"
    " state text NOT NULL DEFAULT 'queued'"
    "  CHECK (state IN ('queued','running','done','failed')),"
    " attempt int NOT NULL DEFAULT 0,"
    " lease_owner text,"
    " lease_until timestamptz,"
    " done bigint NOT NULL DEFAULT 0,"
    " total bigint NOT NULL DEFAULT 0,"
    " size bigint,"
    " error text,"
    " created_at timestamptz NOT NULL DEFAULT now(),"
    " finished_at timestamptz,"
    " expires_at timestamptz NOT NULL);"
    "CREATE INDEX exports_by_user ON media.exports(user_id, created_at);"
    "CREATE INDEX exports_open ON media.exports(created_at) WHERE state IN ('queued','running');"
    "CREATE INDEX exports_by_expiry ON media.exports(expires_at)",
};

const int media_migrations_count =
    (int)(sizeof(media_migrations) / sizeof(media_migrations[0]));
