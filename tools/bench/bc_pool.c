/*
** bc_pool.c -- the rows sluice-bench-capture's application writes: a pool
** of BC_POOL pre-generated rows of orders (8 columns, ~230 bytes of
** values: ints, a REAL, short and long text, a ~100-byte JSON object,
** an ORM date '2026-04-16 22:41:27.490 +00:00') and of order_items,
** made before any clock starts. Row id uses pool row id % BC_POOL.
** INVARIANTS:
**  (R1) deterministic: one fixed seed, so every run writes the same bytes.
**  (R2) bc_obytes / bc_ibytes are the average value bytes of a row
**       (8 bytes per number), as the report states them.
*/
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bc.h"

bc_orow *bc_orows;
bc_irow *bc_irows;
double bc_obytes, bc_ibytes;

static bc_str mkstr(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static bc_str mkstr(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    bc_str v;

    va_start(ap, fmt);
    v.n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    v.s = bu_xmalloc((size_t)v.n + 1);
    memcpy(v.s, buf, (size_t)v.n + 1);
    return v;
}

void bc_pool_make(void)
{
    static const char *const status[] = { "pending", "paid", "shipped",
        "delivered", "cancelled", "refunded" };
    static const char *const first[] = { "maria", "john", "wei", "fatima",
        "olga", "pedro", "aiko", "samuel", "lena", "omar" };
    static const char *const last[] = { "garcia", "smith", "chen", "khan",
        "ivanova", "silva", "tanaka", "okafor", "novak", "haddad" };
    static const char *const dom[] = { "example.com", "mail.example.org",
        "corp.example.net" };
    static const char *const tag[] = { "gift", "express", "fragile",
        "bulk", "promo", "repeat" };
    static const char *const chan[] = { "web", "ios", "android", "pos" };
    static const char *const word[] = { "please", "leave", "at", "the",
        "front", "door", "call", "before", "delivery", "ring", "twice",
        "back", "entrance", "office", "hours", "only", "fragile", "box" };
    uint64_t s = 42;

    bc_orows = bu_xmalloc(BC_POOL * sizeof(*bc_orows));
    bc_irows = bu_xmalloc(BC_POOL * sizeof(*bc_irows));
    for (int i = 0; i < BC_POOL; i++) {
        bc_orow *o = &bc_orows[i];
        bc_irow *it = &bc_irows[i];
        char note[256];
        int nw = 4 + (int)(bu_rng(&s) % 6), len = 0;

        o->cust = 1 + (int64_t)(bu_rng(&s) % 250000);
        o->amount = (double)(bu_rng(&s) % 5000000) / 100.0;
        o->status = mkstr("%s", BU_PICK(status, bu_rng(&s)));
        o->email = mkstr("%s.%s%u@%s", BU_PICK(first, bu_rng(&s)),
                         BU_PICK(last, bu_rng(&s)),
                         (unsigned)(bu_rng(&s) % 1000),
                         BU_PICK(dom, bu_rng(&s)));
        o->created = mkstr("2026-%02u-%02u %02u:%02u:%02u.%03u +00:00",
                           (unsigned)(1 + bu_rng(&s) % 12),
                           (unsigned)(1 + bu_rng(&s) % 28),
                           (unsigned)(bu_rng(&s) % 24),
                           (unsigned)(bu_rng(&s) % 60),
                           (unsigned)(bu_rng(&s) % 60),
                           (unsigned)(bu_rng(&s) % 1000));
        o->meta = mkstr("{\"sku\":\"K-%04u\",\"qty\":%u,\"tags\":[\"%s\","
                        "\"%s\"],\"channel\":\"%s\",\"coupon\":%s,"
                        "\"warehouse\":\"WH-%02u\"}",
                        (unsigned)(bu_rng(&s) % 10000),
                        (unsigned)(1 + bu_rng(&s) % 9),
                        BU_PICK(tag, bu_rng(&s)), BU_PICK(tag, bu_rng(&s)),
                        BU_PICK(chan, bu_rng(&s)),
                        bu_rng(&s) % 3 ? "null" : "\"SPRING26\"",
                        (unsigned)(bu_rng(&s) % 40));
        for (int w = 0; w < nw; w++)
            len += snprintf(note + len, sizeof(note) - (size_t)len, "%s%s",
                            w ? " " : "", BU_PICK(word, bu_rng(&s)));
        o->note = mkstr("%s", note);
        bc_obytes += 3 * 8 + o->status.n + o->email.n + o->created.n +
                     o->meta.n + o->note.n;

        it->qty = 1 + (int64_t)(bu_rng(&s) % 9);
        it->price = (double)(bu_rng(&s) % 100000) / 100.0;
        it->sku = mkstr("K-%04u-%s", (unsigned)(bu_rng(&s) % 10000),
                        BU_PICK(chan, bu_rng(&s)));
        it->attrs = mkstr("{\"color\":\"%s\",\"size\":%u,\"gift\":%s}",
                          BU_PICK(tag, bu_rng(&s)),
                          (unsigned)(bu_rng(&s) % 50),
                          bu_rng(&s) % 2 ? "true" : "false");
        bc_ibytes += 4 * 8 + it->sku.n + it->attrs.n;
    }
    bc_obytes /= BC_POOL;
    bc_ibytes /= BC_POOL;
}

