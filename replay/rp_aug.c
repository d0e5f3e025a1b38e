/*
** rp_aug.c -- the columns replay adds to a row for the target to keep
** distinct source keys apart (the target table says which it has):
**   sqlite_sluice_class     created table, untyped key: the storage
**                           classes of the key's values, one letter per
**                           key column (n, i, r, t, b), in the key
**   sqlite_sluice_class_N   created table, UNIQUE set N over an untyped
**                           column: the classes of that set's values, in
**                           its unique index (1 and '1' are two values)
**   sqlite_sluice_key_N     user table, UNIQUE set N over such a column
**                           (see below): the set's source values, so
**                           that PERROW's conflict delete (rp_apply.c)
**                           removes only the rows SQLite's REPLACE did
**   sqlite_sluice_key       user table whose key type can make distinct
**                           source keys one value (a DATETIME, a number
**                           column fed text, BINARY): the source key that
**                           wrote the row, compared by the merge guard
**                           (rp_stmt.c) and by deletes
**
** LEDGER FORMAT (sqlite_sluice_key, and _N): per column, in key order, the
** class letter, then the value -- an integer (or a real holding a whole
** number: SQLite compares 1.0 and 1 as one value) as 'i' and its decimal,
** another real as 'r' and %.17g,
** text or blob as its length in decimal, ':' and its bytes -- then ';'.
** Injective: two source keys have the same ledger only when SQLite sees
** one key.
**
** INVARIANT: the added columns follow the row's own, in the order
** class, class_N, key_N (in the target's order), key; every row of one
** table gets the same names, so rows still batch (rp__stmt_fits).
*/
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rp.h"

static const char letter[] = "nirtb";

static const jr_value *value_of(const jr_row *row, const char *name)
{
    for (uint32_t i = 0; i < row->n; i++)
        if (strcasecmp(row->names[i], name) == 0)
            return &row->vals[i];
    return NULL;
}

static char class_of(const jr_value *v)
{
    if (v == NULL)
        return 'n';
    return v->type >= 0 && v->type <= 4 ? letter[v->type] : '?';
}

/* A real holding a whole number within int64: SQLite compares 1.0 and 1
** as one value (a UNIQUE or key conflict), so must the added columns. */
static int whole(double r, int64_t *out)
{
    if (!(r >= -9223372036854775808.0 && r < 9223372036854775808.0) ||
        r != (double)(int64_t)r)
        return 0;
    *out = (int64_t)r;
    return 1;
}

/* class_of, with a whole real as an integer (sqlite_sluice_class_N) */
static char value_class(const jr_value *v)
{
    int64_t i;
    if (v != NULL && v->type == JR_REAL && whole(v->u.r, &i))
        return 'i';
    return class_of(v);
}

void rp__key_class(const jr_row *row, const jr_row *key, char *out,
                   size_t cap)
{
    size_t o = 0;

    for (uint32_t k = 0; k < key->n && o + 1 < cap; k++)
        out[o++] = class_of(value_of(row, key->names[k]));
    out[o] = 0;
}

static void ledger_of(tg_str *s, const jr_row *row,
                      const char *const *names, uint32_t n)
{
    for (uint32_t k = 0; k < n; k++) {
        const jr_value *v = value_of(row, names[k]);
        char c = value_class(v);
        int64_t w;
        tg_str_add(s, &c, 1);
        if (v != NULL && v->type == JR_INT)
            tg_str_addf(s, "%" PRId64, v->u.i);
        else if (v != NULL && v->type == JR_REAL && whole(v->u.r, &w))
            tg_str_addf(s, "%" PRId64, w);
        else if (v != NULL && v->type == JR_REAL)
            tg_str_addf(s, "%.17g", v->u.r);
        else if (v != NULL && (v->type == JR_TEXT || v->type == JR_BLOB)) {
            tg_str_addf(s, "%zu:", v->u.b.n);
            tg_str_add(s, v->u.b.p, v->u.b.n);
        }
        tg_str_adds(s, ";");
    }
}

void rp__ledger(tg_str *s, const jr_row *row, const jr_row *key)
{
    ledger_of(s, row, key->names, key->n);
}

