/*
** vf_value.c -- canonical values: what a source value becomes in a target
** column, and what the target column holds, in one comparable form.
**
** A value of either side is mapped, by the target column's kind, to one
** of: NULL; NUM (an exact int64, or a double); DEC (a DECIMAL at the
** column's scale, canonical text); BYTES (text, blobs, dates as UTC
** 'YYYY-MM-DD HH:MM:SS.ffffff', times); BAD (a source value the column
** cannot hold, so it can equal nothing the target returns).
**
** A source value is first converted by replay's value policy
** (target/tg_policy.c, tg_convert: the exact value replay writes --
** DECIMAL rounded to its scale, fractional seconds truncated, dates in
** UTC, reals in their shortest text, 'true'/'false' in a BOOLEAN, TIME
** by its documented rule); the result is then read exactly as a value
** the target returns is read (vf_canon_tgt). So verify agrees with replay
** on every value, and any value changed behind sluice's back differs:
**   INT/BOOL/BIT  integers exact
**   DOUBLE        the double itself, bit-exact (only the sign of zero is
**                 lost, so -0 counts as +0)
**   FLOAT         rounded to float; the target column is read as
**                 CAST(col AS DOUBLE), which is exact
**   DECIMAL       numerically at the column's scale
**   DATETIME/DATE 'YYYY-MM-DD HH:MM:SS.ffffff' at the column's digits
**   TIME          "[-]HH:MM:SS.ffffff"
**   BYTES         text and blobs byte-exact
**
** INVARIANTS:
**  (V1) vf_val_cmp is a total order and returns 0 exactly when the two
**       canonical values are equal; vf_val_encode gives equal bytes for
**       equal values (the multiset hash relies on it).
**  (V2) a source value is never made equal to a target value by being
**       altered beyond what the target column itself does to it.
*/
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vf.h"
#include "sl_utf8.h"

static void set_null(vf_val *v)
{
    v->cls = VF_NULL;
    v->isint = 0;
    v->p = NULL;
    v->n = 0;
}

static void set_int(vf_val *v, int64_t i)
{
    v->cls = VF_NUM;
    v->isint = 1;
    v->i = i;
    v->p = NULL;
    v->n = 0;
}

static void set_real(vf_val *v, double r)
{
    v->cls = VF_NUM;
    v->isint = 0;
    v->r = r == 0 ? 0.0 : r;          /* -0 reads back as 0 */
    v->p = NULL;
    v->n = 0;
}

static void set_bytes(vf_val *v, int cls, const void *p, size_t n)
{
    v->cls = cls;
    v->isint = 0;
    v->p = p ? p : "";
    v->n = n;
}

/* buf holds a NUL-terminated string: make it the value's bytes */
static void set_buf(vf_val *v, int cls)
{
    set_bytes(v, cls, v->buf, strlen(v->buf));
}

/* Strict number text -> double, through buf (numbers longer than buf
** are refused). 0 ok, -1 not a number. */
static int text_real(vf_val *v, const char *p, size_t n, double *out)
{
    if (n >= sizeof(v->buf) || !tg_is_number(p, n))
        return -1;
    memcpy(v->buf, p, n);
    v->buf[n] = 0;
    *out = strtod(v->buf, NULL);
    return 0;
}

/* A source value the column cannot hold: BAD, with its own bytes. */
static void bad_jr(vf_val *v, const jr_value *jv)
{
    if (jv->type == JR_TEXT || jv->type == JR_BLOB) {
        set_bytes(v, VF_BAD, jv->u.b.p, jv->u.b.n);
    } else if (jv->type == JR_INT) {
        snprintf(v->buf, sizeof(v->buf), "%" PRId64, jv->u.i);
        set_buf(v, VF_BAD);
    } else {
        snprintf(v->buf, sizeof(v->buf), "%.17g", jv->u.r);
        set_buf(v, VF_BAD);
    }
}

