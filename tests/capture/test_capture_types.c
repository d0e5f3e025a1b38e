/*
** test_capture_types.c -- invariant 7 on the capture side, and invariant
** 3's "a trigger never fails a write": every storage class in every
** column whatever its declared type, reals bit-exact, 64-bit integers at
** their limits, text and blobs byte-exact (NUL bytes, invalid UTF-8,
** 10 MiB), NULL distinct from '' and x''.
**
** Each value goes through both capture paths: the initial snapshot (rows
** that exist before capture first runs) and the triggers (rows written
** afterwards). The journal's own values are checked where the source
** could hide a difference (exact bit patterns bound from C).
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

#include "ct_model.h"
#include "ct_proc.h"

TestSuite(capture_types, .init = ct_setup, .fini = ct_teardown,
          .timeout = 120);

/* SQL expressions of every kind of value. */
static const char *const g_values[] = {
    "NULL", "''", "x''", "'plain text'", "x'00ff10'",
    "CAST(x'6100620063' AS TEXT)",          /* text with NUL bytes */
    "CAST(x'fffe41' AS TEXT)",              /* not UTF-8 */
    "'ünïcödé 日本 \U0001F600'",
    "0.1 + 0.2", "1e308", "-1e308", "-0.0", "0.0", "4.9e-324",
    "2.2250738585072009e-308", "1.7976931348623157e308", "1e999",
    "-1e999", "3.141592653589793", "1.5", "2.0",
    "-9223372036854775808", "9223372036854775807", "0", "-1",
    "'123'", "'1e3'", "' 12 '", "'0x10'", "'12.50'", "x'31'",
    "'2026-04-16 22:41:27.490 +00:00'",
};
#define NVALUES ((int)(sizeof(g_values) / sizeof(g_values[0])))

static const char g_typed_table[] =
    "(id INTEGER PRIMARY KEY, t TEXT, i INTEGER, r REAL, n NUMERIC, "
    "b BLOB, a, d DATETIME, v VARCHAR(3) NOT NULL DEFAULT 'x')";

static char *insert_all(const char *table, int base)
{
    sqlite3_str *q = sqlite3_str_new(NULL);

    for (int k = 0; k < NVALUES; k++)
        sqlite3_str_appendf(q, "INSERT INTO %s(id, t, i, r, n, b, a, d) "
                            "VALUES (%d, %s, %s, %s, %s, %s, %s, %s);",
                            table, base + k, g_values[k], g_values[k],
                            g_values[k], g_values[k], g_values[k],
                            g_values[k], g_values[k]);
    return sqlite3_str_finish(q);
}