void rp__ledger_show(char *out, size_t cap, const jr_row *key,
                     const char *p, size_t n)
{
    const char *end = p + n;
    size_t o = 0;

    out[0] = 0;
    for (uint32_t k = 0; k < key->n && p < end && o + 8 < cap; k++) {
        jr_value v = { 0 };
        char shown[120], num[40];
        const char *semi;
        char c = *p++;
        if (c == 't' || c == 'b') {
            size_t len = 0;
            while (p < end && *p >= '0' && *p <= '9' && len < SIZE_MAX / 16)
                len = len * 10 + (size_t)(*p++ - '0');
            /* "len:" then len bytes then ';', all inside the value */
            if (p >= end || *p != ':' || len >= (size_t)(end - p - 1) ||
                p[1 + len] != ';')
                break;
            v.type = c == 't' ? JR_TEXT : JR_BLOB;
            v.u.b.p = p + 1;
            v.u.b.n = len;
            p += 1 + len + 1;
        } else {
            semi = memchr(p, ';', (size_t)(end - p));
            if (semi == NULL || (size_t)(semi - p) >= sizeof(num))
                break;
            memcpy(num, p, (size_t)(semi - p));
            num[semi - p] = 0;
            v.type = c == 'i' ? JR_INT : c == 'r' ? JR_REAL : JR_NULL;
            if (c == 'i')
                v.u.i = strtoll(num, NULL, 10);
            else if (c == 'r')
                v.u.r = strtod(num, NULL);
            p = semi + 1;
        }
        tg_value_show(shown, sizeof(shown), &v);
        o += (size_t)snprintf(out + o, cap - o, "%s%s=%s", k ? ", " : "",
                              key->names[k], shown);
    }
}

/* one more column for g's row: name and text value at buf offset off */
static int push(rp_aug *g, uint32_t n, const char *name, size_t off,
                size_t len, int type)
{
    if (n >= g->cap) {
        uint32_t cap = g->cap ? g->cap * 2 : 16;
        const char **nn;
        jr_value *nv;
        while (cap <= n)
            cap *= 2;
        if ((nn = realloc(g->names, cap * sizeof(char *))) == NULL)
            return -1;
        g->names = nn;
        if ((nv = realloc(g->vals, cap * sizeof(jr_value))) == NULL)
            return -1;
        g->vals = nv;
        g->cap = cap;
    }
    g->names[n] = name;
    g->vals[n].type = type;
    g->vals[n].u.b.p = (const void *)(uintptr_t)off;   /* fixed up later */
    g->vals[n].u.b.n = len;
    return 0;
}

int rp__augment(rp_aug *g, const tg_table *t, const jr_row *r,
                const jr_row *from, const jr_row *key, int sets,
                jr_row *out)
{
    uint32_t n = r->n;

    if (t->class_col < 0 && t->ledger_col < 0 &&
        (!sets || (t->nuclass == 0 && t->nuledger == 0))) {
        *out = *r;
        return 0;
    }
    g->buf.len = 0;
    for (uint32_t i = 0; i < r->n; i++)
        if (push(g, i, r->names[i], 0, 0, 0) != 0)
            return -1;
    if (r->n > 0) {
        memcpy(g->vals, r->vals, r->n * sizeof(jr_value));
    }
    if (t->class_col >= 0) {
        size_t off = g->buf.len;
        for (uint32_t k = 0; k < key->n; k++) {
            char c = class_of(value_of(from, key->names[k]));
            tg_str_add(&g->buf, &c, 1);
        }
        if (push(g, n++, TG_CLASS_COL, off, g->buf.len - off, JR_TEXT))
            return -1;
    }
    for (int u = 0; sets && u < t->nuclass; u++) {
        size_t off = g->buf.len;
        for (int k = 0; k < t->uclass[u].n; k++) {
            char c = value_class(value_of(from, t->uclass[u].names[k]));
            tg_str_add(&g->buf, &c, 1);
        }
        if (push(g, n++, t->cols[t->uclass[u].col].name, off,
                 g->buf.len - off, JR_TEXT) != 0)
            return -1;
    }
    for (int u = 0; sets && u < t->nuledger; u++) {
        size_t off = g->buf.len;
        ledger_of(&g->buf, from, (const char *const *)t->uledger[u].names,
                  (uint32_t)t->uledger[u].n);
        if (push(g, n++, t->cols[t->uledger[u].col].name, off,
                 g->buf.len - off, JR_BLOB) != 0)
            return -1;
    }
    if (t->ledger_col >= 0) {
        size_t off = g->buf.len;
        rp__ledger(&g->buf, from, key);
        if (push(g, n++, TG_LEDGER_COL, off, g->buf.len - off, JR_BLOB))
            return -1;
    }
    if (g->buf.oom)
        return -1;
    for (uint32_t i = r->n; i < n; i++)   /* the buffer moves no more */
        g->vals[i].u.b.p = g->buf.p != NULL
                               ? g->buf.p + (uintptr_t)g->vals[i].u.b.p
                               : "";
    out->n = n;
    out->names = g->names;
    out->vals = g->vals;
    return 0;
}

void rp__aug_free(rp_aug *g)
{
    free(g->names);
    free(g->vals);
    tg_str_free(&g->buf);
    memset(g, 0, sizeof(*g));
}
