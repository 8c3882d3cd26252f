/* pl_json: reading JSON with yajl's tree API behind limits, and writing it
 * with yajl_gen behind a sticky-error writer. */
#ifndef PL_JSON_H
#define PL_JSON_H

#include <stddef.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#define PL_JSON_MAX_DEPTH 32

/* Parses s (len bytes, must be NUL-terminated at s[len]). Rejects nesting
 * deeper than PL_JSON_MAX_DEPTH before yajl sees it, since yajl frees trees
 * recursively. On success *out is owned by the caller (yajl_tree_free).
 * On failure returns -EINVAL and writes a short reason into err. */
int pl_json_parse(const char *s, size_t len, yajl_val *out, char *err, size_t errlen);
/* 1 if nesting of s never exceeds max, else 0. Strings are skipped. */
int pl_json_depth_ok(const char *s, size_t len, int max);
/* 0, -E2BIG when nested deeper than max, -EILSEQ for a \u0000 escape
 * (yajl's NUL-terminated strings would silently truncate it), -EPROTO for
 * a comment (yajl_tree_parse accepts them, and they would hide brackets
 * from the depth count), -EDOM for a \u escape that is an unpaired
 * surrogate (yajl would pass it on as bytes that are not UTF-8). */
int pl_json_precheck(const char *s, size_t len, int max);

/* Lookups on an object; NULL or -EINVAL when absent or of another type. */
yajl_val pl_json_get(yajl_val obj, const char *key);
const char *pl_json_str(yajl_val obj, const char *key);
int pl_json_int(yajl_val obj, const char *key, long long *out);

typedef struct pl_jw {
    yajl_gen g;
    int err; /* first failure, sticky: later calls do nothing */
} pl_jw;

int pl_jw_init(pl_jw *w);
void pl_jw_obj(pl_jw *w);
void pl_jw_end_obj(pl_jw *w);
void pl_jw_arr(pl_jw *w);
void pl_jw_end_arr(pl_jw *w);
void pl_jw_key(pl_jw *w, const char *k);
void pl_jw_str(pl_jw *w, const char *v); /* NULL writes null */
void pl_jw_strn(pl_jw *w, const char *v, size_t n);
void pl_jw_int(pl_jw *w, long long v);
void pl_jw_bool(pl_jw *w, int v);
void pl_jw_null(pl_jw *w);
void pl_jw_kstr(pl_jw *w, const char *k, const char *v);
void pl_jw_kint(pl_jw *w, const char *k, long long v);
/* Copies a parsed value (any type) into the output. */
void pl_jw_value(pl_jw *w, yajl_val v);
/* On success *out is a malloc'd NUL-terminated copy (caller frees). The
 * writer is released either way. */
int pl_jw_finish(pl_jw *w, char **out, size_t *len);
void pl_jw_free(pl_jw *w);

#endif
