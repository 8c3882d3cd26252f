/* Attachments named by a message send: attachment_ids in the body, checked
 * against media.attachments (each must exist and be the sender's upload),
 * and their metadata copied into the event so the projection and the
 * frames need nothing else. */
#ifndef COMMAND_ATTACH_H
#define COMMAND_ATTACH_H

#include "command.h"

#define COMMAND_ATTACH_MAX 10

typedef struct command_attach {
    size_t n;
    char ids[COMMAND_ATTACH_MAX][PL_ID_LEN];
    PGresult *rows; /* id, content_type, size, width, height, filename */
} command_attach;

/* 1 if body has a non-empty attachment_ids array (text may then be empty). */
int command_attach_present(yajl_val body);
/* Reads body.attachment_ids (absent: n = 0). On bad input replies 400 and
 * returns -EINVAL. */
int command_attach_parse(pl_http_req *req, yajl_val body, command_attach *a);
/* Loads the metadata; replies 400 (missing, or not the sender's) or 503
 * and returns nonzero when the send may not go ahead. No-op for n = 0. */
int command_attach_check(command *cmd, pl_http_req *req, command_attach *a);
/* Writes "attachments": [...] into an event's data; nothing for n = 0. */
void command_attach_write(pl_jw *w, const command_attach *a);
void command_attach_free(command_attach *a);

#endif
