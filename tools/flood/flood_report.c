/* The report subcommand: result files in, one Markdown or HTML document
 * with SVG plots out. Runs are grouped by scenario; a run's label is its
 * tags ("instances=4"), and a numeric "instances" tag puts the runs of a
 * scenario on a scaling plot against the ideal line. */
#include "flood.h"
#include "flood_svg.h"
#include "pl_buf.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_RUNS 256
#define MAX_FILE (64u << 20)

typedef struct run {
    const char *path;
    yajl_val v;
    const char *scenario;
    char label[160];
    double instances; /* NAN unless tagged */
} run;

typedef struct rep {
    run runs[MAX_RUNS];
    size_t n;
    int html;
    const char *svg_dir, *svg_rel;
    pl_buf out;
    int nsvg;
} rep;

static yajl_val jget(yajl_val v, const char *dotted)
{
    char buf[256], *save = NULL;
    snprintf(buf, sizeof(buf), "%s", dotted);
    for (char *k = strtok_r(buf, ".", &save); k && v; k = strtok_r(NULL, ".", &save)) {
        long long i;
        if (YAJL_IS_ARRAY(v) && flood_parse_ll(k, 0, 1 << 30, &i) == 0)
            v = (size_t)i < v->u.array.len ? v->u.array.values[i] : NULL;
        else
            v = pl_json_get(v, k);
    }
    return v;
}

static double jnum(yajl_val v, const char *dotted)
{
    yajl_val x = jget(v, dotted);
    return x && YAJL_IS_NUMBER(x) ? YAJL_GET_DOUBLE(x) : NAN;
}

static const char *jstr(yajl_val v, const char *dotted)
{
    yajl_val x = jget(v, dotted);
    return x && YAJL_IS_STRING(x) ? YAJL_GET_STRING(x) : "";
}

static int load(rep *p, const char *path)
{
    char *s = NULL, err[128];
    size_t len;
    run *r = &p->runs[p->n];
    int e = flood_read_file(path, MAX_FILE, &s, &len);

    if (e || p->n >= MAX_RUNS) {
        fprintf(stderr, "parley-flood report: %s: %s\n", path, strerror(e ? -e : E2BIG));
        free(s);
        return e ? e : -E2BIG;
    }
    e = pl_json_parse(s, len, &r->v, err, sizeof(err));
    free(s);
    if (e || strcmp(jstr(r->v, "tool"), "parley-flood") != 0) {
        fprintf(stderr, "parley-flood report: %s: not a result file (%s)\n", path, e ? err : "");
        yajl_tree_free(r->v);
        return -EINVAL;
    }
    r->path = path;
    r->scenario = jstr(r->v, "scenario");
    r->instances = NAN;
    yajl_val tags = jget(r->v, "settings.tags");
    size_t used = 0;
    r->label[0] = '\0';
    for (size_t i = 0; tags && YAJL_IS_OBJECT(tags) && i < tags->u.object.len; i++) {
        const char *k = tags->u.object.keys[i], *val = YAJL_GET_STRING(tags->u.object.values[i]);
        if (!val)
            continue;
        used += (size_t)snprintf(r->label + used, used < sizeof(r->label) ? sizeof(r->label) - used : 0,
                                 "%s%s=%s", used ? " " : "", k, val);
        if (strcmp(k, "instances") == 0)
            flood_parse_double(val, 0, 1e6, &r->instances);
        if (used >= sizeof(r->label))
            used = sizeof(r->label) - 1;
    }
    if (!r->label[0]) {
        const char *b = strrchr(path, '/');
        snprintf(r->label, sizeof(r->label), "%s", b ? b + 1 : path);
    }
    p->n++;
    return 0;
}

/* ---- document pieces, in either format ---- */

static void heading(rep *p, const char *t)
{
    if (p->html)
        pl_buf_printf(&p->out, "<h2>%s</h2>\n", t);
    else
        pl_buf_printf(&p->out, "\n## %s\n\n", t);
}

