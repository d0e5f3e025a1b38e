/*
** test_crash.c -- kill -9 a writer at random moments, many times
** (invariants 2 and 4: dense seqs across crashes, exactly-once into the
** journal through the source position).
**
** The child plays capture: its "source" is the sequence of group numbers
** 1, 2, 3, ... It resumes from the committed source position + 1 and
** writes group g as group_size(g) records carrying (g, i, k), committing
** mid-group now and then (groups span commits); every commit carries as
** position the number of the last group whose end record it holds.
**
** Where a kill lands is chosen by what the writer is seen doing, not by a
** delay calibrated on one machine: odd iterations wait until the writer
** reports it is open and then until the journal's head has moved past a
** target drawn 1..48 records ahead (it is writing, however loaded or slow
** -- valgrind -- the machine), and strike 0..2 ms later; even iterations
** strike 0..20 ms after the fork (inside open, or the abort commit).
**
** After each kill the parent reopens the journal, runs jr_journal_check
** and feeds the new records to a state machine that demands: seqs dense;
** a group starts with i = 0 at group number last+1 and continues with
** i + 1; an abort record follows, and only follows, a group left open by
** a crash; the stored position equals the last complete group. So at the
** end every group 1..N exists exactly once, complete and in order.
*/
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "jt_util.h"

TestSuite(journal_crash, .init = jt_tmpdir_up, .fini = jt_tmpdir_down);

/* The committed head of jt_dir (0 while it cannot be read yet). */
static uint64_t head_now(void)
{
    jr_journal_opts o = JR_JOURNAL_OPTS_INIT;
    jr_journal *j;
    jr_info info;
    uint64_t h = 0;

    o.read_only = 1;
    if (jr_journal_open(&j, jt_dir, &o, NULL) != JR_OK)
        return 0;
    if (jr_journal_info(j, &info, NULL) == JR_OK)
        h = info.head_seq;
    jr_journal_close(j);
    return h;
}

#define ITERATIONS 100

static uint64_t group_size(uint64_t g)
{
    return 1 + (g * 7919) % 23;     /* 1..23 */
}

static void pad_for(uint64_t g, uint64_t i, char *buf, size_t *len)
{
    *len = (size_t)((g + i) % 50);
    memset(buf, 'a' + (int)((g + i) % 26), *len);
}

/* ---------------------------------------------------------------- */
/* The child: a writer that runs until it is killed                 */
/* ---------------------------------------------------------------- */

static int child_commit(jr_writer *w, uint64_t last_done)
{
    char pos[32];
    int n = snprintf(pos, sizeof(pos), "%llu", (unsigned long long)last_done);

    return jr_writer_commit(w, last_done ? pos : NULL,
                            last_done ? (size_t)n : 0, NULL);
}

/* Write groups last_done+1 .. into `dir` until max_groups are written (or
** forever); returns 0 or the number of the failed step (20-24). Also used
** by the parent to warm up (so that under valgrind, forked children start
** with this code already translated). */
static int run_writer(const char *dir, int ready, uint64_t max_groups)
{
    jr_journal_opts o = JR_JOURNAL_OPTS_INIT;
    jr_writer_opts wo = JR_WRITER_OPTS_INIT;
    jr_journal *j = NULL;
    jr_writer *w = NULL;
    char pos[32];
    size_t len = 0;
    uint64_t g, start, last_done = 0;
    int rc, ret = 0;

    o.create = ready < 0;               /* the warm-up journal is new */
    if (jr_journal_open(&j, dir, &o, NULL) != JR_OK)
        return 20;
    rc = jr_journal_source_pos(j, pos, sizeof(pos) - 1, &len, NULL);
    if (rc == JR_OK && len < sizeof(pos)) {
        pos[len] = '\0';
        last_done = strtoull(pos, NULL, 10);
    } else if (rc != JR_ENOTFOUND) {
        jr_journal_close(j);
        return 21;
    }
    wo.batch_records = 8;
    if (jr_writer_open(&w, j, &wo, NULL) != JR_OK) {
        jr_journal_close(j);
        return 22;
    }
    if (ready >= 0)
        (void)jt_send_u64(ready, last_done);   /* parent may not listen */
    start = last_done;
    for (g = start + 1; g - start <= max_groups && ret == 0; g++) {
        uint64_t i, k = group_size(g);

        for (i = 0; i < k && ret == 0; i++) {
            jt_rec *rec = jt_rec_new(JR_K_INSERT, "crash", (int64_t)g);
            char pad[64];
            size_t plen;

            pad_for(g, i, pad, &plen);
            jt_rec_int(rec, JT_KEY, "g", (int64_t)g);
            jt_rec_int(rec, JT_KEY, "i", (int64_t)i);
            jt_rec_int(rec, JT_NEW, "k", (int64_t)k);
            jt_rec_text(rec, JT_NEW, "pad", pad, plen);
            if (jr_writer_append(w, jt_rec_get(rec), i == k - 1, NULL, NULL) !=
                JR_OK)
                ret = 23;
            jt_rec_free(rec);
            if (i == k - 1)
                last_done = g;
            /* mid-group commits; most group ends commit, every third
            ** group rides along with the next commit */
            if (ret == 0 &&
                ((i % 6 == 5 && i != k - 1) || (i == k - 1 && g % 3 != 0)) &&
                child_commit(w, last_done) != JR_OK)
                ret = 24;
        }
    }
    if (ret == 0 && child_commit(w, last_done) != JR_OK)
        ret = 24;
    jr_writer_close(w);
    jr_journal_close(j);
    return ret;
}

