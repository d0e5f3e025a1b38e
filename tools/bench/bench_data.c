/*
** bench_data.c -- the benchmark's data set: deterministic "orders" change
** records, a 64-bit record hash for read-back checks, and the raw-LMDB
** baseline's length-prefixed encoding.
**
** The data set imitates what capture journals for an application table:
**   orders(id INT PRIMARY KEY, customer_id INT, status TEXT, email TEXT,
**          created_at TEXT '2026-04-16 22:41:27.490 +00:00', amount REAL,
**          meta TEXT '{"sku":"K-4821","qty":3,"tags":[...],"channel":".."}',
**          note TEXT of 3..9 words)
** 86% inserts of new ids, 10% updates (full after-image) and 4% deletes
** (key only) of recently inserted ids. Everything derives from the seed, so
** two runs with one seed store identical bytes.
*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_data.h"
#include "bench_util.h"

#define VALS_PER_REC (1 + BD_NCOLS)       /* key value + after-image */
#define TEXT_MAX_PER_REC 400              /* generator bound, checked */

static uint64_t hash_u64(uint64_t x)
{
    uint64_t s = x;

    return bu_rng(&s);
}

/* ------------------------------------------------------------------ */
/* Record hash (same function for generated and read-back records)    */
/* ------------------------------------------------------------------ */

static uint64_t mix(uint64_t h, uint64_t w)
{
    h ^= w;
    h *= 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 29);
}

static uint64_t mix_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t w;

    h = mix(h, n);
    while (n >= 8) {
        memcpy(&w, b, 8);
        h = mix(h, w);
        b += 8;
        n -= 8;
    }
    w = 0;
    if (n > 0)
        memcpy(&w, b, n);
    return mix(h, w);
}

static uint64_t hash_row(uint64_t h, const jr_row *r)
{
    h = mix(h, r->n);
    for (uint32_t i = 0; i < r->n; i++) {
        const jr_value *v = &r->vals[i];
        uint64_t bits;

        h = mix_bytes(h, r->names[i], strlen(r->names[i]));
        h = mix(h, (uint64_t)v->type);
        switch (v->type) {
        case JR_INT:
            h = mix(h, (uint64_t)v->u.i);
            break;
        case JR_REAL:
            memcpy(&bits, &v->u.r, 8);
            h = mix(h, bits);
            break;
        case JR_TEXT:
        case JR_BLOB:
            h = mix_bytes(h, v->u.b.p, v->u.b.n);
            break;
        default:
            break;
        }
    }
    return h;
}

uint64_t bd_hash_record(const jr_record *r)
{
    uint64_t h = 0x736C75696365ull;  /* "sluice" */

    h = mix(h, (uint64_t)r->kind);
    h = mix_bytes(h, r->table, strlen(r->table));
    h = mix(h, (uint64_t)r->time_us);
    h = hash_row(h, &r->key);
    h = hash_row(h, &r->new_row);
    h = hash_row(h, &r->old_row);
    return mix_bytes(h, r->aux, r->aux_len);
}

/* ------------------------------------------------------------------ */
/* Data set                                                           */
/* ------------------------------------------------------------------ */

static const char *const k_key_names[] = { "id" };
static const char *const k_col_names[BD_NCOLS] = {
    "id", "customer_id", "status", "email", "created_at", "amount", "meta",
    "note"
};

static const char *const k_status_new[] = { "pending", "pending", "new" };
static const char *const k_status_upd[] = {
    "paid", "shipped", "delivered", "cancelled", "refunded", "on_hold"
};
static const char *const k_first[] = {
    "olivia", "liam", "emma", "noah", "amelia", "oliver", "ava", "elijah",
    "sophia", "lucas", "mia", "mateo", "isabella", "levi", "charlotte", "leo",
    "luna", "ezra", "harper", "james", "evelyn", "asher", "gianna", "henry",
    "aurora", "jack", "ella", "hudson", "nora", "ethan", "hazel", "grayson",
    "chloe", "kai", "layla", "theo", "lily", "sebastian", "zoe", "maya",
    "yuki", "arjun", "fatima", "omar", "ingrid", "lars", "chen", "priya"
};
static const char *const k_last[] = {
    "smith", "johnson", "williams", "brown", "jones", "garcia", "miller",
    "davis", "rodriguez", "martinez", "hernandez", "lopez", "gonzalez",
    "wilson", "anderson", "thomas", "taylor", "moore", "jackson", "martin",
    "lee", "perez", "thompson", "white", "harris", "sanchez", "clark",
    "ramirez", "lewis", "robinson", "walker", "young", "nguyen", "mueller",
    "rossi", "kowalski", "tanaka", "kim", "singh", "novak", "dubois", "silva"
};
static const char *const k_domain[] = {
    "example.com", "mail.example.org", "shop.test", "corp.example.net",
    "inbox.example", "post.example.de"
};
static const char *const k_tags[] = {
    "gift", "express", "fragile", "bulk", "promo", "eu", "us", "b2b",
    "repeat", "vip", "backorder", "sample"
};
static const char *const k_channel[] = { "web", "app", "pos", "api", "phone" };
static const char *const k_words[] = {
    "please", "deliver", "after", "before", "noon", "leave", "at", "door",
    "front", "back", "porch", "call", "on", "arrival", "gift", "wrap",
    "the", "box", "no", "signature", "required", "customer", "asked", "for",
    "a", "receipt", "invoice", "to", "billing", "address", "second", "floor",
    "ring", "bell", "twice", "fragile", "handle", "with", "care", "reorder",
    "of", "last", "month", "discount", "code", "applied", "by", "support",
    "ticket", "pending", "stock", "check", "warehouse", "east", "west",
    "split", "shipment", "partial", "refund", "issued", "replacement", "sent",
    "color", "blue", "red", "green", "size", "large", "small", "medium",
    "weekend", "only", "office", "hours", "contact", "via", "email", "phone",
    "express", "shipping", "upgrade", "free", "returns", "label", "printed",
    "courier", "pickup", "scheduled", "tomorrow", "morning", "evening",
    "neighbour", "accepts", "parcels", "code", "gate", "is", "locked",
    "bundle", "with", "previous", "order", "priority", "wholesale", "account",
    "net", "terms", "approved", "manager", "tax", "exempt", "certificate",
    "on", "file", "hold", "until", "payment", "clears", "verified", "fraud",
    "review", "passed", "loyalty", "points", "redeemed", "promo", "spring",
    "sale"
};