static void row(rep *p, int header, const char *const *cells, size_t n)
{
    if (p->html) {
        pl_buf_puts(&p->out, "<tr>");
        for (size_t i = 0; i < n; i++)
            pl_buf_printf(&p->out, header ? "<th>%s</th>" : "<td>%s</td>", cells[i]);
        pl_buf_puts(&p->out, "</tr>\n");
        return;
    }
    pl_buf_puts(&p->out, "|");
    for (size_t i = 0; i < n; i++)
        pl_buf_printf(&p->out, " %s |", cells[i]);
    pl_buf_puts(&p->out, "\n");
    if (header) {
        pl_buf_puts(&p->out, "|");
        for (size_t i = 0; i < n; i++)
            pl_buf_puts(&p->out, "---|");
        pl_buf_puts(&p->out, "\n");
    }
}

static void table_begin(rep *p)
{
    if (p->html)
        pl_buf_puts(&p->out, "<table border='1' cellspacing='0' cellpadding='4'>\n");
}

static void table_end(rep *p)
{
    pl_buf_puts(&p->out, p->html ? "</table>\n" : "\n");
}

static int plot(rep *p, const char *name, const char *title, const char *xl, const char *yl,
                const flood_svg_series *s, size_t ns, const flood_svg_marker *m, size_t nm)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s.svg", p->svg_dir, name);
    int r = flood_svg_lines(path, title, xl, yl, s, ns, m, nm);
    if (r) {
        fprintf(stderr, "parley-flood report: %s: %s\n", path, strerror(-r));
        return r;
    }
    if (p->html)
        pl_buf_printf(&p->out, "<p><img src='%s/%s.svg' alt='%s'></p>\n", p->svg_rel, name, title);
    else
        pl_buf_printf(&p->out, "![%s](%s/%s.svg)\n\n", title, p->svg_rel, name);
    p->nsvg++;
    return 0;
}

/* fmt is one of our literals: "%.0f", "%.1f", "%.2f". */
static void f(char *b, double v, const char *fmt)
{
    int prec = fmt[2] - '0';
    if (isnan(v))
        snprintf(b, 32, "-");
    else
        snprintf(b, 32, "%.*f", prec, v);
}

/* Extracts a timeline column; *x and *y are malloc'd (caller frees). */
static size_t series(yajl_val tl, const char *xk, const char *yk, double scale, double **x,
                     double **y)
{
    size_t n = tl && YAJL_IS_ARRAY(tl) ? tl->u.array.len : 0;
    *x = calloc(n + 1, sizeof(double));
    *y = calloc(n + 1, sizeof(double));
    if (!*x || !*y)
        return 0;
    for (size_t i = 0; i < n; i++) {
        (*x)[i] = jnum(tl->u.array.values[i], xk);
        (*y)[i] = jnum(tl->u.array.values[i], yk) * scale;
    }
    return n;
}

static int chat_runs(rep *p, run **out)
{
    int n = 0;
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->runs[i].scenario, "chat") == 0)
            out[n++] = &p->runs[i];
    return n;
}

static int chat_run_plots(rep *p, run *r, int idx)
{
    yajl_val tl = jget(r->v, "timeline");
    double *x = NULL, *y[5] = {NULL};
    static const char *const k[] = {"offered", "accepted", "deliveries", "p50_ms", "p99_ms"};
    size_t n = 0;
    char name[64], title[256];
    int e = 0;

    for (int i = 0; i < 5; i++) {
        free(x);
        n = series(tl, "t", k[i], 1, &x, &y[i]);
    }
    flood_svg_series s1[] = {{"offered sends/s", x, y[0], n, 1, 0},
                             {"accepted sends/s", x, y[1], n, 0, 0},
                             {"deliveries/s", x, y[2], n, 0, 0}};
    flood_svg_series s2[] = {{"p50", x, y[3], n, 0, 0}, {"p99", x, y[4], n, 0, 0}};
    snprintf(name, sizeof(name), "chat-%d-throughput", idx);
    snprintf(title, sizeof(title), "chat %s: throughput", r->label);
    e = plot(p, name, title, "seconds", "per second", s1, 3, NULL, 0);
    snprintf(name, sizeof(name), "chat-%d-latency", idx);
    snprintf(title, sizeof(title), "chat %s: end-to-end latency", r->label);
    if (!e)
        e = plot(p, name, title, "seconds (receipt)", "ms", s2, 2, NULL, 0);
    free(x);
    for (int i = 0; i < 5; i++)
        free(y[i]);
    return e;
}

