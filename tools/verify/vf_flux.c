/*
** vf_flux.c -- live mode: what changed between the two snapshots.
**
** vf_live.c reads the journal records that may be newer than the source
** snapshot (the window, see there) and hands each to vf_flux_add, which
** keeps, per table, the key images those changes touch: the record's key
** (an update's or delete's OLD key, an insert's key) and, for inserts and
** updates, the key columns of the after-image (an update may change the
** key). A record that is not a keyed row change -- a SCHEMA, a
** re-snapshot, a TRUNCATE, a DROP, a change carrying a before-image (a
** table without a primary key) -- marks its table skipped instead, with
** the reason: such a table cannot be compared row by row across the two
** snapshots. ABORT records belong to no table and change nothing.
**
** Images are stored as the SQLite values the journal carries (names and
** storage classes), back to back in one buffer per table:
**   u32 ncols, then per column u32 namelen, name, u8 type, and the value
**   (8 bytes for INT/REAL, u64 length + bytes for TEXT/BLOB, nothing for
**   NULL).
** Only when the table is compared (vf_run.c) are they turned into
** canonical keys (vf_canon_jr: the source value as replay writes it into
** that table's key columns, exactly as vf_canon_src turns a source row)
** and put into a vf_keyset, whose members the merge leaves out on both
** sides.
**
** INVARIANTS:
**  (F1) every keyed row change of the window leaves its old and new key in
**       its table's images; any other record of a table marks it skipped.
**       Forgetting one would compare a row in flux: a false DIFF.
**  (F2) set membership is exact: equal encodings, byte for byte (a hash
**       only finds the slot), so no row is left out by a collision.
*/
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vf.h"

/* ---- tables of the window ---- */

void vf_flux_free(vf_flux *f)
{
    if (f == NULL)
        return;
    for (int i = 0; i < f->n; i++) {
        free(f->v[i].name);
        free(f->v[i].skip);
        tg_str_free(&f->v[i].img);
    }
    free(f->v);
    memset(f, 0, sizeof(*f));
}

