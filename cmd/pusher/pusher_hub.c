#include "pusher_hub.h"
#include "pusher_map.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct pusher_hub {
    pthread_mutex_t lock;
    pthread_cond_t not_full;
    pusher_delivery **ring;
    size_t cap, head, len;
    int closed;
    pusher_hub_wake_fn wake;
    void *wake_arg;
    pusher_map *index; /* user_id -> first pusher_hub_node */
};

int pusher_delivery_new(pusher_delivery **out, pusher_frame *frame, int64_t ts_ms,
                        const char (*users)[PL_ID_LEN], size_t nusers)
{
    pusher_delivery *d = calloc(1, sizeof(*d));
    int r = -ENOMEM;

    if (!d)
        goto out;
    d->users = calloc(nusers ? nusers : 1, sizeof(*d->users));
    if (!d->users)
        goto out;
    memcpy(d->users, users, nusers * sizeof(*d->users));
    d->nusers = nusers;
    d->ts_ms = ts_ms;
    d->offset = -1;
    d->frame = frame;
    frame = NULL;
    *out = d;
    d = NULL;
    r = 0;
out:
    pusher_frame_unref(frame);
    pusher_delivery_free(d);
    return r;
}

void pusher_delivery_free(pusher_delivery *d)
{
    if (!d)
        return;
    pusher_frame_unref(d->frame);
    free(d->users);
    free(d);
}

int pusher_hub_new(pusher_hub **out, size_t max_queue, pusher_hub_wake_fn wake, void *arg)
{
    pusher_hub *h = calloc(1, sizeof(*h));
    int r = -ENOMEM;

    if (!h)
        return -ENOMEM;
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->not_full, NULL);
    h->ring = calloc(max_queue, sizeof(*h->ring));
    if (!h->ring)
        goto out;
    r = pusher_map_new(&h->index);
    if (r)
        goto out;
    h->cap = max_queue;
    h->wake = wake;
    h->wake_arg = arg;
    *out = h;
    h = NULL;
out:
    pusher_hub_free(h);
    return r;
}

void pusher_hub_free(pusher_hub *h)
{
    if (!h)
        return;
    while (h->len) {
        pusher_delivery_free(h->ring[h->head]);
        h->head = (h->head + 1) % h->cap;
        h->len--;
    }
    pusher_map_free(h->index, NULL);
    free(h->ring);
    pthread_cond_destroy(&h->not_full);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

int pusher_hub_push(pusher_hub *h, pusher_delivery *d)
{
    pthread_mutex_lock(&h->lock);
    while (h->len == h->cap && !h->closed)
        pthread_cond_wait(&h->not_full, &h->lock);
    if (h->closed) {
        pthread_mutex_unlock(&h->lock);
        pusher_delivery_free(d);
        return -ESHUTDOWN;
    }
    h->ring[(h->head + h->len) % h->cap] = d;
    h->len++;
    pthread_mutex_unlock(&h->lock);
    if (h->wake)
        h->wake(h->wake_arg);
    return 0;
}

void pusher_hub_close(pusher_hub *h)
{
    pthread_mutex_lock(&h->lock);
    h->closed = 1;
    pthread_cond_broadcast(&h->not_full);
    pthread_mutex_unlock(&h->lock);
}

pusher_delivery *pusher_hub_pop(pusher_hub *h)
{
    pusher_delivery *d = NULL;

    pthread_mutex_lock(&h->lock);
    if (h->len) {
        d = h->ring[h->head];
        h->head = (h->head + 1) % h->cap;
        h->len--;
        pthread_cond_signal(&h->not_full);
    }
    pthread_mutex_unlock(&h->lock);
    return d;
}

int pusher_hub_index_add(pusher_hub *h, pusher_hub_node *n, const char *user_id)
{
    pusher_hub_node *head = pusher_map_get(h->index, user_id);
    int r;

    if (n->linked)
        return -EALREADY;
    /* New nodes go first, so the map only changes for a user's first node. */
    r = pusher_map_put(h->index, user_id, n, NULL);
    if (r)
        return r;
    memcpy(n->user_id, user_id, strnlen(user_id, PL_ID_LEN - 1));
    n->user_id[strnlen(user_id, PL_ID_LEN - 1)] = '\0';
    n->prev = NULL;
    n->next = head;
    if (head)
        head->prev = n;
    n->linked = 1;
    return 0;
}

void pusher_hub_index_del(pusher_hub *h, pusher_hub_node *n)
{
    if (!n->linked)
        return;
    if (n->prev)
        n->prev->next = n->next;
    else if (n->next)
        pusher_map_put(h->index, n->user_id, n->next, NULL); /* replace: no alloc */
    else
        pusher_map_del(h->index, n->user_id);
    if (n->next)
        n->next->prev = n->prev;
    n->prev = n->next = NULL;
    n->linked = 0;
}

pusher_hub_node *pusher_hub_index_first(pusher_hub *h, const char *user_id)
{
    return pusher_map_get(h->index, user_id);
}

size_t pusher_hub_index_users(pusher_hub *h)
{
    return pusher_map_count(h->index);
}
