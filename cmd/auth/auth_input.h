/* auth_input: validation and normalisation of what clients send to auth.
 * Pure functions with no I/O, so they are unit-tested on their own.
 * On -EINVAL, *why (when why is non-NULL) points to a static message fit to
 * show the client; outputs are only written on success. */
#ifndef AUTH_INPUT_H
#define AUTH_INPUT_H

#include <stddef.h>

#define AUTH_USERNAME_MIN 3
#define AUTH_USERNAME_MAX 32
#define AUTH_DISPLAY_MAX_CHARS 64
#define AUTH_DISPLAY_MAX_BYTES (AUTH_DISPLAY_MAX_CHARS * 4) /* UTF-8 worst case */
#define AUTH_PASSWORD_MIN 8
#define AUTH_PASSWORD_MAX 256
#define AUTH_USER_AGENT_MAX 256
/* Worst case of auth_input_like_prefix: every byte escaped, plus '%'. */
#define AUTH_LIKE_MAX (AUTH_USERNAME_MAX * 2 + 1)

/* 3-32 of [a-z0-9_.], compared case-insensitively: out gets the
 * lower-case form. */
int auth_input_username(const char *in, char out[AUTH_USERNAME_MAX + 1], const char **why);
/* Trims ASCII white space, then requires 1-64 code points of well-formed
 * UTF-8 with no control characters (C0, DEL, C1, U+2028/2029). */
int auth_input_display_name(const char *in, char out[AUTH_DISPLAY_MAX_BYTES + 1],
                            const char **why);
/* Length 8-256 bytes; the content is the user's business. */
int auth_input_password(const char *pw, const char **why);
/* Turns a username prefix into a LIKE pattern (default escape '\'):
 * lower-cased, '_' escaped, '%' appended. -EINVAL when empty, longer than
 * a username or outside the username alphabet (nothing could match). */
int auth_input_like_prefix(const char *q, char out[AUTH_LIKE_MAX + 1], const char **why);
/* Worst case of auth_input_display_prefix: 64 code points of 4 bytes,
 * every byte escaped, plus '%'. */
#define AUTH_DISPLAY_LIKE_MAX (AUTH_DISPLAY_MAX_BYTES * 2 + 1)
/* Turns a display-name prefix into a LIKE pattern (escape '\'): 1-64
 * code points of UTF-8 without control characters, '\', '%' and '_'
 * escaped, '%' appended. Case is left alone: SQL lower()s both sides. */
int auth_input_display_prefix(const char *q, char out[AUTH_DISPLAY_LIKE_MAX + 1],
                              const char **why);
/* Copies at most AUTH_USER_AGENT_MAX bytes of printable ASCII; anything
 * else becomes '?', since Postgres rejects invalid UTF-8 and the header is
 * attacker-controlled. NULL in gives "". Never fails. */
void auth_input_user_agent(const char *in, char out[AUTH_USER_AGENT_MAX + 1]);

#endif
