/* pl_metrics: a thread-safe registry of Prometheus series.
 * Series are created on first use from (name, labels); labels is the text
 * between the braces, e.g. "route=\"/x\",code=\"200\"", or "" for none.
 * Callers must bound label values (route patterns, not raw paths). */
#ifndef PL_METRICS_H
#define PL_METRICS_H

#include "pl_buf.h"

typedef struct pl_metrics pl_metrics;

typedef enum { PL_METRIC_COUNTER, PL_METRIC_GAUGE, PL_METRIC_HISTOGRAM } pl_metric_kind;

int pl_metrics_new(pl_metrics **out);
void pl_metrics_free(pl_metrics *m);
/* Declares a family; series of undeclared names are dropped. */
int pl_metrics_declare(pl_metrics *m, const char *name, pl_metric_kind kind,
                       const char *help);
void pl_metrics_add(pl_metrics *m, const char *name, const char *labels, double v);
void pl_metrics_set(pl_metrics *m, const char *name, const char *labels, double v);
/* Histogram in seconds, buckets from 0.5 ms to 10 s. */
void pl_metrics_observe(pl_metrics *m, const char *name, const char *labels, double v);
/* Appends the text exposition format to out. */
int pl_metrics_render(pl_metrics *m, pl_buf *out);

#endif