/* The source value as SQLite holds it. */
static void jr_of(sqlite3_stmt *st, int i, jr_value *jv)
{
    memset(jv, 0, sizeof(*jv));
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER:
        jv->type = JR_INT;
        jv->u.i = sqlite3_column_int64(st, i);
        break;
    case SQLITE_FLOAT:
        jv->type = JR_REAL;
        jv->u.r = sqlite3_column_double(st, i);
        break;
    case SQLITE_TEXT:
        jv->type = JR_TEXT;
        jv->u.b.p = sqlite3_column_text(st, i);
        jv->u.b.n = (size_t)sqlite3_column_bytes(st, i);
        break;
    case SQLITE_BLOB:
        jv->type = JR_BLOB;
        jv->u.b.p = sqlite3_column_blob(st, i);
        jv->u.b.n = (size_t)sqlite3_column_bytes(st, i);
        break;
    default:
        jv->type = JR_NULL;
        break;
    }
}

/* The source value becomes what replay's value policy writes into the
** column (tg_convert, the one policy both programs follow); that text is
** then read the way the target's text is. A value the policy refuses is
** BAD: it can equal nothing the target holds. */
void vf_canon_src(const vf_col *c, sqlite3_stmt *st, int i, vf_val *v)
{
    jr_value jv;

    jr_of(st, i, &jv);
    vf_canon_jr(c, &jv, v);
}

/* The same for a value held as a jr_value (a journal record's key):
** vf_canon_src is this, so both give one canonical form. */
void vf_canon_jr(const vf_col *c, const jr_value *jvp, vf_val *v)
{
    char why[300], tmp[sizeof(((tg_conv *)0)->buf)];
    const jr_value jv = *jvp;
    tg_conv cv;
    int64_t iv;

    if (jv.type == JR_NULL) {
        set_null(v);
        return;
    }
    if (tg_convert(&cv, &c->rc, &jv, 0, why, sizeof(why)) != 0) {
        bad_jr(v, &jv);
        return;
    }
    if (cv.kind == TG_CV_NULL) {
        set_null(v);
        return;
    }
    if (c->kind == VF_K_BYTES) {
        if (cv.p == cv.buf) {                /* a number's text */
            memcpy(v->buf, cv.buf, cv.n + 1);
            set_buf(v, VF_BYTES);
        } else {                             /* the row's own bytes */
            set_bytes(v, VF_BYTES, cv.p, cv.n);
        }
        return;
    }
    if (cv.n >= sizeof(tmp)) {
        bad_jr(v, &jv);
        return;
    }
    memcpy(tmp, cv.p, cv.n);
    tmp[cv.n] = 0;
    if (c->kind == VF_K_BIT) {
        if (tg_parse_i64(tmp, cv.n, &iv) == 0)
            set_int(v, iv);
        else
            bad_jr(v, &jv);
        return;
    }
    vf_canon_tgt(c, tmp, (unsigned long)cv.n, v);
    if (v->cls == VF_BAD)
        bad_jr(v, &jv);
}

void vf_canon_tgt(const vf_col *c, const char *p, unsigned long n,
                  vf_val *v)
{
    int64_t iv;
    double r;

    if (p == NULL) {
        set_null(v);
        return;
    }
    switch (c->kind) {
    case VF_K_INT:
    case VF_K_BOOL:
        if (tg_parse_i64(p, n, &iv) == 0)
            set_int(v, iv);
        else
            set_bytes(v, VF_BAD, p, n);
        return;
    case VF_K_BIT: {
        uint64_t u = 0;
        if (n > 8) {
            set_bytes(v, VF_BAD, p, n);
            return;
        }
        for (unsigned long k = 0; k < n; k++)
            u = (u << 8) | (unsigned char)p[k];
        set_int(v, (int64_t)u);
        return;
    }
    case VF_K_DOUBLE:
    case VF_K_FLOAT:
        if (text_real(v, p, n, &r) == 0)
            set_real(v, c->kind == VF_K_FLOAT ? (double)(float)r : r);
        else
            set_bytes(v, VF_BAD, p, n);
        return;
    case VF_K_DECIMAL:
        if (tg_dec_norm(p, n, c->scale, v->buf, sizeof(v->buf)) == 0)
            set_buf(v, VF_DEC);
        else
            set_bytes(v, VF_BAD, p, n);
        return;
    case VF_K_DATETIME:
    case VF_K_DATE:
        if (tg_datetime_norm(p, n, c->frac, c->kind == VF_K_DATE, v->buf,
                             sizeof(v->buf)) == 0)
            set_buf(v, VF_BYTES);
        else
            set_bytes(v, VF_BAD, p, n);
        return;
    case VF_K_TIME:
        if (tg_time_norm(p, n, c->frac, v->buf, sizeof(v->buf)) == 0)
            set_buf(v, VF_BYTES);
        else
            set_bytes(v, VF_BAD, p, n);
        return;
    default:
        set_bytes(v, VF_BYTES, p, n);
        return;
    }
}

