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
};

const int media_migrations_count =
    (int)(sizeof(media_migrations) / sizeof(media_migrations[0]));
