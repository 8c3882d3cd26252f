/* pusher_map: a string-keyed hash map with chaining, used for the
 * user -> sessions index, the membership cache and the dedup set.
 * Not thread-safe: each map belongs to one thread (see its owner).
 *
 * Keys are copied. Values are opaque: the map never frees them; callers
 * pass a free function to pusher_map_clear/pusher_map_free when the map
 * owns its values. */
#ifndef PUSHER_MAP_H
#define PUSHER_MAP_H

#include <stddef.h>

typedef struct pusher_map pusher_map;
typedef void (*pusher_map_free_fn)(void *value);

int pusher_map_new(pusher_map **out);
/* Frees every value with fn (may be NULL) and the map. Accepts NULL. */
void pusher_map_free(pusher_map *m, pusher_map_free_fn fn);
/* NULL when absent. */
void *pusher_map_get(const pusher_map *m, const char *key);
/* Inserts or replaces. On replace *old (if non-NULL) gets the previous
 * value, which the caller now owns; else NULL. -ENOMEM leaves m unchanged. */
int pusher_map_put(pusher_map *m, const char *key, void *value, void **old);
/* Removes key and returns its value (caller owns it), NULL when absent. */
void *pusher_map_del(pusher_map *m, const char *key);
void pusher_map_clear(pusher_map *m, pusher_map_free_fn fn);
size_t pusher_map_count(const pusher_map *m);

#endif