/* Base time of the data set: 2026-04-16 22:41:27.490 UTC, in ms. */
#define BASE_MS 1776379287490ll

/* created_at of an order: monotone in id, stable across updates. */
static int64_t created_ms(uint64_t id)
{
    return BASE_MS + (int64_t)id * 40 + (int64_t)(hash_u64(id) % 37);
}

static size_t fmt_time(char *p, size_t cap, int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    return (size_t)snprintf(p, cap, "%04d-%02d-%02d %02d:%02d:%02d.%03d +00:00",
                            tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                            tm.tm_hour, tm.tm_min, tm.tm_sec,
                            (int)(ms % 1000));
}

typedef struct textbuf {
    char *p;
    size_t used, cap;
} textbuf;

/* Append formatted text; returns a value viewing it. */
static jr_value tb_text(textbuf *tb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static jr_value tb_text(textbuf *tb, const char *fmt, ...)
{
    va_list ap;
    jr_value v;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tb->p + tb->used, tb->cap - tb->used, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= tb->cap - tb->used)
        bu_die("generator: record text exceeds %d bytes", TEXT_MAX_PER_REC);
    v.type = JR_TEXT;
    v.u.b.p = tb->p + tb->used;
    v.u.b.n = (size_t)n;
    tb->used += (size_t)n;
    return v;
}

static jr_value v_int(int64_t i)
{
    jr_value v;

    v.type = JR_INT;
    v.u.i = i;
    return v;
}

static jr_value v_real(double r)
{
    jr_value v;

    v.type = JR_REAL;
    v.u.r = r;
    return v;
}

/* Fill the after-image of order `id`. `upd` selects an updated state. */
static void gen_row(jr_value *row, textbuf *tb, uint64_t id, int upd,
                    uint64_t *rng)
{
    uint64_t h = hash_u64(id * 7919 + 17);
    uint64_t r = bu_rng(rng);
    char when[96], tags[96];
    size_t tl = 0;
    unsigned ntags, nwords;

    row[0] = v_int((int64_t)id);
    row[1] = v_int((int64_t)(1 + h % 48611));
    if (upd)
        row[2] = tb_text(tb, "%s", BU_PICK(k_status_upd, r));
    else
        row[2] = tb_text(tb, "%s", BU_PICK(k_status_new, r));
    row[3] = tb_text(tb, "%s.%s%u@%s", BU_PICK(k_first, h >> 8),
                     BU_PICK(k_last, h >> 16), (unsigned)(h >> 24) % 1000,
                     BU_PICK(k_domain, h >> 34));
    fmt_time(when, sizeof(when), created_ms(id));
    row[4] = tb_text(tb, "%s", when);
    row[5] = v_real((double)(199 + (h >> 40) % 250000) / 100.0);

    ntags = (unsigned)(r >> 8) % 4;
    tags[0] = '\0';
    for (unsigned i = 0; i < ntags; i++)
        tl += (size_t)snprintf(tags + tl, sizeof(tags) - tl, "%s\"%s\"",
                               i ? "," : "",
                               BU_PICK(k_tags, bu_rng(rng)));
    row[6] = tb_text(tb,
                     "{\"sku\":\"%c-%04u\",\"qty\":%u,\"tags\":[%s],"
                     "\"channel\":\"%s\"}",
                     'A' + (int)((h >> 44) % 26),
                     (unsigned)((h >> 20) % 10000),
                     1 + (unsigned)((r >> 16) % 9), tags,
                     BU_PICK(k_channel, r >> 24));

    /* note: 3..9 random-ish words */
    nwords = 3 + (unsigned)((r >> 32) % 7);
    {
        size_t start = tb->used;

        for (unsigned i = 0; i < nwords; i++) {
            const char *w = BU_PICK(k_words, bu_rng(rng));
            size_t wl = strlen(w);

            if (tb->used + wl + 2 >= tb->cap)
                bu_die("generator: record text exceeds %d bytes",
                    TEXT_MAX_PER_REC);
            if (i > 0)
                tb->p[tb->used++] = ' ';
            memcpy(tb->p + tb->used, w, wl);
            tb->used += wl;
        }
        row[7].type = JR_TEXT;
        row[7].u.b.p = tb->p + start;
        row[7].u.b.n = tb->used - start;
    }
}

