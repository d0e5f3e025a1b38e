/*
** vf_merge.c -- compare one table by merging both sides in key order.
**
** Both sides are read in key order (vf_src_select / vf_tgt_select) and
** walked like the merge step of a merge sort: the smaller key is a row
** only that side has (missing from the target, or extra in it); equal
** keys are the same row and its other columns are compared. Memory holds
** one row per side plus a copy of each side's previous key.
**
** The merge is only right if both streams are in the same order. Rather
** than trusting collations, each stream is checked: every key must be
** strictly greater than the one before, by vf_val_cmp. The first
** violation stops the merge with VF_MERGE_SRC_ORDER / VF_MERGE_TGT_ORDER
** and the caller retries another way (vf_run.c); nothing of a stopped
** merge is reported.
**
** Live mode: a row whose key is in t->flux (changed between the two
** snapshots, vf_live.c) is skipped on both sides right after the order
** check, so it is neither compared nor counted.
**
** INVARIANTS:
**  (M1) every row of each side is counted exactly once, and lands in
**       exactly one of: matched (equal or differing), missing, extra --
**       except, in live mode, rows whose key is in flux: none of them.
**  (M2) a result is complete only when both streams ended in order.
*/
#include <stdlib.h>
#include <string.h>

#include "vf.h"

typedef struct side {
    vf_val *v;                /* canonical values of the current row */
    vf_keycopy prev;
    int have_prev;
} side;

/* Live mode: is the current row's key one in flux (left out)? 1 yes, 0
** no, -1 out of memory. */
static int in_flux(const vf_table *t, const side *s, jr_err *e)
{
    int rc;

    if (t->flux == NULL)
        return 0;
    if ((rc = vf_keyset_has(t->flux, t, s->v)) < 0)
        return vf_fail(e, VF_FATAL_SW, "out of memory");
    return rc;
}

enum { KEY_IN_FLUX = 100 };     /* not a merge result: read on */

/* The key just read into s->v: out of order -> `order_rc`; else it
** becomes the previous key, and the row is 1 (compare it) or KEY_IN_FLUX;
** -1 on failure. */
static int accept_key(const vf_table *t, side *s, int order_rc, jr_err *e)
{
    int rc;

    if (s->have_prev && vf_key_cmp_saved(t, s->v, &s->prev) <= 0)
        return order_rc;
    if (vf_keycopy_set(&s->prev, t, s->v) != 0)
        return vf_fail(e, VF_FATAL_SW, "out of memory");
    s->have_prev = 1;
    if ((rc = in_flux(t, s, e)) == 0)
        return 1;
    return rc < 0 ? -1 : KEY_IN_FLUX;
}

static int src_next(const vf_table *t, sqlite3 *db, sqlite3_stmt *st,
                    side *s, jr_err *e)
{
    for (;;) {
        int rc = sqlite3_step(st);

        if (rc == SQLITE_DONE)
            return 0;
        if (rc != SQLITE_ROW)
            return vf_fail(e, 0, "source: reading %s: %s", t->name,
                           sqlite3_errmsg(db));
        for (int k = 0; k < t->nkey; k++)
            vf_canon_src(&t->cols[t->key[k]], st, t->key[k],
                         &s->v[t->key[k]]);
        rc = accept_key(t, s, VF_MERGE_SRC_ORDER + 1, e);
        if (rc != KEY_IN_FLUX)
            return rc;
    }
}

static int tgt_next(const vf_table *t, MYSQL *db, MYSQL_RES *res,
                    MYSQL_ROW *row, unsigned long **lens, side *s,
                    jr_err *e)
{
    for (;;) {
        int rc = vf_tgt_next(db, res, row, lens, e);

        if (rc <= 0)
            return rc;
        for (int k = 0; k < t->nkey; k++) {
            int i = t->key[k];
            vf_canon_tgt(&t->cols[i], (*row)[i], (*lens)[i], &s->v[i]);
        }
        rc = accept_key(t, s, VF_MERGE_TGT_ORDER + 1, e);
        if (rc != KEY_IN_FLUX)
            return rc;
    }
}

