/*
 * kafka_compat: prove the system librdkafka speaks every Kafka feature
 * Parley relies on to the broker at $PARLEY_KAFKA_BROKERS:
 *   (a) lz4 and zstd compressed produce,
 *   (b) idempotent producer (acks=all) with all deliveries confirmed,
 *   (c) a cooperative-sticky consumer group that incrementally rebalances
 *       between two members and reads everything back,
 *   (d) transactions: a committed one (with send_offsets_to_transaction)
 *       and an aborted one that read_committed must never deliver.
 * Uses a throw-away topic that is deleted at the end. Whole run is bounded
 * by an alarm so a wedged broker fails the test instead of hanging CI.
 */
#define _POSIX_C_SOURCE 200809L
#include <librdkafka/rdkafka.h>

#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PARTITIONS 4
#define N_COMP 200 /* messages per compression codec */
#define N_TXN 50   /* messages per transaction */
#define TIMEOUT_S 60

static const char *brokers;
static char topic[64];
static char txgroup[96];
static char group[96];
static rd_kafka_t *admin;
static int topic_created;
static char errstr[512];

static void delete_topic(void);

static void fail(const char *fmt, ...)
{
    va_list ap;
    fputs("kafka_compat: FAIL: ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
    delete_topic(); /* best effort; the alarm still bounds it */
    exit(1);
}

static void on_alarm(int sig)
{
    static const char msg[] = "kafka_compat: FAIL: timed out after 60 s\n";
    (void)sig;
    if (write(STDOUT_FILENO, msg, sizeof msg - 1) < 0) { /* nothing to do */ }
    _exit(3);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    char fatal[256];
    (void)opaque;
    fprintf(stderr, "kafka_compat: [%s] librdkafka error %s: %s\n",
            rd_kafka_name(rk), rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        rd_kafka_fatal_error(rk, fatal, sizeof fatal);
        fail("fatal error on %s: %s", rd_kafka_name(rk), fatal);
    }
}

static rd_kafka_conf_t *base_conf(void)
{
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    if (rd_kafka_conf_set(c, "bootstrap.servers", brokers, errstr, sizeof errstr))
        fail("conf: %s", errstr);
    rd_kafka_conf_set_error_cb(c, error_cb);
    return c;
}

static void set(rd_kafka_conf_t *c, const char *k, const char *v)
{
    if (rd_kafka_conf_set(c, k, v, errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
        fail("conf %s=%s: %s", k, v, errstr);
}

static rd_kafka_t *mk(rd_kafka_type_t type, rd_kafka_conf_t *c)
{
    rd_kafka_t *rk = rd_kafka_new(type, c, errstr, sizeof errstr);
    if (!rk)
        fail("rd_kafka_new: %s", errstr);
    return rk;
}

static void check_err(rd_kafka_error_t *e, const char *what)
{
    if (e) {
        char buf[512];
        snprintf(buf, sizeof buf, "%s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        fail("%s: %s", what, buf);
    }
}

/* ---- admin: topic lifecycle ------------------------------------------- */

static rd_kafka_event_t *admin_wait(rd_kafka_queue_t *q, const char *what)
{
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 20000);
    if (!ev)
        fail("%s: no admin result within 20 s", what);
    if (rd_kafka_event_error(ev))
        fail("%s: %s", what, rd_kafka_event_error_string(ev));
    return ev;
}

static void create_topic(void)
{
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, PARTITIONS, 1, errstr, sizeof errstr);
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(admin, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_queue_t *q = rd_kafka_queue_new(admin);
    const rd_kafka_topic_result_t **tr;
    size_t n;
    rd_kafka_event_t *ev;

    if (!nt)
        fail("NewTopic: %s", errstr);
    rd_kafka_AdminOptions_set_operation_timeout(o, 15000, errstr, sizeof errstr);
    rd_kafka_CreateTopics(admin, &nt, 1, o, q);
    ev = admin_wait(q, "CreateTopics");
    tr = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    if (n != 1 || rd_kafka_topic_result_error(tr[0]))
        fail("CreateTopics %s: %s", topic,
             n ? rd_kafka_topic_result_error_string(tr[0]) : "no result");
    topic_created = 1;
    rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_NewTopic_destroy(nt);

    /* Wait until every partition has a leader, else the first produce
     * races topic propagation and the test flakes. */
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(admin, topic, NULL);
    double end = now() + 15;
    for (;;) {
        const struct rd_kafka_metadata *md = NULL;
        int ok = 0;
        if (rd_kafka_metadata(admin, 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (md->topic_cnt == 1 && !md->topics[0].err &&
                md->topics[0].partition_cnt == PARTITIONS) {
                ok = 1;
                for (int i = 0; i < PARTITIONS; i++)
                    if (md->topics[0].partitions[i].leader < 0)
                        ok = 0;
            }
            rd_kafka_metadata_destroy(md);
        }
        if (ok)
            break;
        if (now() > end)
            fail("topic %s has no leaders after 15 s", topic);
        nanosleep(&(struct timespec){.tv_nsec = 200 * 1000 * 1000}, NULL);
    }
    rd_kafka_topic_destroy(rkt);
}

static void delete_topic(void)
{
    static int in_delete;
    if (!topic_created || in_delete || !admin)
        return;
    in_delete = 1;
    rd_kafka_DeleteTopic_t *dt = rd_kafka_DeleteTopic_new(topic);
    rd_kafka_queue_t *q = rd_kafka_queue_new(admin);
    const rd_kafka_topic_result_t **tr;
    size_t n;
    rd_kafka_DeleteTopics(admin, &dt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 15000);
    if (!ev || rd_kafka_event_error(ev)) {
        printf("kafka_compat: warning: could not delete %s\n", topic);
    } else {
        tr = rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
        if (n != 1 || rd_kafka_topic_result_error(tr[0]))
            printf("kafka_compat: warning: delete %s: %s\n", topic,
                   n ? rd_kafka_topic_result_error_string(tr[0]) : "no result");
        else
            topic_created = 0;
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_DeleteTopic_destroy(dt);
}

/* ---- producing --------------------------------------------------------- */

struct dr {
    int ok, failed;
    char first_err[256];
};

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct dr *d = opaque;
    (void)rk;
    if (m->err) {
        if (!d->failed++)
            snprintf(d->first_err, sizeof d->first_err, "%s", rd_kafka_err2str(m->err));
    } else {
        d->ok++;
    }
}

static void produce(rd_kafka_t *rk, const char *prefix, int n)
{
    char v[64];
    for (int i = 0; i < n; i++) {
        int len = snprintf(v, sizeof v, "%s-%d", prefix, i);
        /* produceva (array form) instead of the producev macros: those use
         * GNU statement expressions, which -Wpedantic rejects. */
        rd_kafka_vu_t vu[] = {
            {.vtype = RD_KAFKA_VTYPE_TOPIC, .u.cstr = topic},
            {.vtype = RD_KAFKA_VTYPE_KEY, .u.mem = {v, (size_t)len}}, /* spreads partitions */
            {.vtype = RD_KAFKA_VTYPE_VALUE, .u.mem = {v, (size_t)len}},
            {.vtype = RD_KAFKA_VTYPE_MSGFLAGS, .u.i = RD_KAFKA_MSG_F_COPY},
        };
        rd_kafka_resp_err_t err;
        rd_kafka_error_t *e;
        while ((e = rd_kafka_produceva(rk, vu, sizeof vu / sizeof vu[0])) &&
               rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_error_destroy(e);
            rd_kafka_poll(rk, 50);
        }
        err = e ? rd_kafka_error_code(e) : RD_KAFKA_RESP_ERR_NO_ERROR;
        if (e)
            rd_kafka_error_destroy(e);
        if (err)
            fail("produce %s: %s", v, rd_kafka_err2str(err));
    }
}

static rd_kafka_t *idem_producer(const char *codec, struct dr *d, const char *txid)
{
    rd_kafka_conf_t *c = base_conf();
    set(c, "enable.idempotence", "true");
    set(c, "acks", "all");
    set(c, "compression.codec", codec);
    set(c, "linger.ms", "5");
    if (txid)
        set(c, "transactional.id", txid);
    rd_kafka_conf_set_dr_msg_cb(c, dr_cb);
    rd_kafka_conf_set_opaque(c, d);
    return mk(RD_KAFKA_PRODUCER, c);
}

/* (a)+(b): one idempotent producer per codec; every delivery must succeed. */
static void check_compressed_idempotent(const char *codec)
{
    struct dr d = {0};
    rd_kafka_t *p = idem_producer(codec, &d, NULL);
    produce(p, codec, N_COMP);
    if (rd_kafka_flush(p, 20000))
        fail("%s: flush timed out (%d outstanding)", codec, rd_kafka_outq_len(p));
    if (d.failed || d.ok != N_COMP)
        fail("%s idempotent produce: %d ok, %d failed (first error: %s)", codec, d.ok,
             d.failed, d.failed ? d.first_err : "-");
    rd_kafka_destroy(p);
    printf("kafka_compat: ok   produce codec=%s idempotent acks=all: %d/%d delivered\n", codec,
           d.ok, N_COMP);
}

/* (d): committed txn (with consumer offsets) then aborted txn. */
static void check_transactions(void)
{
    struct dr d = {0};
    char txid[80];
    snprintf(txid, sizeof txid, "%s.tx", topic);
    rd_kafka_t *p = idem_producer("zstd", &d, txid);

    check_err(rd_kafka_init_transactions(p, 30000), "init_transactions");

    check_err(rd_kafka_begin_transaction(p), "begin_transaction (commit)");
    produce(p, "txc", N_TXN);
    rd_kafka_topic_partition_list_t *offs = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(offs, topic, 0)->offset = 1;
    rd_kafka_consumer_group_metadata_t *cgmd = rd_kafka_consumer_group_metadata_new(txgroup);
    check_err(rd_kafka_send_offsets_to_transaction(p, offs, cgmd, 30000),
              "send_offsets_to_transaction");
    rd_kafka_consumer_group_metadata_destroy(cgmd);
    check_err(rd_kafka_commit_transaction(p, 30000), "commit_transaction");
    if (d.failed || d.ok != N_TXN)
        fail("committed txn: %d ok, %d failed (%s)", d.ok, d.failed, d.first_err);

    check_err(rd_kafka_begin_transaction(p), "begin_transaction (abort)");
    produce(p, "txa", N_TXN);
    /* Flush first so the aborted records really reach the log; otherwise
     * abort could just drop them client-side and prove nothing. */
    if (rd_kafka_flush(p, 20000))
        fail("flush before abort timed out");
    check_err(rd_kafka_abort_transaction(p, 30000), "abort_transaction");
    if (d.ok != 2 * N_TXN)
        fail("aborted txn: only %d of %d written before abort", d.ok - N_TXN, N_TXN);
    rd_kafka_destroy(p);

    /* The txn offset commit must be visible to the group afterwards. */
    rd_kafka_conf_t *c = base_conf();
    set(c, "group.id", txgroup);
    rd_kafka_t *k = mk(RD_KAFKA_CONSUMER, c);
    rd_kafka_topic_partition_list_destroy(offs);
    offs = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(offs, topic, 0);
    rd_kafka_resp_err_t err = rd_kafka_committed(k, offs, 10000);
    if (err || offs->elems[0].err || offs->elems[0].offset != 1)
        fail("txn-committed group offset: err=%s offset=%" PRId64,
             rd_kafka_err2str(err ? err : offs->elems[0].err), offs->elems[0].offset);
    rd_kafka_topic_partition_list_destroy(offs);
    rd_kafka_consumer_close(k);
    rd_kafka_destroy(k);
    printf("kafka_compat: ok   transactions: commit %d msgs + send_offsets (group offset=1), "
           "abort %d msgs (written, then aborted)\n", N_TXN, N_TXN);
}

/* ---- consuming --------------------------------------------------------- */

static unsigned char seen_lz4[N_COMP], seen_zstd[N_COMP], seen_txc[N_TXN];
static int n_txa, n_dup, n_unknown;

static void record(const rd_kafka_message_t *m)
{
    char v[64];
    int i;
    unsigned char *slot = NULL;
    size_t len = m->len < sizeof v - 1 ? m->len : sizeof v - 1;
    memcpy(v, m->payload, len);
    v[len] = 0;
    if (sscanf(v, "lz4-%d", &i) == 1 && i >= 0 && i < N_COMP)
        slot = &seen_lz4[i];
    else if (sscanf(v, "zstd-%d", &i) == 1 && i >= 0 && i < N_COMP)
        slot = &seen_zstd[i];
    else if (sscanf(v, "txc-%d", &i) == 1 && i >= 0 && i < N_TXN)
        slot = &seen_txc[i];
    else if (!strncmp(v, "txa-", 4))
        n_txa++;
    else
        n_unknown++;
    if (slot && (*slot)++)
        n_dup++;
}

static int missing(void)
{
    int n = 0;
    for (int i = 0; i < N_COMP; i++)
        n += !seen_lz4[i] + !seen_zstd[i];
    for (int i = 0; i < N_TXN; i++)
        n += !seen_txc[i];
    return n;
}

struct member {
    const char *name;
    rd_kafka_t *rk;
    int assigned, assigns, revokes, max_revoke, msgs;
    char bad[256];
};

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct member *m = opaque;
    rd_kafka_error_t *e = NULL;
    const char *proto = rd_kafka_rebalance_protocol(rk);

    if (strcmp(proto, "COOPERATIVE"))
        snprintf(m->bad, sizeof m->bad, "rebalance protocol is %s, not COOPERATIVE", proto);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        m->assigns++;
        m->assigned += parts->cnt;
        e = rd_kafka_incremental_assign(rk, parts);
    } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        m->revokes++;
        if (parts->cnt > m->max_revoke)
            m->max_revoke = parts->cnt;
        m->assigned -= parts->cnt;
        e = rd_kafka_incremental_unassign(rk, parts);
    } else {
        snprintf(m->bad, sizeof m->bad, "rebalance error: %s", rd_kafka_err2str(err));
        e = rd_kafka_incremental_unassign(rk, parts);
    }
    printf("kafka_compat:      consumer %s: %s %d partition(s) -> now %d\n", m->name,
           err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS ? "+assign" : "-revoke", parts->cnt,
           m->assigned);
    if (e) {
        snprintf(m->bad, sizeof m->bad, "incremental (un)assign: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
}

static void start_member(struct member *m)
{
    rd_kafka_conf_t *c = base_conf();
    set(c, "group.id", group);
    set(c, "client.id", m->name);
    set(c, "partition.assignment.strategy", "cooperative-sticky");
    set(c, "isolation.level", "read_committed");
    set(c, "auto.offset.reset", "earliest");
    set(c, "session.timeout.ms", "10000");
    set(c, "heartbeat.interval.ms", "500");
    rd_kafka_conf_set_rebalance_cb(c, rebalance_cb);
    rd_kafka_conf_set_opaque(c, m);
    m->rk = mk(RD_KAFKA_CONSUMER, c);
    rd_kafka_poll_set_consumer(m->rk);
    rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(t, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(m->rk, t);
    rd_kafka_topic_partition_list_destroy(t);
    if (err)
        fail("subscribe %s: %s", m->name, rd_kafka_err2str(err));
}

static void poll_member(struct member *m, int ms)
{
    rd_kafka_message_t *msg = rd_kafka_consumer_poll(m->rk, ms);
    if (!msg)
        return;
    if (msg->err)
        fprintf(stderr, "kafka_compat: consumer %s: %s\n", m->name, rd_kafka_message_errstr(msg));
    else {
        m->msgs++;
        record(msg);
    }
    rd_kafka_message_destroy(msg);
    if (m->bad[0])
        fail("consumer %s: %s", m->name, m->bad);
}

/* (c)+(d): two cooperative-sticky members; B joining must trigger an
 * incremental revoke on A, and together they must read every committed
 * message and none of the aborted ones. */
static void check_group(void)
{
    struct member a = {.name = "compat-a"}, b = {.name = "compat-b"};
    double end;

    start_member(&a);
    for (end = now() + 20; a.assigned < PARTITIONS; poll_member(&a, 100))
        if (now() > end)
            fail("consumer A never got all %d partitions (has %d)", PARTITIONS, a.assigned);

    start_member(&b);
    for (end = now() + 25;; ) {
        poll_member(&a, 50);
        poll_member(&b, 50);
        if (missing() == 0 && b.assigned > 0 && a.revokes > 0 &&
            a.assigned + b.assigned == PARTITIONS)
            break;
        if (now() > end)
            fail("group: missing=%d, A assigned=%d revokes=%d, B assigned=%d", missing(),
                 a.assigned, a.revokes, b.assigned);
    }
    /* Drain a little longer so a late aborted record would be caught. */
    for (end = now() + 1; now() < end;) {
        poll_member(&a, 50);
        poll_member(&b, 50);
    }
    /* Eager rebalancing would revoke all partitions from A; cooperative
     * only takes away the ones moving to B. */
    if (a.max_revoke >= PARTITIONS)
        fail("A had all %d partitions revoked: rebalance was not incremental", PARTITIONS);
    int a_revokes = a.revokes, a_kept = a.assigned;
    if (n_txa)
        fail("read_committed consumer saw %d aborted transactional messages", n_txa);
    if (n_unknown)
        fail("consumer saw %d unexpected messages", n_unknown);

    rd_kafka_consumer_close(b.rk);
    rd_kafka_consumer_close(a.rk);
    rd_kafka_destroy(b.rk);
    rd_kafka_destroy(a.rk);
    printf("kafka_compat: ok   cooperative-sticky group: A read %d, B read %d, A revoked %d "
           "and kept %d partitions on B's join (incremental), all %d committed msgs seen (%d re-reads after rebalance), 0 aborted\n",
           a.msgs, b.msgs, a_revokes ? PARTITIONS - a_kept : 0, a_kept, 2 * N_COMP + N_TXN, n_dup);
}

/* Guards (d) against a vacuous pass: the aborted records must physically be
 * in the log, so a read_uncommitted reader has to see them. */
static void check_uncommitted_sees_aborted(void)
{
    char g[112];
    rd_kafka_conf_t *c = base_conf();
    /* librdkafka needs a group.id even for manual assign(); never commits. */
    snprintf(g, sizeof g, "%s.raw", group);
    set(c, "group.id", g);
    set(c, "enable.auto.commit", "false");
    set(c, "isolation.level", "read_uncommitted");
    set(c, "enable.partition.eof", "true");
    rd_kafka_t *k = mk(RD_KAFKA_CONSUMER, c);
    rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_new(PARTITIONS);
    for (int p = 0; p < PARTITIONS; p++)
        rd_kafka_topic_partition_list_add(t, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_resp_err_t aerr = rd_kafka_assign(k, t);
    if (aerr)
        fail("assign read_uncommitted reader: %s", rd_kafka_err2str(aerr));
    rd_kafka_topic_partition_list_destroy(t);
    int eofs = 0, txa = 0;
    double end = now() + 15;
    while (eofs < PARTITIONS) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(k, 100);
        if (now() > end)
            fail("read_uncommitted reader: only %d/%d partitions reached EOF", eofs, PARTITIONS);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
            eofs++;
        else if (!m->err && m->len >= 4 && !memcmp(m->payload, "txa-", 4))
            txa++;
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(k);
    rd_kafka_destroy(k);
    if (txa != N_TXN)
        fail("read_uncommitted reader saw %d aborted msgs, expected %d", txa, N_TXN);
    printf("kafka_compat: ok   read_uncommitted control: sees all %d aborted msgs\n", txa);
}

int main(void)
{
    struct sigaction sa;
    unsigned int rnd = 0;
    char features[256];
    size_t flen = sizeof features;
    FILE *ur;
    double t0 = now();

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    alarm(TIMEOUT_S);
    setvbuf(stdout, NULL, _IOLBF, 0);

    brokers = getenv("PARLEY_KAFKA_BROKERS");
    if (!brokers || !*brokers)
        brokers = "127.0.0.1:9092";
    if ((ur = fopen("/dev/urandom", "rb"))) {
        if (fread(&rnd, sizeof rnd, 1, ur) != 1)
            rnd = 0;
        fclose(ur);
    }
    rnd ^= (unsigned)getpid() ^ (unsigned)time(NULL);
    snprintf(topic, sizeof topic, "parley.compat.%08x", rnd);
    snprintf(group, sizeof group, "%s.group", topic);
    snprintf(txgroup, sizeof txgroup, "%s.txgroup", topic);

    rd_kafka_conf_t *c = base_conf();
    if (rd_kafka_conf_get(c, "builtin.features", features, &flen) != RD_KAFKA_CONF_OK)
        features[0] = 0;
    if (!strstr(features, "lz4") || !strstr(features, "zstd"))
        fail("librdkafka %s built without lz4/zstd (features: %s)", rd_kafka_version_str(),
             features);
    admin = mk(RD_KAFKA_PRODUCER, c);
    printf("kafka_compat: librdkafka %s, brokers %s, topic %s\n", rd_kafka_version_str(), brokers,
           topic);

    create_topic();
    printf("kafka_compat: ok   admin CreateTopics %s (%d partitions)\n", topic, PARTITIONS);
    check_compressed_idempotent("lz4");
    check_compressed_idempotent("zstd");
    check_transactions();
    check_group();
    check_uncommitted_sees_aborted();
    delete_topic();
    if (topic_created)
        fail("could not delete test topic %s", topic);
    printf("kafka_compat: ok   admin DeleteTopics %s\n", topic);
    rd_kafka_destroy(admin);
    printf("kafka_compat: OK (librdkafka %s, lz4+zstd, idempotence, cooperative-sticky, "
           "transactions) in %.1f s\n", rd_kafka_version_str(), now() - t0);
    return 0;
}
