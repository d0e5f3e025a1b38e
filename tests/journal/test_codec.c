/*
** test_codec.c -- every value type, edge value and record field survives
** jr_writer_append/commit -> jr_reader_next exactly (invariant 7, type
** fidelity, as far as the journal is concerned).
**
** Each round trip runs under several writer configurations (default batch
** and compression, uncompressed batches, one record per batch), so the
** codec is exercised both inside zstd frames and raw.
*/
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "jt_util.h"

TestSuite(journal_codec, .init = jt_tmpdir_up, .fini = jt_tmpdir_down);

typedef struct wcfg {
    uint32_t batch_records;
    int zstd_level;
    const char *name;
} wcfg;

static const wcfg k_cfgs[] = {
    {0, 0, "default"},
    {0, -1, "uncompressed"},
    {1, 0, "one-record-batches"},
    {3, 3, "batches-of-3-level-3"},
};
#define NCFG (sizeof(k_cfgs) / sizeof(k_cfgs[0]))

/* Append recs (ends[i]: group_end flag; NULL = every record ends a group)
** in one commit under configuration c, in a fresh journal, then read them
** back and compare everything, including seq, group and group_end. */
static void roundtrip_cfg(jt_rec **recs, const int *ends, size_t n,
                          const wcfg *c, int idx)
{
    char dir[JT_PATH_MAX], name[32];
    jr_journal *j;
    jr_writer *w;
    jr_reader *r;
    jr_entry e;
    jr_err err = {0};
    uint64_t group = 1;
    size_t i;
    int rc;

    snprintf(name, sizeof(name), "cfg%d", idx);
    jt_join(dir, sizeof(dir), jt_base, name);
    j = jt_open(dir, 0, 0);
    w = jt_writer(j, c->batch_records, c->zstd_level);
    for (i = 0; i < n; i++) {
        uint64_t seq = jt_append(w, jt_rec_get(recs[i]), ends ? ends[i] : 1);

        cr_assert_eq(seq, i + 1, "[%s] record %zu got seq %llu", c->name, i,
                     (unsigned long long)seq);
    }
    jt_commit(w, NULL);

    r = jt_reader(j, 1);
    for (i = 0; i < n; i++) {
        char why[512];
        int end = ends ? ends[i] : 1;

        memset(&e, 0, sizeof(e));
        jt_next(r, &e);
        if (e.seq != i + 1)
            cr_assert_fail("[%s] read seq %llu, want %zu", c->name,
                           (unsigned long long)e.seq, i + 1);
        if (e.group != group || e.group_end != end)
            cr_assert_fail("[%s] seq %llu: group %llu end %d, want group "
                           "%llu end %d", c->name, (unsigned long long)e.seq,
                           (unsigned long long)e.group, e.group_end,
                           (unsigned long long)group, end);
        if (!jt_rec_equal(jt_rec_get(recs[i]), &e.rec, why, sizeof(why)))
            cr_assert_fail("[%s] seq %llu differs: %s", c->name,
                           (unsigned long long)e.seq, why);
        if (end)
            group = e.seq + 1;
    }
    rc = jr_reader_next(r, &e, &err);
    cr_assert_eq(rc, JR_EAGAIN, "[%s] read past the head: %d", c->name, rc);
    cr_assert_eq(err.msg[0], '\0', "JR_EAGAIN must not write err->msg");
    jr_reader_close(r);
    jr_writer_close(w);
    jr_journal_close(j);
}

static void roundtrip(jt_rec **recs, const int *ends, size_t n)
{
    size_t c;

    for (c = 0; c < NCFG; c++)
        roundtrip_cfg(recs, ends, n, &k_cfgs[c], (int)c);
}

static void free_recs(jt_rec **recs, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        jt_rec_free(recs[i]);
}

