/* pl_pos: a position names one event in the log: "p<partition>.o<offset>".
 * Clients treat it as opaque; inside one conversation (one partition)
 * positions order by offset. */
#ifndef PL_POS_H
#define PL_POS_H

#include <stdint.h>

#define PL_POS_LEN 33 /* "p2147483647.o9223372036854775807" + NUL */

typedef struct pl_pos {
    int32_t partition;
    int64_t offset;
} pl_pos;

/* Strict: 0 on success, -EINVAL on anything but the canonical form. */
int pl_pos_parse(const char *s, pl_pos *out);
void pl_pos_format(char out[PL_POS_LEN], pl_pos pos);

#endif
