/* pusher_util: small helpers the pusher needs that lib/core lacks.
 * (pl_log.h mentions pl_log_quote, which does not exist yet; this is it.) */
#ifndef PUSHER_UTIL_H
#define PUSHER_UTIL_H

#include <stddef.h>

/* Writes s as a logfmt quoted value ("..." with \" \\ escaped, control
 * bytes as '?'), truncated to fit n bytes. Returns out. */
const char *pusher_quote(char *out, size_t n, const char *s);

#endif