Test(journal_codec, integers_keep_every_edge_value_exactly)
{
    static const int64_t vals[] = {
        INT64_MIN, INT64_MIN + 1, -4294967296LL, (int64_t)INT32_MIN - 1,
        INT32_MIN, -32769, -129, -128, -1, 0, 1, 127, 128, 255, 256, 32767,
        65535, INT32_MAX, (int64_t)INT32_MAX + 1, 4294967295LL,
        (int64_t)1 << 53, ((int64_t)1 << 53) + 1, INT64_MAX - 1, INT64_MAX,
    };
    const size_t nv = sizeof(vals) / sizeof(vals[0]);
    jt_rec *recs[2];
    size_t i;

    /* All in one row, and each alone as a key. */
    recs[0] = jt_rec_new(JR_K_INSERT, "ints", 0);
    for (i = 0; i < nv; i++) {
        char name[16];

        snprintf(name, sizeof(name), "c%zu", i);
        jt_rec_int(recs[0], JT_NEW, name, vals[i]);
    }
    jt_rec_int(recs[0], JT_KEY, "id", INT64_MIN);
    recs[1] = jt_rec_new(JR_K_DELETE, "ints", 0);
    jt_rec_int(recs[1], JT_KEY, "id", INT64_MAX);
    jt_rec_int(recs[1], JT_KEY, "zero", 0);
    jt_rec_int(recs[1], JT_KEY, "minus_one", -1);
    roundtrip(recs, NULL, 2);
    free_recs(recs, 2);
}

static uint64_t dbits(double d)
{
    uint64_t b;

    memcpy(&b, &d, sizeof(b));
    return b;
}

Test(journal_codec,
     reals_are_bit_exact_including_negative_zero_infinities_and_nan_payloads)
{
    static const uint64_t bits[] = {
        0x0000000000000000ull, /* +0.0 */
        0x8000000000000000ull, /* -0.0 */
        0x7ff0000000000000ull, /* +inf */
        0xfff0000000000000ull, /* -inf */
        0x7ff8000000000000ull, /* canonical quiet NaN */
        0x7ff80000deadbeefull, /* quiet NaN with a payload */
        0xfff8123456789abcull, /* negative quiet NaN with a payload */
        0x7ff0000000000001ull, /* signalling NaN, smallest payload */
        0x0000000000000001ull, /* smallest subnormal */
        0x000fffffffffffffull, /* largest subnormal */
        0x8000000000000001ull, /* negative subnormal */
        0x0010000000000000ull, /* DBL_MIN */
        0x7fefffffffffffffull, /* DBL_MAX */
        0xffefffffffffffffull, /* -DBL_MAX */
        0x3ff0000000000000ull, /* 1.0 */
        0x3fb999999999999aull, /* 0.1 */
    };
    const size_t nb = sizeof(bits) / sizeof(bits[0]);
    jt_rec *recs[3];
    jr_entry e;
    size_t i;

    recs[0] = jt_rec_new(JR_K_INSERT, "reals", 0);
    for (i = 0; i < nb; i++) {
        char name[16];

        snprintf(name, sizeof(name), "r%zu", i);
        jt_rec_real_bits(recs[0], JT_NEW, name, bits[i]);
    }
    recs[1] = jt_rec_new(JR_K_UPDATE, "reals", 0);
    jt_rec_real(recs[1], JT_KEY, "k", -0.0);
    jt_rec_real(recs[1], JT_NEW, "k", -0.0);
    jt_rec_real(recs[1], JT_NEW, "pi", 3.14159265358979323846);
    jt_rec_real(recs[1], JT_NEW, "eps", DBL_EPSILON);
    jt_rec_real(recs[1], JT_OLD, "inf", -INFINITY);
    recs[2] = jt_rec_new(JR_K_INSERT, "reals", 0);
    jt_rec_real_bits(recs[2], JT_KEY, "nan", 0x7ff80000deadbeefull);
    roundtrip(recs, NULL, 3);

    /* Spell the important ones out with memcmp on the decoded doubles. */
    {
        char dir[JT_PATH_MAX];
        jr_journal *j =
            jt_open_existing(jt_join(dir, sizeof(dir), jt_base, "cfg0"));
        jr_reader *r = jt_reader(j, 1);

        jt_next(r, &e);
        cr_assert_eq(e.rec.new_row.n, nb);
        for (i = 0; i < nb; i++) {
            cr_assert_eq(e.rec.new_row.vals[i].type, JR_REAL);
            cr_assert_eq(memcmp(&e.rec.new_row.vals[i].u.r, &bits[i], 8), 0,
                         "real %zu: bits %016llx, want %016llx", i,
                         (unsigned long long)dbits(e.rec.new_row.vals[i].u.r),
                         (unsigned long long)bits[i]);
        }
        cr_assert(signbit(e.rec.new_row.vals[1].u.r), "-0.0 lost its sign");
        cr_assert(isinf(e.rec.new_row.vals[2].u.r));
        cr_assert(isnan(e.rec.new_row.vals[5].u.r));
        jr_reader_close(r);
        jr_journal_close(j);
    }
    free_recs(recs, 3);
}

