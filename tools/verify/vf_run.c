/*
** vf_run.c -- one table from start to result.
**
**   describe the source table -> plan against the target (vf_plan)
**   -> open a read snapshot on both sides -> compare -> close them.
**
** The comparison ladder (each step only when the one before cannot
** work; what a stopped step found is discarded):
**   1. merge in key order, target text keys ordered by their collation
**      where it is a *_bin one (uses the primary key index);
**   2. the target stream was out of order (a PAD SPACE collation puts
**      'a\n' before 'a'): merge again with text keys ordered by bytes;
**   3. still out of order, or the source is (mixed types or date texts
**      with different offsets in one key column): multiset comparison.
** Tables with no key usable on the target go straight to 3.
**
** INVARIANTS:
**  (U1) a table's result is ERROR when it could not be compared, DIFF
**       when a difference was found, ok only after a complete comparison
**       of every row on both sides.
**  (U2) only failures that end the whole run (connection lost, source
**       unreadable, out of memory) are returned; the rest become the
**       table's ERROR result.
**  (U3) live mode (x->live): no snapshot is opened or closed here (the
**       run holds one per side, vf_live.c); a table the window marked
**       skipped is not compared, and the keys in flux of the others are
**       left out (vf_merge, vf_multiset).
*/
#include <stdio.h>
#include <string.h>

#include "sl_log.h"
#include "vf.h"

static int has_natural_text_key(const vf_table *t)
{
    for (int k = 0; k < t->nkey; k++) {
        const vf_col *c = &t->cols[t->key[k]];
        if (c->kind == VF_K_BYTES && c->text && c->natural_order)
            return 1;
    }
    return 0;
}

static int compare(vf_ctx *x, const vf_table *t, vf_result *r, jr_err *e)
{
    int force = 0, rc;

    if (t->ncols == 0) {
        /* no column in common (each is a structural difference): only
        ** the row counts can be compared */
        r->mode = "none";
        if (vf_src_count(x->sdb, t->name, &r->src_rows, e) != 0 ||
            vf_tgt_count(x->tdb, t->name, &r->tgt_rows, e) != 0)
            return -1;
        if (r->src_rows > r->tgt_rows)
            r->missing = r->src_rows - r->tgt_rows;
        else
            r->extra = r->tgt_rows - r->src_rows;
        return 0;
    }
    if (t->multiset) {
        r->mode = "multiset";
        return vf_multiset(x, t, r, e);
    }
    for (;;) {
        rc = vf_merge(x, t, force, r, e);
        if (rc == VF_MERGE_OK || rc == VF_MERGE_ERR)
            return rc == VF_MERGE_OK ? 0 : -1;
        vf_result_reset(r);
        if (rc == VF_MERGE_TGT_ORDER && !force && has_natural_text_key(t)) {
            SL_LOG(SL_INFO, "verify.reorder", "table=%s reason=\"target "
                   "collation does not sort text keys by bytes\"", t->name);
            force = 1;
            continue;
        }
        SL_LOG(SL_INFO, "verify.multiset", "table=%s side=%s", t->name,
               rc == VF_MERGE_SRC_ORDER ? "source" : "target");
        vf_result_note(r, "the %s's keys are not in the order of the other "
                       "side's; compared as multisets of rows",
                       rc == VF_MERGE_SRC_ORDER ? "source" : "target");
        r->mode = "multiset";
        return vf_multiset(x, t, r, e);
    }
}

/* Target has no such table: every source row is missing. */
static int no_target_table(vf_ctx *x, const char *name, vf_result *r,
                           jr_err *e)
{
    uint64_t n = 0;

    if (vf_src_count(x->sdb, name, &n, e) != 0)
        return -1;
    r->mode = "none";
    r->src_rows = n;
    r->missing = n;
    r->nstruct++;
    vf_result_note(r, "the target has no table %s", name);
    return 0;
}

/* Live mode: set the table's keys in flux aside (t->flux), or say why it
** cannot be compared (0 and r skipped). -1 only for fatal errors. */
static int live_prepare(vf_ctx *x, vf_table *t, const vf_srctable *s,
                        vf_keyset *ks, vf_result *r, jr_err *e)
{
    const vf_fluxtab *ft = vf_flux_find(&x->live->flux, t->name);
    char why[300];
    int rc;

    if (ft == NULL || ft->nimg == 0)
        return 0;
    if (s->nkey == 0 || t->nkey == 0) {
        vf_result_note(r, "changes to this table were journaled while "
                       "verifying, and it has %s: its rows cannot be set "
                       "aside by key", s->nkey == 0 ? "no primary key"
                                                   : "no key usable on the "
                                                     "target");
        r->status = VF_ST_SKIPPED;
        return 0;
    }
    rc = vf_keyset_build(ks, t, ft, why, sizeof(why), e);
    if (rc < 0)
        return -1;
    if (rc == 1) {
        vf_result_note(r, "%s", why);
        r->status = VF_ST_SKIPPED;
        return 0;
    }
    t->flux = ks;
    r->in_flux = ks->n;
    return 0;
}

int vf_run_table(vf_ctx *x, const char *name, vf_result *r, jr_err *e)
{
    vf_srctable s;
    vf_table t;
    vf_keyset ks;
    jr_err te = { 0 };
    int rc;

    memset(&t, 0, sizeof(t));
    memset(&ks, 0, sizeof(ks));
    if (x->live != NULL) {
        const vf_fluxtab *ft = vf_flux_find(&x->live->flux, name);
        r->live = 1;
        if (ft != NULL && ft->skip != NULL) {
            vf_result_note(r, "%s", ft->skip);
            r->status = VF_ST_SKIPPED;
            return 0;
        }
    }
    rc = vf_src_describe(x->sdb, name, &s, &te);
    if (rc == 1) {
        vf_result_note(r, "no such table in the source");
        r->status = VF_ST_ERROR;
        vf_srctable_free(&s);
        return 0;
    }
    if (rc == 0)
        rc = vf_plan(x, &s, &t, &te);
    if (rc == 1) {
        rc = no_target_table(x, name, r, &te);
    } else if (rc == 0 && x->live != NULL) {
        /* both snapshots are already open, for the whole run */
        rc = live_prepare(x, &t, &s, &ks, r, &te);
        if (rc == 0 && r->status == VF_ST_SKIPPED) {
            vf_table_free(&t);
            vf_srctable_free(&s);
            tg_tables_clear(&x->ts);
            return 0;
        }
        if (rc == 0 && t.note[0]) {
            vf_result_note(r, "%s", t.note);
            r->nstruct += t.nstruct;
        }
        if (rc == 0)
            rc = compare(x, &t, r, &te);
    } else if (rc == 0) {
        if (t.note[0]) {
            vf_result_note(r, "%s", t.note);
            r->nstruct += t.nstruct;
        }
        if (vf_src_begin(x->sdb, &te) == 0 && vf_tgt_begin(x->tdb, &te) == 0)
            rc = compare(x, &t, r, &te);
        else
            rc = -1;
        vf_src_end(x->sdb);
        vf_tgt_end(x->tdb);
    }
    vf_keyset_free(&ks);
    vf_table_free(&t);
    vf_srctable_free(&s);
    tg_tables_clear(&x->ts);
    if (rc != 0 && te.code != JR_OK) {
        if (te.cls) {
            vf_fail(e, te.cls, "%s", te.msg);
            return -1;
        }
        vf_result_reset(r);
        vf_result_note(r, "%s", te.msg);
        r->status = VF_ST_ERROR;
        return 0;
    }
    vf_result_finish(r);
    return 0;
}
