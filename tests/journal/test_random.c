/*
** test_random.c -- randomized round trip (fixed seed, reproducible).
**
** 2000 groups of 1..50 records with random kinds, tables, images, value
** types and sizes are appended with random commit boundaries (groups
** regularly span several commits), occasional rollbacks (whose seqs must be
** handed out again) and a writer close/reopen half way. Every record is a
** pure function of (seed, seq), so nothing is kept in memory: the readers
** regenerate the expected record and compare it exactly. Checked: records,
** dense seqs from 1, group ids and group_end, random seeks, the follower
** view while writing, jr_journal_info and jr_journal_check.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "jt_util.h"

TestSuite(journal_random, .init = jt_tmpdir_up, .fini = jt_tmpdir_down);

#define SEED       0x51ACE5EEDull
#define NGROUPS    2000
#define MAXGROUP   50
#define SALT_JUNK  0xdeadull

static unsigned char g_bytes[200000];

static void gen_value(jt_rng *rng, jt_rec *rec, int row, const char *name)
{
    uint64_t roll = jt_rng_below(rng, 100000);
    size_t len;

    if (roll < 98000)
        len = (size_t)jt_rng_below(rng, 40);
    else if (roll < 99990)
        len = (size_t)jt_rng_below(rng, 2000);
    else
        len = (size_t)jt_rng_below(rng, sizeof(g_bytes));

    switch (jt_rng_below(rng, 6)) {
    case 0:
        jt_rec_null(rec, row, name);
        break;
    case 1: {
        uint64_t v = jt_rng_next(rng);

        switch (jt_rng_below(rng, 4)) {
        case 0: v %= 256; break;
        case 1: v = (uint64_t)(-(int64_t)(v % 100000)); break;
        case 2: v = jt_rng_below(rng, 2) ? (uint64_t)INT64_MIN
                                          : (uint64_t)INT64_MAX;
                break;
        default: break;
        }
        jt_rec_int(rec, row, name, (int64_t)v);
        break;
    }
    case 2:
        /* Any 64-bit pattern: NaNs, infinities, subnormals, -0.0 ... */
        jt_rec_real_bits(rec, row, name,
                         jt_rng_below(rng, 8) == 0 ? 0x8000000000000000ull
                                                   : jt_rng_next(rng));
        break;
    case 3:
    case 4:
        jt_rng_fill(rng, g_bytes, len);
        if (jt_rng_below(rng, 2)) {
            size_t i;

            for (i = 0; i < len; i++)         /* readable, compressible */
                g_bytes[i] = (unsigned char)('a' + g_bytes[i] % 4);
        }
        jt_rec_text(rec, row, name, g_bytes, len);
        break;
    default:
        jt_rng_fill(rng, g_bytes, len);
        jt_rec_blob(rec, row, name, g_bytes, len);
        break;
    }
}

/* The record stored at `seq` (salt 0) or a junk record (other salts). */
static jt_rec *gen_record(uint64_t seq, uint64_t salt)
{
    static const int kinds[] = {
        JR_K_INSERT, JR_K_INSERT, JR_K_INSERT, JR_K_UPDATE, JR_K_UPDATE,
        JR_K_DELETE, JR_K_SCHEMA, JR_K_SNAP_BEGIN, JR_K_SNAP_END,
        JR_K_TRUNCATE, JR_K_DROP,
    };
    static const char *const tables[] = {
        "users", "orders", "t", "a_rather_long_table_name_for_testing",
        "caf\xc3\xa9",
    };
    jt_rng rng;
    jt_rec *rec;
    uint64_t i, n;
    int row;

    jt_rng_seed(&rng, jt_mix(SEED ^ salt, seq));
    rec = jt_rec_new(kinds[jt_rng_below(&rng, sizeof(kinds) / sizeof(kinds[0]))],
                     tables[jt_rng_below(&rng, 5)],
                     (int64_t)jt_rng_next(&rng));
    for (row = JT_KEY; row <= JT_OLD; row++) {
        n = row == JT_KEY ? jt_rng_below(&rng, 4)
          : row == JT_NEW ? jt_rng_below(&rng, 13)
          : (jt_rng_below(&rng, 4) == 0 ? jt_rng_below(&rng, 5) : 0);
        for (i = 0; i < n; i++) {
            char name[40];

            snprintf(name, sizeof(name), "col_%llu", (unsigned long long)i);
            gen_value(&rng, rec, row, name);
        }
    }
    if (jt_rng_below(&rng, 8) == 0) {
        size_t len = (size_t)jt_rng_below(&rng, 300);

        jt_rng_fill(&rng, g_bytes, len);
        jt_rec_aux(rec, g_bytes, len);
    }
    jt_rec_get(rec);
    return rec;
}