/* SQLite's integer/real comparison (sqlite3IntFloatCompare). */
static int int_real_cmp(int64_t i, double r)
{
    int64_t y;
    double s;

    if (r < -9223372036854775808.0)
        return 1;
    if (r >= 9223372036854775808.0)
        return -1;
    y = (int64_t)r;
    if (i < y)
        return -1;
    if (i > y)
        return 1;
    s = (double)i;
    return s < r ? -1 : s > r;
}

static int bytes_cmp(const vf_val *a, const vf_val *b)
{
    size_t m = a->n < b->n ? a->n : b->n;
    int c = m ? memcmp(a->p, b->p, m) : 0;

    if (c != 0)
        return c < 0 ? -1 : 1;
    return a->n < b->n ? -1 : a->n > b->n;
}

int vf_val_cmp(const vf_val *a, const vf_val *b)
{
    int c;

    if (a->cls != b->cls)
        return a->cls < b->cls ? -1 : 1;
    switch (a->cls) {
    case VF_NULL:
        return 0;
    case VF_NUM:
        if (a->isint && b->isint)
            return a->i < b->i ? -1 : a->i > b->i;
        if (!a->isint && !b->isint)
            return a->r < b->r ? -1 : a->r > b->r;
        if (a->isint) {
            c = int_real_cmp(a->i, b->r);
            return c != 0 ? c : -1;        /* equal value: int first */
        }
        c = -int_real_cmp(b->i, a->r);
        return c != 0 ? c : 1;
    case VF_DEC:
        return tg_dec_cmp(a->p, a->n, b->p, b->n);
    default:
        return bytes_cmp(a, b);
    }
}

int vf_val_encode(tg_str *s, const vf_val *v)
{
    unsigned char b[9];
    uint64_t u;

    b[0] = (unsigned char)(v->cls * 2 + v->isint);
    if (v->cls == VF_NULL) {
        tg_str_add(s, (const char *)b, 1);
        return s->oom ? -1 : 0;
    }
    if (v->cls == VF_NUM) {
        if (v->isint)
            u = (uint64_t)v->i;
        else
            memcpy(&u, &v->r, 8);
    } else {
        u = (uint64_t)v->n;
    }
    for (int k = 0; k < 8; k++)
        b[1 + k] = (unsigned char)(u >> (8 * k));
    tg_str_add(s, (const char *)b, 9);
    if (v->cls != VF_NUM && v->n > 0)
        tg_str_add(s, v->p, v->n);
    return s->oom ? -1 : 0;
}

/* ---- display ---- */

static void show_hex(char *buf, size_t cap, const unsigned char *p,
                     size_t n)
{
    size_t o = (size_t)snprintf(buf, cap, "x'");

    for (size_t k = 0; k < n && k < 24 && o + 4 < cap; k++)
        o += (size_t)snprintf(buf + o, cap - o, "%02x", p[k]);
    snprintf(buf + o, cap - o, "'%s", n > 24 ? "..." : "");
}

/* 'text' with control characters escaped, cut at ~60 bytes on a
** character boundary; x'..' when not valid UTF-8. */
static void show_text(char *buf, size_t cap, const char *p, size_t n)
{
    size_t o = 0, k = 0;

    if (!sl_utf8_valid(p, n, 0)) {
        show_hex(buf, cap, (const unsigned char *)p, n);
        return;
    }
    if (cap < 16) {
        buf[0] = 0;
        return;
    }
    buf[o++] = '\'';
    for (; k < n && k < 60 && o + 8 < cap; k++) {
        unsigned char ch = (unsigned char)p[k];
        if (ch == '\n') {
            buf[o++] = '\\';
            buf[o++] = 'n';
        } else if (ch == '\t') {
            buf[o++] = '\\';
            buf[o++] = 't';
        } else if (ch < 0x20 || ch == 0x7f) {
            o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", ch);
        } else {
            buf[o++] = (char)ch;
        }
    }
    while (k < n && ((unsigned char)p[k] & 0xc0) == 0x80 && o + 5 < cap)
        buf[o++] = p[k++];               /* finish the last character */
    buf[o++] = '\'';
    if (k < n && o + 4 < cap) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = 0;
}

