/*
** test_replica.c -- replicas, acknowledgements and pruning.
**
** Pruning removes stored records at or below the minimum applied seq of all
** registered replicas (whole batches: the journals here are written in
** batches of 10, seqs 1-10, 11-20, ...), never anything above it, nothing
** without a replica, and nothing younger than the retention window.
** Pruned seqs read as JR_ENOTFOUND; the head and the seq counter survive
** pruning everything.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "jt_util.h"

TestSuite(journal_replica, .init = jt_tmpdir_up, .fini = jt_tmpdir_down);

#define BATCH 10

/* Append ids first..last, in groups (and commits) of BATCH. */
static void write_range(jr_writer *w, uint64_t first, uint64_t last)
{
    uint64_t s;

    for (s = first; s <= last; s++) {
        jt_rec *rec = jt_rec_new(JR_K_INSERT, "r", (int64_t)s);

        jt_rec_int(rec, JT_KEY, "id", (int64_t)s);
        jt_append(w, jt_rec_get(rec), s % BATCH == 0 || s == last);
        jt_rec_free(rec);
        if (s % BATCH == 0 || s == last)
            jt_commit(w, NULL);
    }
}

static jr_journal *journal_with(uint64_t n)
{
    jr_journal *j = jt_open(jt_dir, 0, 0);
    jr_writer *w = jt_writer(j, BATCH, 0);

    write_range(w, 1, n);
    jr_writer_close(w);
    return j;
}

static uint64_t prune(jr_journal *j, int64_t retention_s)
{
    jr_err err = {0};
    uint64_t pruned = 12345;
    int rc = jr_journal_prune(j, retention_s, &pruned, &err);

    cr_assert_eq(rc, JR_OK, "prune: %d %s", rc, err.msg);
    return pruned;
}

static void ack(jr_journal *j, const char *name, uint64_t seq)
{
    jr_err err = {0};
    int rc = jr_replica_ack(j, name, seq, &err);

    cr_assert_eq(rc, JR_OK, "ack %s %llu: %d %s", name,
                 (unsigned long long)seq, rc, err.msg);
}

static const jr_replica *find(const jr_replica *reps, uint32_t n,
                              const char *name)
{
    uint32_t i;

    for (i = 0; i < n; i++)
        if (strcmp(reps[i].name, name) == 0)
            return &reps[i];
    return NULL;
}

static uint32_t list(jr_journal *j, jr_replica *reps, uint32_t cap)
{
    jr_err err = {0};
    uint32_t n = 9999;
    int rc = jr_replica_list(j, reps, cap, &n, &err);

    cr_assert_eq(rc, JR_OK, "list: %d %s", rc, err.msg);
    return n;
}

/* Seqs first..last read correctly; first-1 (if any) is JR_ENOTFOUND. */
static void expect_stored(jr_journal *j, uint64_t first, uint64_t last)
{
    jr_reader *r = jt_reader(j, first);
    jr_entry e;
    jr_err err = {0};
    uint64_t s;
    int rc;

    for (s = first; s <= last; s++) {
        jt_next(r, &e);
        if (e.seq != s || jt_row_int(&e.rec.key, "id", -1) != (int64_t)s)
            cr_assert_fail("seq %llu read as %llu", (unsigned long long)s,
                           (unsigned long long)e.seq);
    }
    cr_assert_eq(jr_reader_next(r, &e, NULL), JR_EAGAIN);
    if (first > 1) {
        jr_reader_seek(r, first - 1);
        rc = jr_reader_next(r, &e, &err);
        cr_assert_eq(rc, JR_ENOTFOUND, "pruned seq %llu: rc %d",
                     (unsigned long long)first - 1, rc);
        cr_assert_eq(err.msg[0], '\0', "JR_ENOTFOUND wrote err->msg");
        jr_reader_seek(r, 1);
        cr_assert_eq(jr_reader_next(r, &e, NULL), JR_ENOTFOUND);
    }
    jr_reader_close(r);
}