static int cmp_inst(const void *a, const void *b)
{
    double x = (*(run *const *)a)->instances, y = (*(run *const *)b)->instances;
    return (x > y) - (x < y);
}

/* Throughput against instances with the ideal and the 0.85 lines. */
static int scaling_plot(rep *p, run **rs, int n, const char *name, const char *title,
                        const char *key, const char *yl, double cap)
{
    double x[MAX_RUNS], y[MAX_RUNS], ideal[MAX_RUNS], eff[MAX_RUNS];
    flood_svg_marker m[2];
    size_t nm = 0;
    int k = 0;

    qsort(rs, (size_t)n, sizeof(run *), cmp_inst);
    for (int i = 0; i < n; i++)
        if (!isnan(rs[i]->instances)) {
            x[k] = rs[i]->instances;
            y[k++] = jnum(rs[i]->v, key);
        }
    if (k < 2)
        return 0;
    for (int i = 0; i < k; i++) {
        ideal[i] = y[0] / x[0] * x[i];
        eff[i] = 0.85 * ideal[i];
    }
    double sat = jnum(rs[0]->v, "settings.tags.saturate_at");
    if (!isnan(sat))
        m[nm++] = (flood_svg_marker){sat, "cores saturate"};
    if (!isnan(cap) && cap <= x[k - 1] * 1.5)
        m[nm++] = (flood_svg_marker){cap, "partition cap"};
    flood_svg_series s[] = {{"measured", x, y, (size_t)k, 0, 1},
                            {"ideal k x one", x, ideal, (size_t)k, 1, 0},
                            {"0.85 k x one", x, eff, (size_t)k, 1, 0}};
    return plot(p, name, title, "instances", yl, s, 3, m, nm);
}

static int chat_section(rep *p)
{
    run *rs[MAX_RUNS];
    int n = chat_runs(p, rs), e = 0;
    static const char *const hdr[] = {"run", "rate", "clients", "accepted/s", "deliveries/s",
                                      "p50 ms", "p99 ms", "p99.9 ms", "lost", "dups", "errors"};
    if (!n)
        return 0;
    heading(p, "chat: end-to-end delivery");
    table_begin(p);
    row(p, 1, hdr, 11);
    for (int i = 0; i < n; i++) {
        char c[11][32];
        const char *cells[11];
        yajl_val v = rs[i]->v;
        double errs = 0;
        yajl_val ev = jget(v, "results.errors");
        for (size_t j = 0; ev && YAJL_IS_OBJECT(ev) && j < ev->u.object.len; j++)
            errs += YAJL_GET_DOUBLE(ev->u.object.values[j]);
        snprintf(c[0], 32, "%.31s", rs[i]->label);
        snprintf(c[1], 32, "%.31s", jstr(v, "settings.rate"));
        f(c[2], jnum(v, "results.clients_ready"), "%.0f");
        f(c[3], jnum(v, "results.accepted_per_s"), "%.0f");
        f(c[4], jnum(v, "results.deliveries_per_s"), "%.0f");
        f(c[5], jnum(v, "results.e2e_latency.p50_ms"), "%.1f");
        f(c[6], jnum(v, "results.e2e_latency.p99_ms"), "%.1f");
        f(c[7], jnum(v, "results.e2e_latency.p999_ms"), "%.1f");
        f(c[8], jnum(v, "results.lost_deliveries"), "%.0f");
        f(c[9], jnum(v, "results.duplicates"), "%.0f");
        f(c[10], errs, "%.0f");
        for (int j = 0; j < 11; j++)
            cells[j] = c[j];
        row(p, 0, cells, 11);
    }
    table_end(p);
    for (int i = 0; i < n && i < 12 && !e; i++)
        e = chat_run_plots(p, rs[i], i + 1);
    if (!e)
        e = scaling_plot(p, rs, n, "chat-scaling-deliveries", "deliveries/s against pushers",
                         "results.deliveries_per_s", "deliveries per second", NAN);
    if (!e)
        e = scaling_plot(p, rs, n, "chat-scaling-p99", "p99 latency against pushers",
                         "results.e2e_latency.p99_ms", "ms", NAN);
    return e;
}

