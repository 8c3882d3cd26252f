/* pl_event: the envelope of every event on the events topic.
 *
 *   {"v":1,"id":"<uuid>","type":"message.created","ts":<ms>,
 *    "actor":"<uuid>","conversation_id":"<uuid>","data":{...}}
 *
 * The Kafka key is conversation_id, so one conversation's events stay in
 * order on one partition. schemas/events.schema.json is the contract. */
#ifndef PL_EVENT_H
#define PL_EVENT_H

#include <stdint.h>

#include "pl_json.h"

#define PL_EVENT_VERSION 1
#define PL_EVENT_MAX 65536 /* bytes of JSON */

typedef struct pl_event {
    yajl_val tree; /* owns everything below */
    const char *id;
    const char *type;
    int64_t ts_ms;
    const char *actor;
    const char *conversation_id;
    yajl_val data; /* an object */
} pl_event;

/* Writes the envelope and opens "data"; the caller adds data fields and
 * then calls pl_event_end. event_id is a fresh id when NULL. */
int pl_event_begin(pl_jw *w, const char *type, const char *event_id,
                   const char *actor, const char *conversation_id, int64_t ts_ms);
/* Closes data and the envelope; *out is malloc'd (caller frees). */
int pl_event_end(pl_jw *w, char **out, size_t *len);

/* Validates the envelope. On success ev->tree is the caller's to release
 * with pl_event_free. -EINVAL with a reason in err otherwise. */
int pl_event_parse(const char *json, size_t len, pl_event *ev, char *err, size_t errlen);
void pl_event_free(pl_event *ev);

#endif
