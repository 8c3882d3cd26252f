#include "pusher_frame.h"

#include <errno.h>
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

const size_t PUSHER_FRAME_PRE = LWS_PRE;

int pusher_frame_new(pusher_frame **out, const void *payload, size_t len)
{
    pusher_frame *f = malloc(sizeof(*f) + LWS_PRE + len + 1);

    if (!f)
        return -ENOMEM;
    atomic_init(&f->refs, 1);
    f->len = len;
    memcpy(f->data + LWS_PRE, payload, len);
    f->data[LWS_PRE + len] = '\0';
    *out = f;
    return 0;
}

int pusher_frame_from_json(pusher_frame **out, char *json, size_t len)
{
    int r = pusher_frame_new(out, json, len);

    free(json);
    return r;
}

pusher_frame *pusher_frame_ref(pusher_frame *f)
{
    atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
    return f;
}

pusher_frame *pusher_frame_unref(pusher_frame *f)
{
    if (f && atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) == 1)
        free(f);
    return NULL;
}
