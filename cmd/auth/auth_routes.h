/* auth_routes: the HTTP API of parley-auth. Handlers expect the auth_ctx
 * as the server's ctx and run on MHD's threads; each replies before it
 * returns (no suspension: every step is a short Postgres round trip or one
 * password hash). */
#ifndef AUTH_ROUTES_H
#define AUTH_ROUTES_H

#include <stddef.h>

#include "pl_http.h"
#include "pl_metrics.h"

extern const pl_http_route auth_routes[];
extern const size_t auth_routes_count;

/* Declares the auth_* metric families on m. 0, or -ENOMEM. */
int auth_routes_metrics(pl_metrics *m);

#endif
