/* pl_metrics: the exposition text, exactly, for small cases. */
#include "pl_check.h"
#include "pl_metrics.h"

#include <errno.h>

static pl_metrics *m;
static pl_buf out;

static void setup(void)
{
    ck_assert_int_eq(pl_metrics_new(&m), 0);
    pl_buf_init(&out, 1 << 22);
}

static void teardown(void)
{
    pl_metrics_free(m);
    pl_buf_free(&out);
}

static const char *render(void)
{
    pl_buf_reset(&out);
    ck_assert_int_eq(pl_metrics_render(m, &out), 0);
    return out.data ? out.data : "";
}

START_TEST(test_counter)
{
    ck_assert_int_eq(pl_metrics_declare(m, "req_total", PL_METRIC_COUNTER, "Requests."), 0);
    pl_metrics_add(m, "req_total", "code=\"200\"", 1);
    pl_metrics_add(m, "req_total", "code=\"200\"", 2);
    ck_assert_str_eq(render(), "# HELP req_total Requests.\n"
                               "# TYPE req_total counter\n"
                               "req_total{code=\"200\"} 3\n");
    pl_metrics_add(m, "req_total", "code=\"500\"", 0.5);
    ck_assert_ptr_nonnull(strstr(render(), "req_total{code=\"500\"} 0.5\n"));
    ck_assert_ptr_nonnull(strstr(render(), "req_total{code=\"200\"} 3\n"));
}
END_TEST

START_TEST(test_gauge)
{
    ck_assert_int_eq(pl_metrics_declare(m, "conns", PL_METRIC_GAUGE, "Open connections."), 0);
    ck_assert_str_eq(render(), "# HELP conns Open connections.\n# TYPE conns gauge\n");
    pl_metrics_set(m, "conns", "", 5);
    pl_metrics_set(m, "conns", "", 2);
    ck_assert_str_eq(render(), "# HELP conns Open connections.\n# TYPE conns gauge\nconns 2\n");
    pl_metrics_add(m, "conns", "", -3);
    ck_assert_ptr_nonnull(strstr(render(), "conns -1\n"));
}
END_TEST

START_TEST(test_histogram)
{
    ck_assert_int_eq(pl_metrics_declare(m, "lat", PL_METRIC_HISTOGRAM, "Latency."), 0);
    pl_metrics_observe(m, "lat", "", 0.003);
    pl_metrics_observe(m, "lat", "", 0.2);
    pl_metrics_observe(m, "lat", "", 0.005); /* le is inclusive */
    pl_metrics_observe(m, "lat", "", 30);    /* only in +Inf */
    ck_assert_str_eq(render(), "# HELP lat Latency.\n"
                               "# TYPE lat histogram\n"
                               "lat_bucket{le=\"0.0005\"} 0\n"
                               "lat_bucket{le=\"0.001\"} 0\n"
                               "lat_bucket{le=\"0.0025\"} 0\n"
                               "lat_bucket{le=\"0.005\"} 2\n"
                               "lat_bucket{le=\"0.01\"} 2\n"
                               "lat_bucket{le=\"0.025\"} 2\n"
                               "lat_bucket{le=\"0.05\"} 2\n"
                               "lat_bucket{le=\"0.1\"} 2\n"
                               "lat_bucket{le=\"0.25\"} 3\n"
                               "lat_bucket{le=\"0.5\"} 3\n"
                               "lat_bucket{le=\"1\"} 3\n"
                               "lat_bucket{le=\"2.5\"} 3\n"
                               "lat_bucket{le=\"5\"} 3\n"
                               "lat_bucket{le=\"10\"} 3\n"
                               "lat_bucket{le=\"+Inf\"} 4\n"
                               "lat_sum 30.208000\n"
                               "lat_count 4\n");
}
END_TEST

START_TEST(test_histogram_labels)
{
    ck_assert_int_eq(pl_metrics_declare(m, "h", PL_METRIC_HISTOGRAM, "H."), 0);
    pl_metrics_observe(m, "h", "route=\"/x\"", 0.0001);
    const char *t = render();
    ck_assert_ptr_nonnull(strstr(t, "h_bucket{route=\"/x\",le=\"0.0005\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(t, "h_bucket{route=\"/x\",le=\"10\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(t, "h_bucket{route=\"/x\",le=\"+Inf\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(t, "h_sum{route=\"/x\"} 0.000100\n"));
    ck_assert_ptr_nonnull(strstr(t, "h_count{route=\"/x\"} 1\n"));
}
END_TEST

START_TEST(test_undeclared_dropped)
{
    pl_metrics_add(m, "nope", "", 1);
    pl_metrics_set(m, "nope", "", 1);
    pl_metrics_observe(m, "nope", "", 1);
    ck_assert_str_eq(render(), "");
    ck_assert_int_eq(pl_metrics_declare(m, "yes", PL_METRIC_COUNTER, "Y."), 0);
    pl_metrics_add(m, "nope", "", 1);
    pl_metrics_add(m, "ye", "", 1);
    pl_metrics_add(m, "yes_total", "", 1);
    ck_assert_str_eq(render(), "# HELP yes Y.\n# TYPE yes counter\n");
}
END_TEST

START_TEST(test_families_separate)
{
    ck_assert_int_eq(pl_metrics_declare(m, "a", PL_METRIC_COUNTER, "A."), 0);
    ck_assert_int_eq(pl_metrics_declare(m, "b", PL_METRIC_GAUGE, "B."), 0);
    pl_metrics_add(m, "a", "", 1);
    pl_metrics_set(m, "b", "", 9);
    const char *t = render();
    ck_assert_ptr_nonnull(strstr(t, "# TYPE a counter\na 1\n"));
    ck_assert_ptr_nonnull(strstr(t, "# TYPE b gauge\nb 9\n"));
}
END_TEST

static size_t count_lines(const char *t, const char *prefix)
{
    size_t n = 0, lp = strlen(prefix);
    for (const char *l = t; *l; l = strchr(l, '\n') + 1) {
        n += strncmp(l, prefix, lp) == 0;
        if (!strchr(l, '\n'))
            break;
    }
    return n;
}

START_TEST(test_series_bounded)
{
    char labels[32];

    ck_assert_int_eq(pl_metrics_declare(m, "c", PL_METRIC_COUNTER, "C."), 0);
    for (int i = 0; i < 5000; i++) {
        snprintf(labels, sizeof(labels), "k=\"%d\"", i);
        pl_metrics_add(m, "c", labels, 1);
    }
    ck_assert_uint_eq(count_lines(render(), "c{k="), 4096);
}
END_TEST

START_TEST(test_render_limit)
{
    pl_buf small;

    ck_assert_int_eq(pl_metrics_declare(m, "c", PL_METRIC_COUNTER, "C."), 0);
    pl_metrics_add(m, "c", "", 1);
    pl_buf_init(&small, 10);
    ck_assert_int_eq(pl_metrics_render(m, &small), -E2BIG);
    pl_buf_free(&small);
    pl_metrics_free(NULL);
}
END_TEST

static Suite *metrics_suite(void)
{
    Suite *s = suite_create("pl_metrics");
    TCase *tc = tcase_create("render");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_counter);
    tcase_add_test(tc, test_gauge);
    tcase_add_test(tc, test_histogram);
    tcase_add_test(tc, test_histogram_labels);
    tcase_add_test(tc, test_undeclared_dropped);
    tcase_add_test(tc, test_families_separate);
    tcase_add_test(tc, test_series_bounded);
    tcase_add_test(tc, test_render_limit);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    return pl_check_main(metrics_suite(), argc, argv);
}
