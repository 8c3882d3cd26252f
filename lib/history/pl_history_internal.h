/* Column readers shared by the pl_history writers; not part of the API. */
#ifndef PL_HISTORY_INTERNAL_H
#define PL_HISTORY_INTERNAL_H

#include <libpq-fe.h>

#include "pl_json.h"

long long pl_history_col_ll(const PGresult *res, int row, int col);
/* Writes "position" from a (partition, offset) column pair. */
void pl_history_pos_write(pl_jw *w, const PGresult *res, int row, int col);
/* Writes key as an RFC 3339 time from an epoch-milliseconds column. */
void pl_history_time_write(pl_jw *w, const char *key, const PGresult *res, int row, int col);

#endif