/* Expected layout, filled while writing. */
typedef struct layout {
    uint64_t total;
    uint64_t *group;       /* [seq]: seq of the first record of its group */
    unsigned char *end;    /* [seq]: group_end */
} layout;

/* Read and compare from the reader's position until JR_EAGAIN; returns the
** number of records read. *next is the seq expected next. */
static uint64_t follow(jr_reader *r, const layout *lay, uint64_t *next)
{
    uint64_t n = 0;

    for (;;) {
        jr_entry e;
        jr_err err = {0};
        jt_rec *want;
        char why[512];
        int rc = jr_reader_next(r, &e, &err);

        if (rc == JR_EAGAIN)
            break;
        if (rc != JR_OK)
            cr_assert_fail("jr_reader_next at seq %llu: %d %s",
                           (unsigned long long)*next, rc, err.msg);
        if (e.seq != *next)
            cr_assert_fail("read seq %llu, want %llu (seqs not dense)",
                           (unsigned long long)e.seq,
                           (unsigned long long)*next);
        if (e.seq > lay->total)
            cr_assert_fail("seq %llu beyond the %llu records written",
                           (unsigned long long)e.seq,
                           (unsigned long long)lay->total);
        if (e.group != lay->group[e.seq] || e.group_end != lay->end[e.seq])
            cr_assert_fail("seq %llu: group %llu end %d, want group %llu "
                           "end %d", (unsigned long long)e.seq,
                           (unsigned long long)e.group, e.group_end,
                           (unsigned long long)lay->group[e.seq],
                           lay->end[e.seq]);
        want = gen_record(e.seq, 0);
        if (!jt_rec_equal(&want->r, &e.rec, why, sizeof(why))) {
            jt_rec_free(want);
            cr_assert_fail("seq %llu differs: %s", (unsigned long long)e.seq,
                           why);
        }
        jt_rec_free(want);
        (*next)++;
        n++;
    }
    return n;
}