/* ---------------------------------------------------------------- */
/* The parent's verifier                                            */
/* ---------------------------------------------------------------- */

typedef struct vstate {
    uint64_t next_seq;       /* next seq to read */
    uint64_t want_g;         /* group number the next group must carry */
    uint64_t last_complete;  /* last complete group number */
    int open;                /* a group is open (no end record yet) */
    uint64_t open_first, open_g, open_i;
    uint64_t aborts, records;
} vstate;

static void verify_entry(vstate *st, const jr_entry *e)
{
    uint64_t g, i, k;
    const jr_value *pad;
    char want_pad[64];
    size_t want_len;

    if (e->seq != st->next_seq)
        cr_assert_fail("seq %llu read, want %llu (not dense)",
                       (unsigned long long)e->seq,
                       (unsigned long long)st->next_seq);
    st->next_seq++;
    st->records++;
    if (e->rec.kind == JR_K_ABORT) {
        if (!st->open)
            cr_assert_fail("seq %llu: abort record with no open group",
                           (unsigned long long)e->seq);
        if (e->group != st->open_first || !e->group_end)
            cr_assert_fail("seq %llu: abort has group %llu end %d, want "
                           "group %llu end 1", (unsigned long long)e->seq,
                           (unsigned long long)e->group, e->group_end,
                           (unsigned long long)st->open_first);
        st->open = 0;
        st->aborts++;
        return;
    }
    if (e->rec.kind != JR_K_INSERT)
        cr_assert_fail("seq %llu: unexpected kind %d",
                       (unsigned long long)e->seq, e->rec.kind);
    g = (uint64_t)jt_row_int(&e->rec.key, "g", -1);
    i = (uint64_t)jt_row_int(&e->rec.key, "i", -1);
    k = (uint64_t)jt_row_int(&e->rec.new_row, "k", -1);
    pad = jt_row_get(&e->rec.new_row, "pad");
    pad_for(g, i, want_pad, &want_len);
    if (k != group_size(g) || pad == NULL || pad->type != JR_TEXT ||
        pad->u.b.n != want_len ||
        (want_len > 0 && memcmp(pad->u.b.p, want_pad, want_len) != 0))
        cr_assert_fail("seq %llu: record of group %llu/%llu has bad content",
                       (unsigned long long)e->seq, (unsigned long long)g,
                       (unsigned long long)i);
    if (!st->open) {
        if (i != 0 || g != st->want_g || e->group != e->seq)
            cr_assert_fail("seq %llu starts group number %llu at i=%llu with "
                           "group id %llu; want number %llu, i=0, id %llu",
                           (unsigned long long)e->seq, (unsigned long long)g,
                           (unsigned long long)i, (unsigned long long)e->group,
                           (unsigned long long)st->want_g,
                           (unsigned long long)e->seq);
        st->open = 1;
        st->open_first = e->seq;
        st->open_g = g;
    } else if (g != st->open_g || i != st->open_i + 1 ||
               e->group != st->open_first) {
        cr_assert_fail("seq %llu: (group %llu, i %llu, id %llu) inside open "
                       "group %llu (last i %llu, id %llu)",
                       (unsigned long long)e->seq, (unsigned long long)g,
                       (unsigned long long)i, (unsigned long long)e->group,
                       (unsigned long long)st->open_g,
                       (unsigned long long)st->open_i,
                       (unsigned long long)st->open_first);
    }
    st->open_i = i;
    if (e->group_end != (i == k - 1))
        cr_assert_fail("seq %llu: group_end %d at i %llu of %llu",
                       (unsigned long long)e->seq, e->group_end,
                       (unsigned long long)i, (unsigned long long)k);
    if (e->group_end) {
        st->open = 0;
        st->last_complete = g;
        st->want_g = g + 1;
    }
}