static int is_key(const vf_table *t, int i)
{
    for (int k = 0; k < t->nkey; k++)
        if (t->key[k] == i)
            return 1;
    return 0;
}

/* Same key on both sides: compare the other columns. */
static void compare_row(const vf_table *t, sqlite3_stmt *st, MYSQL_ROW row,
                        unsigned long *lens, side *s, side *g, vf_result *r)
{
    vf_item *it = NULL;
    int differs = 0;

    for (int i = 0; i < t->ncols; i++) {
        char sb[200], tb[200];
        if (is_key(t, i))
            continue;
        vf_canon_src(&t->cols[i], st, i, &s->v[i]);
        vf_canon_tgt(&t->cols[i], row[i], lens[i], &g->v[i]);
        if (vf_val_cmp(&s->v[i], &g->v[i]) == 0)
            continue;
        if (!differs && vf_result_room(r)) {
            char kb[400];
            vf_key_show_src(kb, sizeof(kb), t, st, 0);
            it = vf_result_item(r, VF_IT_DIFFERING, 0, kb);
        }
        differs = 1;
        if (it == NULL)
            break;
        vf_show_src(sb, sizeof(sb), st, i);
        vf_show_tgt(tb, sizeof(tb), &t->cols[i], row[i], lens[i]);
        vf_item_col(it, t->cols[i].sname, sb, tb);
    }
    if (differs)
        r->differing++;
}

int vf_merge(vf_ctx *x, const vf_table *t, int force_binary,
             vf_result *r, jr_err *e)
{
    sqlite3_stmt *st = NULL;
    MYSQL_RES *res = NULL;
    MYSQL_ROW row = NULL;
    unsigned long *lens = NULL;
    side s, g;
    int sh = 0, th = 0, ret = VF_MERGE_ERR;

    memset(&s, 0, sizeof(s));
    memset(&g, 0, sizeof(g));
    s.v = calloc((size_t)t->ncols + 1, sizeof(vf_val));
    g.v = calloc((size_t)t->ncols + 1, sizeof(vf_val));
    if (s.v == NULL || g.v == NULL) {
        vf_fail(e, VF_FATAL_SW, "out of memory");
        goto out;
    }
    if (vf_src_select(x->sdb, t, 1, &st, e) != 0 ||
        vf_tgt_select(x->tdb, t, 1, force_binary, &res, e) != 0)
        goto out;
    sh = src_next(t, x->sdb, st, &s, e);
    th = tgt_next(t, x->tdb, res, &row, &lens, &g, e);
    for (;;) {
        int c;
        char kb[400];

        if (sh < 0 || th < 0)
            goto out;
        if (sh > 1 || th > 1) {
            ret = sh > 1 ? VF_MERGE_SRC_ORDER : VF_MERGE_TGT_ORDER;
            goto out;
        }
        if (sh == 0 && th == 0)
            break;
        c = sh == 0 ? 1 : th == 0 ? -1 : vf_key_cmp(t, s.v, g.v);
        if (c < 0) {
            r->missing++;
            if (vf_result_room(r)) {
                vf_key_show_src(kb, sizeof(kb), t, st, 0);
                vf_result_item(r, VF_IT_MISSING, 0, kb);
            }
        } else if (c > 0) {
            r->extra++;
            if (vf_result_room(r)) {
                vf_key_show_tgt(kb, sizeof(kb), t, row, lens, 0);
                vf_result_item(r, VF_IT_EXTRA, 0, kb);
            }
        } else {
            compare_row(t, st, row, lens, &s, &g, r);
        }
        if (c <= 0) {
            r->src_rows++;
            sh = src_next(t, x->sdb, st, &s, e);
        }
        if (c >= 0) {
            r->tgt_rows++;
            th = tgt_next(t, x->tdb, res, &row, &lens, &g, e);
        }
    }
    ret = VF_MERGE_OK;
out:
    sqlite3_finalize(st);
    if (res != NULL)
        mysql_free_result(res);     /* reads what is left of the stream */
    vf_keycopy_free(&s.prev);
    vf_keycopy_free(&g.prev);
    free(s.v);
    free(g.v);
    return ret;
}
