#include "flood_resume.h"
#include "pl_pos.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEED_TIMEOUT_MS 120000

struct flood_resume {
    const flood_conv *convs;
    size_t nusers, nclients;
    size_t **conv_of;  /* per user: indices into convs */
    size_t *nconv_of;  /* per user */
    pl_pos *seed;      /* per conversation */
    pl_pos **last;     /* per client, parallel to its user's conv_of */
};

typedef struct seed_req {
    pl_pos *pos;
    flood_errs *e;
} seed_req;

static void on_seed(void *opaque, int status, const char *body, size_t len)
{
    seed_req *q = opaque;
    yajl_val v = NULL;
    const char *pos;
    char err[64];

    if (status != 202 || pl_json_parse(body, len, &v, err, sizeof(err)) ||
        !(pos = pl_json_str(v, "position")) || pl_pos_parse(pos, q->pos))
        atomic_fetch_add(&q->e->n[FE_SETUP], 1);
    yajl_tree_free(v);
}

static int send_seeds(flood_resume *r, flood_http *api, const flood_opts *o,
                      const flood_user *users, size_t nconvs, flood_errs *e)
{
    seed_req *q = calloc(nconvs, sizeof(*q));
    char path[128], body[160];
    int rc = q ? 0 : -ENOMEM;

    for (size_t i = 0; !rc && i < nconvs; i++) {
        r->seed[i].partition = -1;
        q[i] = (seed_req){.pos = &r->seed[i], .e = e};
        snprintf(path, sizeof(path), "/api/v1/conversations/%s/messages", r->convs[i].id);
        snprintf(body, sizeof(body), "{\"client_msg_id\":\"fs.%s.%zu\",\"text\":\"seed\"}",
                 o->run, i);
        rc = flood_http_submit(api, "POST", path, users[r->convs[i].members[0]].token, body,
                               on_seed, &q[i]);
    }
    if (!rc)
        flood_http_drain(api, SEED_TIMEOUT_MS);
    for (size_t i = 0; !rc && i < nconvs; i++)
        if (r->seed[i].partition < 0)
            rc = -EIO;
    free(q);
    return rc;
}

/* Each user's conversations, and each client's starting positions. */
static int index_clients(flood_resume *r, size_t nconvs)
{
    for (size_t i = 0; i < nconvs; i++)
        for (int j = 0; j < r->convs[i].nmembers; j++) {
            size_t u = (size_t)r->convs[i].members[j];
            size_t *n = realloc(r->conv_of[u], (r->nconv_of[u] + 1) * sizeof(*n));
            if (!n)
                return -ENOMEM;
            r->conv_of[u] = n;
            n[r->nconv_of[u]++] = i;
        }
    for (size_t c = 0; c < r->nclients; c++) {
        size_t u = c % r->nusers;
        r->last[c] = calloc(r->nconv_of[u] ? r->nconv_of[u] : 1, sizeof(pl_pos));
        if (!r->last[c])
            return -ENOMEM;
        for (size_t k = 0; k < r->nconv_of[u]; k++)
            r->last[c][k] = r->seed[r->conv_of[u][k]];
    }
    return 0;
}

int flood_resume_new(flood_resume **out, flood_http *api, const flood_opts *o,
                     const flood_user *users, size_t nusers, const flood_conv *convs,
                     size_t nconvs, size_t nclients, flood_errs *e)
{
    flood_resume *r = calloc(1, sizeof(*r));
    int rc = -ENOMEM;

    if (!r)
        return rc;
    r->convs = convs;
    r->nusers = nusers;
    r->nclients = nclients;
    r->conv_of = calloc(nusers, sizeof(*r->conv_of));
    r->nconv_of = calloc(nusers, sizeof(*r->nconv_of));
    r->seed = calloc(nconvs ? nconvs : 1, sizeof(*r->seed));
    r->last = calloc(nclients ? nclients : 1, sizeof(*r->last));
    if (r->conv_of && r->nconv_of && r->seed && r->last &&
        (rc = send_seeds(r, api, o, users, nconvs, e)) == 0)
        rc = index_clients(r, nconvs);
    if (rc) {
        flood_resume_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void flood_resume_free(flood_resume *r)
{
    if (!r)
        return;
    for (size_t u = 0; r->conv_of && u < r->nusers; u++)
        free(r->conv_of[u]);
    for (size_t c = 0; r->last && c < r->nclients; c++)
        free(r->last[c]);
    free(r->conv_of);
    free(r->nconv_of);
    free(r->seed);
    free(r->last);
    free(r);
}

/* The string value of "key":"..." at its first occurrence in d, copied
 * into out (at most cap - 1 bytes). 0 or -1. */
static int field(const char *d, size_t n, const char *key, char *out, size_t cap)
{
    size_t kl = strlen(key);
    const char *p = memmem(d, n, key, kl), *q;

    if (!p || (size_t)(d + n - (p += kl)) < 1 ||
        !(q = memchr(p, '"', (size_t)(d + n - p))) || (size_t)(q - p) >= cap)
        return -1;
    memcpy(out, p, (size_t)(q - p));
    out[q - p] = '\0';
    return 0;
}

int flood_resume_frame(flood_resume *r, size_t client, const char *d, size_t n)
{
    const char *type = n > 40 ? memmem(d, 40, "\"type\":\"", 8) : NULL;
    char conv[PL_ID_LEN], pos[PL_POS_LEN];
    size_t u = client % r->nusers;
    pl_pos p;

    if (type && memmem(type, (size_t)(d + n - type) < 30 ? (size_t)(d + n - type) : 30,
                       "resume.gap", 10))
        return 1;
    if (!type || !memmem(type, (size_t)(d + n - type) < 30 ? (size_t)(d + n - type) : 30,
                         "message.created", 15) ||
        field(d, n, "\"conversation_id\":\"", conv, sizeof(conv)) ||
        field(d, n, "\"position\":\"", pos, sizeof(pos)) || pl_pos_parse(pos, &p))
        return 0;
    for (size_t k = 0; k < r->nconv_of[u]; k++) {
        pl_pos *last = &r->last[client][k];
        if (strcmp(r->convs[r->conv_of[u][k]].id, conv) != 0)
            continue;
        if (p.partition != last->partition || p.offset > last->offset)
            *last = p;
        break;
    }
    return 0;
}

int flood_resume_map(flood_resume *r, size_t client, char *buf, size_t cap)
{
    size_t u = client % r->nusers, len = 0;
    char pos[PL_POS_LEN];

    if (cap < 3)
        return -1;
    buf[len++] = '{';
    for (size_t k = 0; k < r->nconv_of[u]; k++) {
        pl_pos_format(pos, r->last[client][k]);
        int w = snprintf(buf + len, cap - len, "%s\"%s\":\"%s\"", k ? "," : "",
                         r->convs[r->conv_of[u][k]].id, pos);
        if (w < 0 || (size_t)w >= cap - len)
            return -1;
        len += (size_t)w;
    }
    if (len + 2 > cap)
        return -1;
    buf[len++] = '}';
    buf[len] = '\0';
    return r->nconv_of[u] ? (int)len : 0;
}
