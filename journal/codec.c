/*
** codec.c -- encoding of one record inside a batch payload.
**
** Layout (all varints are unsigned LEB128; see FORMAT.md):
**   u32 LE body_len | u8 kind | u8 flags | varint group_back |
**   varint zigzag(time_us) | str table | row key | row new | row old |
**   varint aux_len | aux
**   row   = varint n, then n x (str name, value)
**   str   = varint len, len bytes, one 0 byte (so views are C strings)
**   value = u8 type, then INT: varint zigzag | REAL: 8 bytes LE (raw bits)
**           | TEXT/BLOB: varint len, bytes | NULL: nothing
**
** INVARIANTS (C2 checked with SL_CHECK in SLUICE_DEBUG builds; C1 by
** tests/fuzz/fuzz_journal.c and the golden files):
**  (C1) decode(encode(r)) == r bit for bit: integers exact, doubles by
**       their bit pattern (NaN payloads, -0.0), text/blob byte-exact, NULL,
**       empty text and empty blob distinct.
**  (C2) the decoder never reads outside [p, end): every length is checked
**       before use; malformed input yields JR_ECORRUPT, never garbage.
**  (C3) decoded views point into the payload (names are stored with their
**       terminating NUL) or into the decoder's scratch arrays.
*/
#include <stdlib.h>
#include <string.h>

#include "jr_internal.h"

/* ---- buffer ---- */

int jr__buf_reserve(jr__buf *b, size_t extra)
{
    size_t need = b->len + extra, cap;
    unsigned char *p;

    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    p = realloc(b->p, cap);
    if (p == NULL)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

void jr__buf_free(jr__buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* ---- primitives (callers reserve space first) ---- */

static void put_varint(jr__buf *b, uint64_t v)
{
    while (v >= 0x80) {
        b->p[b->len++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    b->p[b->len++] = (unsigned char)v;
}

static uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static int row_check(const jr_row *r, const char *what, jr_err *err)
{
    if (r->n > 0 && (r->names == NULL || r->vals == NULL))
        return jr_err_set(err, JR_ERR, 0, JR_D_NONE, 0, "jr_writer_append",
                          "record %s row has %u columns but no arrays",
                          what, r->n);
    for (uint32_t i = 0; i < r->n; i++) {
        const jr_value *v = &r->vals[i];
        if (r->names[i] == NULL)
            return jr_err_set(err, JR_ERR, 0, JR_D_NONE, 0, "jr_writer_append",
                              "record %s column %u has no name", what, i);
        if (v->type < JR_NULL || v->type > JR_BLOB)
            return jr_err_set(err, JR_ERR, 0, JR_D_NONE, 0, "jr_writer_append",
                              "record %s column %s has invalid type %d",
                              what, r->names[i], v->type);
        if ((v->type == JR_TEXT || v->type == JR_BLOB) && v->u.b.n > 0 &&
            v->u.b.p == NULL)
            return jr_err_set(err, JR_ERR, 0, JR_D_NONE, 0, "jr_writer_append",
                              "record %s column %s: NULL data, length %zu",
                              what, r->names[i], v->u.b.n);
    }
    return JR_OK;
}

/* Append one row; reserves as it goes (one pass, each name measured
** once). */
static int put_row(jr__buf *b, const jr_row *r)
{
    if (jr__buf_reserve(b, 10) != 0)
        return -1;
    put_varint(b, r->n);
    for (uint32_t i = 0; i < r->n; i++) {
        const jr_value *v = &r->vals[i];
        size_t l = strlen(r->names[i]);
        size_t vn = (v->type == JR_TEXT || v->type == JR_BLOB) ? v->u.b.n
                                                                : 0;
        if (jr__buf_reserve(b, l + vn + 32) != 0)
            return -1;
        put_varint(b, l);
        memcpy(b->p + b->len, r->names[i], l);
        b->len += l;
        b->p[b->len++] = 0;
        b->p[b->len++] = (unsigned char)v->type;
        switch (v->type) {
        case JR_INT:
            put_varint(b, zigzag(v->u.i));
            break;
        case JR_REAL: {
            uint64_t bits;
            memcpy(&bits, &v->u.r, 8);
            jr__put_le64(b->p + b->len, bits);
            b->len += 8;
            break;
        }
        case JR_TEXT:
        case JR_BLOB:
            put_varint(b, vn);
            if (vn)
                memcpy(b->p + b->len, v->u.b.p, vn);
            b->len += vn;
            break;
        default:
            break;
        }
    }
    return 0;
}

int jr__rec_encode(jr__buf *out, const jr_record *rec, uint64_t group_back,
                   int group_end, jr_err *err)
{
    const char *table = rec->table ? rec->table : "";
    size_t tlen = strlen(table), start = out->len, body;
    int rc;

    if (rec->kind < JR_K_INSERT || rec->kind > JR_K_ABORT)
        return jr_err_set(err, JR_ERR, 0, JR_D_NONE, 0, "jr_writer_append",
                          "invalid record kind %d", rec->kind);
    if (rec->aux_len > 0 && rec->aux == NULL)
        return jr_err_set(err, JR_ERR, 0, JR_D_NONE, 0, "jr_writer_append",
                          "record aux has length %zu but no data",
                          rec->aux_len);
    if ((rc = row_check(&rec->key, "key", err)) != JR_OK ||
        (rc = row_check(&rec->new_row, "new", err)) != JR_OK ||
        (rc = row_check(&rec->old_row, "old", err)) != JR_OK)
        return rc;
    if (jr__buf_reserve(out, 4 + 2 + 10 + 10 + 10 + tlen + 1) != 0)
        goto oom;
    out->len += 4;                          /* body length, filled below */
    out->p[out->len++] = (unsigned char)rec->kind;
    out->p[out->len++] = group_end ? JR_REC_F_GROUP_END : 0;
    put_varint(out, group_back);
    put_varint(out, zigzag(rec->time_us));
    put_varint(out, tlen);
    memcpy(out->p + out->len, table, tlen);
    out->len += tlen;
    out->p[out->len++] = 0;
    if (put_row(out, &rec->key) != 0 || put_row(out, &rec->new_row) != 0 ||
        put_row(out, &rec->old_row) != 0 ||
        jr__buf_reserve(out, 10 + rec->aux_len) != 0)
        goto oom;
    put_varint(out, rec->aux_len);
    if (rec->aux_len)
        memcpy(out->p + out->len, rec->aux, rec->aux_len);
    out->len += rec->aux_len;
    body = out->len - start - 4;
    if (body > UINT32_MAX) {
        out->len = start;
        return jr_err_set(err, JR_ERR, 0, JR_D_NONE, 0, "jr_writer_append",
                          "record of %zu bytes is too large (4 GiB limit)",
                          body);
    }
    jr__put_le32(out->p + start, (uint32_t)body);
    return JR_OK;
oom:
    out->len = start;
    return jr__err_oom(err);
}

/* ---- decoding ---- */

typedef struct rd {
    const unsigned char *p, *end;
    int bad;
} rd;

static uint64_t get_varint(rd *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) break;
        unsigned char c = *r->p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80))
            return v;
    }
    r->bad = 1;
    return 0;
}