Test(journal_replica, replicas_can_be_registered_listed_and_unregistered)
{
    jr_journal *j = jt_open(jt_dir, 0, 0);
    jr_replica reps[4];
    jr_err err = {0};
    jr_info info;
    uint32_t n;

    cr_assert_eq(list(j, reps, 4), 0);
    cr_assert_eq(jr_replica_register(j, "alpha", &err), JR_OK, "%s", err.msg);
    cr_assert_eq(jr_replica_register(j, "b.c-1_X", &err), JR_OK, "%s",
                 err.msg);
    n = list(j, reps, 4);
    cr_assert_eq(n, 2);
    cr_assert_not_null(find(reps, n, "alpha"));
    cr_assert_not_null(find(reps, n, "b.c-1_X"));
    cr_assert_eq(find(reps, n, "alpha")->applied_seq, 0);
    jt_info(j, &info);
    cr_assert_eq(info.nreplicas, 2);

    /* cap smaller than the count: *n is the full count, one written. */
    memset(reps, 0x7f, sizeof(reps));
    n = list(j, reps, 1);
    cr_assert_eq(n, 2);
    cr_assert(strcmp(reps[0].name, "alpha") == 0 ||
              strcmp(reps[0].name, "b.c-1_X") == 0);
    cr_assert_eq(((unsigned char *)&reps[1])[0], 0x7f, "wrote past cap");
    cr_assert_eq(list(j, NULL, 0), 2);

    cr_assert_eq(jr_replica_unregister(j, "alpha", &err), JR_OK, "%s",
                 err.msg);
    n = list(j, reps, 4);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(reps[0].name, "b.c-1_X");
    cr_assert_eq(jr_replica_unregister(j, "alpha", &err), JR_ENOTFOUND);
    cr_assert_eq(jr_replica_unregister(j, "never-there", &err), JR_ENOTFOUND);
    cr_assert_eq(err.msg[0], '\0', "JR_ENOTFOUND wrote err->msg");
    jr_journal_close(j);

    /* Durable. */
    j = jt_open_existing(jt_dir);
    n = list(j, reps, 4);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(reps[0].name, "b.c-1_X");
    jr_journal_close(j);
}

Test(journal_replica, replica_names_are_validated)
{
    jr_journal *j = jt_open(jt_dir, 0, 0);
    jr_replica reps[2];
    char name63[64], name64[65];
    static const char *const bad[] = {"", "a b", "a/b", "caf\xc3\xa9",
                                      "tab\t", "x;y"};
    size_t i;

    memset(name63, 'n', 63);
    name63[63] = '\0';
    memset(name64, 'n', 64);
    name64[64] = '\0';
    cr_assert_eq(jr_replica_register(j, name63, NULL), JR_OK);
    cr_assert_eq(jr_replica_register(j, name64, NULL), JR_ERR,
                 "a 64-byte name was accepted");
    cr_assert_eq(jr_replica_ack(j, name64, 1, NULL), JR_ERR,
                 "ack registered a 64-byte name");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        jr_err err = {0};

        cr_assert_eq(jr_replica_register(j, bad[i], &err), JR_ERR,
                     "name '%s' accepted", bad[i]);
        cr_assert_neq(err.msg[0], '\0');
    }
    cr_assert_eq(list(j, reps, 2), 1);
    cr_assert_str_eq(reps[0].name, name63);
    jr_journal_close(j);
}

Test(journal_replica, acks_never_move_backwards)
{
    jr_journal *j = journal_with(30);
    jr_replica reps[2];
    uint32_t n;
    int64_t before = (int64_t)time(NULL) * 1000000;

    ack(j, "r1", 10);                      /* registers it */
    n = list(j, reps, 2);
    cr_assert_eq(n, 1);
    cr_assert_eq(reps[0].applied_seq, 10);
    cr_assert_geq(reps[0].applied_time_us, before - 5000000,
                  "applied_time_us %lld is not a recent wall-clock time",
                  (long long)reps[0].applied_time_us);
    cr_assert_leq(reps[0].applied_time_us, before + 60000000);
    ack(j, "r1", 5);
    list(j, reps, 2);
    cr_assert_eq(reps[0].applied_seq, 10, "ack moved back to %llu",
                 (unsigned long long)reps[0].applied_seq);
    ack(j, "r1", 0);
    list(j, reps, 2);
    cr_assert_eq(reps[0].applied_seq, 10);
    ack(j, "r1", 25);
    list(j, reps, 2);
    cr_assert_eq(reps[0].applied_seq, 25);
    /* Registering it again keeps its ack. */
    cr_assert_eq(jr_replica_register(j, "r1", NULL), JR_OK);
    list(j, reps, 2);
    cr_assert_eq(reps[0].applied_seq, 25, "register reset the ack");
    jr_journal_close(j);

    j = jt_open_existing(jt_dir);
    ack(j, "r1", 20);
    n = list(j, reps, 2);
    cr_assert_eq(n, 1);
    cr_assert_eq(reps[0].applied_seq, 25);
    jr_journal_close(j);
}

