/* pl_archive_schema: the Postgres schema "archive": segments (the event
 * log's archive), history snapshots (the cold tier of history), the
 * search index over cold messages, retention policies, legal holds and
 * their audit trail. */
#ifndef PL_ARCHIVE_SCHEMA_H
#define PL_ARCHIVE_SCHEMA_H

extern const char *const archive_migrations[];
extern const int archive_migrations_count;

#endif