static const void *get_bytes(rd *r, uint64_t n)
{
    const void *p = r->p;
    if (r->bad || n > (uint64_t)(r->end - r->p)) {
        r->bad = 1;
        return NULL;
    }
    r->p += n;
    return p;
}

static const char *get_str(rd *r)
{
    uint64_t l = get_varint(r);
    const char *s;

    if (l >= (uint64_t)(r->end - r->p)) {  /* l + 1 would wrap at 2^64-1 */
        r->bad = 1;
        return NULL;
    }
    s = get_bytes(r, l + 1);
    if (s == NULL || s[l] != 0) {
        r->bad = 1;
        return NULL;
    }
    return s;
}

static int dec_grow(jr__dec *d, uint32_t need)
{
    uint32_t cap = d->cap ? d->cap : 32;
    const char **nn;
    jr_value *nv;

    while (cap < need)
        cap *= 2;
    nn = realloc(d->names, cap * sizeof(*nn));
    if (nn == NULL)
        return -1;
    d->names = nn;
    nv = realloc(d->vals, cap * sizeof(*nv));
    if (nv == NULL)
        return -1;
    d->vals = nv;
    d->cap = cap;
    return 0;
}

/* Decode one row into scratch slots starting at *used. */
static int get_row(jr__dec *d, rd *r, uint32_t *used, uint32_t *n,
                   jr_err *err)
{
    uint64_t cnt = get_varint(r);

    /* every column takes at least 3 bytes: bounds the allocation */
    if (r->bad || cnt > (uint64_t)(r->end - r->p) / 3) {
        r->bad = 1;
        return JR_OK;
    }
    if (*used + cnt > d->cap && dec_grow(d, (uint32_t)(*used + cnt)) != 0)
        return jr__err_oom(err);
    for (uint64_t i = 0; i < cnt && !r->bad; i++) {
        jr_value *v = &d->vals[*used + i];
        const unsigned char *b;

        d->names[*used + i] = get_str(r);
        b = get_bytes(r, 1);
        if (b == NULL)
            break;
        v->type = *b;
        switch (v->type) {
        case JR_NULL:
            break;
        case JR_INT:
            v->u.i = unzigzag(get_varint(r));
            break;
        case JR_REAL: {
            const unsigned char *q = get_bytes(r, 8);
            uint64_t bits;
            if (q == NULL)
                break;
            bits = jr__get_le64(q);
            memcpy(&v->u.r, &bits, 8);
            break;
        }
        case JR_TEXT:
        case JR_BLOB:
            v->u.b.n = (size_t)get_varint(r);
            v->u.b.p = get_bytes(r, v->u.b.n);
            break;
        default:
            r->bad = 1;
        }
    }
    *n = (uint32_t)cnt;
    *used += (uint32_t)cnt;
    return JR_OK;
}

