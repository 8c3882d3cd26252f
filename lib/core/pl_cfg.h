/* pl_cfg: settings come from the environment (PARLEY_*), the one kind of
 * global state we allow. Every setting is listed in README.md. */
#ifndef PL_CFG_H
#define PL_CFG_H

/* Returns the variable or def; the string belongs to the environment. */
const char *pl_cfg_str(const char *name, const char *def);
/* 0, or -EINVAL when set but not an integer within [min, max]. */
int pl_cfg_int(const char *name, long long def, long long min, long long max,
               long long *out);

#endif
