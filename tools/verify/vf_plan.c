/*
** vf_plan.c -- what is compared: source columns matched to target
** columns by name (case-insensitively, as replay matches them), each
** with the way its values compare (its target type), and the key.
**
** The key is the source's primary key, in pk order. A table without one
** is keyed by its rowid, which replay writes into a target column named
** like the journal's rowid_name (rowid, oid or _rowid_); when the target
** has no such column -- or lacks a key column -- there is no key to merge
** on and the table is compared as a multiset of rows.
**
** INVARIANTS:
**  (P1) every source column is either compared or reported as a
**       structural difference (the target lacks it); target-only columns
**       and target generated columns (replay never writes them) are not
**       compared.
**  (P2) cols[] is the SELECT list of both sides, in the same order.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vf.h"

void vf_table_free(vf_table *t)
{
    if (t == NULL)
        return;
    for (int i = 0; i < t->ncols; i++) {
        free(t->cols[i].sname);
        free(t->cols[i].tname);
    }
    free(t->cols);
    free(t->key);
    free(t->name);
    memset(t, 0, sizeof(*t));
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

static void kind_of(vf_col *c, const tg_col *rc, const vf_tgtcol *x)
{
    c->frac = rc->frac;
    c->scale = x->scale;
    switch (rc->kind) {
    case TG_T_INT:
    case TG_T_UINT:
    case TG_T_YEAR:
        c->kind = VF_K_INT;
        break;
    case TG_T_BOOL:
        c->kind = VF_K_BOOL;
        break;
    case TG_T_BIT:
        c->kind = VF_K_BIT;
        break;
    case TG_T_FLOAT:
        c->kind = strcasecmp(rc->data_type, "float") == 0 ? VF_K_FLOAT
                                                          : VF_K_DOUBLE;
        break;
    case TG_T_DECIMAL:
        c->kind = VF_K_DECIMAL;
        break;
    case TG_T_DATETIME:
        c->kind = VF_K_DATETIME;
        break;
    case TG_T_DATE:
        c->kind = VF_K_DATE;
        break;
    case TG_T_TIME:
        c->kind = VF_K_TIME;
        break;
    default:
        c->kind = VF_K_BYTES;
        break;
    }
    c->text = c->kind == VF_K_BYTES && x->collation != NULL;
    c->natural_order = c->text && x->charset != NULL &&
                       (strncasecmp(x->charset, "utf8", 4) == 0) &&
                       ends_with(x->collation, "_bin");
}

static void add_note(vf_table *t, const char *fmt, const char *arg)
{
    size_t o = strlen(t->note);

    if (o > 0 && o + 2 < sizeof(t->note)) {
        memcpy(t->note + o, "; ", 3);
        o += 2;
    }
    snprintf(t->note + o, sizeof(t->note) - o, fmt, arg);
    t->nstruct++;
}

static int add_col(vf_table *t, const char *sname, const tg_table *rt,
                   int tc, const vf_tgtcol *x)
{
    vf_col *c = &t->cols[t->ncols];

    memset(c, 0, sizeof(*c));
    c->sname = strdup(sname);
    c->tname = strdup(rt->cols[tc].name);
    if (c->sname == NULL || c->tname == NULL) {
        free(c->sname);
        free(c->tname);
        return -1;
    }
    c->rc = rt->cols[tc];
    kind_of(c, &rt->cols[tc], &x[tc]);
    return t->ncols++;
}

int vf_plan(vf_ctx *x, const vf_srctable *s, vf_table *t, jr_err *e)
{
    tg_table *rt;
    vf_tgtcol *tx;
    int *at = NULL;               /* source column -> cols index or -1 */

    memset(t, 0, sizeof(*t));
    if (vf_tgt_describe(x->tdb, &x->ts, s->name, &rt, &tx, e) != 0)
        return -1;
    if (rt == NULL)
        return 1;
    t->name = strdup(s->name);
    t->cols = calloc((size_t)s->ncols + 1, sizeof(vf_col));
    t->key = calloc((size_t)s->nkey + 1, sizeof(int));
    at = calloc((size_t)s->ncols + 1, sizeof(int));
    if (t->name == NULL || t->cols == NULL || t->key == NULL || at == NULL)
        goto oom;
    for (int i = 0; i < s->ncols; i++) {
        int tc = tg_table_col(rt, s->cols[i].name);
        at[i] = -1;
        if (tc < 0) {
            add_note(t, "target lacks column %s", s->cols[i].name);
            continue;
        }
        if (rt->cols[tc].generated && s->cols[i].pk == 0)
            continue;
        if ((at[i] = add_col(t, s->cols[i].name, rt, tc, tx)) < 0)
            goto oom;
    }
    if (s->nkey > 0) {
        t->nkey = s->nkey;
        for (int k = 1; k <= s->nkey; k++)
            for (int i = 0; i < s->ncols; i++)
                if (s->cols[i].pk == k) {
                    if (at[i] < 0)
                        t->multiset = 1;
                    t->key[k - 1] = at[i];
                }
    } else {
        int tc = s->rowid_alias ? tg_table_col(rt, s->rowid_alias) : -1;
        if (tc >= 0) {
            int c = add_col(t, s->rowid_alias, rt, tc, tx);
            if (c < 0)
                goto oom;
            t->nkey = 1;
            t->key[0] = c;
            t->rowid_key = 1;
        } else {
            t->multiset = 1;
        }
    }
    if (t->multiset)
        t->nkey = 0;
    free(at);
    vf_tgtcols_free(tx, rt->ncols);
    return 0;
oom:
    free(at);
    vf_tgtcols_free(tx, rt->ncols);
    vf_table_free(t);
    return vf_fail(e, VF_FATAL_SW, "out of memory");
}
