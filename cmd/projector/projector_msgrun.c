#include "projector_msgrun.h"
#include "pl_id.h"
#include "pl_pg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct msg_run {
    int cap, n;
    int *index;               /* cap: the caller's index of each event */
    char (*ids)[PL_ID_LEN];   /* cap: message ids in the run */
    int *slots;               /* nslots: 1 + position in ids, 0 = free */
    size_t nslots;            /* a power of two, at least 2 * cap */
    pl_jw w;                  /* the rows, as one JSON array */
};

int msg_run_new(msg_run **out, int cap)
{
    msg_run *r = calloc(1, sizeof(*r));

    if (!r)
        return -ENOMEM;
    r->cap = cap;
    for (r->nslots = 16; r->nslots < 2 * (size_t)cap; r->nslots *= 2)
        ;
    r->index = calloc((size_t)cap, sizeof(*r->index));
    r->ids = calloc((size_t)cap, sizeof(*r->ids));
    r->slots = calloc(r->nslots, sizeof(*r->slots));
    if (!r->index || !r->ids || !r->slots) {
        msg_run_free(r);
        return -ENOMEM;
    }
    *out = r;
    return 0;
}

void msg_run_free(msg_run *r)
{
    if (!r)
        return;
    pl_jw_free(&r->w);
    free(r->index);
    free(r->ids);
    free(r->slots);
    free(r);
}

int msg_run_len(const msg_run *r)
{
    return r->n;
}

int msg_run_index(const msg_run *r, int i)
{
    return r->index[i];
}

/* FNV-1a over the id's text; ids are canonical, so text equality is id
 * equality. Returns the slot holding id, or the free slot it would take. */
static size_t slot_of(const msg_run *r, const char *id)
{
    uint32_t h = 2166136261u;
    size_t s;

    for (const char *c = id; *c; c++)
        h = (h ^ (unsigned char)*c) * 16777619u;
    for (s = h & (r->nslots - 1); r->slots[s]; s = (s + 1) & (r->nslots - 1))
        if (strcmp(r->ids[r->slots[s] - 1], id) == 0)
            break;
    return s;
}

static int has_id(const msg_run *r, const char *id)
{
    return id && r->slots[slot_of(r, id)] != 0;
}

int msg_run_fits(const msg_run *r, const msg_created *f)
{
    return r->n < r->cap && !has_id(r, f->mid) && !has_id(r, f->reply_to);
}

int msg_run_add(msg_run *r, int index, const apply_ctx *a, const msg_created *f)
{
    const pl_event *ev = a->ev;
    pl_jw *w = &r->w;

    if (r->n == 0) {
        if (pl_jw_init(w) != 0)
            return -ENOMEM;
        pl_jw_arr(w);
    }
    pl_jw_obj(w);
    pl_jw_kstr(w, "m", f->mid);
    pl_jw_kstr(w, "c", ev->conversation_id);
    pl_jw_kstr(w, "s", ev->actor);
    pl_jw_kstr(w, "k", f->cmid);
    pl_jw_kstr(w, "t", f->text);
    pl_jw_kint(w, "ts", ev->ts_ms);
    pl_jw_kstr(w, "e", ev->id);
    pl_jw_key(w, "p");
    pl_jw_str(w, a->partition); /* jsonb casts "12" to int as well */
    pl_jw_key(w, "o");
    pl_jw_str(w, a->offset);
    pl_jw_kstr(w, "r", f->reply_to);
    pl_jw_key(w, "n");
    if (f->mentions)
        pl_jw_value(w, f->mentions);
    else
        pl_jw_null(w);
    pl_jw_key(w, "a");
    if (f->attachments)
        pl_jw_value(w, f->attachments);
    else
        pl_jw_null(w);
    pl_jw_end_obj(w);
    memcpy(r->ids[r->n], f->mid, PL_ID_LEN);
    r->slots[slot_of(r, f->mid)] = r->n + 1;
    r->index[r->n++] = index;
    return w->err ? -ENOMEM : 0;
}