/* Index of name, or of where it would go. */
static int lower_bound(const vf_flux *f, const char *name)
{
    int lo = 0, hi = f->n;

    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (sqlite3_stricmp(f->v[mid].name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const vf_fluxtab *vf_flux_find(const vf_flux *f, const char *name)
{
    int i = lower_bound(f, name);
    return i < f->n && sqlite3_stricmp(f->v[i].name, name) == 0 ? &f->v[i]
                                                                : NULL;
}

static vf_fluxtab *flux_get(vf_flux *f, const char *name)
{
    int i = lower_bound(f, name);

    if (i < f->n && sqlite3_stricmp(f->v[i].name, name) == 0)
        return &f->v[i];
    if (f->n == f->cap) {
        int cap = f->cap ? f->cap * 2 : 16;
        vf_fluxtab *v = realloc(f->v, (size_t)cap * sizeof(*v));
        if (v == NULL)
            return NULL;
        f->v = v;
        f->cap = cap;
    }
    memmove(&f->v[i + 1], &f->v[i], (size_t)(f->n - i) * sizeof(*f->v));
    memset(&f->v[i], 0, sizeof(f->v[i]));
    if ((f->v[i].name = strdup(name)) == NULL) {
        memmove(&f->v[i], &f->v[i + 1], (size_t)(f->n - i) * sizeof(*f->v));
        return NULL;
    }
    f->n++;
    return &f->v[i];
}

static int set_skip(vf_fluxtab *t, const char *why)
{
    if ((t->skip = strdup(why)) == NULL)
        return -1;
    tg_str_free(&t->img);           /* its keys are no longer needed */
    t->nimg = 0;
    return 0;
}

/* ---- images ---- */

static void put_u32(tg_str *s, uint32_t v)
{
    tg_str_add(s, (const char *)&v, 4);
}

static void put_value(tg_str *s, const char *name, const jr_value *v)
{
    unsigned char ty = (unsigned char)v->type;
    uint64_t n;

    put_u32(s, (uint32_t)strlen(name));
    tg_str_adds(s, name);
    tg_str_add(s, (const char *)&ty, 1);
    switch (v->type) {
    case JR_INT:
        tg_str_add(s, (const char *)&v->u.i, 8);
        break;
    case JR_REAL:
        tg_str_add(s, (const char *)&v->u.r, 8);
        break;
    case JR_TEXT:
    case JR_BLOB:
        n = v->u.b.n;
        tg_str_add(s, (const char *)&n, 8);
        if (n > 0)
            tg_str_add(s, v->u.b.p, v->u.b.n);
        break;
    default:
        break;
    }
}

static int row_col(const jr_row *r, const char *name)
{
    for (uint32_t i = 0; i < r->n; i++)
        if (sqlite3_stricmp(r->names[i], name) == 0)
            return (int)i;
    return -1;
}

/* Append image `row`, or with `keys` only row's columns named in keys.
** 0; 1 when row lacks one of them; -1 out of memory. */
static int add_image(vf_fluxtab *t, const jr_row *row, const jr_row *keys)
{
    const jr_row *cols = keys ? keys : row;
    size_t mark = t->img.len;

    put_u32(&t->img, cols->n);
    for (uint32_t k = 0; k < cols->n; k++) {
        int i = keys ? row_col(row, keys->names[k]) : (int)k;
        if (i < 0) {
            t->img.len = mark;
            return 1;
        }
        put_value(&t->img, row->names[i], &row->vals[i]);
    }
    if (t->img.oom)
        return -1;
    t->nimg++;
    return 0;
}

static const char *what_of(int kind)
{
    switch (kind) {
    case JR_K_SCHEMA:
        return "a schema change";
    case JR_K_SNAP_BEGIN:
    case JR_K_SNAP_END:
        return "a re-snapshot";
    case JR_K_TRUNCATE:
        return "a truncation";
    case JR_K_DROP:
        return "a drop";
    default:
        return "a record of an unknown kind";
    }
}

int vf_flux_add(vf_flux *f, const jr_entry *en, jr_err *e)
{
    const jr_record *r = &en->rec;
    vf_fluxtab *t;
    char why[300];
    int rc;

    if (r->kind == JR_K_ABORT)
        return 0;
    if ((t = flux_get(f, r->table)) == NULL)
        return vf_fail(e, VF_FATAL_SW, "out of memory");
    if (t->skip != NULL)
        return 0;
    if (r->kind != JR_K_INSERT && r->kind != JR_K_UPDATE &&
        r->kind != JR_K_DELETE) {
        snprintf(why, sizeof(why), "%s of this table was journaled while "
                 "verifying (seq %" PRIu64 "): its rows cannot be compared "
                 "across the two snapshots", what_of(r->kind), en->seq);
        return set_skip(t, why) == 0 ? 0
                   : vf_fail(e, VF_FATAL_SW, "out of memory");
    }
    if (r->key.n == 0 || r->old_row.n > 0) {
        snprintf(why, sizeof(why), "a change to this table, which has no "
                 "primary key, was journaled while verifying (seq %" PRIu64
                 "): its rows cannot be set aside by key", en->seq);
        return set_skip(t, why) == 0 ? 0
                   : vf_fail(e, VF_FATAL_SW, "out of memory");
    }
    rc = add_image(t, &r->key, NULL);
    if (rc == 0 && r->kind != JR_K_DELETE)
        rc = add_image(t, &r->new_row, &r->key);
    if (rc == 1) {
        snprintf(why, sizeof(why), "a change journaled while verifying "
                 "(seq %" PRIu64 ") lacks a key column in its new image",
                 en->seq);
        rc = set_skip(t, why);
    }
    return rc == 0 ? 0 : vf_fail(e, VF_FATAL_SW, "out of memory");
}

/* ---- key sets ---- */

struct vf_keyslot {
    uint64_t h;
    size_t off, len;
    int used;
};

static uint64_t fnv(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

void vf_keyset_free(vf_keyset *ks)
{
    if (ks == NULL)
        return;
    free(ks->slot);
    tg_str_free(&ks->arena);
    tg_str_free(&ks->scratch);
    memset(ks, 0, sizeof(*ks));
}

static struct vf_keyslot *slot_of(struct vf_keyslot *v, size_t cap,
                                  const tg_str *arena, uint64_t h,
                                  const char *p, size_t n)
{
    size_t i = (size_t)h & (cap - 1);

    while (v[i].used && !(v[i].h == h && v[i].len == n &&
                          (n == 0 || memcmp(arena->p + v[i].off, p, n) == 0)))
        i = (i + 1) & (cap - 1);
    return &v[i];
}

/* 0 added or present, -1 out of memory. */
static int keyset_add(vf_keyset *ks, const char *p, size_t n)
{
    uint64_t h = fnv(p, n);
    struct vf_keyslot *s;

    if ((ks->n + 1) * 4 > ks->cap * 3) {
        size_t cap = ks->cap ? ks->cap * 2 : 64;
        struct vf_keyslot *v = calloc(cap, sizeof(*v));
        if (v == NULL)
            return -1;
        for (size_t i = 0; i < ks->cap; i++) {
            size_t j;
            if (!ks->slot[i].used)
                continue;
            for (j = (size_t)ks->slot[i].h & (cap - 1); v[j].used;
                 j = (j + 1) & (cap - 1))
                ;
            v[j] = ks->slot[i];
        }
        free(ks->slot);
        ks->slot = v;
        ks->cap = cap;
    }
    s = slot_of(ks->slot, ks->cap, &ks->arena, h, p, n);
    if (s->used)
        return 0;
    s->h = h;
    s->off = ks->arena.len;
    s->len = n;
    tg_str_add(&ks->arena, p, n);
    if (ks->arena.oom)
        return -1;
    s->used = 1;
    ks->n++;
    return 0;
}

static uint32_t get_u32(const char **p)
{
    uint32_t v;
    memcpy(&v, *p, 4);
    *p += 4;
    return v;
}

/* Read one value of an image at *p; its name into name and nlen. */
static void get_value(const char **p, const char **name, uint32_t *nlen,
                      jr_value *v)
{
    uint64_t n;

    *nlen = get_u32(p);
    *name = *p;
    *p += *nlen;
    memset(v, 0, sizeof(*v));
    v->type = (unsigned char)**p;
    *p += 1;
    switch (v->type) {
    case JR_INT:
        memcpy(&v->u.i, *p, 8);
        *p += 8;
        break;
    case JR_REAL:
        memcpy(&v->u.r, *p, 8);
        *p += 8;
        break;
    case JR_TEXT:
    case JR_BLOB:
        memcpy(&n, *p, 8);
        *p += 8;
        v->u.b.p = *p;
        v->u.b.n = (size_t)n;
        *p += n;
        break;
    default:
        break;
    }
}

int vf_keyset_build(vf_keyset *ks, const vf_table *t, const vf_fluxtab *ft,
                    char *why, size_t cap, jr_err *e)
{
    const char *p = ft->img.p, *end = ft->img.p + ft->img.len;
    jr_value *kv = calloc((size_t)t->nkey + 1, sizeof(jr_value));
    int *found = calloc((size_t)t->nkey + 1, sizeof(int));
    vf_val v;
    int ret = -1;

    if (kv == NULL || found == NULL) {
        vf_fail(e, VF_FATAL_SW, "out of memory");
        goto out;
    }
    while (p != NULL && p < end) {
        uint32_t ncols = get_u32(&p);
        memset(found, 0, (size_t)t->nkey * sizeof(int));
        for (uint32_t c = 0; c < ncols; c++) {
            const char *name;
            uint32_t nlen;
            jr_value jv;
            get_value(&p, &name, &nlen, &jv);
            for (int k = 0; k < t->nkey; k++) {
                const char *kn = t->cols[t->key[k]].sname;
                if (strlen(kn) == nlen && sqlite3_strnicmp(kn, name,
                                                           (int)nlen) == 0) {
                    kv[k] = jv;
                    found[k] = 1;
                }
            }
        }
        ks->scratch.len = 0;
        for (int k = 0; k < t->nkey; k++) {
            const vf_col *col = &t->cols[t->key[k]];
            if (!found[k]) {
                snprintf(why, cap, "a change journaled while verifying "
                         "does not carry key column %s", col->sname);
                ret = 1;
                goto out;
            }
            vf_canon_jr(col, &kv[k], &v);
            if (vf_val_encode(&ks->scratch, &v) != 0)
                break;
        }
        if (ks->scratch.oom ||
            keyset_add(ks, ks->scratch.p ? ks->scratch.p : "",
                       ks->scratch.len) != 0) {
            vf_fail(e, VF_FATAL_SW, "out of memory");
            goto out;
        }
    }
    ret = 0;
out:
    free(kv);
    free(found);
    return ret;
}

int vf_keyset_has(vf_keyset *ks, const vf_table *t, const vf_val *vals)
{
    if (ks->n == 0)
        return 0;
    ks->scratch.len = 0;
    for (int k = 0; k < t->nkey; k++)
        if (vf_val_encode(&ks->scratch, &vals[t->key[k]]) != 0)
            return -1;
    return slot_of(ks->slot, ks->cap, &ks->arena,
                   fnv(ks->scratch.p ? ks->scratch.p : "", ks->scratch.len),
                   ks->scratch.p, ks->scratch.len)->used;
}
