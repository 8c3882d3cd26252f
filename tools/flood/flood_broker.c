/* The broker scenario: valid message.created events straight into the
 * events topic, for conversations created through the API (the projector
 * drops messages from non-members), then the drain of each consumer group
 * followed through its committed offsets. The lag a group reports is what
 * KEDA would scale on, so it is measured the same way. */
#include "flood.h"
#include "pl_buf.h"
#include "pl_event.h"
#include "pl_kafka.h"
#include "pl_time.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_SAMPLES 20000
#define SAMPLE_US 500000

typedef struct broker {
    flood_opts *o;
    flood_errs errs;
    flood_user *users;
    flood_conv *convs;
    size_t nconvs;
    pl_kafka_producer *prod;
    atomic_long produced, acked;
    rd_kafka_t *watch[FLOOD_MAX_GROUPS];
    int32_t partitions;
    /* samples: t (s since the drain watch began), lag per group */
    size_t nsamples;
    double st[MAX_SAMPLES];
    int64_t lag[FLOOD_MAX_GROUPS][MAX_SAMPLES];
    int64_t committed[FLOOD_MAX_GROUPS][MAX_SAMPLES];
    double produce_s;
} broker;

static void on_dr(void *opaque, int err, const char *errstr, int32_t partition, int64_t offset)
{
    broker *b = opaque;
    if (err)
        atomic_fetch_add(&b->errs.n[FE_KAFKA], 1);
    else
        atomic_fetch_add(&b->acked, 1);
}

static int produce_one(broker *b, size_t i)
{
    const flood_conv *c = &b->convs[i % b->nconvs];
    const char *actor = b->users[c->members[0]].id;
    char mid[PL_ID_LEN], cmid[64], text[64], *ev = NULL;
    size_t len = 0;
    pl_jw w; /* pl_event_begin initialises it */
    int r;

    pl_id_random(mid);
    snprintf(cmid, sizeof(cmid), "bk.%s.%zu", b->o->run, i);
    snprintf(text, sizeof(text), "backlog event %zu", i);
    r = pl_event_begin(&w, "message.created", NULL, actor, c->id, pl_time_real_ms());
    pl_jw_kstr(&w, "message_id", mid);
    pl_jw_kstr(&w, "client_msg_id", cmid);
    pl_jw_kstr(&w, "text", text);
    if (r || (r = pl_event_end(&w, &ev, &len)))
        return r;
    for (int tries = 0; tries < 1000; tries++) {
        r = pl_kafka_produce(b->prod, b->o->topic, c->id, ev, len, on_dr, b);
        if (r != -ENOBUFS)
            break;
        flood_sleep_us(2000); /* local queue full: let librdkafka catch up */
    }
    free(ev);
    if (r)
        atomic_fetch_add(&b->errs.n[FE_KAFKA], 1);
    else
        atomic_fetch_add(&b->produced, 1);
    return 0;
}

/* Open loop at --rate, or as fast as the producer takes them (backlog). */
static int produce(broker *b)
{
    flood_opts *o = b->o;
    flood_rate rate;
    int backlog = o->backlog > 0;
    int64_t t0 = flood_now_us(), next = t0, last = t0;
    int64_t end = t0 + (int64_t)(o->duration_s * 1e6);
    size_t n = backlog ? (size_t)o->backlog : (size_t)o->max_sends, i = 0;
    int r = flood_rate_parse(o->rate, &rate);

    if (r)
        return r;
    while (i < n && (backlog || flood_now_us() < end)) {
        int64_t now = flood_now_us();
        if (!backlog) {
            if (next > now) {
                flood_sleep_us(next - now > 1000 ? 1000 : next - now);
                continue;
            }
            double rt = flood_rate_at(&rate, (double)(next - t0) / 1e6);
            next += rt > 0 ? (int64_t)(1e6 / rt) : 10000;
            if (rt <= 0)
                continue;
        }
        if ((r = produce_one(b, i++)))
            return r;
        if (now - last >= 1000000) {
            last = now;
            flood_progress(o, "[%4.0fs] produced %ld acked %ld", (double)(now - t0) / 1e6,
                           atomic_load(&b->produced), atomic_load(&b->acked));
        }
    }
    rd_kafka_flush(pl_kafka_producer_handle(b->prod), 60000);
    b->produce_s = (double)(flood_now_us() - t0) / 1e6;
    flood_progress(o, "produced %ld events in %.1fs (%.0f/s), %ld acknowledged",
                   atomic_load(&b->produced), b->produce_s,
                   (double)atomic_load(&b->produced) / b->produce_s, atomic_load(&b->acked));
    return 0;
}

