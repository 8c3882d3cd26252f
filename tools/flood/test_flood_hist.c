/* Checks the histogram's precision promise (0.8 %) and percentile ranks. */
#include "flood_hist.h"

#include <stdio.h>
#include <stdlib.h>

static int fails;

static void expect(int ok, const char *what, long long a, long long b)
{
    if (!ok) {
        fprintf(stderr, "FAIL %s: %lld vs %lld\n", what, a, b);
        fails++;
    }
}

int main(void)
{
    static flood_hist h, m;
    flood_hist_reset(&h);
    for (int64_t v = 1; v < FLOOD_HIST_MAX_US; v = v * 3 / 2 + 1) {
        flood_hist_reset(&m);
        flood_hist_add(&m, v);
        flood_hist_add(&m, v + 1000000000); /* clamps into the top bucket */
        int64_t got = flood_hist_pct(&m, 50);
        expect(llabs(got - v) * 1000 <= v * 8 + 1000, "precision", got, v);
    }
    for (int i = 1; i <= 1000; i++)
        flood_hist_add(&h, i * 1000);
    expect(llabs(flood_hist_pct(&h, 50) - 500000) <= 4000, "p50", flood_hist_pct(&h, 50), 500000);
    expect(llabs(flood_hist_pct(&h, 99) - 990000) <= 8000, "p99", flood_hist_pct(&h, 99), 990000);
    expect(flood_hist_pct(&h, 100) == 1000000, "max", flood_hist_pct(&h, 100), 1000000);
    expect(flood_hist_pct(&h, 0) >= 1000, "min", flood_hist_pct(&h, 0), 1000);
    flood_hist_reset(&m);
    flood_hist_merge(&m, &h);
    flood_hist_merge(&m, &h);
    expect(m.count == 2000 && flood_hist_pct(&m, 50) == flood_hist_pct(&h, 50), "merge",
           (long long)m.count, 2000);
    flood_hist_reset(&m);
    expect(flood_hist_pct(&m, 99) == 0, "empty", flood_hist_pct(&m, 99), 0);
    return fails ? 1 : 0;
}
