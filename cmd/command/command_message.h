/* command_message: what the message writes (edit, delete, reactions,
 * replies, mentions) share. */
#ifndef COMMAND_MESSAGE_H
#define COMMAND_MESSAGE_H

#include "command.h"
#include "pl_text.h"

#define COMMAND_TEXT_MAX_CHARS 4096

/* A message as the caller may act on it, read from the projection. */
typedef struct command_msg {
    char sender[PL_ID_LEN];
    char role[8];        /* the caller's role in the conversation */
    int group;           /* the conversation is a group */
    int deleted;         /* already a tombstone */
    long long reactions; /* distinct emoji the caller put on it */
    int reacted;         /* the caller already reacted with emoji */
} command_msg;

/* Reads message mid of conv for the caller (emoji may be NULL). Replies
 * 404/503 itself and returns nonzero when there is nothing to act on. */
int command_msg_load(command *cmd, pl_http_req *req, const char *conv, const char *mid,
                     const char *emoji, command_msg *out);
/* Checks text (body field "text"): 1..4096 code points. Replies 400/413
 * and returns -EINVAL when it is not acceptable. */
int command_text_ok(pl_http_req *req, const char *text);
/* Resolves text's @usernames to members of conv; writes "mentions":[ids]
 * into w (an open event data object). 0 or -EIO. */
int command_mentions_write(PGconn *pg, const char *conv, const char *text, pl_jw *w);
/* Produces the event in ev (takes it) and answers 202 {position} once
 * Kafka has it. */
void command_produce_position(command *cmd, pl_http_req *req, const char *conv, char *ev,
                              size_t len);

void command_edit_message(pl_http_req *req, void *ctx);
void command_delete_message(pl_http_req *req, void *ctx);
void command_add_reaction(pl_http_req *req, void *ctx);
void command_remove_reaction(pl_http_req *req, void *ctx);

#endif
