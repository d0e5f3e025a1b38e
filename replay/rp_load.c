/*
** rp_load.c -- snapshots through LOAD DATA LOCAL INFILE, fed straight
** from the journal.
**
** Between SNAP_BEGIN and SNAP_END a group holds nothing but the table's
** rows, in any number. Instead of multi-row INSERTs they are streamed into
** one `LOAD DATA LOCAL INFILE ... REPLACE INTO TABLE` statement: the
** client library pulls the "file" through a local-infile handler whose
** read callback decodes the next journal records and formats them as
** tab-separated lines (tg_value_tsv: same conversions as the SQL path;
** binary columns travel as hex through UNHEX()). Memory stays bounded by
** the callback's buffer; REPLACE keeps the load idempotent.
**
** An ABORT record inside the snapshot (capture stopped mid-snapshot and
** its writer closed the group on restart) ends the load: the caller
** discards the whole group, as any aborted group. REPLACE reports how many
** rows it replaced; the table was emptied at SNAP_BEGIN, so any replaced
** row means two distinct source keys are one key to the target -- an
** error, never a silent merge (single-row mode then names the keys).
**
** INVARIANTS:
**  (D1) the callback consumes records up to and including SNAP_END (or
**       ABORT) and nothing after it; anything else inside a snapshot is
**       an error.
**  (D2) a failure inside the callback (a value the column cannot take, a
**       journal error) is reported as that failure, not as the client
**       library's generic "local infile" error.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rp.h"

typedef struct li_ctx {
    rp_apply *a;
    MYSQL *db;
    tg_table *t;
    const char *src;             /* the source table's name */
    int aborted;                 /* ended by an ABORT record */
    int *keyflag;                /* per snapshot column: part of the key */
    rp_next_fn next;
    void *nctx;
    const jr_entry *first;       /* formatted before the first next() */
    char **names;                /* the snapshot's column names */
    uint32_t ncols;
    tg_str buf;
    rp_aug aug;                  /* the row's added columns */
    size_t off;
    int eof, failed;
    jr_err err;
    jr_entry *end;
    uint64_t rows;
} li_ctx;

static int format_row(li_ctx *c, const jr_entry *ent)
{
    const jr_row *r = &ent->rec.new_row;
    char why[300];

    if (ent->rec.kind != JR_K_INSERT || strcmp(ent->rec.table,
                                               c->src) != 0 ||
        r->n != c->ncols)
        return tg_fail(&c->err, TG_E_FATAL, 0, "seq %llu: unexpected %s "
                       "record inside the snapshot of table %s",
                       (unsigned long long)ent->seq,
                       jr_kind_name(ent->rec.kind), c->t->name);
    for (uint32_t i = 0; i < r->n; i++) {
        int k = tg_table_col(c->t, r->names[i]), altered = 0;
        if (strcmp(r->names[i], c->names[i]) != 0)
            return tg_fail(&c->err, TG_E_FATAL, 0, "seq %llu: snapshot "
                           "row of %s has columns unlike the first row",
                           (unsigned long long)ent->seq, c->t->name);
        if (i)
            tg_str_add(&c->buf, "\t", 1);
        if (k < 0 || c->t->cols[k].generated)
            continue;                 /* skipped rowid / generated */
        if (tg_value_tsv(&c->buf, &c->t->cols[k], &r->vals[i],
                         rp__apply_flags(c->a) |
                             (c->keyflag[i] ? TG_POL_KEY : 0),
                         &altered, why, sizeof(why)) != 0) {
            char v[120], kt[200];
            tg_value_show(v, sizeof(v), &r->vals[i]);
            rp__key_text(kt, sizeof(kt), &ent->rec.key);
            return tg_fail(&c->err, TG_E_DATA, 0, "seq %llu table %s key "
                           "(%s) column %s value %s: %s",
                           (unsigned long long)ent->seq, c->t->name, kt,
                           r->names[i], v, why);
        }
        if (altered)
            rp__rounds_note(rp__apply_rounds(c->a), c->t->name, r->names[i],
                            ent->seq, &r->vals[i]);
    }
    {
        /* the added columns (rp_aug.c): letters, and the ledger as hex */
        jr_row all;
        if (rp__augment(&c->aug, c->t, r, r, &ent->rec.key, 1, &all) != 0)
            return tg_fail(&c->err, TG_E_FATAL, 0, "out of memory");
        for (uint32_t i = r->n; i < all.n; i++) {
            const unsigned char *p = all.vals[i].u.b.p;
            tg_str_add(&c->buf, "\t", 1);
            if (all.vals[i].type == JR_TEXT) {
                tg_str_add(&c->buf, all.vals[i].u.b.p, all.vals[i].u.b.n);
                continue;
            }
            for (size_t k = 0; k < all.vals[i].u.b.n; k++) {
                char hx[3];
                snprintf(hx, sizeof(hx), "%02X", p[k]);
                tg_str_add(&c->buf, hx, 2);
            }
        }
    }
    tg_str_add(&c->buf, "\n", 1);
    c->rows++;
    return c->buf.oom ? tg_fail(&c->err, TG_E_FATAL, 0, "out of memory")
                      : 0;
}