Test(capture_types, every_storage_class_in_every_column_round_trips)
{
    char *ddl = sqlite3_mprintf("CREATE TABLE snap%s; CREATE TABLE live%s;"
                                "CREATE TABLE kl(t TEXT, i INTEGER, r REAL,"
                                " n NUMERIC, b BLOB, a);",
                                g_typed_table, g_typed_table);
    char *fill_snap = insert_all("snap", 1);
    char *fill_live = insert_all("live", 1);
    char *fill_kl = sqlite3_mprintf("INSERT INTO kl SELECT t, i, r, n, b, "
                                    "a FROM live");
    ct_model *m;
    char why[1024];

    CT_APP(ddl, fill_snap);
    ct_cap_once();
    /* the application's writes never fail because of the triggers */
    CT_APP(fill_live, fill_kl);
    ct_cap_once();
    /* and every value changes storage class once more (update path) */
    CT_APP("UPDATE live SET t = b, i = r, r = t, n = a, b = i, a = n, "
           "d = i;"
           "UPDATE kl SET t = b, i = r, r = t, n = a, b = i, a = n;"
           "UPDATE snap SET a = x'' WHERE a IS NULL;"
           "UPDATE snap SET a = NULL WHERE typeof(a) = 'blob' AND "
           "length(a) = 0 AND id > 3;");
    ct_cap_once();
    m = ct_model_new();
    cr_assert_eq(ct_model_sync(m, ct_jdir, why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(ct_compare(ct_src, m, NULL, why, sizeof(why)), 0, "%s",
                 why);
    cr_assert_eq(ct_model_get_stats(m)->key_mismatch, 0);
    cr_assert_eq(ct_model_get_stats(m)->old_mismatch, 0);
    cr_assert_eq(ct_model_get_stats(m)->missing, 0);
    cr_assert_geq(ct_model_get_stats(m)->changes, (uint64_t)4 * NVALUES);
    ct_model_free(m);
    sqlite3_free(ddl);
    sqlite3_free(fill_snap);
    sqlite3_free(fill_live);
    sqlite3_free(fill_kl);
}

/* ---------------------------------------------------------------- */
/* Exact bit patterns, checked in the journal itself                */
/* ---------------------------------------------------------------- */

#define NBITS 64

static uint64_t g_bits[NBITS] = {
    0x0000000000000001ull,     /* smallest subnormal */
    0x000FFFFFFFFFFFFFull,     /* largest subnormal */
    0x8000000000000001ull,     /* negative subnormal */
    0x8000000000000000ull,     /* -0.0 */
    0x0000000000000000ull,
    0x7FEFFFFFFFFFFFFFull,     /* DBL_MAX */
    0x7FF0000000000000ull,     /* +inf */
    0xFFF0000000000000ull,     /* -inf */
    0x3FD3333333333334ull,     /* 0.1 + 0.2 */
    0x3FB999999999999Aull,     /* 0.1 */
    0x0010000000000000ull,     /* DBL_MIN */
    0x43E0000000000000ull,     /* 2^63 */
};

static void fill_bits(void)
{
    uint64_t x = 0x243F6A8885A308D3ull;

    for (int i = 12; i < NBITS; i++) {
        double d;
        do {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            memcpy(&d, &x, sizeof(d));
        } while (isnan(d));
        g_bits[i] = x;
    }
}

/* The application binds each double (and as a one-element affinity test,
** into a REAL and an untyped column). */
static void bits_writer(void)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    int rc = sqlite3_open(ct_src, &db);

    sqlite3_busy_timeout(db, 5000);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "INSERT INTO bits(id, a, r) VALUES "
                                "(?1, ?2, ?2)", -1, &st, NULL);
    for (int i = 0; rc == SQLITE_OK && i < NBITS; i++) {
        double d;
        memcpy(&d, &g_bits[i], sizeof(d));
        sqlite3_bind_int(st, 1, i);
        sqlite3_bind_double(st, 2, d);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(db);
    _exit(rc == SQLITE_OK ? 0 : 1);
}

typedef struct bits_ctx {
    int seen[NBITS];
    char problem[300];
} bits_ctx;

static int check_bits(const jr_entry *e, void *ctx)
{
    bits_ctx *c = ctx;
    const jr_value *a;
    int64_t id;
    uint64_t got;

    if (e->rec.kind != JR_K_INSERT || strcmp(e->rec.table, "bits") != 0)
        return 0;
    id = ct_row_int(&e->rec.new_row, "id", -1);
    a = ct_row_get(&e->rec.new_row, "a");
    if (id < 0 || id >= NBITS || a == NULL) {
        snprintf(c->problem, sizeof(c->problem), "bad bits record");
        return 1;
    }
    c->seen[id]++;
    if (a->type != JR_REAL) {
        snprintf(c->problem, sizeof(c->problem), "id %lld: untyped column "
                 "journaled as type %d, not REAL", (long long)id, a->type);
        return 1;
    }
    memcpy(&got, &a->u.r, sizeof(got));
    if (got != g_bits[id]) {
        snprintf(c->problem, sizeof(c->problem), "id %lld: journal has "
                 "0x%016llx, the application wrote 0x%016llx",
                 (long long)id, (unsigned long long)got,
                 (unsigned long long)g_bits[id]);
        return 1;
    }
    return 0;
}

Test(capture_types, reals_bound_as_exact_bits_are_journaled_bit_exact)
{
    bits_ctx c;
    pid_t w;

    memset(&c, 0, sizeof(c));
    fill_bits();
    CT_APP("CREATE TABLE bits(id INTEGER PRIMARY KEY, a, r REAL)");
    ct_cap_once();
    w = ct_fork();
    if (w == 0)
        bits_writer();
    cr_assert_eq(tl_wait(w, 30000), 0, "the application's insert failed");
    ct_cap_once();
    ct_scan(ct_jdir, check_bits, &c);
    cr_assert_eq(c.problem[0], '\0', "%s", c.problem);
    for (int i = 0; i < NBITS; i++)
        cr_assert_eq(c.seen[i], 1, "id %d journaled %d times", i, c.seen[i]);
    /* the REAL column too, against what the source itself returns */
    ct_assert_model_equals_source(ct_jdir, ct_src);
}

/* ---------------------------------------------------------------- */
/* NULL, '' and x''                                                 */
/* ---------------------------------------------------------------- */

typedef struct empty_ctx {
    int types[3];
    size_t lens[3];
    int n;
} empty_ctx;

static int check_empty(const jr_entry *e, void *ctx)
{
    empty_ctx *c = ctx;
    const jr_value *v;
    int64_t id;

    if (e->rec.kind != JR_K_INSERT || strcmp(e->rec.table, "e") != 0)
        return 0;
    id = ct_row_int(&e->rec.new_row, "id", -1);
    v = ct_row_get(&e->rec.new_row, "v");
    if (id >= 1 && id <= 3 && v != NULL) {
        c->types[id - 1] = v->type;
        c->lens[id - 1] = v->type >= JR_TEXT ? v->u.b.n : 99;
        c->n++;
    }
    return 0;
}

Test(capture_types, null_empty_text_and_empty_blob_stay_distinct)
{
    empty_ctx c;

    memset(&c, 0, sizeof(c));
    CT_APP("CREATE TABLE e(id INTEGER PRIMARY KEY, v TEXT)");
    ct_cap_once();
    CT_APP("INSERT INTO e VALUES (1, NULL), (2, ''), (3, x'')");
    ct_cap_once();
    ct_scan(ct_jdir, check_empty, &c);
    cr_assert_eq(c.n, 3);
    cr_assert_eq(c.types[0], JR_NULL);
    cr_assert_eq(c.types[1], JR_TEXT);
    cr_assert_eq(c.lens[1], 0);
    cr_assert_eq(c.types[2], JR_BLOB, "x'' in a TEXT column is a blob");
    cr_assert_eq(c.lens[2], 0);
    ct_assert_model_equals_source(ct_jdir, ct_src);
}

/* ---------------------------------------------------------------- */
/* Large values                                                     */
/* ---------------------------------------------------------------- */

Test(capture_types, ten_mib_text_and_blob_round_trip_in_any_column,
     .timeout = 150)
{
    ct_model *m;
    char why[1024];

    CT_APP("CREATE TABLE big(id INTEGER PRIMARY KEY, t TEXT, i INTEGER, "
           "b BLOB);"
           "CREATE TABLE bigkl(t TEXT, b);"
           "INSERT INTO big VALUES (1, hex(zeroblob(5242880)), NULL, NULL);");
    ct_cap_once();                              /* 10 MiB in a snapshot */
    CT_APP("INSERT INTO big VALUES (2, randomblob(10485760), "
           "  hex(randomblob(5242880)), hex(zeroblob(5242880)) || 'x');"
           "INSERT INTO bigkl VALUES (hex(randomblob(5242880)), NULL);");
    ct_cap_once();                              /* through the triggers */
    CT_APP("UPDATE big SET t = t || 'tail', b = randomblob(10485761) "
           "WHERE id = 1;"
           "UPDATE bigkl SET b = randomblob(10485760);");
    ct_cap_once();               /* update: new image, and keyless: old */
    m = ct_model_new();
    cr_assert_eq(ct_model_sync(m, ct_jdir, why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(ct_compare(ct_src, m, NULL, why, sizeof(why)), 0, "%s",
                 why);
    cr_assert_eq(ct_model_get_stats(m)->old_mismatch, 0,
                 "keyless update carried a wrong 10 MiB old image");
    ct_model_free(m);
}