static int watcher_new(broker *b, size_t g)
{
    rd_kafka_conf_t *conf = NULL;
    char err[512], cid[96];
    int r;

    snprintf(cid, sizeof(cid), "parley-flood-lag-%s", b->o->run);
    r = pl_kafka_conf_new(&conf, b->o->brokers, cid, err, sizeof(err));
    /* Only reads the group's committed offsets; never joins the group. */
    if (!r)
        r = pl_kafka_conf_set(conf, "group.id", b->o->groups[g], err, sizeof(err));
    if (!r)
        r = pl_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
    if (r) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, "flood: kafka: %s\n", err);
        return r;
    }
    b->watch[g] = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (!b->watch[g]) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, "flood: kafka: %s\n", err);
        return -EIO;
    }
    return 0;
}

static int partition_count(broker *b)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *t = rd_kafka_topic_new(b->watch[0], b->o->topic, NULL);
    int r = -EIO;

    if (t && rd_kafka_metadata(b->watch[0], 0, t, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        md->topic_cnt == 1 && md->topics[0].partition_cnt > 0) {
        b->partitions = md->topics[0].partition_cnt;
        r = 0;
    }
    if (md)
        rd_kafka_metadata_destroy(md);
    if (t)
        rd_kafka_topic_destroy(t);
    return r;
}

/* Sum over partitions of (high watermark - committed); a partition the
 * group never committed counts from its low watermark. */
