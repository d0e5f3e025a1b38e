/*
** test_concurrency.c -- one writer process and two reader processes on
** the same journal at the same time.
**
** The writer appends groups of varying size (some spanning several
** commits, some records carrying incompressible blobs so the map grows
** from 1 MiB while the readers read). Every record of group g carries
** (g, i, k, v) where i = 0..k-1 and the v of a group sum to 0. Readers
** poll jr_journal_version / jr_reader_next (JR_EAGAIN) and "apply" a group
** only when its end record arrives; they demand dense seqs, consistent
** groups in order, and acknowledge what they applied as replicas (write
** transactions from other processes while the writer commits). Children
** report through their exit status and a line on stderr; the parent
** checks that both readers reached the writer's last seq.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "jt_util.h"

TestSuite(journal_concurrency, .init = jt_tmpdir_up, .fini = jt_tmpdir_down);

#define NGROUPS      1500
#define DEADLINE_US  (90 * 1000000LL)

enum {
    CX_OK = 0, CX_OPEN = 2, CX_READ = 3, CX_DENSE = 4, CX_GROUP = 5, CX_ACK = 6,
    CX_TIMEOUT = 7, CX_WRITE = 8, CX_PIPE = 9
};

static jr_journal *child_open(void)
{
    jr_journal_opts o = JR_JOURNAL_OPTS_INIT;
    jr_journal *j = NULL;
    jr_err err = {0};

    o.map_initial = JT_MIB;
    if (jr_journal_open(&j, jt_dir, &o, &err) != JR_OK) {
        fprintf(stderr, "child %d: open: %s\n", (int)getpid(), err.msg);
        _exit(CX_OPEN);
    }
    return j;
}

/* ---------------------------------------------------------------- */
/* Writer                                                           */
/* ---------------------------------------------------------------- */

static void writer_child(int report)
{
    static unsigned char blob[12000];
    jr_journal *j = child_open();
    jr_writer_opts wo = JR_WRITER_OPTS_INIT;
    jr_writer *w = NULL;
    jr_err err = {0};
    jt_rng rng;
    uint64_t g, last = 0;

    jt_rng_seed(&rng, 0xC0C0);
    if (jr_writer_open(&w, j, &wo, &err) != JR_OK) {
        fprintf(stderr, "writer: writer_open: %s\n", err.msg);
        _exit(CX_OPEN);
    }
    for (g = 1; g <= NGROUPS; g++) {
        uint64_t k = g % 9 == 0 ? 100 + jt_rng_below(&rng, 100)
                                : 1 + jt_rng_below(&rng, 40);
        uint64_t i;
        int64_t sum = 0;

        for (i = 0; i < k; i++) {
            jt_rec *rec = jt_rec_new(JR_K_INSERT, "conc", (int64_t)g);
            int64_t v = i == k - 1 ? -sum
                                   : (int64_t)jt_rng_below(&rng, 2001) - 1000;

            sum += v;
            jt_rec_int(rec, JT_KEY, "g", (int64_t)g);
            jt_rec_int(rec, JT_KEY, "i", (int64_t)i);
            jt_rec_int(rec, JT_NEW, "k", (int64_t)k);
            jt_rec_int(rec, JT_NEW, "v", v);
            if (jt_rng_below(&rng, 4) == 0) {
                size_t n = (size_t)jt_rng_below(&rng, sizeof(blob));

                jt_rng_fill(&rng, blob, n);
                jt_rec_blob(rec, JT_NEW, "blob", blob, n);
            }
            if (jr_writer_append(w, jt_rec_get(rec), i == k - 1, &last,
                                 &err) != JR_OK) {
                fprintf(stderr, "writer: append: %s\n", err.msg);
                _exit(CX_WRITE);
            }
            jt_rec_free(rec);
            if ((i % 25 == 24 && i != k - 1) ||
                (i == k - 1 && jt_rng_below(&rng, 3) != 0)) {
                if (jr_writer_commit(w, NULL, 0, &err) != JR_OK) {
                    fprintf(stderr, "writer: commit: %s\n", err.msg);
                    _exit(CX_WRITE);
                }
                if (jt_rng_below(&rng, 4) == 0)
                    usleep((useconds_t)jt_rng_below(&rng, 2000));
            }
        }
    }
    if (jr_writer_commit(w, NULL, 0, &err) != JR_OK) {
        fprintf(stderr, "writer: final commit: %s\n", err.msg);
        _exit(CX_WRITE);
    }
    jr_writer_close(w);
    jr_journal_close(j);
    if (jt_send_u64(report, last) != 0)
        _exit(CX_PIPE);
    _exit(CX_OK);
}

