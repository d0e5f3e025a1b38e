/*
** test_mapfull.c -- a full map is back-pressure, never loss.
**
** With map_initial 1 MiB and map_max 4 MiB, incompressible records are
** committed until jr_writer_commit returns JR_EFULL. The map must have
** grown past its initial size on the way; nothing of the failed commit is
** visible, the pending records are kept (same seqs) and the writer is not
** poisoned; after a replica acks and the journal is pruned the same commit
** succeeds, and everything stored reads back exactly and densely.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "jt_util.h"

TestSuite(journal_mapfull, .init = jt_tmpdir_up, .fini = jt_tmpdir_down);

#define BLOB      (48 * 1024)
#define PER_COMMIT 4

static unsigned char g_blob[BLOB];

static jt_rec *blob_rec(uint64_t seq)
{
    jt_rng rng;
    jt_rec *rec = jt_rec_new(JR_K_INSERT, "full", (int64_t)seq);

    jt_rng_seed(&rng, jt_mix(0xF011, seq));
    jt_rng_fill(&rng, g_blob, sizeof(g_blob));
    jt_rec_int(rec, JT_KEY, "id", (int64_t)seq);
    jt_rec_blob(rec, JT_NEW, "data", g_blob, sizeof(g_blob));
    jt_rec_get(rec);
    return rec;
}

static void append_blobs(jr_writer *w, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        uint64_t seq = jr_writer_next_seq(w);
        jt_rec *rec = blob_rec(seq);

        jt_append(w, &rec->r, i == n - 1);
        jt_rec_free(rec);
    }
}

/* Read first..head and compare every blob. */
static void expect_readable(jr_journal *j, uint64_t first, uint64_t head)
{
    jr_reader *r = jt_reader(j, first);
    jr_entry e;
    uint64_t s;

    for (s = first; s <= head; s++) {
        jt_rec *want = blob_rec(s);
        char why[256];

        jt_next(r, &e);
        if (e.seq != s || !jt_rec_equal(&want->r, &e.rec, why, sizeof(why))) {
            jt_rec_free(want);
            cr_assert_fail("seq %llu (read %llu) differs: %s",
                           (unsigned long long)s, (unsigned long long)e.seq,
                           why);
        }
        jt_rec_free(want);
    }
    cr_assert_eq(jr_reader_next(r, &e, NULL), JR_EAGAIN);
    jr_reader_close(r);
}

/* Commit batches of PER_COMMIT records until JR_EFULL; returns the last
** committed seq, *grew = largest map size seen. */
static uint64_t fill_until_full(jr_journal *j, jr_writer *w, uint64_t *grew)
{
    jr_err err = {0};
    jr_info info;
    int i, rc = JR_OK;

    *grew = 0;
    for (i = 0; i < 400; i++) {
        append_blobs(w, PER_COMMIT);
        rc = jr_writer_commit(w, NULL, 0, &err);
        if (rc != JR_OK)
            break;
        jt_info(j, &info);
        if (info.map_size > *grew)
            *grew = info.map_size;
        cr_assert_leq(info.map_size, 4 * JT_MIB, "map %llu beyond the cap",
                      (unsigned long long)info.map_size);
        cr_assert_leq(info.map_used, info.map_size);
    }
    cr_assert_eq(rc, JR_EFULL, "commit %d: %d %s (want JR_EFULL)", i, rc,
                 err.msg);
    cr_assert_eq(err.code, JR_EFULL);
    return jr_writer_next_seq(w) - 1 - PER_COMMIT;
}