Test(journal_codec, null_empty_text_and_empty_blob_stay_distinct)
{
    static const char empty[] = "";
    jt_rec *recs[1];
    jr_journal *j;
    jr_reader *r;
    jr_entry e;
    char dir[JT_PATH_MAX];
    const jr_row *row;

    recs[0] = jt_rec_new(JR_K_INSERT, "empties", 0);
    jt_rec_null(recs[0], JT_NEW, "null");
    jt_rec_text(recs[0], JT_NEW, "text_empty", empty, 0);
    jt_rec_text(recs[0], JT_NEW, "text_empty_nullp", NULL, 0);
    jt_rec_blob(recs[0], JT_NEW, "blob_empty", empty, 0);
    jt_rec_blob(recs[0], JT_NEW, "blob_empty_nullp", NULL, 0);
    jt_rec_text(recs[0], JT_NEW, "text_zero", "0", 1);
    jt_rec_int(recs[0], JT_NEW, "int_zero", 0);
    jt_rec_null(recs[0], JT_KEY, "null_key");
    jt_rec_text(recs[0], JT_OLD, "t", empty, 0);
    jt_rec_blob(recs[0], JT_OLD, "b", empty, 0);
    jt_rec_null(recs[0], JT_OLD, "n");
    roundtrip(recs, NULL, 1);

    j = jt_open_existing(jt_join(dir, sizeof(dir), jt_base, "cfg0"));
    r = jt_reader(j, 1);
    jt_next(r, &e);
    row = &e.rec.new_row;
    cr_assert_eq(row->n, 7);
    cr_assert_eq(row->vals[0].type, JR_NULL);
    cr_assert_eq(row->vals[1].type, JR_TEXT);
    cr_assert_eq(row->vals[1].u.b.n, 0);
    cr_assert_eq(row->vals[2].type, JR_TEXT);
    cr_assert_eq(row->vals[2].u.b.n, 0);
    cr_assert_eq(row->vals[3].type, JR_BLOB);
    cr_assert_eq(row->vals[3].u.b.n, 0);
    cr_assert_eq(row->vals[4].type, JR_BLOB);
    cr_assert_eq(row->vals[4].u.b.n, 0);
    cr_assert_eq(row->vals[5].type, JR_TEXT);
    cr_assert_eq(row->vals[6].type, JR_INT);
    cr_assert_eq(e.rec.key.vals[0].type, JR_NULL);
    jr_reader_close(r);
    jr_journal_close(j);
    free_recs(recs, 1);
}

Test(journal_codec, text_keeps_embedded_nul_utf8_and_arbitrary_bytes)
{
    static const char nul[] = "before\0after\0";            /* 13 bytes */
    static const char utf8[] = "\xf0\x9f\x98\x80 \xf0\x9d\x84\x9e "
                               "\xe2\x82\xac \xc3\xa9 \xf4\x8f\xbf\xbf";
    static const char bad_utf8[] = "\xff\xfe\xc3(\xed\xa0\x80";
    unsigned char all[256];
    jt_rec *recs[2];
    int i;

    for (i = 0; i < 256; i++)
        all[i] = (unsigned char)(255 - i);
    recs[0] = jt_rec_new(JR_K_INSERT, "texts", 0);
    jt_rec_text(recs[0], JT_NEW, "nul", nul, sizeof(nul) - 1);
    jt_rec_text(recs[0], JT_NEW, "only_nul", "\0", 1);
    jt_rec_text(recs[0], JT_NEW, "utf8", utf8, sizeof(utf8) - 1);
    jt_rec_text(recs[0], JT_NEW, "not_utf8", bad_utf8, sizeof(bad_utf8) - 1);
    jt_rec_blob(recs[0], JT_NEW, "bytes", all, sizeof(all));
    jt_rec_text(recs[0], JT_KEY, "k\xc3\xa9y_\xf0\x9f\x94\x91", utf8, 4);
    recs[1] = jt_rec_new(JR_K_UPDATE,
                         "t\xc3\xa5" "ble_\xf0\x9f\x98\x80", 0);
    jt_rec_text(recs[1], JT_KEY, "id", nul, 7);
    jt_rec_blob(recs[1], JT_NEW, "nulblob", "\0\0\0", 3);
    roundtrip(recs, NULL, 2);
    free_recs(recs, 2);
}