/* ---------------------------------------------------------------- */
/* Readers                                                          */
/* ---------------------------------------------------------------- */

#define RFAIL(code, ...)                                                   \
    do {                                                                   \
        fprintf(stderr, "reader %d: ", idx);                               \
        fprintf(stderr, __VA_ARGS__);                                      \
        fputc('\n', stderr);                                               \
        _exit(code);                                                       \
    } while (0)

static void reader_child(int idx, int report)
{
    jr_journal *j = child_open();
    jr_reader *r = NULL;
    jr_err err = {0};
    char name[16];
    uint64_t next = 1, want_g = 1, applied = 0;
    /* the group being read */
    uint64_t cur_first = 0, cur_g = 0, cur_k = 0, cur_n = 0;
    int64_t cur_sum = 0;
    int64_t deadline = tl_now_us() + DEADLINE_US;
    uint64_t polls = 0;

    snprintf(name, sizeof(name), "reader-%d", idx);
    if (jr_reader_open(&r, j, 1, &err) != JR_OK)
        RFAIL(CX_OPEN, "reader_open: %s", err.msg);
    while (want_g <= NGROUPS) {
        jr_entry e;
        uint64_t v0 = jr_journal_version(j);
        int rc = jr_reader_next(r, &e, &err);
        uint64_t g, i;

        if (rc == JR_EAGAIN) {
            polls++;
            while (jr_journal_version(j) == v0) {
                if (tl_now_us() > deadline)
                    RFAIL(CX_TIMEOUT, "timed out at seq %llu (group %llu)",
                          (unsigned long long)next,
                          (unsigned long long)want_g);
                usleep(300);
            }
            continue;
        }
        if (rc != JR_OK)
            RFAIL(CX_READ, "reader_next at %llu: %d %s",
                  (unsigned long long)next, rc, err.msg);
        if (e.seq != next)
            RFAIL(CX_DENSE, "got seq %llu, want %llu",
                  (unsigned long long)e.seq, (unsigned long long)next);
        next++;
        g = (uint64_t)jt_row_int(&e.rec.key, "g", -1);
        i = (uint64_t)jt_row_int(&e.rec.key, "i", -1);
        if (cur_n == 0) {
            cur_first = e.seq;
            cur_g = g;
            cur_k = (uint64_t)jt_row_int(&e.rec.new_row, "k", -1);
            cur_sum = 0;
        }
        if (g != cur_g || i != cur_n || e.group != cur_first ||
            e.rec.kind != JR_K_INSERT)
            RFAIL(CX_GROUP, "seq %llu: g %llu i %llu group %llu inside group "
                  "g %llu (first %llu, %llu read)", (unsigned long long)e.seq,
                  (unsigned long long)g, (unsigned long long)i,
                  (unsigned long long)e.group, (unsigned long long)cur_g,
                  (unsigned long long)cur_first, (unsigned long long)cur_n);
        cur_sum += jt_row_int(&e.rec.new_row, "v", 0);
        cur_n++;
        if (!e.group_end)
            continue;
        /* apply */
        if (cur_g != want_g || cur_n != cur_k || cur_sum != 0)
            RFAIL(CX_GROUP, "group ending at seq %llu: g %llu (want %llu), "
                  "%llu of %llu records, sum %lld", (unsigned long long)e.seq,
                  (unsigned long long)cur_g, (unsigned long long)want_g,
                  (unsigned long long)cur_n, (unsigned long long)cur_k,
                  (long long)cur_sum);
        want_g++;
        applied = e.seq;
        cur_n = 0;
        if (want_g % 20 == 0 || want_g > NGROUPS) {
            jr_err_clear(&err);
            if (jr_replica_ack(j, name, applied, &err) != JR_OK)
                RFAIL(CX_ACK, "ack %llu: %s", (unsigned long long)applied,
                      err.msg);
        }
    }
    {
        jr_entry e;
        int rc = jr_reader_next(r, &e, &err);

        if (rc != JR_EAGAIN)
            RFAIL(CX_READ, "a record after the last group: %d", rc);
    }
    jr_reader_close(r);
    jr_journal_close(j);
    fprintf(stderr, "reader %d: applied %llu groups up to seq %llu, %llu "
            "polls\n", idx, (unsigned long long)NGROUPS,
            (unsigned long long)applied, (unsigned long long)polls);
    if (jt_send_u64(report, applied) != 0)
        _exit(CX_PIPE);
    _exit(CX_OK);
}