/* The first group a broker run followed ("" when none). */
static const char *broker_group(const run *r)
{
    yajl_val g = jget(r->v, "results.groups");
    yajl_val g0 = g && YAJL_IS_ARRAY(g) && g->u.array.len ? g->u.array.values[0] : NULL;
    const char *name = g0 ? jstr(g0, "group") : NULL;

    return name ? name : "";
}

/* "broker-<group>-<what>" with anything but [A-Za-z0-9._-] in the group
 * as '_': result files are input, and the name becomes a path. */
static void broker_plot_name(char *out, size_t len, const char *group, const char *what)
{
    size_t at = (size_t)snprintf(out, len, "broker-");

    for (const char *c = group; *c && at + 1 < len && at < 110; c++)
        out[at++] = isalnum((unsigned char)*c) || strchr("._-", *c) ? *c : '_';
    snprintf(out + at, len - at, "-%s", what);
}

/* The table, lag plot and scaling plot of the runs that followed group. */
static int broker_group_section(rep *p, run **rs, int n, const char *group)
{
    flood_svg_series s[MAX_RUNS];
    double *xs[MAX_RUNS], *ys[MAX_RUNS];
    char title[160], name[160];
    int e = 0;
    static const char *const hdr[] = {"run", "partitions", "produced", "drained", "drain s",
                                      "events/s", "peak events/s (2 s)"};

    snprintf(title, sizeof(title), "broker: consumer-group drain (%.100s)", group);
    heading(p, title);
    table_begin(p);
    row(p, 1, hdr, 7);
    for (int i = 0; i < n; i++) {
        char c[7][32];
        const char *cells[7];
        yajl_val v = rs[i]->v, g = jget(v, "results.groups");
        yajl_val g0 = g && YAJL_IS_ARRAY(g) && g->u.array.len ? g->u.array.values[0] : NULL;
        snprintf(c[0], 32, "%.31s", rs[i]->label);
        f(c[1], jnum(v, "results.partitions"), "%.0f");
        f(c[2], jnum(v, "results.produced"), "%.0f");
        f(c[3], g0 ? jnum(g0, "drained") : NAN, "%.0f");
        f(c[4], g0 ? jnum(g0, "drain_s") : NAN, "%.1f");
        f(c[5], g0 ? jnum(g0, "events_per_s") : NAN, "%.0f");
        f(c[6], g0 ? jnum(g0, "peak_events_per_s") : NAN, "%.0f");
        for (int j = 0; j < 7; j++)
            cells[j] = c[j];
        row(p, 0, cells, 7);
        s[i] = (flood_svg_series){rs[i]->label, NULL, NULL, 0, 0, 0};
        s[i].n = series(g0 ? jget(g0, "timeline") : NULL, "t", "lag", 1, &xs[i], &ys[i]);
        s[i].x = xs[i];
        s[i].y = ys[i];
    }
    table_end(p);
    broker_plot_name(name, sizeof(name), group, "lag");
    snprintf(title, sizeof(title), "%.100s: consumer lag over time", group);
    e = plot(p, name, title, "seconds", "events behind", s, (size_t)n, NULL, 0);
    for (int i = 0; i < n; i++) {
        free(xs[i]);
        free(ys[i]);
    }
    broker_plot_name(name, sizeof(name), group, "scaling");
    snprintf(title, sizeof(title), "%.100s: drain throughput against instances", group);
    if (!e)
        e = scaling_plot(p, rs, n, name, title, "results.groups.0.events_per_s",
                         "events per second", jnum(rs[0]->v, "results.partitions"));
    return e;
}