void bd_dataset_make(bd_dataset *ds, uint64_t n, uint64_t seed)
{
    uint64_t rng = seed * 0x2545F4914F6CDD1Dull + 1;
    uint64_t next_id = 1;

    memset(ds, 0, sizeof(*ds));
    ds->n = n;
    ds->recs = bu_xmalloc(n * sizeof(*ds->recs));
    ds->vals = bu_xmalloc(n * VALS_PER_REC * sizeof(*ds->vals));
    ds->text = bu_xmalloc(n * TEXT_MAX_PER_REC);
    ds->hashes = bu_xmalloc(n * sizeof(*ds->hashes));

    for (uint64_t i = 0; i < n; i++) {
        jr_record *r = &ds->recs[i];
        jr_value *v = &ds->vals[i * VALS_PER_REC];
        textbuf tb = { ds->text + i * TEXT_MAX_PER_REC, 0, TEXT_MAX_PER_REC };
        unsigned dice = (unsigned)(bu_rng(&rng) % 100);
        uint64_t id;

        memset(r, 0, sizeof(*r));
        r->table = "orders";
        if (next_id < 100 || dice < 86) {
            id = next_id++;
            r->kind = JR_K_INSERT;
            r->time_us = created_ms(id) * 1000 + (int64_t)(id % 1000);
            ds->ninsert++;
        } else {
            /* recent orders are touched more often than old ones */
            uint64_t back = 1 + bu_rng(&rng) % (next_id - 1 < 5000
                                                  ? next_id - 1 : 5000);
            id = next_id - back;
            r->kind = dice < 96 ? JR_K_UPDATE : JR_K_DELETE;
            r->time_us = created_ms(next_id) * 1000 + 500;
            if (r->kind == JR_K_UPDATE)
                ds->nupdate++;
            else
                ds->ndelete++;
        }
        v[0] = v_int((int64_t)id);
        r->key.n = 1;
        r->key.names = k_key_names;
        r->key.vals = v;
        if (r->kind != JR_K_DELETE) {
            gen_row(v + 1, &tb, id, r->kind == JR_K_UPDATE, &rng);
            r->new_row.n = BD_NCOLS;
            r->new_row.names = k_col_names;
            r->new_row.vals = v + 1;
        }
        ds->hashes[i] = bd_hash_record(r);
    }
}

void bd_dataset_free(bd_dataset *ds)
{
    free(ds->recs);
    free(ds->vals);
    free(ds->text);
    free(ds->hashes);
}

/* ------------------------------------------------------------------ */
/* Raw encoding for the baseline                                      */
/* ------------------------------------------------------------------ */

static unsigned char *put_varint(unsigned char *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    return p;
}

static unsigned char *put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (unsigned char)v;
        v >>= 8;
    }
    return p + 8;
}

static unsigned char *put_bytes(unsigned char *p, const void *b, size_t n)
{
    p = put_varint(p, n);
    if (n > 0)
        memcpy(p, b, n);
    return p + n;
}

static unsigned char *raw_row(unsigned char *p, const jr_row *r)
{
    uint64_t bits;

    p = put_varint(p, r->n);
    for (uint32_t i = 0; i < r->n; i++) {
        const jr_value *v = &r->vals[i];

        p = put_bytes(p, r->names[i], strlen(r->names[i]));
        *p++ = (unsigned char)v->type;
        switch (v->type) {
        case JR_INT:
            p = put_u64(p, (uint64_t)v->u.i);
            break;
        case JR_REAL:
            memcpy(&bits, &v->u.r, 8);
            p = put_u64(p, bits);
            break;
        case JR_TEXT:
        case JR_BLOB:
            p = put_bytes(p, v->u.b.p, v->u.b.n);
            break;
        default:
            break;
        }
    }
    return p;
}

/* Encode r into out (BD_RAW_ENC_MAX bytes); returns the length. */
size_t bd_raw_encode(unsigned char *out, const jr_record *r, int gend)
{
    unsigned char *p = out;

    *p++ = (unsigned char)r->kind;
    *p++ = (unsigned char)(gend ? 1 : 0);
    p = put_bytes(p, r->table, strlen(r->table));
    p = put_u64(p, (uint64_t)r->time_us);
    p = raw_row(p, &r->key);
    p = raw_row(p, &r->new_row);
    p = raw_row(p, &r->old_row);
    p = put_bytes(p, r->aux, r->aux_len);
    if ((size_t)(p - out) > BD_RAW_ENC_MAX)
        bu_die("raw encoding overflow");
    return (size_t)(p - out);
}
