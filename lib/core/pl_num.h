/* pl_num: strict decimal parsing for untrusted text (no atoi). */
#ifndef PL_NUM_H
#define PL_NUM_H

/* The whole of s must be a base-10 integer within [min, max]: 0, else -EINVAL. */
int pl_num_parse_ll(const char *s, long long min, long long max, long long *out);

#endif