Test(journal_replica, prune_removes_only_records_at_or_below_the_minimum_ack)
{
    jr_journal *j = journal_with(100);
    jr_reader *early = jt_reader(j, 1);
    jr_entry e;
    jr_info info;
    jr_check_report rep;
    jr_err err = {0};
    uint64_t pruned, first, nb;

    jt_info(j, &info);
    nb = info.nbatches;
    ack(j, "a", 55);
    ack(j, "b", 37);
    pruned = prune(j, 0);
    jt_info(j, &info);
    first = info.first_seq;
    cr_assert_leq(first, 38, "pruned seq %llu, above the minimum ack 37",
                  (unsigned long long)first - 1);
    cr_assert_geq(first, 31, "batches 1-30 were fully applied but first_seq "
                  "is %llu", (unsigned long long)first);
    cr_assert_eq(pruned, first - 1, "pruned %llu, first_seq %llu",
                 (unsigned long long)pruned, (unsigned long long)first);
    cr_assert_lt(info.nbatches, nb);
    cr_assert_eq(info.head_seq, 100);
    expect_stored(j, first, 100);
    /* A reader that was positioned before pruning gets JR_ENOTFOUND. */
    cr_assert_eq(jr_reader_next(early, &e, NULL), JR_ENOTFOUND);
    jr_reader_close(early);

    /* Pruning again without new acks removes nothing. */
    cr_assert_eq(prune(j, 0), 0);

    /* b catches up past a: now a (55) is the minimum. */
    ack(j, "b", 100);
    pruned = prune(j, 0);
    jt_info(j, &info);
    cr_assert_leq(info.first_seq, 56);
    cr_assert_geq(info.first_seq, 51);
    cr_assert_eq(pruned, info.first_seq - first);
    expect_stored(j, info.first_seq, 100);

    memset(&rep, 0, sizeof(rep));
    cr_assert_eq(jr_journal_check(j, &rep, &err), JR_OK, "%s: %s", err.msg,
                 rep.problem);
    cr_assert_eq(rep.first_seq, info.first_seq);
    cr_assert_eq(rep.last_seq, 100);
    cr_assert_eq(rep.records, 100 - info.first_seq + 1);
    jr_journal_close(j);

    /* Durable. */
    first = info.first_seq;
    j = jt_open_existing(jt_dir);
    jt_info(j, &info);
    cr_assert_eq(info.first_seq, first);
    expect_stored(j, first, 100);
    jr_journal_close(j);
}

Test(journal_replica, nothing_is_pruned_without_a_replica_that_applied_anything)
{
    jr_journal *j = journal_with(50);
    jr_info info;

    cr_assert_eq(prune(j, 0), 0, "pruned with no replica registered");
    cr_assert_eq(jr_replica_register(j, "idle", NULL), JR_OK);
    cr_assert_eq(prune(j, 0), 0, "pruned though the replica applied nothing");
    ack(j, "busy", 50);
    cr_assert_eq(prune(j, 0), 0, "pruned past the idle replica");
    jt_info(j, &info);
    cr_assert_eq(info.first_seq, 1);
    expect_stored(j, 1, 50);

    /* Unregistering the lagging replica lets pruning proceed. */
    cr_assert_eq(jr_replica_unregister(j, "idle", NULL), JR_OK);
    cr_assert_eq(prune(j, 0), 50);
    /* With every replica gone, nothing more is pruned. */
    cr_assert_eq(jr_replica_unregister(j, "busy", NULL), JR_OK);
    {
        jr_writer *w = jt_writer(j, BATCH, 0);

        write_range(w, 51, 60);
        jr_writer_close(w);
    }
    cr_assert_eq(prune(j, 0), 0);
    expect_stored(j, 51, 60);
    jr_journal_close(j);
}