int jr__rec_decode(jr__dec *d, const unsigned char **pp,
                   const unsigned char *end, jr_entry *e, jr_err *err)
{
    rd r = { *pp, end, 0 };
    uint64_t body, back;
    uint32_t used = 0, nk = 0, nn = 0, no = 0;
    const unsigned char *b;
    int rc;

    if (end - r.p < 4)
        goto corrupt;
    body = jr__get_le32(r.p);
    r.p += 4;
    if (body > (uint64_t)(end - r.p) || body < 2)
        goto corrupt;
    r.end = r.p + body;
    b = get_bytes(&r, 2);
    e->rec.kind = b[0];
    e->group_end = (b[1] & JR_REC_F_GROUP_END) != 0;
    back = get_varint(&r);
    e->rec.time_us = unzigzag(get_varint(&r));
    e->rec.table = get_str(&r);
    if ((rc = get_row(d, &r, &used, &nk, err)) != JR_OK ||
        (rc = get_row(d, &r, &used, &nn, err)) != JR_OK ||
        (rc = get_row(d, &r, &used, &no, err)) != JR_OK)
        return rc;
    e->rec.aux_len = (size_t)get_varint(&r);
    e->rec.aux = get_bytes(&r, e->rec.aux_len);
    SL_CHECK(r.p <= r.end && r.end <= end);           /* C2 */
    if (r.bad || r.p != r.end || back >= e->seq ||
        e->rec.kind < JR_K_INSERT || e->rec.kind > JR_K_ABORT)
        goto corrupt;
    if (e->rec.aux_len == 0)
        e->rec.aux = NULL;
    e->group = e->seq - back;
    /* scratch may have moved while growing: point rows at it only now
    ** (a record without any column may find no scratch at all, and NULL
    ** plus an offset, even 0, is undefined) */
    if (d->names == NULL) {
        e->rec.key.n = e->rec.new_row.n = e->rec.old_row.n = 0;
        e->rec.key.names = e->rec.new_row.names = e->rec.old_row.names =
            NULL;
        e->rec.key.vals = e->rec.new_row.vals = e->rec.old_row.vals = NULL;
        *pp = r.end;
        return JR_OK;
    }
    e->rec.key.n = nk;
    e->rec.key.names = d->names;
    e->rec.key.vals = d->vals;
    e->rec.new_row.n = nn;
    e->rec.new_row.names = d->names + nk;
    e->rec.new_row.vals = d->vals + nk;
    e->rec.old_row.n = no;
    e->rec.old_row.names = d->names + nk + nn;
    e->rec.old_row.vals = d->vals + nk + nn;
    *pp = r.end;
    return JR_OK;
corrupt:
    return jr_err_set(err, JR_ECORRUPT, 0, JR_D_NONE, 0, "decode",
                      "seq %llu: malformed record encoding",
                      (unsigned long long)e->seq);
}

void jr__dec_free(jr__dec *d)
{
    free(d->names);
    free(d->vals);
    memset(d, 0, sizeof(*d));
}

const char *jr_kind_name(int kind)
{
    static const char *const names[] = {
        "?", "insert", "update", "delete", "schema", "snapshot_begin",
        "snapshot_end", "truncate", "drop", "abort"
    };
    if (kind < 1 || kind > JR_K_ABORT)
        return "?";
    return names[kind];
}
