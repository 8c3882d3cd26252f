#include "pusher_conv.h"
#include "pusher_map.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct conv_state {
    pl_pos last;          /* newest position queued on the socket */
    int replaying;
    pusher_frame **held;  /* live frames while replaying, one ref each */
    int64_t *held_off;
    size_t nheld, cap;
} conv_state;

struct pusher_convs {
    pusher_map *map; /* conv id -> conv_state */
    size_t max;
};

static void conv_release(conv_state *s)
{
    for (size_t i = 0; i < s->nheld; i++)
        pusher_frame_unref(s->held[i]);
    free(s->held);
    free(s->held_off);
    s->held = NULL;
    s->held_off = NULL;
    s->nheld = s->cap = 0;
}

static void conv_free(void *v)
{
    conv_release(v);
    free(v);
}

int pusher_convs_new(pusher_convs **out, size_t max)
{
    pusher_convs *c = calloc(1, sizeof(*c));

    if (!c || pusher_map_new(&c->map)) {
        free(c);
        return -ENOMEM;
    }
    c->max = max;
    *out = c;
    return 0;
}

void pusher_convs_free(pusher_convs *c)
{
    if (!c)
        return;
    pusher_map_free(c->map, conv_free);
    free(c);
}

/* conv's state, created (at pos, live) when absent and there is room. */
static conv_state *conv_get(pusher_convs *c, const char *conv, pl_pos pos, int create)
{
    conv_state *s = pusher_map_get(c->map, conv);

    if (s || !create || pusher_map_count(c->map) >= c->max)
        return s;
    s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->last = (pl_pos){.partition = pos.partition, .offset = -1};
    if (pusher_map_put(c->map, conv, s, NULL)) {
        free(s);
        return NULL;
    }
    return s;
}

/* 1 when pos was queued already. Another partition means the state is
 * stale (the topic was recreated): start over from pos. */
static int conv_seen(conv_state *s, pl_pos pos)
{
    if (s->last.partition != pos.partition) {
        s->last = (pl_pos){.partition = pos.partition, .offset = -1};
        return 0;
    }
    return pos.offset <= s->last.offset;
}

static int conv_hold(conv_state *s, pusher_frame *f, int64_t off)
{
    if (s->nheld == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        pusher_frame **h;
        int64_t *o;

        if (s->cap >= PUSHER_CONV_MAX_PENDING)
            return -ENOSPC;
        if (cap > PUSHER_CONV_MAX_PENDING)
            cap = PUSHER_CONV_MAX_PENDING;
        h = realloc(s->held, cap * sizeof(*h));
        if (!h)
            return -ENOMEM;
        s->held = h;
        o = realloc(s->held_off, cap * sizeof(*o));
        if (!o)
            return -ENOMEM;
        s->held_off = o;
        s->cap = cap;
    }
    s->held[s->nheld] = pusher_frame_ref(f);
    s->held_off[s->nheld++] = off;
    return 0;
}

pusher_conv_verdict pusher_convs_live(pusher_convs *c, const char *conv, pl_pos pos,
                                      pusher_frame *f)
{
    conv_state *s = conv_get(c, conv, pos, 1);

    if (!s)
        return PUSHER_CONV_SEND; /* untracked: the live feed does not repeat */
    if (conv_seen(s, pos))
        return PUSHER_CONV_DROP;
    if (s->replaying)
        return conv_hold(s, f, pos.offset) ? PUSHER_CONV_OVERFLOW : PUSHER_CONV_HELD;
    s->last = pos;
    return PUSHER_CONV_SEND;
}

int pusher_convs_begin(pusher_convs *c, const char *conv, pl_pos from)
{
    conv_state *s = conv_get(c, conv, from, 1);

    if (!s)
        return pusher_map_count(c->map) >= c->max ? -ENOSPC : -ENOMEM;
    if (s->replaying)
        return -EALREADY;
    /* Never move `last` back: what was sent was sent. */
    if (s->last.partition != from.partition || s->last.offset < from.offset)
        s->last = from;
    s->replaying = 1;
    return 0;
}

pusher_conv_verdict pusher_convs_replayed(pusher_convs *c, const char *conv, pl_pos pos)
{
    conv_state *s = pusher_map_get(c->map, conv);

    if (!s || !s->replaying || conv_seen(s, pos))
        return PUSHER_CONV_DROP;
    s->last = pos;
    return PUSHER_CONV_SEND;
}

int pusher_convs_tracked(pusher_convs *c, const char *conv)
{
    return pusher_map_get(c->map, conv) != NULL;
}

int pusher_convs_replaying(pusher_convs *c, const char *conv, pl_pos *last)
{
    conv_state *s = pusher_map_get(c->map, conv);

    if (!s || !s->replaying)
        return 0;
    if (last)
        *last = s->last;
    return 1;
}

int pusher_convs_end(pusher_convs *c, const char *conv,
                     void (*emit)(void *arg, pusher_frame *f), void *arg, pl_pos *last)
{
    conv_state *s = pusher_map_get(c->map, conv);

    if (!s || !s->replaying)
        return -ENOENT;
    for (size_t i = 0; i < s->nheld; i++) {
        if (s->held_off[i] <= s->last.offset)
            continue; /* the replay sent it already */
        s->last.offset = s->held_off[i];
        emit(arg, s->held[i]);
        s->held[i] = NULL;
    }
    conv_release(s);
    s->replaying = 0;
    if (last)
        *last = s->last;
    return 0;
}