Test(journal_codec, a_sixteen_mib_blob_round_trips_byte_exact, .timeout = 90)
{
    const size_t big = 16 * JT_MIB;
    unsigned char *p = malloc(big);
    jt_rng rng;
    jt_rec *recs[3];
    size_t c;

    cr_assert_not_null(p);
    jt_rng_seed(&rng, 16);
    jt_rng_fill(&rng, p, big);
    /* Random (incompressible) in the middle of a group, between small ones. */
    recs[0] = jt_rec_new(JR_K_INSERT, "big", 1);
    jt_rec_int(recs[0], JT_KEY, "id", 1);
    recs[1] = jt_rec_new(JR_K_INSERT, "big", 2);
    jt_rec_int(recs[1], JT_KEY, "id", 2);
    jt_rec_blob(recs[1], JT_NEW, "data", p, big);
    jt_rec_text(recs[1], JT_NEW, "tail", "end", 3);
    recs[2] = jt_rec_new(JR_K_INSERT, "big", 3);
    jt_rec_int(recs[2], JT_KEY, "id", 3);
    /* A 4 MiB text of one repeated byte: compresses to almost nothing. */
    memset(p, 'x', 4 * JT_MIB);
    jt_rec_text(recs[2], JT_NEW, "same", p, 4 * JT_MIB);
    free(p);
    {
        static const int ends[] = {0, 0, 1};

        /* The 16 MiB blob under two configurations only (time). */
        for (c = 0; c < 2; c++)
            roundtrip_cfg(recs, ends, 3, &k_cfgs[c], (int)c);
    }
    free_recs(recs, 3);
}

Test(journal_codec, a_record_with_a_thousand_columns_round_trips)
{
    jt_rec *recs[2];
    int i;

    recs[0] = jt_rec_new(JR_K_UPDATE, "wide", 42);
    for (i = 0; i < 1000; i++) {
        char name[32], txt[32];

        snprintf(name, sizeof(name), "column_%04d", i);
        switch (i % 5) {
        case 0: jt_rec_null(recs[0], JT_NEW, name); break;
        case 1: jt_rec_int(recs[0], JT_NEW, name, (int64_t)i * -7919); break;
        case 2: jt_rec_real(recs[0], JT_NEW, name, i / 7.0); break;
        case 3:
            snprintf(txt, sizeof(txt), "value %d", i);
            jt_rec_text(recs[0], JT_NEW, name, txt, strlen(txt));
            break;
        default: jt_rec_blob(recs[0], JT_NEW, name, &i, sizeof(i)); break;
        }
        if (i % 100 == 0)
            jt_rec_int(recs[0], JT_KEY, name, i);
        jt_rec_int(recs[0], JT_OLD, name, -i);
    }
    recs[1] = jt_rec_new(JR_K_INSERT, "after", 43);
    jt_rec_int(recs[1], JT_KEY, "id", 1);
    roundtrip(recs, NULL, 2);
    free_recs(recs, 2);
}

