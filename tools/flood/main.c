/* parley-flood: wiring only. Parses the options, seeds the run and hands
 * over to one scenario. */
#include "flood.h"
#include "pl_log.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
"NAME\n"
"    parley-flood - emulate Parley users against a local stack and measure\n"
"\n"
"SYNOPSIS\n"
"    parley-flood chat        [options]\n"
"    parley-flood broker      [options]\n"
"    parley-flood connections [options]\n"
"    parley-flood history     [options]\n"
"    parley-flood report      [--format md|html] [--out FILE] [--svg-dir DIR] RESULT.json...\n"
"\n"
"DESCRIPTION\n"
"    Every run is bounded in time and count, stops by itself, and only targets\n"
"    127.0.0.0/8, plus the hosts named with --allow-host. Progress goes to\n"
"    stderr once a second; the result (machine,\n"
"    settings, commit, figures, a per-second timeline) is one JSON document\n"
"    written to --out, or stdout.\n"
"\n"
"    chat     Registers --users users, creates --conversations conversations\n"
"             (half direct, the rest groups of 3-8, 9-32 and 33-128), opens\n"
"             --clients authenticated WebSockets (client i is user i mod N),\n"
"             spread over --src-addrs source addresses 127.1.x.y, then sends\n"
"             open-loop at --rate for --duration seconds: each send goes to a\n"
"             random conversation from a random member. Measures end-to-end\n"
"             latency (scheduled send time to receipt, on every recipient,\n"
"             sender's own sessions included), sends accepted and deliveries\n"
"             per second, errors by kind, lost deliveries (acknowledged, not\n"
"             delivered within --grace) and duplicates.\n"
"    broker   Creates --conversations conversations, then produces valid\n"
"             message.created events straight into --topic: a --backlog of B\n"
"             events as fast as possible, or --rate R per second for\n"
"             --duration. Then follows each --group's committed offsets and\n"
"             reports its lag over time and drain rate (events per second)\n"
"             until the lag is 0 or --drain-timeout passes.\n"
"    connections\n"
"             Opens --clients idle authenticated sockets, holds them for\n"
"             --hold seconds, and reports the connect rate and the pushers'\n"
"             resident memory per socket (the processes listening on the\n"
"             --ws-url ports, or --pusher-pid).\n"
"    history  Seeds one group conversation with --messages messages, then\n"
"             reads open-loop at --rate for --duration with the --mix of\n"
"             recent pages, deep pages (before= a random older position),\n"
"             user searches and conversation lists; latency per kind.\n"
"    report   Turns result files into a Markdown (or HTML) report with SVG\n"
"             plots: latency and throughput over time, lag over time, and\n"
"             drain or delivery throughput against the instances tag.\n"
"\n"
"OPTIONS\n"
"    --url URL            public REST base (default http://127.0.0.1:8080)\n"
"    --ws-url URL         a pusher endpoint; repeat to spread clients over\n"
"                         several (default: ws://<url host:port>/api/v1/ws)\n"
"    --brokers H:P        Kafka bootstrap (default 127.0.0.1:9092)\n"
"    --topic T            events topic (default parley.events)\n"
"    --duration S         seconds of load (default 10, at most 3600)\n"
"    --rate SPEC          per second: \"500\", or a ramp \"0:100,30:2000,60:100\"\n"
"                         (seconds:rate points, linear between; default 100)\n"
"    --users N            users to register (default 100)\n"
"    --conversations M    conversations (default: users; broker 128)\n"
"    --clients K          WebSocket clients (default: users)\n"
"    --src-addrs N        source addresses for clients (default 16)\n"
"    --connect-rate N     WebSocket connects per second (default 2000)\n"
"    --http-conns N       keep-alive HTTP connections (default 64)\n"
"    --grace S            wait for late deliveries (default 5)\n"
"    --text-bytes N       message text length (default 32)\n"
"    --resilient          chat: clients act as real ones do under faults. A\n"
"                         socket the server closes reconnects after 0.5-1 s and\n"
"                         resumes from the last position it saw in each\n"
"                         conversation (every conversation gets one seed message\n"
"                         first, so even the first socket resumes); a send that\n"
"                         fails (5xx, 429, no answer) is retried with the same\n"
"                         client_msg_id for up to 180 s. Lost then means\n"
"                         acknowledged and never delivered, whatever broke.\n"
"    --flap-every S       chat, with --resilient: every client drops its socket\n"
"                         S seconds after each connect and comes back\n"
"    --max-sends N        hard cap on sends or events (default 5000000)\n"
"    --backlog B          broker: produce B events, then watch the drain\n"
"    --group G            broker: consumer group to watch (repeatable;\n"
"                         default parley-history-projector)\n"
"    --no-drain           broker: produce only\n"
"    --conv-file F        broker: reuse the actor and conversations in F, or\n"
"                         create them and write F (lets a later run produce\n"
"                         while no projector runs)\n"
"    --drain-only         broker: produce nothing, watch the lag\n"
"    --drain-timeout S    broker: stop watching after S (default 300)\n"
"    --follow             broker: with --drain-only, keep watching when the\n"
"                         lag is 0, until --drain-timeout (a controller\n"
"                         follows the per-group lag lines on stderr)\n"
"    --hold S             connections: keep sockets open (default 5)\n"
"    --pusher-pid PID     connections: a pusher to measure (repeatable)\n"
"    --messages H         history: messages to seed (default 1000)\n"
"    --page N             history: page size (default 50)\n"
"    --mix A:B:C:D        history: weights of recent:deep:search:list\n"
"                         (default 60:25:10:5)\n"
"    --allow-host NAME    also permit this exact host name or IPv4 address\n"
"                         in --url, --ws-url and --brokers (repeatable, at\n"
"                         most 16). Off by default: without it any target\n"
"                         outside 127.0.0.0/8 is refused. Meant for the\n"
"                         in-cluster Jobs (infra/k8s/tools/flood), which name\n"
"                         only their own Services (parley-web, kafka). WebSocket\n"
"                         clients towards such a host use the machine's own\n"
"                         address instead of --src-addrs.\n"
"    --tag KEY=VALUE      recorded in settings.tags (e.g. instances=4);\n"
"                         report groups results by them (repeatable)\n"
"    --seed N             PRNG seed (default: random)\n"
"    --out FILE           write the result JSON here instead of stdout\n"
"    -q, --quiet          no progress on stderr\n"
"    -h, --help           this text\n"
"\n"
"EXIT STATUS\n"
"    0 when the scenario ran (errors are results, not failures), 1 when it\n"
"    could not run (set-up failed, stack unreachable), 2 on bad usage.\n"
"\n"
"EXAMPLES\n"
"    parley-flood chat --users 200 --clients 2000 --rate 1000 --duration 30 \\\n"
"        --out chat.json\n"
"    parley-flood broker --backlog 200000 --tag instances=2 --out b2.json\n"
"    parley-flood chat --allow-host parley-web --url http://parley-web:8080 \\\n"
"        --rate 0:200,300:4000 --duration 600 --out /tmp/chat.json\n"
"    parley-flood report --out docs/scaling.md --svg-dir docs/scaling *.json\n";

