/* pusher_build: the JSON of every frame the pusher sends. Pure functions,
 * callable from any thread; schemas/ is the contract for the shapes.
 *
 * Every builder returns 0 with *json malloc'd (caller frees) and *len set,
 * -EINVAL when the event's data does not have the expected shape, or
 * -ENOMEM. */
#ifndef PUSHER_BUILD_H
#define PUSHER_BUILD_H

#include <stddef.h>

#include "pl_event.h"
#include "pusher_cache.h"

/* Also returns the member list (*members, caller frees) so the caller can
 * both address the frame and cache the membership. */
int pusher_build_conversation_created(const pl_event *ev, const char *pos, char **json,
                                      size_t *len, pusher_members **members);
int pusher_build_message_created(const pl_event *ev, const char *pos, char **json,
                                 size_t *len);

/* Any other conversation event: {"type","conversation_id","position",
 * "actor_id","at", ...the event's data fields}. The event's data is
 * designed to be the frame, so new types need no code here. */
int pusher_build_generic(const pl_event *ev, const char *pos, char **json, size_t *len);

int pusher_build_ready(const char *user_id, const char *session_id, char **json,
                       size_t *len);
/* {"type":"pong"} and the like: a frame that is just a type. */
int pusher_build_simple(const char *type, char **json, size_t *len);
/* The end of a resume of one conversation: {"type":"resume.done",
 * "conversation_id","position"} (pos: the newest position sent), or with
 * reason non-NULL {"type":"resume.gap","conversation_id","from","reason"}
 * (pos: page the REST history after it). */
int pusher_build_resume_end(const char *conv, const char *pos, const char *reason,
                            char **json, size_t *len);
/* {"type":"reconnect","after_ms":n}: the server is going away. */
int pusher_build_reconnect(long long after_ms, char **json, size_t *len);
int pusher_build_error(const char *code, const char *message, char **json, size_t *len);

#endif
