/* migrations: the history projection's schema, as ordered steps with
 * unqualified names (see migrations.c). */
#ifndef PROJECTOR_MIGRATIONS_H
#define PROJECTOR_MIGRATIONS_H

#define HISTORY_SCHEMA "history"
/* Steps from this index on build a projection in any schema; the ones
 * before it concern the live schema's name only. */
#define HISTORY_FIRST_PORTABLE_STEP 1

extern const char *const history_migrations[];
extern const int history_migrations_count;

#endif
