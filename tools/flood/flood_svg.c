#include "flood_svg.h"
#include "flood_util.h"
#include "pl_buf.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define W 720
#define H 400
#define L 80
#define R 170
#define T 40
#define B 50

static const char *const colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                     "#9467bd", "#8c564b", "#e377c2", "#17becf"};

/* A "nice" step (1, 2 or 5 times a power of ten) for about 5 ticks. */
static double nice_step(double span)
{
    double raw = span / 5, p = pow(10, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

static void esc(pl_buf *b, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '<')
            pl_buf_puts(b, "&lt;");
        else if (*s == '&')
            pl_buf_puts(b, "&amp;");
        else if (*s == '>')
            pl_buf_puts(b, "&gt;");
        else
            pl_buf_append(b, s, 1);
    }
}

static void fmt_num(char *out, size_t n, double v)
{
    if (fabs(v) >= 1e6)
        snprintf(out, n, "%gM", v / 1e6);
    else if (fabs(v) >= 1e4)
        snprintf(out, n, "%gk", v / 1e3);
    else
        snprintf(out, n, "%g", v);
}

static void bounds(const flood_svg_series *s, size_t ns, const flood_svg_marker *m, size_t nm,
                   double *x0, double *x1, double *y1)
{
    *x0 = INFINITY;
    *x1 = -INFINITY;
    *y1 = 0;
    for (size_t i = 0; i < ns; i++)
        for (size_t j = 0; j < s[i].n; j++) {
            *x0 = fmin(*x0, s[i].x[j]);
            *x1 = fmax(*x1, s[i].x[j]);
            if (isfinite(s[i].y[j]))
                *y1 = fmax(*y1, s[i].y[j]);
        }
    for (size_t i = 0; i < nm; i++) {
        *x0 = fmin(*x0, m[i].x);
        *x1 = fmax(*x1, m[i].x);
    }
    if (!isfinite(*x0))
        *x0 = 0, *x1 = 1;
    if (*x1 <= *x0)
        *x1 = *x0 + 1;
    if (*y1 <= 0)
        *y1 = 1;
}

static void axes(pl_buf *b, double x0, double x1, double y1, double xs, double ys)
{
    char t[32];
    int pw = W - L - R, ph = H - T - B;
    pl_buf_printf(b, "<rect x='%d' y='%d' width='%d' height='%d' fill='none' stroke='#888'/>\n",
                  L, T, pw, ph);
    for (double v = 0; v <= y1 * 1.0001; v += ys) {
        double py = T + ph - v / y1 * ph;
        fmt_num(t, sizeof(t), v);
        pl_buf_printf(b, "<line x1='%d' x2='%d' y1='%.1f' y2='%.1f' stroke='#eee'/>"
                      "<text x='%d' y='%.1f' text-anchor='end' font-size='11'>%s</text>\n",
                      L, L + pw, py, py, L - 5, py + 4, t);
    }
    for (double v = ceil(x0 / xs) * xs; v <= x1 * 1.0001; v += xs) {
        double px = L + (v - x0) / (x1 - x0) * pw;
        fmt_num(t, sizeof(t), v);
        pl_buf_printf(b, "<text x='%.1f' y='%d' text-anchor='middle' font-size='11'>%s</text>\n",
                      px, T + ph + 15, t);
    }
}

int flood_svg_lines(const char *path, const char *title, const char *xlabel,
                    const char *ylabel, const flood_svg_series *s, size_t ns,
                    const flood_svg_marker *m, size_t nm)
{
    pl_buf b;
    double x0, x1, y1;
    int pw = W - L - R, ph = H - T - B, r;

    bounds(s, ns, m, nm, &x0, &x1, &y1);
    double ys = nice_step(y1 * 1.05);
    y1 = ceil(y1 * 1.05 / ys) * ys;
    pl_buf_init(&b, 16u << 20);
    pl_buf_printf(&b, "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' "
                  "font-family='sans-serif'>\n<rect width='100%%' height='100%%' fill='white'/>\n"
                  "<text x='%d' y='22' font-size='15' font-weight='bold'>", W, H, L);
    esc(&b, title);
    pl_buf_puts(&b, "</text>\n");
    axes(&b, x0, x1, y1, nice_step(x1 - x0), ys);
    pl_buf_printf(&b, "<text x='%d' y='%d' text-anchor='middle' font-size='12'>", L + pw / 2, H - 12);
    esc(&b, xlabel);
    pl_buf_printf(&b, "</text>\n<text transform='translate(16,%d) rotate(-90)' "
                  "text-anchor='middle' font-size='12'>", T + ph / 2);
    esc(&b, ylabel);
    pl_buf_puts(&b, "</text>\n");
    for (size_t i = 0; i < nm; i++) {
        double px = L + (m[i].x - x0) / (x1 - x0) * pw;
        pl_buf_printf(&b, "<line x1='%.1f' x2='%.1f' y1='%d' y2='%d' stroke='#999' "
                      "stroke-dasharray='2,3'/><text x='%.1f' y='%d' font-size='10' "
                      "fill='#555' transform='rotate(-90 %.1f %d)'>", px, px, T, T + ph,
                      px - 3, T + ph - 4, px - 3, T + ph - 4);
        esc(&b, m[i].label);
        pl_buf_puts(&b, "</text>\n");
    }
    for (size_t i = 0; i < ns; i++) {
        const char *col = colors[i % 8];
        pl_buf_printf(&b, "<polyline fill='none' stroke='%s' stroke-width='2'%s points='", col,
                      s[i].dashed ? " stroke-dasharray='6,4'" : "");
        for (size_t j = 0; j < s[i].n; j++)
            if (isfinite(s[i].y[j]))
                pl_buf_printf(&b, "%.1f,%.1f ", L + (s[i].x[j] - x0) / (x1 - x0) * pw,
                              T + ph - s[i].y[j] / y1 * ph);
        pl_buf_puts(&b, "'/>\n");
        for (size_t j = 0; s[i].points && j < s[i].n; j++)
            pl_buf_printf(&b, "<circle cx='%.1f' cy='%.1f' r='3.5' fill='%s'/>\n",
                          L + (s[i].x[j] - x0) / (x1 - x0) * pw, T + ph - s[i].y[j] / y1 * ph,
                          col);
        pl_buf_printf(&b, "<line x1='%d' x2='%d' y1='%zu' y2='%zu' stroke='%s' stroke-width='2'%s/>"
                      "<text x='%d' y='%zu' font-size='11'>", W - R + 10, W - R + 30,
                      T + 10 + i * 18, T + 10 + i * 18, col,
                      s[i].dashed ? " stroke-dasharray='6,4'" : "", W - R + 35, T + 14 + i * 18);
        esc(&b, s[i].name);
        pl_buf_puts(&b, "</text>\n");
    }
    r = pl_buf_puts(&b, "</svg>\n");
    if (!r)
        r = flood_write_file(path, b.data, b.len);
    pl_buf_free(&b);
    return r;
}