void vf_show_src(char *buf, size_t cap, sqlite3_stmt *st, int i)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_NULL:
        snprintf(buf, cap, "NULL");
        break;
    case SQLITE_INTEGER:
        snprintf(buf, cap, "%" PRId64, (int64_t)sqlite3_column_int64(st, i));
        break;
    case SQLITE_FLOAT:
        snprintf(buf, cap, "%.17g", sqlite3_column_double(st, i));
        break;
    case SQLITE_TEXT:
        show_text(buf, cap, (const char *)sqlite3_column_text(st, i),
                  (size_t)sqlite3_column_bytes(st, i));
        break;
    default:
        show_hex(buf, cap, sqlite3_column_blob(st, i),
                 (size_t)sqlite3_column_bytes(st, i));
        break;
    }
}

static int printable(const char *p, size_t n)
{
    if (!sl_utf8_valid(p, n, 0))
        return 0;
    for (size_t k = 0; k < n; k++)
        if ((unsigned char)p[k] < 0x20 && p[k] != '\n' && p[k] != '\t')
            return 0;
    return 1;
}

void vf_show_tgt(char *buf, size_t cap, const vf_col *c, const char *p,
                 unsigned long n)
{
    if (p == NULL) {
        snprintf(buf, cap, "NULL");
        return;
    }
    switch (c->kind) {
    case VF_K_INT:
    case VF_K_BOOL:
    case VF_K_DOUBLE:
    case VF_K_FLOAT:
    case VF_K_DECIMAL:
        snprintf(buf, cap, "%.*s", (int)(n > 60 ? 60 : n), p);
        return;
    case VF_K_BIT: {
        vf_val v;
        vf_canon_tgt(c, p, n, &v);
        if (v.cls == VF_NUM)
            snprintf(buf, cap, "%" PRId64, v.i);
        else
            show_hex(buf, cap, (const unsigned char *)p, n);
        return;
    }
    default:
        if (c->rc.kind == TG_T_BINARY && !printable(p, n))
            show_hex(buf, cap, (const unsigned char *)p, n);
        else
            show_text(buf, cap, p, n);
        return;
    }
}

/* ---- saved keys ---- */

int vf_keycopy_set(vf_keycopy *k, const vf_table *t, const vf_val *vals)
{
    size_t need = 0, o = 0;

    if (k->v == NULL) {
        k->v = calloc((size_t)t->nkey, sizeof(vf_val));
        if (k->v == NULL)
            return -1;
        k->n = t->nkey;
    }
    for (int i = 0; i < t->nkey; i++)
        need += vals[t->key[i]].n + 1;
    if (need > k->cap) {
        char *p = realloc(k->arena, need);
        if (p == NULL)
            return -1;
        k->arena = p;
        k->cap = need;
    }
    for (int i = 0; i < t->nkey; i++) {
        const vf_val *s = &vals[t->key[i]];
        vf_val *d = &k->v[i];
        d->cls = s->cls;
        d->isint = s->isint;
        d->i = s->i;
        d->r = s->r;
        d->n = s->n;
        d->p = k->arena + o;
        if (s->n > 0)
            memcpy(k->arena + o, s->p, s->n);
        k->arena[o + s->n] = 0;
        o += s->n + 1;
    }
    return 0;
}

void vf_keycopy_free(vf_keycopy *k)
{
    free(k->v);
    free(k->arena);
    memset(k, 0, sizeof(*k));
}

int vf_key_cmp_saved(const vf_table *t, const vf_val *vals,
                     const vf_keycopy *k)
{
    for (int i = 0; i < t->nkey; i++) {
        int c = vf_val_cmp(&vals[t->key[i]], &k->v[i]);
        if (c != 0)
            return c;
    }
    return 0;
}

int vf_key_cmp(const vf_table *t, const vf_val *a, const vf_val *b)
{
    for (int i = 0; i < t->nkey; i++) {
        int c = vf_val_cmp(&a[t->key[i]], &b[t->key[i]]);
        if (c != 0)
            return c;
    }
    return 0;
}
