#include "auth_events.h"
#include "pl_json.h"
#include "pl_log.h"
#include "pl_time.h"

#include <stdlib.h>

/* Runs on the producer's thread. */
static void on_delivery(void *opaque, int err, const char *errstr, int32_t partition,
                        int64_t offset)
{
    (void)opaque;
    (void)partition;
    (void)offset;
    if (err)
        pl_warn("session_revoked_unpublished", "reason=\"%s\"", errstr ? errstr : "");
}

void auth_events_session_revoked(const auth_ctx *ctx, const char *user_id,
                                 const char *session_id)
{
    char *json = NULL;
    size_t len = 0;
    pl_jw w;
    int r;

    if (!ctx->producer)
        return;
    r = pl_jw_init(&w);
    if (r)
        goto out;
    pl_jw_obj(&w);
    pl_jw_kint(&w, "v", 1);
    pl_jw_kstr(&w, "type", "session.revoked");
    pl_jw_kint(&w, "ts", pl_time_real_ms());
    pl_jw_kstr(&w, "user_id", user_id);
    pl_jw_kstr(&w, "session_id", session_id);
    pl_jw_end_obj(&w);
    r = pl_jw_finish(&w, &json, &len);
    if (!r)
        r = pl_kafka_produce(ctx->producer, ctx->sessions_topic, user_id, json, len,
                             on_delivery, NULL);
out:
    if (r)
        pl_warn("session_revoked_unpublished", "user=%s session=%s errno=%d", user_id,
                session_id, -r);
    free(json);
}