static int li_init(void **ptr, const char *filename, void *userdata)
{
    (void)filename;
    *ptr = userdata;
    return 0;
}

static int li_read(void *ptr, char *out, unsigned int len)
{
    li_ctx *c = ptr;
    size_t n;

    if (c->failed)
        return -1;
    if (c->off > 0 && c->buf.len - c->off < len) {
        /* move the unsent tail to the front: the buffer stays bounded */
        memmove(c->buf.p, c->buf.p + c->off, c->buf.len - c->off);
        c->buf.len -= c->off;
        c->off = 0;
    }
    while (c->buf.len - c->off < len && !c->eof) {
        jr_entry ent;
        if (c->first != NULL) {
            if (format_row(c, c->first) != 0)
                goto fail;
            c->first = NULL;
            continue;
        }
        if (c->next(c->nctx, &ent, &c->err) != 0)
            goto fail;
        if (ent.rec.kind == JR_K_SNAP_END) {
            *c->end = ent;
            c->eof = 1;
            break;
        }
        if (ent.rec.kind == JR_K_ABORT) {
            /* capture stopped mid-snapshot: the group is discarded */
            *c->end = ent;
            c->aborted = 1;
            goto fail;
        }
        if (format_row(c, &ent) != 0)
            goto fail;
    }
    n = c->buf.len - c->off;
    if (n > len)
        n = len;
    memcpy(out, c->buf.p + c->off, n);
    c->off += n;
    if (c->off == c->buf.len)
        c->off = c->buf.len = 0;
    return (int)n;
fail:
    c->failed = 1;
    return -1;
}

static void li_end(void *ptr)
{
    (void)ptr;
}

static int li_error(void *ptr, char *msg, unsigned int len)
{
    li_ctx *c = ptr;
    snprintf(msg, len, "%s", c->err.msg[0] ? c->err.msg
                                          : "snapshot stream failed");
    return 2000;
}

/* "Records: 3  Deleted: 1  Skipped: 0  Warnings: 0" -> 1 */
static unsigned long long replaced(MYSQL *db)
{
    const char *info = mysql_info(db), *d;

    if (info == NULL || (d = strstr(info, "Deleted:")) == NULL)
        return 0;
    return strtoull(d + 8, NULL, 10);
}