Test(journal_concurrency,
     two_reader_processes_follow_a_writer_and_only_ever_see_whole_groups,
     .timeout = 170)
{
    int pw[2], pr[2][2];
    pid_t writer, readers[2];
    uint64_t last = 0, got[2] = {0, 0};
    int k, st;
    jr_journal *j;
    jr_replica reps[4];
    uint32_t n = 0;
    jr_check_report rep;
    jr_err err = {0};

    /* Create it first; then no process holds a handle across fork. */
    jr_journal_close(jt_open(jt_dir, JT_MIB, 0));

    cr_assert_eq(pipe(pw), 0);
    for (k = 0; k < 2; k++) {
        cr_assert_eq(pipe(pr[k]), 0);
        readers[k] = jt_fork();
        if (readers[k] == 0) {
            close(pr[k][0]);
            reader_child(k, pr[k][1]);
        }
        close(pr[k][1]);
    }
    writer = jt_fork();
    if (writer == 0) {
        close(pw[0]);
        writer_child(pw[1]);
    }
    close(pw[1]);

    st = tl_wait(writer, 150000);
    cr_assert_eq(st, 0, "writer exited with %d", st);
    cr_assert_eq(jt_recv_u64(pw[0], &last, 1000), 0);
    for (k = 0; k < 2; k++) {
        st = tl_wait(readers[k], 150000);
        cr_assert_eq(st, 0, "reader %d exited with %d (%s)", k, st,
                     st == CX_DENSE ? "seqs not dense"
                     : st == CX_GROUP ? "inconsistent group"
                     : st == CX_TIMEOUT ? "did not reach the end"
                     : "see its stderr");
        cr_assert_eq(jt_recv_u64(pr[k][0], &got[k], 1000), 0);
        cr_assert_eq(got[k], last, "reader %d ended at seq %llu, writer's "
                     "last is %llu", k, (unsigned long long)got[k],
                     (unsigned long long)last);
        close(pr[k][0]);
    }
    close(pw[0]);

    j = jt_open_existing(jt_dir);
    memset(&rep, 0, sizeof(rep));
    cr_assert_eq(jr_journal_check(j, &rep, &err), JR_OK, "%s (seq %llu: %s)",
                 err.msg, (unsigned long long)rep.bad_seq, rep.problem);
    cr_assert_eq(rep.last_seq, last);
    cr_assert_eq(jr_replica_list(j, reps, 4, &n, &err), JR_OK, "%s", err.msg);
    cr_assert_eq(n, 2);
    for (k = 0; k < 2; k++)
        cr_assert_eq(reps[k].applied_seq, last, "%s applied %llu", reps[k].name,
                     (unsigned long long)reps[k].applied_seq);
    {
        jr_info info;

        jt_info(j, &info);
        cr_assert_eq(info.head_seq, last);
        cr_assert_gt(info.map_size, JT_MIB, "the map never grew (%llu)",
                     (unsigned long long)info.map_size);
    }
    jr_journal_close(j);
}
