/* command_live: live-state writes. typing goes to the ephemeral topic and
 * is never stored; read goes to the events topic like every other write,
 * so a read marker is ordered with the messages it covers. */
#ifndef COMMAND_LIVE_H
#define COMMAND_LIVE_H

#include "pl_http.h"

/* POST /api/v1/conversations/{id}/typing -> 202 {} (throttled or not). */
void command_typing(pl_http_req *req, void *ctx);
/* POST /api/v1/conversations/{id}/read {position} -> 202 {position}. */
void command_read(pl_http_req *req, void *ctx);

#endif
