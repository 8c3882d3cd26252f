#ifndef PROJECTOR_MIGRATIONS_H
#define PROJECTOR_MIGRATIONS_H

extern const char *const history_migrations[];
extern const int history_migrations_count;

#endif
