/*
** vf_multiset.c -- compare one table as two multisets of rows.
**
** Used when there is no key to merge on (a keyless source table whose
** target has no rowid column) or when the two sides cannot be read in one
** common key order. Each row is reduced to the canonical encoding of its
** compared columns (vf_val_encode) and hashed to 128 bits; a hash table
** counts +1 per source row and -1 per target row. What is left non-zero
** is missing (> 0) or extra (< 0). A changed value therefore shows as one
** missing plus one extra row: without a key, rows cannot be paired.
**
** Bounded memory: rows are split into P partitions by hash, P chosen so
** that a partition holds about --hash-rows rows per side; each pass reads
** both tables again and keeps only its partition in the hash table. The
** rows to show are found by one more read of each side, only when there
** are differences.
**
** INVARIANTS:
**  (H1) equal rows have equal encodings, so they cancel; rows that differ
**       in any compared value differ in encoding (a false match needs a
**       128-bit hash collision).
**  (H2) every row is counted in exactly one partition (by its hash).
**  (H3) live mode: a row whose key is in t->flux (tables with a key that
**       fell back here for its order) is left out on both sides, in every
**       pass; keyless tables with changes in flux never get here.
*/
#include <stdlib.h>
#include <string.h>

#include "vf.h"

/* ---- MurmurHash3 x64 128 (Austin Appleby, public domain) ---- */