/* One section per consumer group the broker runs followed, in the order
 * the groups first appear. */
static int broker_section(rep *p)
{
    run *all[MAX_RUNS], *rs[MAX_RUNS];
    int n = 0, e = 0;

    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->runs[i].scenario, "broker") == 0)
            all[n++] = &p->runs[i];
    for (int i = 0; i < n && !e; i++) {
        const char *group = broker_group(all[i]);
        int k = 0, seen = 0;
        for (int j = 0; j < i && !seen; j++)
            seen = strcmp(broker_group(all[j]), group) == 0;
        if (seen)
            continue;
        for (int j = i; j < n; j++)
            if (strcmp(broker_group(all[j]), group) == 0)
                rs[k++] = all[j];
        qsort(rs, (size_t)k, sizeof(run *), cmp_inst);
        e = broker_group_section(p, rs, k, group);
    }
    return e;
}

static int conns_section(rep *p)
{
    static const char *const hdr[] = {"run", "clients ready", "connects/s", "connect p50 ms",
                                      "connect p99 ms", "pusher RSS before KiB",
                                      "after KiB", "bytes per socket"};
    int any = 0;
    for (size_t i = 0; i < p->n; i++) {
        yajl_val v = p->runs[i].v;
        char c[8][32];
        const char *cells[8];
        if (strcmp(p->runs[i].scenario, "connections") != 0)
            continue;
        if (!any++) {
            heading(p, "connections: idle sockets");
            table_begin(p);
            row(p, 1, hdr, 8);
        }
        snprintf(c[0], 32, "%.31s", p->runs[i].label);
        f(c[1], jnum(v, "results.clients_ready"), "%.0f");
        f(c[2], jnum(v, "results.connects_per_s"), "%.0f");
        f(c[3], jnum(v, "results.connect_latency.p50_ms"), "%.1f");
        f(c[4], jnum(v, "results.connect_latency.p99_ms"), "%.1f");
        f(c[5], jnum(v, "results.pusher_rss_kib_before"), "%.0f");
        f(c[6], jnum(v, "results.pusher_rss_kib_after"), "%.0f");
        f(c[7], jnum(v, "results.pusher_bytes_per_socket"), "%.0f");
        for (int j = 0; j < 8; j++)
            cells[j] = c[j];
        row(p, 0, cells, 8);
    }
    if (any)
        table_end(p);
    return 0;
}

static int history_section(rep *p)
{
    static const char *const hdr[] = {"run", "read", "count", "p50 ms", "p90 ms", "p99 ms",
                                      "p99.9 ms", "max ms"};
    static const char *const kinds[] = {"recent", "deep", "search", "list"};
    int any = 0;
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->runs[i].scenario, "history") != 0)
            continue;
        if (!any++) {
            heading(p, "history: read latency");
            table_begin(p);
            row(p, 1, hdr, 8);
        }
        for (int k = 0; k < 4; k++) {
            yajl_val h = jget(p->runs[i].v, "results.reads");
            char c[8][32];
            const char *cells[8];
            h = h ? pl_json_get(h, kinds[k]) : NULL;
            snprintf(c[0], 32, "%.31s", p->runs[i].label);
            snprintf(c[1], 32, "%s", kinds[k]);
            f(c[2], h ? jnum(h, "count") : NAN, "%.0f");
            f(c[3], h ? jnum(h, "p50_ms") : NAN, "%.2f");
            f(c[4], h ? jnum(h, "p90_ms") : NAN, "%.2f");
            f(c[5], h ? jnum(h, "p99_ms") : NAN, "%.2f");
            f(c[6], h ? jnum(h, "p999_ms") : NAN, "%.2f");
            f(c[7], h ? jnum(h, "max_ms") : NAN, "%.2f");
            for (int j = 0; j < 8; j++)
                cells[j] = c[j];
            row(p, 0, cells, 8);
        }
    }
    if (any)
        table_end(p);
    return 0;
}