Test(journal_codec, key_new_and_old_images_and_aux_bytes_stay_separate)
{
    static const unsigned char aux[] = {0, 1, 2, 0, 0xff, 'S', 'L', 'J', '1', 0};
    jt_rec *recs[4];

    /* Update with a key change on a keyless-style table: all three images
    ** hold the same column names with different values. */
    recs[0] = jt_rec_new(JR_K_UPDATE, "t", 1700000000000000LL);
    jt_rec_int(recs[0], JT_KEY, "id", 1);
    jt_rec_int(recs[0], JT_NEW, "id", 2);
    jt_rec_text(recs[0], JT_NEW, "name", "new", 3);
    jt_rec_int(recs[0], JT_OLD, "id", 1);
    jt_rec_text(recs[0], JT_OLD, "name", "old", 3);
    jt_rec_aux(recs[0], aux, sizeof(aux));
    /* Only an old image. */
    recs[1] = jt_rec_new(JR_K_DELETE, "t", 1);
    jt_rec_text(recs[1], JT_OLD, "name", "gone", 4);
    /* Only aux (a schema record), aux holding NULs. */
    recs[2] = jt_rec_new(JR_K_SCHEMA, "t", 2);
    jt_rec_aux(recs[2], "CREATE TABLE t(id INTEGER PRIMARY KEY, name)\0x",
               46);
    /* Nothing at all. */
    recs[3] = jt_rec_new(JR_K_TRUNCATE, "t", 3);
    roundtrip(recs, NULL, 4);
    free_recs(recs, 4);
}

Test(journal_codec, every_record_kind_round_trips_and_has_a_name)
{
    static const int kinds[] = {
        JR_K_INSERT, JR_K_UPDATE, JR_K_DELETE, JR_K_SCHEMA, JR_K_SNAP_BEGIN,
        JR_K_SNAP_END, JR_K_TRUNCATE, JR_K_DROP, JR_K_ABORT,
    };
    const size_t nk = sizeof(kinds) / sizeof(kinds[0]);
    jt_rec *recs[9];
    size_t i, k;

    for (i = 0; i < nk; i++) {
        const char *name = jr_kind_name(kinds[i]);

        cr_assert_not_null(name);
        cr_assert_str_neq(name, "?", "kind %d has no name", kinds[i]);
        for (k = 0; k < i; k++)
            cr_assert_str_neq(name, jr_kind_name(kinds[k]),
                              "kinds %d and %d share a name", kinds[i],
                              kinds[k]);
        recs[i] = jt_rec_new(kinds[i], kinds[i] == JR_K_ABORT ? "" : "tab",
                             (int64_t)i);
        if (kinds[i] <= JR_K_DELETE)
            jt_rec_int(recs[i], JT_KEY, "id", (int64_t)i);
        if (kinds[i] == JR_K_INSERT || kinds[i] == JR_K_UPDATE)
            jt_rec_int(recs[i], JT_NEW, "id", (int64_t)i);
        if (kinds[i] == JR_K_SCHEMA)
            jt_rec_aux(recs[i], "schema", 6);
    }
    cr_assert_str_eq(jr_kind_name(JR_K_INSERT), "insert");
    cr_assert_str_eq(jr_kind_name(0), "?");
    cr_assert_str_eq(jr_kind_name(10), "?");
    cr_assert_str_eq(jr_kind_name(-1), "?");
    roundtrip(recs, NULL, nk);
    free_recs(recs, nk);
}

Test(journal_codec, time_and_table_edge_values_round_trip)
{
    static const int64_t times[] = {INT64_MIN, -1, 0, 1, INT64_MAX,
                                    1776379287490000LL};
    char longname[301];
    jt_rec *recs[7];
    size_t i;

    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    for (i = 0; i < 6; i++) {
        recs[i] = jt_rec_new(JR_K_INSERT, i == 3 ? longname : "t", times[i]);
        jt_rec_int(recs[i], JT_KEY, "id", (int64_t)i);
    }
    recs[6] = jt_rec_new(JR_K_DROP, "\xe6\x97\xa5\xe6\x9c\xac_\xf0\x9f\x98\x80",
                         -5);
    roundtrip(recs, NULL, 7);
    free_recs(recs, 7);
}

Test(journal_codec, group_end_flags_and_group_ids_are_reported_as_written)
{
    /* Groups: [1] [2 3 4] [5] [6 .. 20] [21 22] ; the 15-record group
    ** crosses several batches in every configuration. */
    int ends[22];
    jt_rec *recs[22];
    size_t i;

    for (i = 0; i < 22; i++) {
        recs[i] = jt_rec_new(JR_K_INSERT, "g", (int64_t)i);
        jt_rec_int(recs[i], JT_KEY, "i", (int64_t)i);
        ends[i] = (i == 0 || i == 3 || i == 4 || i == 19 || i == 21);
    }
    roundtrip(recs, ends, 22);
    free_recs(recs, 22);
}

