#include "pl_event.h"
#include "pl_id.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pl_event_begin(pl_jw *w, const char *type, const char *event_id,
                   const char *actor, const char *conversation_id, int64_t ts_ms)
{
    char id[PL_ID_LEN];
    int r = pl_jw_init(w);

    if (r)
        return r;
    if (!event_id) {
        pl_id_random(id);
        event_id = id;
    }
    pl_jw_obj(w);
    pl_jw_kint(w, "v", PL_EVENT_VERSION);
    pl_jw_kstr(w, "id", event_id);
    pl_jw_kstr(w, "type", type);
    pl_jw_kint(w, "ts", ts_ms);
    pl_jw_kstr(w, "actor", actor);
    pl_jw_kstr(w, "conversation_id", conversation_id);
    pl_jw_key(w, "data");
    pl_jw_obj(w);
    return w->err;
}

int pl_event_end(pl_jw *w, char **out, size_t *len)
{
    pl_jw_end_obj(w);
    pl_jw_end_obj(w);
    return pl_jw_finish(w, out, len);
}

int pl_event_parse(const char *json, size_t len, pl_event *ev, char *err, size_t errlen)
{
    long long v, ts;
    yajl_val t = NULL;
    int r;

    memset(ev, 0, sizeof(*ev));
    if (len > PL_EVENT_MAX) {
        snprintf(err, errlen, "event larger than %d bytes", PL_EVENT_MAX);
        return -EINVAL;
    }
    r = pl_json_parse(json, len, &t, err, errlen);
    if (r)
        return r;
    if (pl_json_int(t, "v", &v) || v != PL_EVENT_VERSION) {
        snprintf(err, errlen, "unsupported event version");
        goto fail;
    }
    ev->id = pl_json_str(t, "id");
    ev->type = pl_json_str(t, "type");
    ev->actor = pl_json_str(t, "actor");
    ev->conversation_id = pl_json_str(t, "conversation_id");
    ev->data = pl_json_get(t, "data");
    if (!pl_id_valid(ev->id) || !ev->type || !pl_id_valid(ev->actor) ||
        !pl_id_valid(ev->conversation_id) || !YAJL_IS_OBJECT(ev->data) ||
        pl_json_int(t, "ts", &ts)) {
        snprintf(err, errlen, "event envelope is missing or malformed fields");
        goto fail;
    }
    ev->ts_ms = ts;
    ev->tree = t;
    return 0;
fail:
    yajl_tree_free(t);
    memset(ev, 0, sizeof(*ev));
    return -EINVAL;
}

void pl_event_free(pl_event *ev)
{
    if (ev && ev->tree) {
        yajl_tree_free(ev->tree);
        ev->tree = NULL;
    }
}
