/* command_group: what the group routes share. The checks read the
 * projection and are only a fast pre-check: the projector enforces the
 * same rules again, in stream order. */
#ifndef COMMAND_GROUP_H
#define COMMAND_GROUP_H

#include "command.h"
#include "pl_json.h"

enum { ROLE_NONE = 0, ROLE_MEMBER, ROLE_ADMIN, ROLE_OWNER };

typedef struct command_group {
    char kind[8];
    int role; /* the caller's, ROLE_NONE when not a member */
    int is_public;
    long long members;
} command_group;

/* The group size cap (PARLEY_GROUP_MAX_MEMBERS, default 1000). */
long long command_group_cap(void);
/* Role name -> ROLE_*, ROLE_NONE for anything else (NULL included). */
int command_role_parse(const char *name);
/* Looks conv up for user. 0 found (live), -ENOENT none, -EIO. */
int command_group_get(PGconn *pg, const char *conv, const char *user, command_group *g);
/* The pre-check every group write starts with. Replies and returns
 * nonzero unless user is a member of live group conv with at least
 * min_role: 404 for non-members (like a missing conversation), 400 for a
 * direct conversation, 403 for too low a role, 503 on a database error. */
int command_group_authorise(PGconn *pg, pl_http_req *req, const char *conv, int min_role,
                            command_group *g);
/* pl_event_begin for a group event by the caller, now. */
int command_group_event(pl_jw *w, pl_http_req *req, const char *type, const char *conv);
/* Finishes w into an event, produces it keyed by conv and answers
 * 202 {position} once Kafka has it. Replies itself on every path. */
void command_group_produce(command *cmd, pl_http_req *req, const char *conv, pl_jw *w);
/* The same with another done; data (malloc'd, may be NULL) becomes
 * op->data, and is freed here when nothing was produced. */
void command_group_produce_with(command *cmd, pl_http_req *req, const char *conv, pl_jw *w,
                                command_done_fn done, void *data);
/* Writes the conversation summary as "conversation" for a member.added
 * event. -ENOENT, -EIO. */
int command_group_summary(PGconn *pg, const char *conv, pl_jw *w);

/* The join path shared by POST .../join and invite accept: produces a
 * member.added by the caller (via "join" or "invite"), waits for its
 * projection, then answers 200 {conversation} if the caller is now a
 * member, else 410 (invite used up or expired) or 409 (group full).
 * Takes ownership of w on every path. */
void command_group_join(command *cmd, pl_http_req *req, const char *conv,
                        const char *invite_id, pl_jw *w);
/* 200 {conversation} for a caller who already belongs. */
void command_group_reply_conversation(command *cmd, pl_http_req *req, PGconn *pg,
                                      const char *conv);

void command_update_conversation(pl_http_req *req, void *ctx);
void command_delete_conversation(pl_http_req *req, void *ctx);
void command_add_member(pl_http_req *req, void *ctx);
void command_change_role(pl_http_req *req, void *ctx);
void command_remove_member(pl_http_req *req, void *ctx);
void command_join(pl_http_req *req, void *ctx);
void command_create_invite(pl_http_req *req, void *ctx);
void command_accept_invite(pl_http_req *req, void *ctx);

#endif
