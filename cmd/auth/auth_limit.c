#include "auth_limit.h"
#include "pl_cfg.h"
#include "pl_log.h"
#include "pl_time.h"

#include <errno.h>
#include <stdio.h>

#define LIMIT_SLOTS 65536

int auth_limit_init(auth_ctx *ctx)
{
    long long a_min, a_burst, i_min, i_burst;
    int r;

    /* Per minute: a person mistypes a password a few times, a script tries
     * thousands. The IP budget is larger because of NAT and shared offices. */
    if (pl_cfg_int("PARLEY_LOGIN_RATE_ACCOUNT_PER_MIN", 5, 1, 1000000, &a_min) ||
        pl_cfg_int("PARLEY_LOGIN_RATE_ACCOUNT_BURST", 10, 1, 1000000, &a_burst) ||
        pl_cfg_int("PARLEY_LOGIN_RATE_IP_PER_MIN", 60, 1, 1000000, &i_min) ||
        pl_cfg_int("PARLEY_LOGIN_RATE_IP_BURST", 100, 1, 1000000, &i_burst)) {
        pl_error("config", "msg=\"PARLEY_LOGIN_RATE_{ACCOUNT,IP}_{PER_MIN,BURST} must be "
                           "integers from 1 to 1000000\"");
        return -EINVAL;
    }
    ctx->retry_account_s = (60 + a_min - 1) / a_min;
    ctx->retry_ip_s = (60 + i_min - 1) / i_min;
    r = pl_rate_new(&ctx->login_account, (double)a_min / 60.0, (double)a_burst, LIMIT_SLOTS);
    if (!r)
        r = pl_rate_new(&ctx->login_ip, (double)i_min / 60.0, (double)i_burst, LIMIT_SLOTS);
    return r;
}

void auth_limit_free(auth_ctx *ctx)
{
    pl_rate_free(ctx->login_account);
    pl_rate_free(ctx->login_ip);
    ctx->login_account = ctx->login_ip = NULL;
}

static int refuse(pl_http_req *req, long long retry_s, const char *what, const char *key)
{
    char v[24];

    snprintf(v, sizeof(v), "%lld", retry_s);
    pl_http_set_header(req, "Retry-After", v);
    pl_info("login_rate_limited", "by=%s key=%s", what, key);
    pl_http_reply_error(req, 429, "rate_limited", "too many attempts; retry later");
    return 0;
}

int auth_limit_ok(pl_http_req *req, const auth_ctx *ctx, const char *account)
{
    char ip[64];
    int64_t now = pl_time_mono_ms();

    /* The IP bucket first: it also pays for attempts on unknown names. */
    if (pl_http_peer_ip(req, ip, sizeof(ip)) == 0 && !pl_rate_take(ctx->login_ip, ip, now))
        return refuse(req, ctx->retry_ip_s, "ip", ip);
    if (account && !pl_rate_take(ctx->login_account, account, now))
        return refuse(req, ctx->retry_account_s, "account", account);
    return 1;
}
