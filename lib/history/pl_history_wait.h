/* pl_history_wait: waits, without holding a request thread, until the
 * history projection has applied a given position. One thread polls the
 * projector's committed offsets while anyone is waiting; this is what
 * makes read-your-writes (min_position) cheap. */
#ifndef PL_HISTORY_WAIT_H
#define PL_HISTORY_WAIT_H

#include "pl_pg.h"
#include "pl_pos.h"

typedef struct pl_history_wait pl_history_wait;

/* reached is 1 once applied, 0 on timeout or shutdown. Runs on the waiter
 * thread (or on the caller's, when already reached); must not block long. */
typedef void (*pl_history_wait_fn)(void *opaque, int reached);

/* pool and topic are borrowed. */
int pl_history_wait_new(pl_history_wait **out, pl_pg_pool *pool, const char *topic);
/* 0: fn will run exactly once. -ENOBUFS: too many waiters (fn never runs). */
int pl_history_wait_add(pl_history_wait *w, pl_pos pos, int timeout_ms,
                        pl_history_wait_fn fn, void *opaque);
/* Fires every pending waiter with reached=0, joins the thread, frees. */
void pl_history_wait_free(pl_history_wait *w);

#endif
