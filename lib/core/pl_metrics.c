#include "pl_metrics.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define METRICS_MAX_SERIES 4096

static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                 0.05,   0.1,   0.25,   0.5,   1,    2.5, 5, 10};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

typedef struct series {
    struct series *next;
    char *labels;
    double value; /* counter/gauge value, histogram sum */
    unsigned long long count;
    unsigned long long bucket[NBUCKETS];
} series;

typedef struct family {
    struct family *next;
    char *name;
    char *help;
    pl_metric_kind kind;
    series *series;
} family;

struct pl_metrics {
    pthread_mutex_t lock;
    family *families;
    size_t nseries;
};

int pl_metrics_new(pl_metrics **out)
{
    pl_metrics *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    pthread_mutex_init(&m->lock, NULL);
    *out = m;
    return 0;
}

void pl_metrics_free(pl_metrics *m)
{
    if (!m)
        return;
    for (family *f = m->families, *fn; f; f = fn) {
        fn = f->next;
        for (series *s = f->series, *sn; s; s = sn) {
            sn = s->next;
            free(s->labels);
            free(s);
        }
        free(f->name);
        free(f->help);
        free(f);
    }
    pthread_mutex_destroy(&m->lock);
    free(m);
}

int pl_metrics_declare(pl_metrics *m, const char *name, pl_metric_kind kind,
                       const char *help)
{
    family *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->name = strdup(name);
    f->help = strdup(help);
    if (!f->name || !f->help) {
        free(f->name);
        free(f->help);
        free(f);
        return -ENOMEM;
    }
    f->kind = kind;
    pthread_mutex_lock(&m->lock);
    f->next = m->families;
    m->families = f;
    pthread_mutex_unlock(&m->lock);
    return 0;
}

/* Called with the lock held. NULL when undeclared, full or out of memory. */
static series *series_get(pl_metrics *m, const char *name, const char *labels)
{
    family *f;
    series *s;

    for (f = m->families; f; f = f->next)
        if (strcmp(f->name, name) == 0)
            break;
    if (!f)
        return NULL;
    for (s = f->series; s; s = s->next)
        if (strcmp(s->labels, labels) == 0)
            return s;
    if (m->nseries >= METRICS_MAX_SERIES)
        return NULL;
    s = calloc(1, sizeof(*s));
    if (!s || !(s->labels = strdup(labels))) {
        free(s);
        return NULL;
    }
    s->next = f->series;
    f->series = s;
    m->nseries++;
    return s;
}

void pl_metrics_add(pl_metrics *m, const char *name, const char *labels, double v)
{
    pthread_mutex_lock(&m->lock);
    series *s = series_get(m, name, labels);
    if (s)
        s->value += v;
    pthread_mutex_unlock(&m->lock);
}

void pl_metrics_set(pl_metrics *m, const char *name, const char *labels, double v)
{
    pthread_mutex_lock(&m->lock);
    series *s = series_get(m, name, labels);
    if (s)
        s->value = v;
    pthread_mutex_unlock(&m->lock);
}

void pl_metrics_observe(pl_metrics *m, const char *name, const char *labels, double v)
{
    pthread_mutex_lock(&m->lock);
    series *s = series_get(m, name, labels);
    if (s) {
        s->value += v;
        s->count++;
        for (size_t i = 0; i < NBUCKETS; i++)
            if (v <= buckets[i])
                s->bucket[i]++;
    }
    pthread_mutex_unlock(&m->lock);
}

/* "{labels}" or nothing, as the exposition format prefers. */
static const char *braced(const char *labels, char *buf, size_t len)
{
    if (!*labels)
        return "";
    snprintf(buf, len, "{%s}", labels);
    return buf;
}

static int render_histogram(pl_buf *out, const family *f, const series *s)
{
    const char *sep = *s->labels ? "," : "";
    char lb[512];
    int r = 0;

    for (size_t i = 0; i < NBUCKETS && !r; i++)
        r = pl_buf_printf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", f->name, s->labels,
                          sep, buckets[i], s->bucket[i]);
    if (!r)
        r = pl_buf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", f->name,
                          s->labels, sep, s->count);
    if (!r)
        r = pl_buf_printf(out, "%s_sum%s %.6f\n", f->name,
                          braced(s->labels, lb, sizeof(lb)), s->value);
    if (!r)
        r = pl_buf_printf(out, "%s_count%s %llu\n", f->name,
                          braced(s->labels, lb, sizeof(lb)), s->count);
    return r;
}

int pl_metrics_render(pl_metrics *m, pl_buf *out)
{
    static const char *kinds[] = {"counter", "gauge", "histogram"};
    char lb[512];
    int r = 0;

    pthread_mutex_lock(&m->lock);
    for (family *f = m->families; f && !r; f = f->next) {
        r = pl_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help,
                          f->name, kinds[f->kind]);
        for (series *s = f->series; s && !r; s = s->next) {
            if (f->kind == PL_METRIC_HISTOGRAM)
                r = render_histogram(out, f, s);
            else
                r = pl_buf_printf(out, "%s%s %.17g\n", f->name,
                                  braced(s->labels, lb, sizeof(lb)), s->value);
        }
    }
    pthread_mutex_unlock(&m->lock);
    return r;
}
