#include "pl_cfg.h"
#include "pl_num.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *pl_cfg_str(const char *name, const char *def)
{
    const char *v = getenv(name);
    return (v && *v) ? v : def;
}

int pl_cfg_int(const char *name, long long def, long long min, long long max,
               long long *out)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        *out = def;
        return 0;
    }
    return pl_num_parse_ll(v, min, max, out);
}