Test(journal_codec, groups_spanning_commits_and_end_group_are_reported)
{
    jr_journal *j = jt_open(jt_dir, 0, 0);
    jr_writer *w = jt_writer(j, 4, 0);
    jr_reader *r;
    jr_entry e;
    jr_err err = {0};
    jt_rec *rec = jt_rec_new(JR_K_INSERT, "g", 0);
    uint64_t s;
    int rc;

    jt_rec_int(rec, JT_KEY, "id", 1);
    /* Nothing pending: end_group has nothing to mark. */
    rc = jr_writer_end_group(w, &err);
    cr_assert_eq(rc, JR_ENOTFOUND);
    cr_assert_eq(err.msg[0], '\0', "JR_ENOTFOUND must not write err->msg");
    /* Group 1: seqs 1..10 over three commits, closed with end_group. */
    for (s = 1; s <= 10; s++) {
        jt_append(w, jt_rec_get(rec), 0);
        if (s == 3 || s == 7)
            jt_commit(w, NULL);
    }
    cr_assert_eq(jr_writer_end_group(w, &err), JR_OK, "%s", err.msg);
    jt_commit(w, NULL);
    /* Group 11: a single record with the flag at append. */
    jt_append(w, jt_rec_get(rec), 1);
    /* Group 12: two records, end_group called right after the last one. */
    jt_append(w, jt_rec_get(rec), 0);
    jt_append(w, jt_rec_get(rec), 0);
    cr_assert_eq(jr_writer_end_group(w, &err), JR_OK, "%s", err.msg);
    jt_commit(w, NULL);
    /* Group 14: left open (not ended), committed. */
    jt_append(w, jt_rec_get(rec), 0);
    jt_commit(w, NULL);

    r = jt_reader(j, 1);
    for (s = 1; s <= 14; s++) {
        uint64_t want_group = s <= 10 ? 1 : s == 11 ? 11 : s <= 13 ? 12 : 14;
        int want_end = (s == 10 || s == 11 || s == 13);

        jt_next(r, &e);
        cr_assert_eq(e.seq, s);
        cr_assert_eq(e.group, want_group, "seq %llu: group %llu, want %llu",
                     (unsigned long long)s, (unsigned long long)e.group,
                     (unsigned long long)want_group);
        cr_assert_eq(e.group_end, want_end, "seq %llu: group_end %d",
                     (unsigned long long)s, e.group_end);
    }
    {
        jr_info info;

        jt_info(j, &info);
        cr_assert_eq(info.head_seq, 14);
        cr_assert_eq(info.complete_seq, 13);
        cr_assert_eq(info.first_seq, 1);
    }
    jr_reader_close(r);
    jt_rec_free(rec);
    jr_writer_close(w);
    jr_journal_close(j);
}

Test(journal_codec, append_copies_the_record_so_callers_may_free_it_at_once)
{
    jr_journal *j = jt_open(jt_dir, 0, 0);
    jr_writer *w = jt_writer(j, 0, 0);
    jr_reader *r;
    jr_entry e;
    jt_rec *rec, *keep;
    char why[512];
    char *text = malloc(100);
    int i;

    cr_assert_not_null(text);
    memset(text, 'a', 100);
    rec = jt_rec_new(JR_K_UPDATE, "own", 5);
    jt_rec_text(rec, JT_KEY, "id", text, 100);
    jt_rec_blob(rec, JT_NEW, "b", text, 50);
    jt_rec_int(rec, JT_OLD, "x", 9);
    jt_rec_aux(rec, text, 10);
    keep = jt_rec_copy(jt_rec_get(rec));
    jt_append(w, jt_rec_get(rec), 1);
    /* Scribble over, then free, everything the record pointed to. */
    for (i = 0; i < 3; i++) {
        uint32_t k;

        for (k = 0; k < rec->rows[i].n; k++)
            if (rec->rows[i].vals[k].type >= JR_TEXT)
                memset((void *)rec->rows[i].vals[k].u.b.p, 'z',
                       rec->rows[i].vals[k].u.b.n);
    }
    memset(rec->aux, 'z', rec->aux_len);
    jt_rec_free(rec);
    free(text);
    jt_commit(w, NULL);

    r = jt_reader(j, 1);
    jt_next(r, &e);
    cr_assert(jt_rec_equal(jt_rec_get(keep), &e.rec, why, sizeof(why)), "%s",
              why);
    jr_reader_close(r);
    jt_rec_free(keep);
    jr_writer_close(w);
    jr_journal_close(j);
}

