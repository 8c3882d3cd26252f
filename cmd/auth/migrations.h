#ifndef AUTH_MIGRATIONS_H
#define AUTH_MIGRATIONS_H

/* Steps for pl_pg_migrate, component "auth". */
extern const char *const auth_migrations[];
extern const int auth_migrations_count;

#endif