Test(journal_replica, the_retention_window_is_respected, .timeout = 30)
{
    jr_journal *j = jt_open(jt_dir, 0, 0);
    jr_writer *w = jt_writer(j, BATCH, 0);
    jr_info info;
    int64_t a_done, b_start, now;
    int64_t r;

    write_range(w, 1, 50);
    a_done = tl_now_us();
    usleep(2300 * 1000);                /* a gap between two commit times */
    b_start = tl_now_us();
    write_range(w, 51, 100);
    ack(j, "r", 100);

    cr_assert_eq(prune(j, 3600), 0, "pruned inside a one-hour window");
    cr_assert_eq(prune(j, 1000000000), 0);
    /* A window that ends inside the gap, however long the steps since
    ** took on this machine: the batches of 1..50 are older than it, those
    ** of 51..100 younger. */
    now = tl_now_us();
    /* +1: prune reads the clock a little later than we do */
    r = (now - b_start + 999999) / 1000000 + 1;
    cr_assert_lt(r * 1000000, now - a_done, "no whole second fits between "
                 "the commits (the machine stalled for %lld us)",
                 (long long)(now - b_start));
    cr_assert_eq(prune(j, r), 50);
    jt_info(j, &info);
    cr_assert_eq(info.first_seq, 51);
    expect_stored(j, 51, 100);
    cr_assert_eq(prune(j, 0), 50);
    jr_writer_close(w);
    jr_journal_close(j);
}

Test(journal_replica, pruning_everything_keeps_the_head_and_seqs_continue)
{
    jr_journal *j = journal_with(40);
    jr_writer *w;
    jr_reader *r;
    jr_entry e;
    jr_info info;

    ack(j, "r", 40);
    cr_assert_eq(prune(j, 0), 40);
    jt_info(j, &info);
    cr_assert_eq(info.first_seq, 0, "first_seq of an empty log");
    cr_assert_eq(info.head_seq, 40);
    cr_assert_eq(info.nbatches, 0);
    r = jt_reader(j, 41);
    cr_assert_eq(jr_reader_next(r, &e, NULL), JR_EAGAIN);
    jr_reader_seek(r, 40);
    cr_assert_eq(jr_reader_next(r, &e, NULL), JR_ENOTFOUND);
    jr_reader_close(r);
    jr_journal_close(j);

    j = jt_open_existing(jt_dir);
    jt_info(j, &info);
    cr_assert_eq(info.head_seq, 40);
    w = jt_writer(j, BATCH, 0);
    cr_assert_eq(jr_writer_next_seq(w), 41, "seqs restart at %llu after "
                 "pruning everything",
                 (unsigned long long)jr_writer_next_seq(w));
    write_range(w, 41, 45);
    jr_writer_close(w);
    expect_stored(j, 41, 45);
    {
        jr_check_report rep;
        jr_err err = {0};

        memset(&rep, 0, sizeof(rep));
        cr_assert_eq(jr_journal_check(j, &rep, &err), JR_OK, "%s: %s",
                     err.msg, rep.problem);
        cr_assert_eq(rep.first_seq, 41);
        cr_assert_eq(rep.last_seq, 45);
    }
    jr_journal_close(j);
}

Test(journal_replica, a_table_schema_outlives_the_pruning_of_its_record)
{
    jr_journal *j = jt_open(jt_dir, 0, 0);
    jr_writer *w = jt_writer(j, BATCH, 0);
    jt_rec *rec = jt_rec_new(JR_K_SCHEMA, "orders", 0);
    char buf[32];
    size_t len = 0;
    jr_err err = {0};

    jt_rec_aux(rec, "orders-v1", 9);
    jt_append(w, jt_rec_get(rec), 1);
    jt_rec_free(rec);
    jt_commit(w, NULL);
    write_range(w, 2, 30);
    jr_writer_close(w);
    ack(j, "r", 30);
    cr_assert_eq(prune(j, 0), 30);
    cr_assert_eq(jr_journal_table_schema(j, "orders", buf, sizeof(buf), &len,
                                         &err), JR_OK,
                 "the schema went with its pruned record: %s", err.msg);
    cr_assert_eq(len, 9);
    cr_assert_eq(memcmp(buf, "orders-v1", 9), 0);
    jr_journal_close(j);
}