static int group_lag(broker *b, size_t g, int64_t *lag, int64_t *committed)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(b->partitions);
    int r = 0;

    *lag = *committed = 0;
    for (int32_t p = 0; p < b->partitions; p++)
        rd_kafka_topic_partition_list_add(l, b->o->topic, p);
    if (rd_kafka_committed(b->watch[g], l, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        r = -EIO;
    for (int i = 0; !r && i < l->cnt; i++) {
        int64_t lo, hi, c = l->elems[i].offset;
        if (rd_kafka_query_watermark_offsets(b->watch[g], b->o->topic, l->elems[i].partition,
                                             &lo, &hi, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            r = -EIO;
            break;
        }
        if (c < 0)
            c = lo;
        *lag += hi > c ? hi - c : 0;
        *committed += c;
    }
    rd_kafka_topic_partition_list_destroy(l);
    return r;
}

/* "[  12s] lag 3400 (parley-history-projector 3000, parley-archiver 400)":
 * one line a second, per group, so a controller can follow it. */
static void progress_lag(broker *b, size_t k, int64_t total)
{
    char per[512] = "";
    size_t len = 0;

    for (size_t g = 0; g < b->o->ngroups && len < sizeof(per); g++)
        len += (size_t)snprintf(per + len, sizeof(per) - len, "%s%s %" PRId64, g ? ", " : "",
                                b->o->groups[g], b->lag[g][k]);
    flood_progress(b->o, "[%4.0fs] lag %" PRId64 " (%s)", b->st[k], total, per);
}

static int watch(broker *b)
{
    flood_opts *o = b->o;
    int64_t t0 = flood_now_us(), end = t0 + (int64_t)(o->drain_timeout_s * 1e6);

    while (b->nsamples < MAX_SAMPLES) {
        int64_t total = 0, now = flood_now_us();
        size_t k = b->nsamples;
        b->st[k] = (double)(now - t0) / 1e6;
        for (size_t g = 0; g < o->ngroups; g++) {
            if (group_lag(b, g, &b->lag[g][k], &b->committed[g][k])) {
                atomic_fetch_add(&b->errs.n[FE_KAFKA], 1);
                b->lag[g][k] = k ? b->lag[g][k - 1] : 0;
                b->committed[g][k] = k ? b->committed[g][k - 1] : 0;
            }
            total += b->lag[g][k];
        }
        b->nsamples++;
        if (k % 2 == 0)
            progress_lag(b, k, total);
        if ((total == 0 && !o->follow) || now >= end)
            break;
        flood_sleep_us(SAMPLE_US - (flood_now_us() - now) % SAMPLE_US);
    }
    return 0;
}

static void write_group(pl_jw *w, broker *b, size_t g)
{
    size_t n = b->nsamples, last = n ? n - 1 : 0;
    double best = 0, secs = n ? b->st[last] : 0;
    int64_t drained = n ? b->committed[g][last] - b->committed[g][0] : 0;

    /* Peak: the best 2-second window, past start-up and rebalancing. */
    for (size_t i = 4; i < n; i++) {
        double dt = b->st[i] - b->st[i - 4];
        double v = dt > 0 ? (double)(b->committed[g][i] - b->committed[g][i - 4]) / dt : 0;
        best = v > best ? v : best;
    }
    pl_jw_obj(w);
    pl_jw_kstr(w, "group", b->o->groups[g]);
    pl_jw_kint(w, "start_lag", n ? b->lag[g][0] : 0);
    pl_jw_kint(w, "end_lag", n ? b->lag[g][last] : 0);
    pl_jw_kint(w, "drained", drained);
    pl_jw_kint(w, "drained_completely", n && b->lag[g][last] == 0);
    pl_jw_key(w, "drain_s");
    yajl_gen_double(w->g, secs);
    pl_jw_key(w, "events_per_s");
    yajl_gen_double(w->g, secs > 0 ? (double)drained / secs : 0);
    pl_jw_key(w, "peak_events_per_s");
    yajl_gen_double(w->g, best);
    pl_jw_key(w, "timeline");
    pl_jw_arr(w);
    for (size_t i = 0; i < n; i++) {
        pl_jw_obj(w);
        pl_jw_key(w, "t");
        yajl_gen_double(w->g, b->st[i]);
        pl_jw_kint(w, "lag", b->lag[g][i]);
        pl_jw_kint(w, "committed", b->committed[g][i] - b->committed[g][0]);
        pl_jw_end_obj(w);
    }
    pl_jw_end_arr(w);
    pl_jw_end_obj(w);
}

static int write_result(broker *b, int64_t started)
{
    pl_jw w;
    int r = pl_jw_init(&w);
    if (r)
        return r;
    pl_jw_obj(&w);
    flood_result_begin(&w, b->o, started);
    pl_jw_key(&w, "results");
    pl_jw_obj(&w);
    pl_jw_kint(&w, "partitions", b->partitions);
    pl_jw_kint(&w, "produced", atomic_load(&b->produced));
    pl_jw_kint(&w, "produce_acked", atomic_load(&b->acked));
    pl_jw_key(&w, "produce_s");
    yajl_gen_double(w.g, b->produce_s);
    pl_jw_key(&w, "produced_per_s");
    yajl_gen_double(w.g, b->produce_s > 0 ? (double)atomic_load(&b->produced) / b->produce_s : 0);
    pl_jw_key(&w, "groups");
    pl_jw_arr(&w);
    for (size_t g = 0; g < b->o->ngroups && b->watch[g]; g++)
        write_group(&w, b, g);
    pl_jw_end_arr(&w);
    flood_err_json(&w, &b->errs);
    pl_jw_end_obj(&w);
    return flood_result_end(&w, b->o);
}

/* --conv-file: "actor conv conv ..." on one line, so a later run can
 * produce for the same conversations while no projector is running (a
 * creation waits for its projection). */
static int conv_file_load(broker *b)
{
    char *s = NULL, *save = NULL, *tok;
    size_t len, n = 0;
    int r = flood_read_file(b->o->conv_file, 1u << 24, &s, &len);

    if (r)
        return r;
    b->users = calloc(2, sizeof(*b->users));
    b->convs = calloc(b->nconvs, sizeof(*b->convs));
    if (!b->users || !b->convs) {
        free(s);
        return -ENOMEM;
    }
    for (tok = strtok_r(s, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
        if (!pl_id_valid(tok))
            break;
        if (n == 0)
            memcpy(b->users[0].id, tok, PL_ID_LEN);
        else if (n - 1 < b->nconvs)
            memcpy(b->convs[n - 1].id, tok, PL_ID_LEN);
        n++;
    }
    free(s);
    if (n < 2)
        return -EINVAL;
    b->nconvs = n - 1 < b->nconvs ? n - 1 : b->nconvs;
    for (size_t i = 0; i < b->nconvs; i++) {
        b->convs[i].members = calloc(1, sizeof(int32_t));
        if (!b->convs[i].members)
            return -ENOMEM;
        b->convs[i].nmembers = 1;
    }
    return 0;
}

static int conv_file_save(broker *b)
{
    pl_buf out;
    int r;
    pl_buf_init(&out, 1u << 24);
    r = pl_buf_puts(&out, b->users[0].id);
    for (size_t i = 0; i < b->nconvs && !r; i++)
        r = pl_buf_printf(&out, " %s", b->convs[i].id);
    if (!r)
        r = pl_buf_puts(&out, "\n");
    if (!r)
        r = flood_write_file(b->o->conv_file, out.data, out.len);
    pl_buf_free(&out);
    return r;
}

static int setup(broker *b)
{
    flood_http *api = NULL;
    flood_rng rng;
    int r = flood_http_new(&api, b->o->url, 8, 30000);

    if (r)
        return r;
    flood_rng_seed(&rng, b->o->seed);
    /* Two users; every conversation is a 2-member group, so its creator
     * (the actor of every event) is a member. */
    r = flood_users_new(api, b->o, 2, &b->errs, &b->users);
    if (!r)
        r = flood_convs_new(api, b->users, 2, b->nconvs, 1, &rng, &b->errs, &b->convs);
    flood_http_free(api);
    return r;
}

int flood_broker(flood_opts *o)
{
    broker *b = calloc(1, sizeof(*b));
    char err[512];
    int64_t started = pl_time_real_ms();
    int r = -ENOMEM;

    if (!b)
        return r;
    b->o = o;
    b->nconvs = (size_t)o->conversations;
    for (size_t g = 0; g < o->ngroups; g++)
        if ((r = watcher_new(b, g)))
            goto out;
    if ((r = partition_count(b))) {
        fprintf(stderr, "flood: no metadata for topic %s at %s\n", o->topic, o->brokers);
        goto out;
    }
    if (!o->drain_only) {
        if (o->conv_file && access(o->conv_file, R_OK) == 0) {
            if ((r = conv_file_load(b)))
                goto fail;
        } else {
            flood_progress(o, "creating %zu conversations", b->nconvs);
            if ((r = setup(b)) || (o->conv_file && (r = conv_file_save(b))))
                goto fail;
        }
        r = pl_kafka_producer_new(&b->prod, o->brokers, "parley-flood", err, sizeof(err));
        if (r) {
            fprintf(stderr, "flood: kafka: %s\n", err);
            goto out;
        }
        if ((r = produce(b)))
            goto fail;
    }
    if (!o->no_drain)
        watch(b);
    r = write_result(b, started);
    goto out;
fail:
    fprintf(stderr, "flood: broker failed: %s\n", strerror(-r));
out:
    pl_kafka_producer_free(b->prod, 10000);
    for (size_t g = 0; g < FLOOD_MAX_GROUPS; g++)
        if (b->watch[g])
            rd_kafka_destroy(b->watch[g]);
    flood_users_free(b->users, 2);
    flood_convs_free(b->convs, b->nconvs);
    free(b);
    return r;
}