Test(journal_mapfull, a_full_map_is_back_pressure_and_pruning_makes_room,
     .timeout = 90)
{
    jr_journal *j = jt_open(jt_dir, JT_MIB, 4 * JT_MIB);
    jr_writer *w = jt_writer(j, 0, 0);
    jr_reader *r, *idle;
    jr_entry e;
    jr_err err = {0};
    jr_info info;
    uint64_t committed, grew, pruned = 0;
    int rc, round;

    /* A reader that has read once and then sits idle: it must hold no
    ** LMDB snapshot, or the pages pruning frees could never be reused. */
    idle = jt_reader(j, 1);
    committed = fill_until_full(j, w, &grew);
    cr_assert_gt(committed, 0);
    jt_next(idle, &e);
    cr_assert_eq(e.seq, 1);
    cr_assert_gt(grew, JT_MIB, "the map never grew beyond map_initial "
                 "(largest %llu)", (unsigned long long)grew);

    /* Nothing of the failed commit is visible. */
    jt_info(j, &info);
    cr_assert_eq(info.head_seq, committed);
    cr_assert_eq(info.map_max, 4 * JT_MIB);
    cr_assert_leq(info.map_size, 4 * JT_MIB);
    r = jt_reader(j, committed + 1);
    cr_assert_eq(jr_reader_next(r, &e, NULL), JR_EAGAIN,
                 "a record of the failed commit is visible");
    jr_reader_close(r);
    /* The pending records are kept with their seqs, the writer is usable
    ** and still full. */
    cr_assert_eq(jr_writer_pending(w), PER_COMMIT);
    cr_assert_eq(jr_writer_next_seq(w), committed + PER_COMMIT + 1);
    jr_err_clear(&err);
    rc = jr_writer_commit(w, NULL, 0, &err);
    cr_assert_eq(rc, JR_EFULL, "retry without pruning: %d %s", rc, err.msg);
    cr_assert_eq(jr_writer_pending(w), PER_COMMIT);

    /* Make room: a replica acks everything committed, then prune. */
    jr_err_clear(&err);
    cr_assert_eq(jr_replica_ack(j, "replay", committed, &err), JR_OK,
                 "ack with a full map: %s", err.msg);
    cr_assert_eq(jr_journal_prune(j, 0, &pruned, &err), JR_OK,
                 "prune with a full map: %s", err.msg);
    cr_assert_gt(pruned, 0, "nothing pruned");
    cr_assert_leq(pruned, committed);
    jt_info(j, &info);
    cr_assert_eq(info.first_seq, pruned == committed ? 0 : pruned + 1,
                 "pruned %llu records of %llu,"
                 " but first_seq is %llu", (unsigned long long)pruned,
                 (unsigned long long)committed,
                 (unsigned long long)info.first_seq);

    jr_err_clear(&err);
    rc = jr_writer_commit(w, NULL, 0, &err);
    cr_assert_eq(rc, JR_OK, "commit after pruning: %d %s", rc, err.msg);
    cr_assert_eq(jr_writer_pending(w), 0);
    jt_info(j, &info);
    cr_assert_eq(info.head_seq, committed + PER_COMMIT);
    expect_readable(j, info.first_seq, info.head_seq);
    r = jt_reader(j, 1);
    cr_assert_eq(jr_reader_next(r, &e, NULL), JR_ENOTFOUND);
    jr_reader_close(r);

    /* Steady state: keep writing through several full/prune cycles. */
    for (round = 0; round < 3; round++) {
        committed = fill_until_full(j, w, &grew);
        cr_assert_eq(jr_replica_ack(j, "replay", committed, &err), JR_OK);
        cr_assert_eq(jr_journal_prune(j, 0, &pruned, &err), JR_OK);
        cr_assert_gt(pruned, 0);
        jt_commit(w, NULL);
    }
    jt_info(j, &info);
    cr_assert_eq(info.head_seq, jr_writer_next_seq(w) - 1);
    expect_readable(j, info.first_seq, info.head_seq);
    /* Its next seq was pruned long ago: JR_ENOTFOUND, or seq 2 itself if
    ** it still holds a copy of that batch; never anything else. */
    rc = jr_reader_next(idle, &e, NULL);
    cr_assert(rc == JR_ENOTFOUND || (rc == JR_OK && e.seq == 2),
              "idle reader: rc %d seq %llu", rc, (unsigned long long)e.seq);
    jr_reader_close(idle);
    jr_writer_close(w);
    jr_journal_close(j);

    /* And after reopening. */
    j = jt_open_existing(jt_dir);
    jt_info(j, &info);
    expect_readable(j, info.first_seq, info.head_seq);
    {
        jr_check_report rep;

        memset(&rep, 0, sizeof(rep));
        cr_assert_eq(jr_journal_check(j, &rep, &err), JR_OK, "%s: %s",
                     err.msg, rep.problem);
        cr_assert_eq(rep.first_seq, info.first_seq);
        cr_assert_eq(rep.last_seq, info.head_seq);
    }
    jr_journal_close(j);
}

Test(journal_mapfull, a_commit_larger_than_the_cap_fails_full_and_can_be_rolled_back)
{
    jr_journal *j = jt_open(jt_dir, JT_MIB, 4 * JT_MIB);
    jr_writer *w = jt_writer(j, 0, 0);
    jr_reader *r;
    jr_entry e;
    jr_err err = {0};
    jr_info info;
    int rc;

    append_blobs(w, 120);              /* ~5.6 MiB, incompressible */
    rc = jr_writer_commit(w, "never", 5, &err);
    cr_assert_eq(rc, JR_EFULL, "oversized commit: %d %s", rc, err.msg);
    jt_info(j, &info);
    cr_assert_eq(info.head_seq, 0);
    {
        char pos[16];
        size_t len = 0;

        cr_assert_eq(jr_journal_source_pos(j, pos, sizeof(pos), &len, NULL),
                     JR_ENOTFOUND, "the position of the failed commit was "
                     "stored");
    }
    cr_assert_eq(jr_writer_pending(w), 120);
    jr_writer_rollback(w);
    cr_assert_eq(jr_writer_pending(w), 0);
    cr_assert_eq(jr_writer_next_seq(w), 1);
    append_blobs(w, 2);
    jt_commit(w, "small");
    r = jt_reader(j, 1);
    jt_next(r, &e);
    cr_assert_eq(e.seq, 1);
    jt_next(r, &e);
    cr_assert_eq(e.seq, 2);
    cr_assert_eq(jr_reader_next(r, &e, NULL), JR_EAGAIN);
    jr_reader_close(r);
    jr_writer_close(w);
    jr_journal_close(j);
}