Test(journal_random, random_groups_with_random_commit_boundaries_read_back_exactly,
     .timeout = 110)
{
    jt_rng rng;
    jr_journal *j = jt_open(jt_dir, 0, 0);
    jr_writer *w = jt_writer(j, 0, 0);
    jr_reader *follower = jt_reader(j, 1);
    uint64_t follower_next = 1;
    layout lay;
    uint64_t g, cap = (uint64_t)NGROUPS * MAXGROUP + 2;
    uint64_t commits = 0, spanning = 0, rollbacks = 0, committed = 0;
    jr_info info;

    lay.total = 0;
    lay.group = calloc(cap, sizeof(*lay.group));
    lay.end = calloc(cap, 1);
    cr_assert(lay.group && lay.end);
    jt_rng_seed(&rng, SEED);

    for (g = 0; g < NGROUPS; g++) {
        uint64_t size = 1 + jt_rng_below(&rng, MAXGROUP);
        uint64_t first = lay.total + 1, i;
        int committed_inside = 0;

        if (g == NGROUPS / 2 && jr_writer_pending(w) == 0) {
            /* Reopen the writer: seqs continue. */
            jr_writer_close(w);
            w = jt_writer(j, 0, 0);
            cr_assert_eq(jr_writer_next_seq(w), lay.total + 1);
        }
        for (i = 0; i < size; i++) {
            uint64_t seq = lay.total + 1;
            int end = (i == size - 1);
            jt_rec *rec = gen_record(seq, 0);
            int use_end_group = end && jt_rng_below(&rng, 4) == 0;

            if (jt_append(w, &rec->r, end && !use_end_group) != seq)
                cr_assert_fail("append did not assign seq %llu",
                               (unsigned long long)seq);
            jt_rec_free(rec);
            if (use_end_group) {
                jr_err err = {0};
                int rc = jr_writer_end_group(w, &err);

                if (rc != JR_OK)
                    cr_assert_fail("jr_writer_end_group: %d %s", rc, err.msg);
            }
            lay.total = seq;
            lay.group[seq] = first;
            lay.end[seq] = (unsigned char)end;

            if (jt_rng_below(&rng, 30) == 0) {
                jt_commit(w, NULL);
                committed = lay.total;
                commits++;
                if (!end)
                    committed_inside = 1;
                if (jt_rng_below(&rng, 8) == 0) {
                    /* Junk appended then rolled back: seqs reused. */
                    uint64_t k, nj = 1 + jt_rng_below(&rng, 5);

                    for (k = 0; k < nj; k++) {
                        jt_rec *junk = gen_record(lay.total + 1 + k,
                                                  SALT_JUNK);

                        jt_append(w, &junk->r, k == nj - 1);
                        jt_rec_free(junk);
                    }
                    if (jr_writer_pending(w) != nj)
                        cr_assert_fail("pending %u, want %llu",
                                       jr_writer_pending(w),
                                       (unsigned long long)nj);
                    jr_writer_rollback(w);
                    if (jr_writer_pending(w) != 0 ||
                        jr_writer_next_seq(w) != lay.total + 1)
                        cr_assert_fail("after rollback: pending %u next %llu,"
                                       " want 0 and %llu",
                                       jr_writer_pending(w),
                                       (unsigned long long)jr_writer_next_seq(w),
                                       (unsigned long long)lay.total + 1);
                    rollbacks++;
                }
                if (commits % 10 == 0) {
                    uint64_t got = follow(follower, &lay, &follower_next);

                    (void)got;
                    if (follower_next != committed + 1)
                        cr_assert_fail("follower stopped at %llu, committed "
                                       "head is %llu",
                                       (unsigned long long)follower_next - 1,
                                       (unsigned long long)committed);
                }
            }
        }
        spanning += committed_inside;
    }
    jt_commit(w, NULL);
    commits++;
    jr_writer_close(w);

    /* The run must actually have exercised what it claims to. */
    cr_assert_gt(spanning, 50, "only %llu groups spanned commits",
                 (unsigned long long)spanning);
    cr_assert_gt(rollbacks, 5);
    cr_assert_gt(commits, 500);

    /* Follower catches up; a fresh reader sees everything from 1. */
    follow(follower, &lay, &follower_next);
    cr_assert_eq(follower_next, lay.total + 1);
    jr_reader_close(follower);
    {
        jr_reader *r = jt_reader(j, 1);
        uint64_t next = 1;

        cr_assert_eq(follow(r, &lay, &next), lay.total);
        jr_reader_close(r);
    }

    jt_info(j, &info);
    cr_assert_eq(info.first_seq, 1);
    cr_assert_eq(info.head_seq, lay.total);
    cr_assert_eq(info.complete_seq, lay.total);
    jr_journal_close(j);

    /* Reopen: random seeks land inside batches and read exactly. */
    j = jt_open_existing(jt_dir);
    {
        jr_reader *r = jt_reader(j, 1);
        int k;

        for (k = 0; k < 300; k++) {
            uint64_t seq = 1 + jt_rng_below(&rng, lay.total);
            uint64_t next = seq;
            jr_entry e;
            jt_rec *want;
            char why[512];

            jr_reader_seek(r, seq);
            jt_next(r, &e);
            if (e.seq != seq || e.group != lay.group[seq] ||
                e.group_end != lay.end[seq])
                cr_assert_fail("seek %llu: got seq %llu group %llu end %d",
                               (unsigned long long)seq,
                               (unsigned long long)e.seq,
                               (unsigned long long)e.group, e.group_end);
            want = gen_record(seq, 0);
            if (!jt_rec_equal(&want->r, &e.rec, why, sizeof(why))) {
                jt_rec_free(want);
                cr_assert_fail("seek %llu differs: %s",
                               (unsigned long long)seq, why);
            }
            jt_rec_free(want);
            (void)next;
        }
        jr_reader_seek(r, lay.total + 1);
        {
            jr_entry e;

            cr_assert_eq(jr_reader_next(r, &e, NULL), JR_EAGAIN);
        }
        jr_reader_close(r);
    }
    {
        jr_check_report rep;
        jr_err err = {0};
        int rc;

        memset(&rep, 0, sizeof(rep));
        rc = jr_journal_check(j, &rep, &err);
        cr_assert_eq(rc, JR_OK, "check: %d %s (bad_seq %llu: %s)", rc, err.msg,
                     (unsigned long long)rep.bad_seq, rep.problem);
        cr_assert_eq(rep.records, lay.total);
        cr_assert_eq(rep.first_seq, 1);
        cr_assert_eq(rep.last_seq, lay.total);
        cr_assert_eq(rep.bad_seq, 0);
        cr_assert_gt(rep.batches, 0);
    }
    jr_journal_close(j);
    free(lay.group);
    free(lay.end);
}
