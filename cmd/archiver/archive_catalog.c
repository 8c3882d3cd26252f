#include "archive_catalog.h"
#include "pl_buf.h"
#include "pl_num.h"
#include "pl_pg.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int archive_catalog_position(PGconn *pg, const char *topic, int32_t partition,
                             int64_t *next, char hash[PL_SEGMENT_HASH_HEX])
{
    char part[16];
    const char *p[2] = {topic, part};
    PGresult *res = NULL;
    long long v;
    int r;

    snprintf(part, sizeof(part), "%" PRId32, partition);
    r = pl_pg_exec(pg, &res, NULL, 0,
                   "SELECT o.next_offset, (SELECT s.sha256 FROM archive.segments s"
                   "  WHERE s.topic = o.topic AND s.partition = o.partition"
                   "  ORDER BY s.range_start DESC LIMIT 1)"
                   " FROM archive.offsets o WHERE o.topic = $1 AND o.partition = $2",
                   2, p);
    *next = -1;
    hash[0] = '\0';
    if (r == 0 && PQntuples(res) == 1) {
        if (pl_num_parse_ll(PQgetvalue(res, 0, 0), 0, INT64_MAX, &v) == 0)
            *next = v;
        snprintf(hash, PL_SEGMENT_HASH_HEX, "%s", PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    return r;
}

/* Postgres array literals of the index columns. */
static int index_arrays(const archive_segment_row *s, pl_buf a[6])
{
    int r = 0;
    for (int k = 0; k < 6; k++)
        r |= pl_buf_puts(&a[k], "{");
    for (size_t i = 0; i < s->nconvs && !r; i++) {
        const pl_segment_conv *c = &s->convs[i];
        const char *sep = i ? "," : "";
        r |= pl_buf_printf(&a[0], "%s%s", sep, c->conversation_id);
        r |= pl_buf_printf(&a[1], "%s%" PRId64, sep, c->first);
        r |= pl_buf_printf(&a[2], "%s%" PRId64, sep, c->last);
        r |= pl_buf_printf(&a[3], "%s%" PRId64, sep, c->count);
        r |= pl_buf_printf(&a[4], "%s%" PRId64, sep, c->min_ts);
        r |= pl_buf_printf(&a[5], "%s%" PRId64, sep, c->max_ts);
    }
    for (int k = 0; k < 6; k++)
        r |= pl_buf_puts(&a[k], "}");
    return r ? -ENOMEM : 0;
}

static int commit_rows(PGconn *pg, const archive_segment_row *s, pl_buf a[6])
{
    char part[16], start[24], end[24], count[24], bytes[24], raw[24];
    const char *seg[] = {s->topic, part, start, end, count, s->store_key, s->hash,
                         s->prev_hash, bytes, raw, a[0].data, a[1].data, a[2].data,
                         a[3].data, a[4].data, a[5].data};
    PGresult *res = NULL;
    int r;

    snprintf(part, sizeof(part), "%" PRId32, s->partition);
    snprintf(start, sizeof(start), "%" PRId64, s->start);
    snprintf(end, sizeof(end), "%" PRId64, s->end);
    snprintf(count, sizeof(count), "%" PRId64, s->count);
    snprintf(bytes, sizeof(bytes), "%" PRId64, s->bytes);
    snprintf(raw, sizeof(raw), "%" PRId64, s->raw_bytes);
    /* The offsets row moves only from exactly where this segment starts:
     * a zombie instance's stale segment cannot commit. */
    r = pl_pg_exec(pg, &res, NULL, 0,
        "WITH seg AS ("
        " INSERT INTO archive.segments (topic, partition, range_start, range_end,"
        "  event_count, store_key, sha256, prev_sha256, bytes, raw_bytes)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id),"
        " idx AS ("
        " INSERT INTO archive.segment_index (segment_id, conversation_id, first_offset,"
        "  last_offset, event_count, min_ts, max_ts)"
        " SELECT seg.id, u.c, u.f, u.l, u.n, to_timestamp(u.t0 / 1000.0),"
        "  to_timestamp(u.t1 / 1000.0)"
        " FROM seg, unnest($11::uuid[], $12::bigint[], $13::bigint[], $14::int[],"
        "  $15::bigint[], $16::bigint[]) AS u(c, f, l, n, t0, t1))"
        " INSERT INTO archive.offsets AS o (topic, partition, next_offset)"
        " SELECT $1, $2, $4 FROM seg"
        " ON CONFLICT (topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset,"
        "  updated_at = now() WHERE o.next_offset = $3::bigint"
        " RETURNING 1",
        16, seg);
    if (r == 0 && PQntuples(res) != 1)
        r = -EEXIST;
    else if (r && strcmp(pl_pg_sqlstate(res), "23505") == 0)
        r = -EEXIST;
    PQclear(res);
    return r;
}

int archive_catalog_commit(PGconn *pg, const archive_segment_row *s)
{
    pl_buf a[6];
    int r;

    for (int k = 0; k < 6; k++)
        pl_buf_init(&a[k], 64u << 20);
    r = index_arrays(s, a);
    if (!r)
        r = pl_pg_cmd(pg, "BEGIN") ? -EIO : 0;
    if (!r)
        r = commit_rows(pg, s, a);
    if (!r)
        r = pl_pg_cmd(pg, "COMMIT") ? -EIO : 0;
    else
        pl_pg_cmd(pg, "ROLLBACK");
    for (int k = 0; k < 6; k++)
        pl_buf_free(&a[k]);
    return r;
}
