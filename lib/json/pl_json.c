#include "pl_json.h"
#include "pl_utf8.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pl_json_depth_ok(const char *s, size_t len, int max)
{
    return pl_json_precheck(s, len, max) == 0;
}

/* The value of 4 hex digits, or -1. */
static int hex4(const char *s)
{
    int v = 0;

    for (int k = 0; k < 4; k++) {
        char c = s[k];
        int d = c >= '0' && c <= '9' ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* yajl hands strings back NUL-terminated, so a "\u0000" would silently cut
 * a value short; refuse it up front, along with deep nesting. */
int pl_json_precheck(const char *s, size_t len, int max)
{
    int depth = 0, in_str = 0;

    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\') {
                int u = i + 5 < len && s[i + 1] == 'u' ? hex4(s + i + 2) : -1;
                if (u == 0)
                    return -EILSEQ;
                if (u >= 0xdc00 && u <= 0xdfff)
                    return -EDOM; /* a low surrogate with no high one before it */
                if (u >= 0xd800 && u <= 0xdbff) {
                    int lo = i + 11 < len && s[i + 6] == '\\' && s[i + 7] == 'u'
                                 ? hex4(s + i + 8) : -1;
                    if (lo < 0xdc00 || lo > 0xdfff)
                        return -EDOM;
                    i += 6;
                }
                i++;
            } else if (c == '"') {
                in_str = 0;
            }
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '/') {
            return -EPROTO; /* yajl_tree_parse allows comments; JSON has none */
        } else if (c == '[' || c == '{') {
            if (++depth > max)
                return -E2BIG;
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return 0;
}

int pl_json_parse(const char *s, size_t len, yajl_val *out, char *err, size_t errlen)
{
    char yerr[128];
    yajl_val v;

    if (strlen(s) != len) {
        snprintf(err, errlen, "body contains a NUL byte");
        return -EINVAL;
    }
    if (!pl_utf8_valid(s, len)) {
        snprintf(err, errlen, "body is not valid UTF-8");
        return -EINVAL;
    }
    switch (pl_json_precheck(s, len, PL_JSON_MAX_DEPTH)) {
    case -E2BIG:
        snprintf(err, errlen, "JSON nested deeper than %d", PL_JSON_MAX_DEPTH);
        return -EINVAL;
    case -EILSEQ:
        snprintf(err, errlen, "strings must not contain \\u0000");
        return -EINVAL;
    case -EPROTO:
        snprintf(err, errlen, "comments are not JSON");
        return -EINVAL;
    case -EDOM:
        snprintf(err, errlen, "a \\u escape is an unpaired surrogate");
        return -EINVAL;
    }
    yerr[0] = '\0';
    v = yajl_tree_parse(s, yerr, sizeof(yerr));
    if (!v) {
        /* yajl's message spans lines; keep the first. */
        yerr[strcspn(yerr, "\n")] = '\0';
        snprintf(err, errlen, "invalid JSON: %s", yerr[0] ? yerr : "parse error");
        return -EINVAL;
    }
    *out = v;
    return 0;
}

yajl_val pl_json_get(yajl_val obj, const char *key)
{
    if (!YAJL_IS_OBJECT(obj))
        return NULL;
    for (size_t i = 0; i < obj->u.object.len; i++)
        if (strcmp(obj->u.object.keys[i], key) == 0)
            return obj->u.object.values[i];
    return NULL;
}

const char *pl_json_str(yajl_val obj, const char *key)
{
    yajl_val v = pl_json_get(obj, key);
    return YAJL_IS_STRING(v) ? v->u.string : NULL;
}

int pl_json_int(yajl_val obj, const char *key, long long *out)
{
    yajl_val v = pl_json_get(obj, key);
    if (!YAJL_IS_INTEGER(v))
        return -EINVAL;
    *out = YAJL_GET_INTEGER(v);
    return 0;
}

int pl_jw_init(pl_jw *w)
{
    w->err = 0;
    w->g = yajl_gen_alloc(NULL);
    if (!w->g)
        return -ENOMEM;
    yajl_gen_config(w->g, yajl_gen_validate_utf8, 1);
    return 0;
}

#define JW_DO(w, call)                                                         \
    do {                                                                       \
        if (!(w)->err && (call) != yajl_gen_status_ok)                         \
            (w)->err = -EINVAL;                                                \
    } while (0)

void pl_jw_obj(pl_jw *w) { JW_DO(w, yajl_gen_map_open(w->g)); }
void pl_jw_end_obj(pl_jw *w) { JW_DO(w, yajl_gen_map_close(w->g)); }
void pl_jw_arr(pl_jw *w) { JW_DO(w, yajl_gen_array_open(w->g)); }
void pl_jw_end_arr(pl_jw *w) { JW_DO(w, yajl_gen_array_close(w->g)); }
void pl_jw_null(pl_jw *w) { JW_DO(w, yajl_gen_null(w->g)); }
void pl_jw_bool(pl_jw *w, int v) { JW_DO(w, yajl_gen_bool(w->g, v)); }
void pl_jw_int(pl_jw *w, long long v) { JW_DO(w, yajl_gen_integer(w->g, v)); }

void pl_jw_strn(pl_jw *w, const char *v, size_t n)
{
    JW_DO(w, yajl_gen_string(w->g, (const unsigned char *)v, n));
}

void pl_jw_str(pl_jw *w, const char *v)
{
    if (v)
        pl_jw_strn(w, v, strlen(v));
    else
        pl_jw_null(w);
}

void pl_jw_key(pl_jw *w, const char *k) { pl_jw_strn(w, k, strlen(k)); }

void pl_jw_kstr(pl_jw *w, const char *k, const char *v)
{
    pl_jw_key(w, k);
    pl_jw_str(w, v);
}

void pl_jw_kint(pl_jw *w, const char *k, long long v)
{
    pl_jw_key(w, k);
    pl_jw_int(w, v);
}

void pl_jw_value(pl_jw *w, yajl_val v)
{
    if (!v || YAJL_IS_NULL(v)) {
        pl_jw_null(w);
    } else if (YAJL_IS_STRING(v)) {
        pl_jw_str(w, v->u.string);
    } else if (YAJL_IS_INTEGER(v)) {
        pl_jw_int(w, YAJL_GET_INTEGER(v));
    } else if (YAJL_IS_NUMBER(v)) {
        JW_DO(w, yajl_gen_number(w->g, v->u.number.r, strlen(v->u.number.r)));
    } else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
        pl_jw_bool(w, YAJL_IS_TRUE(v));
    } else if (YAJL_IS_ARRAY(v)) {
        pl_jw_arr(w);
        for (size_t i = 0; i < v->u.array.len; i++)
            pl_jw_value(w, v->u.array.values[i]);
        pl_jw_end_arr(w);
    } else if (YAJL_IS_OBJECT(v)) {
        pl_jw_obj(w);
        for (size_t i = 0; i < v->u.object.len; i++) {
            pl_jw_key(w, v->u.object.keys[i]);
            pl_jw_value(w, v->u.object.values[i]);
        }
        pl_jw_end_obj(w);
    }
}

int pl_jw_finish(pl_jw *w, char **out, size_t *len)
{
    const unsigned char *buf;
    size_t n;
    int r = w->err;

    if (!r && yajl_gen_get_buf(w->g, &buf, &n) != yajl_gen_status_ok)
        r = -EINVAL;
    if (!r) {
        *out = malloc(n + 1);
        if (!*out) {
            r = -ENOMEM;
        } else {
            memcpy(*out, buf, n);
            (*out)[n] = '\0';
            if (len)
                *len = n;
        }
    }
    pl_jw_free(w);
    return r;
}

void pl_jw_free(pl_jw *w)
{
    if (w->g)
        yajl_gen_free(w->g);
    w->g = NULL;
}
