#include "migrations.h"

/* The auth schema. Append steps; never edit a step that shipped.
 * One statement per step: pl_pg_migrate runs steps through PQexecParams,
 * which refuses several commands in one string. */
const char *const auth_migrations[] = {
    "CREATE SCHEMA IF NOT EXISTS auth",

    /* Usernames are stored lower-case, so the plain unique constraint is
     * the case-insensitive one; the CHECK backs up the service's rules. */
    "CREATE TABLE auth.users ("
    " id uuid PRIMARY KEY,"
    " username text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9_.]{3,32}$'),"
    " display_name text NOT NULL,"
    " password_hash text NOT NULL,"
    " created_at timestamptz NOT NULL)",

    /* LIKE 'prefix%' can use a btree only under C ordering. */
    "CREATE INDEX users_username_prefix ON auth.users (username text_pattern_ops)",

    "CREATE TABLE auth.sessions ("
    " id uuid PRIMARY KEY,"
    " user_id uuid NOT NULL REFERENCES auth.users(id),"
    " user_agent text NOT NULL,"
    " created_at timestamptz NOT NULL,"
    " last_used_at timestamptz NOT NULL,"
    " revoked_at timestamptz)",

    "CREATE INDEX sessions_by_user ON auth.sessions (user_id)",

    "CREATE TABLE auth.refresh_tokens ("
    " token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),"
    " session_id uuid NOT NULL REFERENCES auth.sessions(id) ON DELETE CASCADE,"
    " created_at timestamptz NOT NULL,"
    " expires_at timestamptz NOT NULL,"
    " used_at timestamptz)",

    "CREATE INDEX refresh_tokens_by_session ON auth.refresh_tokens (session_id)",

    /* Profiles. avatar_id names an attachment; it is stored as given and
     * resolved by whoever serves attachments. */
    "ALTER TABLE auth.users ADD COLUMN bio text NOT NULL DEFAULT ''",
    "ALTER TABLE auth.users ADD COLUMN avatar_id uuid",
    /* When the user's last socket closed anywhere (see docs: presence). */
    "ALTER TABLE auth.users ADD COLUMN last_seen_at timestamptz",
    /* Display-name prefix search. The database's locale is C, whose
     * lower() only knows ASCII, so case folding uses the ICU root locale;
     * text_pattern_ops lets LIKE 'prefix%' use the btree. (The parentheses
     * tell clang the two literals are one element on purpose.) */
    ("CREATE INDEX users_display_prefix ON auth.users"
     " (lower(display_name COLLATE \"und-x-icu\") text_pattern_ops)"),
};

const int auth_migrations_count =
    (int)(sizeof(auth_migrations) / sizeof(auth_migrations[0]));
