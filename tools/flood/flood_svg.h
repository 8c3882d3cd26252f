/* flood_svg: line charts as standalone SVG files, no dependencies. */
#ifndef FLOOD_SVG_H
#define FLOOD_SVG_H

#include <stddef.h>

typedef struct flood_svg_series {
    const char *name;
    const double *x, *y; /* n points each, borrowed */
    size_t n;
    int dashed;
    int points; /* draw markers at the points too */
} flood_svg_series;

typedef struct flood_svg_marker {
    double x; /* a vertical line with a label */
    const char *label;
} flood_svg_marker;

/* Writes one chart to path. 0 or -errno. */
int flood_svg_lines(const char *path, const char *title, const char *xlabel,
                    const char *ylabel, const flood_svg_series *s, size_t ns,
                    const flood_svg_marker *m, size_t nm);

#endif