int rp__load_snapshot(rp_apply *a, MYSQL *db, tg_table *t, const char *src,
                      const jr_entry *first, rp_next_fn next, void *nctx,
                      jr_entry *end, uint64_t *rows, jr_err *e)
{
    li_ctx c;
    tg_str s = { 0 }, sets = { 0 };     /* sets: added binary columns */
    const jr_row *r = &first->rec.new_row;
    int ret = 0, nv = 0, nsets = 0;

    memset(&c, 0, sizeof(c));
    c.a = a;
    c.db = db;
    c.t = t;
    c.next = next;
    c.nctx = nctx;
    c.first = first;
    c.end = end;
    c.src = src;
    c.ncols = r->n;
    c.names = calloc(r->n + 1, sizeof(char *));
    c.keyflag = calloc(r->n + 1, sizeof(int));
    if (c.names == NULL || c.keyflag == NULL) {
        free(c.names);
        free(c.keyflag);
        return tg_fail(e, TG_E_FATAL, 0, "out of memory");
    }
    for (uint32_t i = 0; i < r->n; i++)
        for (uint32_t k = 0; k < first->rec.key.n; k++)
            if (strcmp(r->names[i], first->rec.key.names[k]) == 0)
                c.keyflag[i] = 1;
    tg_str_adds(&s, "LOAD DATA LOCAL INFILE 'sluice-snapshot' REPLACE INTO "
                    "TABLE ");
    tg_str_ident(&s, t->name);
    tg_str_adds(&s, " CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' "
                    "ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (");
    for (uint32_t i = 0; i < r->n; i++) {
        int k = tg_table_col(t, r->names[i]);
        c.names[i] = strdup(r->names[i]);
        if (k < 0 && i == r->n - 1 && first->rec.key.n == 1 &&
            strcmp(first->rec.key.names[0], r->names[i]) == 0) {
            /* a rowid key the user's table has no column for: the rows
            ** are matched by their old image later (rp_apply.c OLDIMG) */
            tg_str_adds(&s, i ? ", @sluice_skip" : "@sluice_skip");
            continue;
        }
        if (k < 0) {
            ret = tg_fail(e, TG_E_CONFIG, 0, "target table %s has no "
                          "column %s (seq %llu)", t->name, r->names[i],
                          (unsigned long long)first->seq);
            goto out;
        }
        if (i)
            tg_str_adds(&s, ", ");
        if (t->cols[k].generated)
            tg_str_adds(&s, "@sluice_skip");
        else if (t->cols[k].kind == TG_T_BINARY)
            tg_str_addf(&s, "@sluice_v%d", nv++);
        else
            tg_str_ident(&s, r->names[i]);
    }
    {
        jr_row all;                     /* the added columns' names */
        if (rp__augment(&c.aug, t, r, r, &first->rec.key, 1, &all) != 0) {
            ret = tg_fail(e, TG_E_FATAL, 0, "out of memory");
            goto out;
        }
        for (uint32_t i = r->n; i < all.n; i++) {
            tg_str_adds(&s, ", ");
            if (all.vals[i].type == JR_TEXT) {
                tg_str_ident(&s, all.names[i]);
                continue;
            }
            tg_str_addf(&s, "@sluice_k%u", i);      /* hex: see below */
            tg_str_adds(&sets, nsets++ ? ", " : "");
            tg_str_ident(&sets, all.names[i]);
            tg_str_addf(&sets, " = UNHEX(@sluice_k%u)", i);
        }
    }
    tg_str_adds(&s, ")");
    nv = 0;
    for (uint32_t i = 0; i < r->n; i++) {
        int k = tg_table_col(t, r->names[i]);
        if (k < 0 || t->cols[k].generated || t->cols[k].kind != TG_T_BINARY)
            continue;
        tg_str_adds(&s, nv ? ", " : " SET ");
        tg_str_ident(&s, r->names[i]);
        tg_str_addf(&s, " = UNHEX(@sluice_v%d)", nv++);
    }
    if (nsets > 0) {
        tg_str_adds(&s, nv ? ", " : " SET ");
        tg_str_add(&s, sets.p, sets.len);
    }
    if (s.oom) {
        ret = tg_fail(e, TG_E_FATAL, 0, "out of memory");
        goto out;
    }
    mysql_set_local_infile_handler(db, li_init, li_read, li_end, li_error,
                                   &c);
    if (mysql_real_query(db, s.p, (unsigned long)s.len) != 0) {
        if (c.aborted)
            ret = RP_LOAD_ABORTED;
        else if (c.failed && c.err.cls != TG_E_NONE)
            ret = tg_fail(e, c.err.cls, c.err.cause, "%s",
                          c.err.msg);
        else
            ret = tg_fail_mysql(e, db, "loading snapshot");
        if (!c.failed)
            snprintf(e->msg + strlen(e->msg), sizeof(e->msg) -
                     strlen(e->msg), " (snapshot of %s from seq %llu)",
                     t->name, (unsigned long long)first->seq);
    } else if (!c.eof) {
        ret = tg_fail(e, TG_E_FATAL, 0, "snapshot of %s ended before its "
                      "end record", t->name);
    } else if (replaced(db) > 0) {
        ret = tg_fail(e, TG_E_DATA, 0, "snapshot of %s from seq %llu: %llu "
                      "row(s) landed on the row of another source key (the "
                      "target compares distinct source keys as one value)",
                      t->name, (unsigned long long)first->seq, replaced(db));
    }
    mysql_set_local_infile_default(db);
    *rows = c.rows;
out:
    for (uint32_t i = 0; i < c.ncols; i++)
        free(c.names[i]);
    free(c.names);
    free(c.keyflag);
    tg_str_free(&c.buf);
    rp__aug_free(&c.aug);
    tg_str_free(&sets);
    tg_str_free(&s);
    return ret;
}
