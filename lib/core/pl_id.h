/* pl_id: identifiers are UUID text (36 chars + NUL). */
#ifndef PL_ID_H
#define PL_ID_H

#include <stddef.h>

#define PL_ID_LEN 37

/* A random (v4) UUID from libsodium's CSPRNG. */
void pl_id_random(char out[PL_ID_LEN]);
/* A name-based UUID: the same parts always give the same id, so a retried
 * command maps onto the same entity. parts are joined with a 0 byte. */
void pl_id_derive(char out[PL_ID_LEN], const char *ns, const char *const *parts,
                  size_t n);
/* 1 if s is a canonical lower-case UUID, else 0. */
int pl_id_valid(const char *s);

#endif