static void verify_journal(vstate *st, int iteration)
{
    jr_journal *j = jt_open_existing(jt_dir);
    jr_check_report rep;
    jr_info info;
    jr_reader *r;
    jr_entry e;
    jr_err err = {0};
    char pos[32];
    size_t len = 0;
    int rc;

    memset(&rep, 0, sizeof(rep));
    rc = jr_journal_check(j, &rep, &err);
    cr_assert_eq(rc, JR_OK, "iteration %d: check %d %s (bad seq %llu: %s)",
                 iteration, rc, err.msg, (unsigned long long)rep.bad_seq,
                 rep.problem);
    jt_info(j, &info);
    cr_assert_geq(info.head_seq, st->next_seq - 1,
                  "iteration %d: head went back", iteration);
    if (info.head_seq > 0) {
        cr_assert_eq(rep.first_seq, 1);
        cr_assert_eq(rep.last_seq, info.head_seq);
        cr_assert_eq(rep.records, info.head_seq);
    }

    r = jt_reader(j, st->next_seq);
    for (;;) {
        rc = jr_reader_next(r, &e, &err);
        if (rc == JR_EAGAIN)
            break;
        if (rc != JR_OK)
            cr_assert_fail("iteration %d: read seq %llu: %d %s", iteration,
                           (unsigned long long)st->next_seq, rc, err.msg);
        verify_entry(st, &e);
    }
    jr_reader_close(r);
    cr_assert_eq(st->next_seq - 1, info.head_seq,
                 "iteration %d: read up to %llu, head is %llu", iteration,
                 (unsigned long long)st->next_seq - 1,
                 (unsigned long long)info.head_seq);
    cr_assert_eq(info.complete_seq,
                 st->open ? st->open_first - 1 : info.head_seq,
                 "iteration %d: complete_seq %llu", iteration,
                 (unsigned long long)info.complete_seq);

    rc = jr_journal_source_pos(j, pos, sizeof(pos) - 1, &len, &err);
    if (st->last_complete == 0) {
        cr_assert_eq(rc, JR_ENOTFOUND, "iteration %d: position %d", iteration,
                     rc);
    } else {
        cr_assert_eq(rc, JR_OK, "iteration %d: position %d %s", iteration, rc,
                     err.msg);
        cr_assert_lt(len, sizeof(pos));
        pos[len] = '\0';
        cr_assert_eq(strtoull(pos, NULL, 10), st->last_complete,
                     "iteration %d: position '%s' but the last complete group"
                     " is %llu", iteration, pos,
                     (unsigned long long)st->last_complete);
    }
    jr_journal_close(j);
}

Test(journal_crash, random_kills_leave_a_dense_journal_whose_position_matches,
     .timeout = 170)
{
    vstate st;
    jt_rng rng;
    int it;

    memset(&st, 0, sizeof(st));
    st.next_seq = 1;
    st.want_g = 1;
    jt_rng_seed(&rng, 0xC4A5);
    jr_journal_close(jt_open(jt_dir, 0, 0));
    {
        char warm[JT_PATH_MAX];

        cr_assert_eq(run_writer(jt_join(warm, sizeof(warm), jt_base, "warm"),
                                -1, 30), 0, "warm-up writer failed");
    }

    for (it = 0; it < ITERATIONS; it++) {
        int status, fds[2];
        pid_t pid;
        uint64_t resumed, h0 = st.next_seq - 1;

        cr_assert_eq(pipe(fds), 0);
        pid = jt_fork();
        if (pid == 0) {
            close(fds[0]);
            signal(SIGPIPE, SIG_IGN);
            _exit(run_writer(jt_dir, fds[1], UINT64_MAX));
        }
        close(fds[1]);
        if (it % 2 == 1) {
            uint64_t target = h0 + 1 + jt_rng_below(&rng, 48);
            int64_t deadline = tl_now_us() + 120000000;

            if (jt_recv_u64(fds[0], &resumed, 120000) != 0)
                cr_assert_fail("iteration %d: the writer did not open in "
                               "120 s", it);
            if (resumed != st.last_complete)
                cr_assert_fail("iteration %d: child resumed after group "
                               "%llu, the last complete group is %llu", it,
                               (unsigned long long)resumed,
                               (unsigned long long)st.last_complete);
            while (head_now() < target) {
                if (tl_now_us() > deadline)
                    cr_assert_fail("iteration %d: the writer did not reach "
                                   "seq %llu in 120 s", it,
                                   (unsigned long long)target);
                usleep(500);
            }
            usleep((useconds_t)jt_rng_below(&rng, 2001));
        } else {
            usleep((useconds_t)jt_rng_below(&rng, 20001));
        }
        close(fds[0]);
        kill(pid, SIGKILL);
        status = tl_wait(pid, 10000);
        cr_assert_eq(status, 128 + SIGKILL,
                     "iteration %d: the writer child died on its own with "
                     "status %d (20-24 name the failed step)", it, status);
        verify_journal(&st, it);
    }

    /* A last writer open closes whatever the last kill left open. */
    {
        jr_journal *j = jt_open_existing(jt_dir);
        jr_writer *w = jt_writer(j, 0, 0);

        jr_writer_close(w);
        jr_journal_close(j);
        verify_journal(&st, ITERATIONS);
        cr_assert_eq(st.open, 0, "a group is still open after writer open");
    }
    cr_log_info("crash: %llu groups, %llu records, %llu aborts",
                (unsigned long long)st.last_complete,
                (unsigned long long)st.records,
                (unsigned long long)st.aborts);
    cr_assert_gt(st.last_complete, ITERATIONS / 2,
                 "only %llu groups written in %d runs",
                 (unsigned long long)st.last_complete, ITERATIONS);
    cr_assert_gt(st.aborts, 0, "no kill ever landed inside a group");
}