/* Per row what apply_message_created and apply_message_attachments do per
 * event. Rows are matched back to their event by (conversation, offset),
 * which messages_by_position keeps unique. The conversation's last message
 * is the inserted row with the highest offset, as if applied in order. */
static const char RUN_SQL[] =
    "WITH ev AS ("
    " SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(m uuid, c uuid, s uuid,"
    "  k text, t text, ts bigint, e uuid, p int, o bigint, r uuid, n uuid[], a jsonb)),"
    " ins AS ("
    " INSERT INTO messages (id, conversation_id, sender_id, client_msg_id,"
    "  text, created_at, event_id, partition, \"offset\", reply_to)"
    " SELECT ev.m, ev.c, ev.s, ev.k, ev.t, to_timestamp(ev.ts / 1000.0), ev.e, ev.p, ev.o,"
    "  coalesce((SELECT q.id FROM messages q WHERE q.id = ev.r AND q.conversation_id = ev.c),"
    "   (SELECT t.message_id FROM archive.search t"
    "    WHERE t.message_id = ev.r AND t.conversation_id = ev.c))"
    " FROM ev WHERE EXISTS (SELECT 1 FROM members"
    "                       WHERE conversation_id = ev.c AND user_id = ev.s)"
    " ON CONFLICT (id) DO NOTHING RETURNING id, conversation_id, \"offset\", created_at),"
    " men AS ("
    " INSERT INTO mentions (message_id, conversation_id, user_id, \"offset\")"
    " SELECT ins.id, ins.conversation_id, u.id, ins.\"offset\""
    " FROM ins JOIN ev ON ev.c = ins.conversation_id AND ev.o = ins.\"offset\","
    "  unnest(ev.n) AS u(id)"
    " WHERE EXISTS (SELECT 1 FROM members"
    "               WHERE conversation_id = ins.conversation_id AND user_id = u.id)"
    " ON CONFLICT DO NOTHING),"
    " att AS ("
    " INSERT INTO message_attachments (message_id, ord, attachment_id,"
    "  conversation_id, content_type, size, width, height, filename)"
    " SELECT ev.m, x.ord - 1, (x.v->>'id')::uuid, ev.c, x.v->>'content_type',"
    "  (x.v->>'size')::bigint, (x.v->>'width')::int, (x.v->>'height')::int,"
    "  x.v->>'filename'"
    " FROM ev, jsonb_array_elements(ev.a) WITH ORDINALITY AS x(v, ord)"
    " WHERE ev.a IS NOT NULL AND ("
    "  EXISTS (SELECT 1 FROM ins WHERE ins.conversation_id = ev.c AND ins.\"offset\" = ev.o)"
    "  OR EXISTS (SELECT 1 FROM messages m"
    "             WHERE m.id = ev.m AND m.conversation_id = ev.c AND m.event_id = ev.e))"
    " ON CONFLICT DO NOTHING)"
    " UPDATE conversations c"
    " SET last_message_id = l.id, last_activity_at = l.created_at"
    " FROM (SELECT DISTINCT ON (conversation_id) id, conversation_id, created_at"
    "       FROM ins ORDER BY conversation_id, \"offset\" DESC) l"
    " WHERE c.id = l.conversation_id";

void msg_run_clear(msg_run *r)
{
    pl_jw_free(&r->w);
    r->n = 0;
    memset(r->slots, 0, r->nslots * sizeof(*r->slots));
}

int msg_run_exec(msg_run *r, PGconn *pg, char *err, size_t errlen)
{
    apply_ctx a = {.pg = pg, .err = err, .errlen = errlen};
    PGresult *res = NULL;
    char *json = NULL;
    int rc;

    if (r->n == 0)
        return 0;
    pl_jw_end_arr(&r->w);
    rc = pl_jw_finish(&r->w, &json, NULL); /* releases the writer */
    if (rc) /* some row's text would not encode: let the events speak alone */
        return -EINVAL;
    const char *p[1] = {json};
    rc = pl_pg_exec(pg, &res, err, errlen, RUN_SQL, 1, p);
    free(json);
    return apply_result(&a, res, rc);
}