enum {
    O_URL = 256, O_WS, O_BROKERS, O_TOPIC, O_DURATION, O_RATE, O_USERS, O_CONVS, O_CLIENTS,
    O_SRC, O_CRATE, O_HCONNS, O_GRACE, O_TEXT, O_MAXS, O_BACKLOG, O_GROUP, O_NODRAIN,
    O_DRAINONLY, O_DTIMEOUT, O_CONVFILE, O_HOLD, O_PID, O_MESSAGES, O_PAGE, O_MIX, O_TAG, O_SEED, O_OUT, O_ALLOW, O_FOLLOW,
    O_RESILIENT, O_FLAP
};

static const struct option longopts[] = {
    {"url", 1, 0, O_URL}, {"ws-url", 1, 0, O_WS}, {"brokers", 1, 0, O_BROKERS},
    {"topic", 1, 0, O_TOPIC}, {"duration", 1, 0, O_DURATION}, {"rate", 1, 0, O_RATE},
    {"users", 1, 0, O_USERS}, {"conversations", 1, 0, O_CONVS}, {"clients", 1, 0, O_CLIENTS},
    {"src-addrs", 1, 0, O_SRC}, {"connect-rate", 1, 0, O_CRATE}, {"http-conns", 1, 0, O_HCONNS},
    {"grace", 1, 0, O_GRACE}, {"text-bytes", 1, 0, O_TEXT}, {"max-sends", 1, 0, O_MAXS},
    {"backlog", 1, 0, O_BACKLOG}, {"group", 1, 0, O_GROUP}, {"no-drain", 0, 0, O_NODRAIN},
    {"drain-only", 0, 0, O_DRAINONLY}, {"conv-file", 1, 0, O_CONVFILE}, {"drain-timeout", 1, 0, O_DTIMEOUT},
    {"hold", 1, 0, O_HOLD}, {"pusher-pid", 1, 0, O_PID}, {"messages", 1, 0, O_MESSAGES},
    {"page", 1, 0, O_PAGE}, {"mix", 1, 0, O_MIX}, {"tag", 1, 0, O_TAG}, {"seed", 1, 0, O_SEED},
    {"out", 1, 0, O_OUT}, {"allow-host", 1, 0, O_ALLOW},
    {"follow", 0, 0, O_FOLLOW}, {"resilient", 0, 0, O_RESILIENT}, {"flap-every", 1, 0, O_FLAP},
    {"quiet", 0, 0, 'q'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};

static void defaults(flood_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->url = "http://127.0.0.1:8080";
    o->brokers = "127.0.0.1:9092";
    o->topic = "parley.events";
    o->duration_s = 10;
    o->rate = "100";
    o->users = 100;
    o->src_addrs = 16;
    o->connect_rate = 2000;
    o->http_conns = 64;
    o->grace_s = 5;
    o->text_bytes = 32;
    o->max_sends = 5000000;
    o->drain_timeout_s = 300;
    o->hold_s = 5;
    o->messages = 1000;
    o->page = 50;
    o->mix = "60:25:10:5";
    o->conversations = -1;
    o->clients = -1;
    randombytes_buf(&o->seed, sizeof(o->seed));
    o->seed &= 0x7fffffffffffffffull;
}

static int num(const char *arg, long long min, long long max, long long *out, const char *name)
{
    if (flood_parse_ll(arg, min, max, out) == 0)
        return 0;
    fprintf(stderr, "parley-flood: --%s wants an integer in [%lld, %lld]\n", name, min, max);
    return -EINVAL;
}

static int dbl(const char *arg, double min, double max, double *out, const char *name)
{
    if (flood_parse_double(arg, min, max, out) == 0)
        return 0;
    fprintf(stderr, "parley-flood: --%s wants a number in [%g, %g]\n", name, min, max);
    return -EINVAL;
}

static int add(const char **arr, size_t *n, size_t max, const char *v, const char *name)
{
    if (*n >= max) {
        fprintf(stderr, "parley-flood: at most %zu --%s\n", max, name);
        return -EINVAL;
    }
    arr[(*n)++] = v;
    return 0;
}

static int opt(flood_opts *o, int c, const char *a)
{
    long long v;
    switch (c) {
    case O_URL: o->url = a; return 0;
    case O_WS: return add(o->ws_urls, &o->nws, FLOOD_MAX_URLS, a, "ws-url");
    case O_BROKERS: o->brokers = a; return 0;
    case O_TOPIC: o->topic = a; return 0;
    case O_DURATION: return dbl(a, 0.1, 3600, &o->duration_s, "duration");
    case O_RATE: o->rate = a; return 0;
    case O_USERS: return num(a, 2, 100000, &o->users, "users");
    case O_CONVS: return num(a, 1, 1000000, &o->conversations, "conversations");
    case O_CLIENTS: return num(a, 0, 100000, &o->clients, "clients");
    case O_SRC: return num(a, 1, 60000, &o->src_addrs, "src-addrs");
    case O_CRATE: return num(a, 1, 1000000, &o->connect_rate, "connect-rate");
    case O_HCONNS: return num(a, 1, 4096, &o->http_conns, "http-conns");
    case O_GRACE: return dbl(a, 0, 600, &o->grace_s, "grace");
    case O_TEXT: return num(a, 1, 4000, &o->text_bytes, "text-bytes");
    case O_MAXS: return num(a, 1, 100000000, &o->max_sends, "max-sends");
    case O_BACKLOG: return num(a, 0, 100000000, &o->backlog, "backlog");
    case O_GROUP: return add(o->groups, &o->ngroups, FLOOD_MAX_GROUPS, a, "group");
    case O_NODRAIN: o->no_drain = 1; return 0;
    case O_DRAINONLY: o->drain_only = 1; return 0;
    case O_FOLLOW: o->follow = 1; return 0;
    case O_RESILIENT: o->resilient = 1; return 0;
    case O_FLAP: return dbl(a, 0.1, 3600, &o->flap_s, "flap-every");
    case O_CONVFILE: o->conv_file = a; return 0;
    case O_DTIMEOUT: return dbl(a, 1, 3600, &o->drain_timeout_s, "drain-timeout");
    case O_HOLD: return dbl(a, 0, 3600, &o->hold_s, "hold");
    case O_PID:
        if (num(a, 1, 1 << 30, &v, "pusher-pid") || o->npids >= FLOOD_MAX_PIDS)
            return -EINVAL;
        o->pusher_pids[o->npids++] = (int)v;
        return 0;
    case O_MESSAGES: return num(a, 1, 10000000, &o->messages, "messages");
    case O_PAGE: return num(a, 1, 200, &o->page, "page");
    case O_MIX: o->mix = a; return 0;
    case O_TAG:
        if (!strchr(a, '=') || strchr(a, '=') == a || strchr(a, '=') - a >= 63) {
            fprintf(stderr, "parley-flood: --tag wants KEY=VALUE\n");
            return -EINVAL;
        }
        return add(o->tags, &o->ntags, FLOOD_MAX_TAGS, a, "tag");
    case O_SEED:
        if (num(a, 0, 0x7fffffffffffffffll, &v, "seed"))
            return -EINVAL;
        o->seed = (uint64_t)v;
        return 0;
    case O_OUT: o->out = a; return 0;
    case O_ALLOW:
        if (flood_allow_host(a) == 0)
            return 0;
        fprintf(stderr, "parley-flood: --allow-host wants a host name or IPv4 address "
                        "(at most %d)\n", FLOOD_MAX_ALLOW);
        return -EINVAL;
    case 'q': o->quiet = 1; return 0;
    default: return -EINVAL;
    }
}

static int target_ok(const char *opt, const char *val, const char *want, int r)
{
    if (r == -EPERM)
        fprintf(stderr, "parley-flood: %s %s: refused, only 127.0.0.0/8 and --allow-host "
                        "names may be targeted\n", opt, val);
    else if (r == -EHOSTUNREACH)
        fprintf(stderr, "parley-flood: %s %s: the host does not resolve\n", opt, val);
    else if (r)
        fprintf(stderr, "parley-flood: %s %s: want %s\n", opt, val, want);
    return r;
}

static int finish_opts(flood_opts *o)
{
    uint32_t a;
    int port;
    if (target_ok("--url", o->url, "http://HOST:PORT", flood_url_parse(o->url, &a, &port)))
        return -EINVAL;
    for (size_t i = 0; i < o->nws; i++)
        if (target_ok("--ws-url", o->ws_urls[i], "ws://HOST:PORT/path",
                      flood_url_parse(o->ws_urls[i], &a, &port)))
            return -EINVAL;
    if (target_ok("--brokers", o->brokers, "HOST:PORT[,HOST:PORT...]",
                  flood_brokers_check(o->brokers)))
        return -EINVAL;
    if (o->nws == 0) {
        const char *hp = strstr(o->url, "://") + 3;
        snprintf(o->ws_default, sizeof(o->ws_default), "ws://%.*s/api/v1/ws",
                 (int)strcspn(hp, "/"), hp);
        o->ws_urls[o->nws++] = o->ws_default;
    }
    if (o->ngroups == 0)
        o->groups[o->ngroups++] = "parley-history-projector";
    if (o->conversations < 0)
        o->conversations = strcmp(o->scenario, "broker") == 0 ? 128 : o->users;
    if (o->clients < 0)
        o->clients = o->users;
    if (o->flap_s > 0 && !o->resilient) {
        fprintf(stderr, "parley-flood: --flap-every needs --resilient (a flapping client "
                        "that does not come back is no test)\n");
        return -EINVAL;
    }
    uint32_t run = (uint32_t)(o->seed ^ (o->seed >> 32));
    randombytes_buf(&run, sizeof(run)); /* usernames must be new every run */
    snprintf(o->run, sizeof(o->run), "%08x", run);
    return 0;
}

int main(int argc, char **argv)
{
    flood_opts o;
    int c, r;

    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (sodium_init() < 0)
        return 1;
    if (strcmp(argv[1], "report") == 0)
        return flood_report(argc - 1, argv + 1) ? 1 : 0;
    signal(SIGPIPE, SIG_IGN);
    pl_log_init("flood", "flood", PL_LOG_WARN);
    defaults(&o);
    o.scenario = argv[1];
    optind = 2;
    while ((c = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage, stdout);
            return 0;
        }
        if (opt(&o, c, optarg) != 0)
            return 2;
    }
    if (optind != argc) {
        fprintf(stderr, "parley-flood: unexpected argument %s\n", argv[optind]);
        return 2;
    }
    if (finish_opts(&o))
        return 2;
    flood_raise_nofile();
    if (strcmp(o.scenario, "chat") == 0)
        r = flood_chat(&o);
    else if (strcmp(o.scenario, "broker") == 0)
        r = flood_broker(&o);
    else if (strcmp(o.scenario, "connections") == 0)
        r = flood_connections(&o);
    else if (strcmp(o.scenario, "history") == 0)
        r = flood_history(&o);
    else {
        fprintf(stderr, "parley-flood: unknown scenario %s (see --help)\n", o.scenario);
        return 2;
    }
    return r ? 1 : 0;
}