static uint64_t rotl(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

static uint64_t fmix(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

static void hash128(const void *key, size_t len, uint64_t *o1, uint64_t *o2)
{
    const unsigned char *d = key;
    const uint64_t c1 = 0x87c37b91114253d5ULL, c2 = 0x4cf5ad432745937fULL;
    uint64_t h1 = 0x736c75696365ULL, h2 = 0x7665726966790aULL, k1, k2;
    size_t nb = len / 16, i;

    for (i = 0; i < nb; i++) {
        memcpy(&k1, d + i * 16, 8);
        memcpy(&k2, d + i * 16 + 8, 8);
        k1 *= c1; k1 = rotl(k1, 31); k1 *= c2; h1 ^= k1;
        h1 = rotl(h1, 27); h1 += h2; h1 = h1 * 5 + 0x52dce729;
        k2 *= c2; k2 = rotl(k2, 33); k2 *= c1; h2 ^= k2;
        h2 = rotl(h2, 31); h2 += h1; h2 = h2 * 5 + 0x38495ab5;
    }
    {
        unsigned char tail[16] = { 0 };
        memcpy(tail, d + nb * 16, len & 15);
        memcpy(&k1, tail, 8);
        memcpy(&k2, tail + 8, 8);
        if ((len & 15) > 8) {
            k2 *= c2; k2 = rotl(k2, 33); k2 *= c1; h2 ^= k2;
        }
        if ((len & 15) > 0) {
            k1 *= c1; k1 = rotl(k1, 31); k1 *= c2; h1 ^= k1;
        }
    }
    h1 ^= (uint64_t)len;
    h2 ^= (uint64_t)len;
    h1 += h2;
    h2 += h1;
    h1 = fmix(h1);
    h2 = fmix(h2);
    h1 += h2;
    h2 += h1;
    *o1 = h1;
    *o2 = h2;
}

/* ---- counting hash table ---- */

typedef struct ent {
    uint64_t a, b;           /* (0, 0) = empty slot */
    int64_t n;
} ent;

typedef struct hmap {
    ent *v;
    size_t cap, used;        /* cap: power of two */
} hmap;

static int map_init(hmap *m, size_t want)
{
    size_t cap = 1024;

    while (cap < want * 2 && cap < ((size_t)1 << 40))
        cap *= 2;
    m->v = calloc(cap, sizeof(ent));
    m->cap = cap;
    m->used = 0;
    return m->v ? 0 : -1;
}

static void map_clear(hmap *m)
{
    memset(m->v, 0, m->cap * sizeof(ent));
    m->used = 0;
}

static ent *map_slot(ent *v, size_t cap, uint64_t a, uint64_t b)
{
    size_t i = (size_t)b & (cap - 1);

    while ((v[i].a != 0 || v[i].b != 0) && (v[i].a != a || v[i].b != b))
        i = (i + 1) & (cap - 1);
    return &v[i];
}

static int map_add(hmap *m, uint64_t a, uint64_t b, int64_t d)
{
    ent *s;

    if (a == 0 && b == 0)
        a = 1;
    if ((m->used + 1) * 4 > m->cap * 3) {
        size_t cap = m->cap * 2;
        ent *v = calloc(cap, sizeof(ent));
        if (v == NULL)
            return -1;
        for (size_t i = 0; i < m->cap; i++)
            if (m->v[i].a != 0 || m->v[i].b != 0)
                *map_slot(v, cap, m->v[i].a, m->v[i].b) = m->v[i];
        free(m->v);
        m->v = v;
        m->cap = cap;
    }
    s = map_slot(m->v, m->cap, a, b);
    if (s->a == 0 && s->b == 0) {
        s->a = a;
        s->b = b;
        m->used++;
    }
    s->n += d;
    return 0;
}

/* ---- reading rows ---- */

typedef struct shown {
    uint64_t a, b;
    int64_t n;
    int done;
} shown;

typedef struct mctx {
    vf_ctx *x;
    const vf_table *t;
    vf_val *v;
    tg_str enc;
} mctx;

/* Encode the current row of a side and hash it. */
static int row_hash(mctx *c, sqlite3_stmt *st, MYSQL_ROW row,
                    unsigned long *lens, uint64_t *a, uint64_t *b)
{
    c->enc.len = 0;
    for (int i = 0; i < c->t->ncols; i++) {
        if (st != NULL)
            vf_canon_src(&c->t->cols[i], st, i, &c->v[i]);
        else
            vf_canon_tgt(&c->t->cols[i], row[i], lens[i], &c->v[i]);
        if (vf_val_encode(&c->enc, &c->v[i]) != 0)
            return -1;
    }
    hash128(c->enc.p ? c->enc.p : "", c->enc.len, a, b);
    if (*a == 0 && *b == 0)
        *a = 1;
    return 0;
}

/* One full read of one side. Per row: hash, then either add it to the
** map (partition p of np) or, with `want`, report it if it is wanted. */
static int scan(mctx *c, int target, hmap *m, uint64_t p, uint64_t np,
                uint64_t *rows, shown *want, int nwant, vf_result *r,
                jr_err *e)
{
    sqlite3_stmt *st = NULL;
    MYSQL_RES *res = NULL;
    MYSQL_ROW row = NULL;
    unsigned long *lens = NULL;
    int ret = -1;

    if (!target ? vf_src_select(c->x->sdb, c->t, 0, &st, e)
                : vf_tgt_select(c->x->tdb, c->t, 0, 0, &res, e))
        return -1;
    for (;;) {
        uint64_t a, b;
        int rc;
        if (!target) {
            rc = sqlite3_step(st);
            if (rc == SQLITE_DONE)
                break;
            if (rc != SQLITE_ROW) {
                vf_fail(e, 0, "source: reading %s: %s", c->t->name,
                        sqlite3_errmsg(c->x->sdb));
                goto out;
            }
        } else {
            rc = vf_tgt_next(c->x->tdb, res, &row, &lens, e);
            if (rc < 0)
                goto out;
            if (rc == 0)
                break;
        }
        if (row_hash(c, st, row, lens, &a, &b) != 0) {
            vf_fail(e, VF_FATAL_SW, "out of memory");
            goto out;
        }
        if (c->t->flux != NULL && c->t->nkey > 0) {
            /* live mode: a row whose key is in flux is left out */
            int in = vf_keyset_has(c->t->flux, c->t, c->v);
            if (in < 0) {
                vf_fail(e, VF_FATAL_SW, "out of memory");
                goto out;
            }
            if (in)
                continue;
        }
        if (rows != NULL)
            (*rows)++;
        if (want == NULL) {
            if (a % np == p && map_add(m, a, b, target ? -1 : 1) != 0) {
                vf_fail(e, VF_FATAL_SW, "out of memory");
                goto out;
            }
            continue;
        }
        for (int i = 0; i < nwant; i++) {
            char kb[600];
            vf_item *it;
            if (want[i].done || want[i].a != a || want[i].b != b)
                continue;
            want[i].done = 1;
            if (!target)
                vf_key_show_src(kb, sizeof(kb), c->t, st, 1);
            else
                vf_key_show_tgt(kb, sizeof(kb), c->t, row, lens, 1);
            it = vf_result_item(r, target ? VF_IT_EXTRA : VF_IT_MISSING, 1,
                                kb);
            if (it != NULL)
                it->count = (uint64_t)(want[i].n < 0 ? -want[i].n
                                                     : want[i].n);
        }
    }
    ret = 0;
out:
    sqlite3_finalize(st);
    if (res != NULL)
        mysql_free_result(res);
    return ret;
}

int vf_multiset(vf_ctx *x, const vf_table *t, vf_result *r, jr_err *e)
{
    mctx c;
    hmap m = { 0 };
    uint64_t ns = 0, nt = 0, np, per = (uint64_t)x->cfg->hash_rows;
    int nmiss = 0, nextra = 0, ret = -1;
    int cap = r->max_items > 0 ? r->max_items : 1;
    shown *miss = calloc((size_t)cap, sizeof(shown));
    shown *extra = calloc((size_t)cap, sizeof(shown));

    memset(&c, 0, sizeof(c));
    c.x = x;
    c.t = t;
    c.v = calloc((size_t)t->ncols + 1, sizeof(vf_val));
    if (miss == NULL || extra == NULL || c.v == NULL) {
        vf_fail(e, VF_FATAL_SW, "out of memory");
        goto out;
    }
    if (vf_src_count(x->sdb, t->name, &ns, e) != 0 ||
        vf_tgt_count(x->tdb, t->name, &nt, e) != 0)
        goto out;
    np = ((ns > nt ? ns : nt) + per - 1) / per;
    if (np == 0)
        np = 1;
    if (map_init(&m, (size_t)((ns + nt) / np + 16)) != 0) {
        vf_fail(e, VF_FATAL_SW, "out of memory");
        goto out;
    }
    for (uint64_t p = 0; p < np; p++) {
        if (p > 0)
            map_clear(&m);
        if (scan(&c, 0, &m, p, np, p == 0 ? &r->src_rows : NULL, NULL, 0,
                 r, e) != 0 ||
            scan(&c, 1, &m, p, np, p == 0 ? &r->tgt_rows : NULL, NULL, 0,
                 r, e) != 0)
            goto out;
        for (size_t i = 0; i < m.cap; i++) {
            const ent *s = &m.v[i];
            if (s->n > 0) {
                r->missing += (uint64_t)s->n;
                if (nmiss < cap)
                    miss[nmiss++] = (shown){ s->a, s->b, s->n, 0 };
            } else if (s->n < 0) {
                r->extra += (uint64_t)-s->n;
                if (nextra < cap)
                    extra[nextra++] = (shown){ s->a, s->b, s->n, 0 };
            }
        }
    }
    if (r->max_items > 0 && nmiss > 0 &&
        scan(&c, 0, NULL, 0, 1, NULL, miss, nmiss, r, e) != 0)
        goto out;
    if (r->max_items > 0 && nextra > 0 &&
        scan(&c, 1, NULL, 0, 1, NULL, extra, nextra, r, e) != 0)
        goto out;
    ret = 0;
out:
    free(m.v);
    free(miss);
    free(extra);
    free(c.v);
    tg_str_free(&c.enc);
    return ret;
}
