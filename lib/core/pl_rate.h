/* pl_rate: per-key token buckets in a fixed-size table, so the memory an
 * attacker can make us use is bounded. When the table is crowded the
 * stalest bucket nearby is forgotten (its owner starts with a full one). */
#ifndef PL_RATE_H
#define PL_RATE_H

#include <stddef.h>
#include <stdint.h>

typedef struct pl_rate pl_rate;

/* -EINVAL unless slots > 0, per_sec > 0 and burst >= 1. Keys longer than
 * 39 bytes are told apart by their first 39 bytes only. */
int pl_rate_new(pl_rate **out, double per_sec, double burst, size_t slots);
void pl_rate_free(pl_rate *r);
/* 1 if key may act now (a token is taken), 0 if it is over its rate.
 * Thread-safe. */
int pl_rate_take(pl_rate *r, const char *key, int64_t now_ms);

#endif