Test(journal_codec, invalid_records_are_refused_without_consuming_a_seq)
{
    jr_journal *j = jt_open(jt_dir, 0, 0);
    jr_writer *w = jt_writer(j, 0, 0);
    jr_reader *r;
    jr_entry e;
    jr_err err = {0};
    jt_rec *bad_kind = jt_rec_new(0, "t", 0);
    jt_rec *bad_kind2 = jt_rec_new(JR_K_ABORT + 1, "t", 0);
    jt_rec *bad_type = jt_rec_new(JR_K_INSERT, "t", 0);
    jt_rec *good = jt_rec_new(JR_K_INSERT, "t", 0);
    jr_value v;
    uint64_t seq = 777;
    int rc;

    memset(&v, 0, sizeof(v));
    v.type = 5;                    /* not a jr_type */
    jt_rec_value(bad_type, JT_NEW, "x", &v);
    jt_rec_int(good, JT_KEY, "id", 1);

    rc = jr_writer_append(w, jt_rec_get(bad_kind), 1, &seq, &err);
    cr_assert_eq(rc, JR_ERR, "kind 0 accepted: %d", rc);
    cr_assert_neq(err.msg[0], '\0', "JR_ERR without a message");
    cr_assert_eq(err.code, JR_ERR);
    jr_err_clear(&err);
    cr_assert_eq(err.code, JR_OK);
    cr_assert_eq(err.msg[0], '\0');
    rc = jr_writer_append(w, jt_rec_get(bad_kind2), 1, NULL, &err);
    cr_assert_eq(rc, JR_ERR, "kind %d accepted: %d", JR_K_ABORT + 1, rc);
    jr_err_clear(&err);
    rc = jr_writer_append(w, jt_rec_get(bad_type), 1, NULL, &err);
    cr_assert_eq(rc, JR_ERR, "value type 5 accepted: %d", rc);
    cr_assert_neq(err.msg[0], '\0');
    jr_err_clear(&err);

    cr_assert_eq(jr_writer_pending(w), 0);
    cr_assert_eq(jr_writer_next_seq(w), 1);
    /* The writer is still usable and seq 1 is still free. */
    cr_assert_eq(jt_append(w, jt_rec_get(good), 1), 1);
    jt_commit(w, NULL);
    r = jt_reader(j, 1);
    jt_next(r, &e);
    cr_assert_eq(e.seq, 1);
    cr_assert_eq(e.rec.kind, JR_K_INSERT);
    cr_assert_eq(jr_reader_next(r, &e, NULL), JR_EAGAIN);
    jr_reader_close(r);
    jt_rec_free(bad_kind);
    jt_rec_free(bad_kind2);
    jt_rec_free(bad_type);
    jt_rec_free(good);
    jr_writer_close(w);
    jr_journal_close(j);
}

Test(journal_codec, every_code_has_a_distinct_description)
{
    static const int codes[] = {JR_OK, JR_ERR, JR_ENOTFOUND, JR_EFULL,
                                JR_ECORRUPT, JR_EAGAIN, JR_EPOISONED,
                                JR_EMISMATCH, JR_EBUSY};
    const size_t nc = sizeof(codes) / sizeof(codes[0]);
    size_t i, k;

    for (i = 0; i < nc; i++) {
        const char *s = jr_strerror(codes[i]);

        cr_assert_not_null(s);
        cr_assert_neq(s[0], '\0', "code %d has an empty description",
                      codes[i]);
        for (k = 0; k < i; k++)
            cr_assert_str_neq(s, jr_strerror(codes[k]),
                              "codes %d and %d share '%s'", codes[i],
                              codes[k], s);
    }
    cr_assert_not_null(jr_strerror(12345));
    cr_assert_not_null(jr_strerror(-12345));
    jr_err_clear(NULL);
}