/* An autoscaling timeline (bench/autoscale_demo.py writes it): offered load,
 * lag per consumer group and the replica counts the controller chose.
 * results.timeline: [{t, offered}]; results.groups: [{group, timeline:
 * [{t, lag, replicas, desired}]}]. */
#define AS_MAX 8
static int autoscale_plots(rep *p, run *r, int idx)
{
    yajl_val g = jget(r->v, "results.groups");
    size_t ng = g && YAJL_IS_ARRAY(g) ? g->u.array.len : 0, ns = 0;
    flood_svg_series lag[AS_MAX], rep_s[2 * AS_MAX], load[1];
    double *xs[3 * AS_MAX + 1] = {0}, *ys[3 * AS_MAX + 1] = {0};
    char name[64], title[2][AS_MAX][96];
    int e;

    ng = ng > AS_MAX ? AS_MAX : ng;
    load[0] = (flood_svg_series){"offered events/s", NULL, NULL, 0, 0, 0};
    load[0].n = series(jget(r->v, "results.timeline"), "t", "offered", 1, &xs[0], &ys[0]);
    load[0].x = xs[0], load[0].y = ys[0];
    for (size_t i = 0; i < ng; i++) {
        yajl_val gi = g->u.array.values[i], tl = jget(gi, "timeline");
        snprintf(title[0][i], 96, "%s replicas", jstr(gi, "group"));
        snprintf(title[1][i], 96, "%s desired", jstr(gi, "group"));
        lag[i] = (flood_svg_series){jstr(gi, "group"), NULL, NULL, 0, 0, 0};
        lag[i].n = series(tl, "t", "lag", 1, &xs[1 + 3 * i], &ys[1 + 3 * i]);
        lag[i].x = xs[1 + 3 * i], lag[i].y = ys[1 + 3 * i];
        rep_s[ns] = (flood_svg_series){title[0][i], NULL, NULL, 0, 0, 0};
        rep_s[ns].n = series(tl, "t", "replicas", 1, &xs[2 + 3 * i], &ys[2 + 3 * i]);
        rep_s[ns].x = xs[2 + 3 * i], rep_s[ns].y = ys[2 + 3 * i], ns++;
        rep_s[ns] = (flood_svg_series){title[1][i], NULL, NULL, 0, 1, 0};
        rep_s[ns].n = series(tl, "t", "desired", 1, &xs[3 + 3 * i], &ys[3 + 3 * i]);
        rep_s[ns].x = xs[3 + 3 * i], rep_s[ns].y = ys[3 + 3 * i], ns++;
    }
    snprintf(name, sizeof(name), "autoscale-%d-load", idx);
    e = plot(p, name, "offered load", "seconds", "events per second", load, 1, NULL, 0);
    snprintf(name, sizeof(name), "autoscale-%d-lag", idx);
    if (!e)
        e = plot(p, name, "consumer lag (the KEDA signal)", "seconds", "events behind", lag, ng,
                 NULL, 0);
    snprintf(name, sizeof(name), "autoscale-%d-replicas", idx);
    if (!e)
        e = plot(p, name, "instances: running and desired", "seconds", "instances", rep_s, ns,
                 NULL, 0);
    for (size_t i = 0; i < 3 * AS_MAX + 1; i++) {
        free(xs[i]);
        free(ys[i]);
    }
    return e;
}

