/*
** br_data.c -- the data of sluice-bench-replay: table `items` (8 columns,
** ~230 bytes of values: ints, short and long text, a REAL using all its
** bits, JSON text, ORM dates '2026-04-16 22:41:27.490 +00:00' (1 in 20
** with another offset) declared DATETIME, NULLs, non-ASCII text).
** INVARIANTS:
**  (D1) deterministic: row (id, version) derives from (seed, id, version)
**       alone, so gen and changes make the same rows in every run.
**  (D2) br_row_tsv() writes the row as MariaDB stores it (dates in UTC,
**       REALs with 17 digits), so a LOAD DATA of it equals the SQLite row.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "br.h"

const char br_create[] =
    "CREATE TABLE items (\n"
    "    id          INTEGER PRIMARY KEY,\n"
    "    customer_id INTEGER NOT NULL,\n"
    "    status      TEXT NOT NULL,\n"
    "    email       TEXT NOT NULL,\n"
    "    amount      REAL NOT NULL,\n"
    "    meta        JSON,\n"
    "    note        TEXT,\n"
    "    created_at  DATETIME NOT NULL\n"
    ")";

static const char *const g_status[] = { "new", "paid", "packed", "shipped",
                                        "delivered", "cancelled",
                                        "refunded" };
static const char *const g_src[] = { "web", "ios", "android", "pos",
                                     "api" };
static const char *const g_tag[] = { "gift", "express", "bulk", "b2b",
                                     "promo", "repeat", "fragile" };
static const char *const g_words[] = {
    "please", "deliver", "before", "noon", "leave", "at", "the", "door",
    "Straße", "café", "crème", "brûlée", "naïve", "Ærø", "東京", "配送",
    "ring", "twice", "fragile", "handle", "with", "care", "invoice",
    "customer", "called", "about", "size", "colour", "exchange", "🙂"
};

static void fmt_time(char *out, size_t cap, int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    snprintf(out, cap, "%04d-%02d-%02d %02d:%02d:%02d.%03d",
             (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100,
             tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
             tm.tm_sec % 100, (int)(ms % 1000));
}

/* Row `id`, version `ver`: everything derived from (seed, id, ver). */
void br_make_row(br_row *r, uint64_t seed, int64_t id, uint64_t ver)
{
    uint64_t s = seed ^ ((uint64_t)id * 0x9E3779B97F4A7C15ull) ^
                 (ver * 0xD1B54A32D192ED03ull);
    uint64_t x;
    int64_t ms;
    int off_min;
    size_t n;
    char t[48];

    r->id = id;
    r->customer_id = (int64_t)(bu_rng(&s) % 200000) + 1;
    r->status = g_status[bu_rng(&s) % BU_NELEM(g_status)];
    x = bu_rng(&s);
    snprintf(r->email, sizeof(r->email), "user%lld.%c%c@example%u.com",
             (long long)r->customer_id, 'a' + (int)(x % 26),
             'a' + (int)(x / 26 % 26), (unsigned)(x / 676 % 1000));
    /* a double with all its bits used, not a tidy decimal */
    r->amount = (double)(bu_rng(&s) >> 11) / 9007199254740992.0 * 5000.0;
    x = bu_rng(&s);
    r->meta_null = x % 20 == 0;
    snprintf(r->meta, sizeof(r->meta),
             "{\"src\":\"%s\",\"tags\":[\"%s\",\"%s\"],\"qty\":%u,"
             "\"score\":%u.%02u,\"ref\":\"%016llx\",\"gift\":%s}",
             g_src[x % BU_NELEM(g_src)], g_tag[(x >> 8) % BU_NELEM(g_tag)],
             g_tag[(x >> 16) % BU_NELEM(g_tag)], (unsigned)(x >> 24) % 20 + 1,
             (unsigned)(x >> 32) % 100, (unsigned)(x >> 40) % 100,
             (unsigned long long)bu_rng(&s),
             (x >> 50) & 1 ? "true" : "false");
    x = bu_rng(&s);
    r->note_null = x % 10 == 0;
    n = 0;
    r->note[0] = 0;
    for (int w = 0, nw = 6 + (int)(x % 9); w < nw; w++) {
        const char *word = g_words[bu_rng(&s) % BU_NELEM(g_words)];
        size_t wl = strlen(word);
        if (n + wl + 2 >= sizeof(r->note))
            break;
        if (n)
            r->note[n++] = ' ';
        memcpy(r->note + n, word, wl);
        n += wl;
        r->note[n] = 0;
    }
    /* 2024-01-01 .. ~2026-09, ms precision; 1 in 20 with an offset */
    ms = 1704067200000LL + (int64_t)(bu_rng(&s) % (86400000ull * 1000));
    x = bu_rng(&s);
    off_min = x % 20 == 0 ? ((int)(x >> 8) % 2 ? 120 : -300) : 0;
    fmt_time(r->created_utc, sizeof(r->created_utc), ms);
    fmt_time(t, sizeof(t), ms + (int64_t)off_min * 60000);
    snprintf(r->created, sizeof(r->created), "%s %c%02d:%02d", t,
             off_min < 0 ? '-' : '+', abs(off_min) / 60 % 100,
             abs(off_min) % 60);
}

void br_bind_row(sqlite3_stmt *st, const br_row *r, int first)
{
    int i = first;
    sqlite3_bind_int64(st, i++, r->customer_id);
    sqlite3_bind_text(st, i++, r->status, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, r->email, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, i++, r->amount);
    if (r->meta_null)
        sqlite3_bind_null(st, i++);
    else
        sqlite3_bind_text(st, i++, r->meta, -1, SQLITE_STATIC);
    if (r->note_null)
        sqlite3_bind_null(st, i++);
    else
        sqlite3_bind_text(st, i++, r->note, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, r->created, -1, SQLITE_STATIC);
}

/* row as one TSV line (dates in MariaDB form), no newline */
void br_row_tsv(br_buf *b, const br_row *r)
{
    br_buf_addf(b, "%lld\t%lld\t", (long long)r->id,
                (long long)r->customer_id);
    br_buf_tsv(b, r->status, strlen(r->status));
    br_buf_adds(b, "\t");
    br_buf_tsv(b, r->email, strlen(r->email));
    br_buf_addf(b, "\t%.17g\t", r->amount);
    if (r->meta_null)
        br_buf_adds(b, "\\N");
    else
        br_buf_tsv(b, r->meta, strlen(r->meta));
    br_buf_adds(b, "\t");
    if (r->note_null)
        br_buf_adds(b, "\\N");
    else
        br_buf_tsv(b, r->note, strlen(r->note));
    br_buf_adds(b, "\t");
    br_buf_adds(b, r->created_utc);
}