static int autoscale_section(rep *p)
{
    int idx = 0, e = 0;
    for (size_t i = 0; i < p->n && !e; i++) {
        if (strcmp(p->runs[i].scenario, "autoscale") != 0)
            continue;
        if (idx == 0)
            heading(p, "autoscale: instances following the signal");
        e = autoscale_plots(p, &p->runs[i], ++idx);
    }
    return e;
}

static int sections(rep *p)
{
    int e = chat_section(p);
    if (!e)
        e = autoscale_section(p);
    if (!e)
        e = broker_section(p);
    if (!e)
        e = conns_section(p);
    if (!e)
        e = history_section(p);
    return e;
}

static const char usage[] =
    "usage: parley-flood report [--format md|html] [--out FILE] [--svg-dir DIR]\n"
    "                           [--title TEXT] RESULT.json...\n";

int flood_report(int argc, char **argv)
{
    static rep p;
    const char *out = NULL, *title = "Parley flood report", *fmt = "md";
    char svgdir[4096] = "", rel[4096] = ".";
    int c, r = 0;
    static const struct option lo[] = {{"format", 1, 0, 'f'}, {"out", 1, 0, 'o'},
                                       {"svg-dir", 1, 0, 's'}, {"title", 1, 0, 't'},
                                       {"help", 0, 0, 'h'}, {0, 0, 0, 0}};

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'o': out = optarg; break;
        case 's': snprintf(svgdir, sizeof(svgdir), "%s", optarg); break;
        case 't': title = optarg; break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return -EINVAL;
        }
    }
    if (optind >= argc || (strcmp(fmt, "md") && strcmp(fmt, "html"))) {
        fputs(usage, stderr);
        return -EINVAL;
    }
    p.html = strcmp(fmt, "html") == 0;
    /* Plots go beside the report unless told otherwise; links are relative. */
    const char *slash = out ? strrchr(out, '/') : NULL;
    size_t dirlen = slash ? (size_t)(slash - out) : 0;
    if (!svgdir[0])
        snprintf(svgdir, sizeof(svgdir), "%.*s%splots", (int)dirlen, out ? out : "",
                 dirlen ? "/" : "");
    if (dirlen && strncmp(svgdir, out, dirlen) == 0 && svgdir[dirlen] == '/')
        snprintf(rel, sizeof(rel), "%s", svgdir + dirlen + 1);
    else
        snprintf(rel, sizeof(rel), "%s", svgdir);
    for (char *sl = strchr(svgdir + 1, '/'); sl; sl = strchr(sl + 1, '/')) {
        *sl = '\0'; /* mkdir -p */
        mkdir(svgdir, 0755);
        *sl = '/';
    }
    mkdir(svgdir, 0755);
    p.svg_dir = svgdir;
    p.svg_rel = rel;
    for (int i = optind; i < argc && !r; i++)
        r = load(&p, argv[i]);
    pl_buf_init(&p.out, 64u << 20);
    if (!r) {
        if (p.html)
            pl_buf_printf(&p.out, "<!doctype html><html><head><meta charset='utf-8'><title>%s"
                          "</title></head><body style='font-family:sans-serif'><h1>%s</h1>\n",
                          title, title);
        else
            pl_buf_printf(&p.out, "# %s\n", title);
        r = sections(&p);
        if (p.html)
            pl_buf_puts(&p.out, "</body></html>\n");
    }
    if (!r && out)
        r = flood_write_file(out, p.out.data, p.out.len);
    else if (!r)
        fwrite(p.out.data, 1, p.out.len, stdout);
    if (!r)
        fprintf(stderr, "parley-flood report: %zu runs, %d plots in %s\n", p.n, p.nsvg, svgdir);
    for (size_t i = 0; i < p.n; i++)
        yajl_tree_free(p.runs[i].v);
    pl_buf_free(&p.out);
    return r;
}
