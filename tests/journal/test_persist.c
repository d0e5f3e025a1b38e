/*
** test_persist.c -- what survives close/reopen and process death:
** density of seqs (invariant 2), the source position committed with its
** records (invariant 4), rollback, journal and source identity, opening
** missing or foreign directories, the single-writer lock across processes,
** and the JR_K_ABORT record that closes a group left open by a crash.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <lmdb.h>

#include "jt_util.h"

TestSuite(journal_persist, .init = jt_tmpdir_up, .fini = jt_tmpdir_down);

static jt_rec *row_rec(int64_t id)
{
    jt_rec *rec = jt_rec_new(JR_K_INSERT, "t", id);

    jt_rec_int(rec, JT_KEY, "id", id);
    jt_rec_int(rec, JT_NEW, "id", id);
    jt_rec_get(rec);
    return rec;
}

/* Append `n` one-column records with ids first.., the last ending the
** group if `end`. */
static void append_ids(jr_writer *w, int64_t first, int n, int end)
{
    int i;

    for (i = 0; i < n; i++) {
        jt_rec *rec = row_rec(first + i);

        jt_append(w, &rec->r, end && i == n - 1);
        jt_rec_free(rec);
    }
}

/* Read seqs from..to and check each one's id column equals its seq. */
static void expect_ids_equal_seqs(jr_journal *j, uint64_t from, uint64_t to)
{
    jr_reader *r = jt_reader(j, from);
    jr_entry e;
    uint64_t s;

    for (s = from; s <= to; s++) {
        jt_next(r, &e);
        cr_assert_eq(e.seq, s, "read seq %llu, want %llu",
                     (unsigned long long)e.seq, (unsigned long long)s);
        cr_assert_eq(jt_row_int(&e.rec.key, "id", -1), (int64_t)s,
                     "seq %llu holds id %lld", (unsigned long long)s,
                     (long long)jt_row_int(&e.rec.key, "id", -1));
    }
    cr_assert_eq(jr_reader_next(r, &e, NULL), JR_EAGAIN,
                 "a record after seq %llu", (unsigned long long)to);
    jr_reader_close(r);
}

Test(journal_persist, seqs_continue_densely_after_close_and_reopen)
{
    jr_journal *j = jt_open(jt_dir, 0, 0);
    jr_writer *w = jt_writer(j, 0, 0);
    jr_info info;
    int round;

    cr_assert_eq(jr_writer_next_seq(w), 1);
    append_ids(w, 1, 10, 1);
    jt_commit(w, NULL);
    jr_writer_close(w);
    jr_journal_close(j);

    for (round = 0; round < 3; round++) {
        uint64_t head = 10 + (uint64_t)round * 5;

        j = jt_open_existing(jt_dir);
        jt_info(j, &info);
        cr_assert_eq(info.head_seq, head);
        cr_assert_eq(info.complete_seq, head);
        cr_assert_eq(info.first_seq, 1);
        w = jt_writer(j, 0, 0);
        cr_assert_eq(jr_writer_next_seq(w), head + 1,
                     "after reopen next_seq is %llu, want %llu",
                     (unsigned long long)jr_writer_next_seq(w),
                     (unsigned long long)head + 1);
        append_ids(w, (int64_t)head + 1, 5, 1);
        jt_commit(w, NULL);
        jr_writer_close(w);
        jr_journal_close(j);
    }
    j = jt_open_existing(jt_dir);
    expect_ids_equal_seqs(j, 1, 25);
    jr_journal_close(j);
}

Test(journal_persist, uncommitted_appends_are_abandoned_and_their_seqs_reused)
{
    jr_journal *j = jt_open(jt_dir, 0, 0);
    jr_writer *w = jt_writer(j, 0, 0);
    jr_info info;

    append_ids(w, 1, 3, 1);
    jt_commit(w, NULL);
    append_ids(w, 100, 4, 1);           /* never committed */
    cr_assert_eq(jr_writer_pending(w), 4);
    jr_writer_close(w);
    jt_info(j, &info);
    cr_assert_eq(info.head_seq, 3);

    w = jt_writer(j, 0, 0);
    cr_assert_eq(jr_writer_next_seq(w), 4);
    cr_assert_eq(jr_writer_pending(w), 0);
    append_ids(w, 4, 2, 0);             /* pending when the journal closes */
    jr_journal_close(j);                /* closes the writer too */

    j = jt_open_existing(jt_dir);
    jt_info(j, &info);
    cr_assert_eq(info.head_seq, 3);
    w = jt_writer(j, 0, 0);             /* the lock was released */
    cr_assert_eq(jr_writer_next_seq(w), 4);
    append_ids(w, 4, 2, 1);
    jt_commit(w, NULL);
    jr_writer_close(w);
    expect_ids_equal_seqs(j, 1, 5);
    jr_journal_close(j);
}

Test(journal_persist, nothing_is_visible_before_commit_and_version_moves_on_commit)
{
    jr_journal *j = jt_open(jt_dir, 0, 0);
    jr_writer *w = jt_writer(j, 0, 0);
    jr_reader *r = jt_reader(j, 1);
    jr_entry e;
    jr_err err = {0};
    jr_info info;
    uint64_t v0, v1;

    v0 = jr_journal_version(j);
    append_ids(w, 1, 3, 1);
    cr_assert_eq(jr_reader_next(r, &e, &err), JR_EAGAIN);
    cr_assert_eq(err.msg[0], '\0', "JR_EAGAIN wrote err->msg");
    jt_info(j, &info);
    cr_assert_eq(info.head_seq, 0);
    cr_assert_eq(info.first_seq, 0);
    jt_commit(w, NULL);
    v1 = jr_journal_version(j);
    cr_assert_neq(v0, v1, "version did not move on commit");
    jt_next(r, &e);
    cr_assert_eq(e.seq, 1);
    append_ids(w, 4, 1, 1);
    jt_commit(w, NULL);
    cr_assert_neq(jr_journal_version(j), v1, "version did not move");
    jr_reader_close(r);
    jr_writer_close(w);
    jr_journal_close(j);
}

Test(journal_persist, source_position_is_committed_with_its_records)
{
    static const unsigned char pos1[] = {0, 1, 'b', 'i', 'n', 0, 0xff, 7, 0};
    jr_journal *j = jt_open(jt_dir, 0, 0);
    jr_writer *w = jt_writer(j, 0, 0);
    unsigned char buf[512];
    size_t len = 12345;
    jr_err err = {0};
    jr_info info;
    char big[300];
    int rc;

    rc = jr_journal_source_pos(j, buf, sizeof(buf), &len, &err);
    cr_assert_eq(rc, JR_ENOTFOUND, "fresh journal has a position: %d", rc);
    cr_assert_eq(err.msg[0], '\0', "JR_ENOTFOUND wrote err->msg");

    /* Records and binary position in one commit. */
    append_ids(w, 1, 2, 1);
    cr_assert_eq(jr_writer_commit(w, pos1, sizeof(pos1), &err), JR_OK, "%s",
                 err.msg);
    rc = jr_journal_source_pos(j, buf, sizeof(buf), &len, &err);
    cr_assert_eq(rc, JR_OK, "%d %s", rc, err.msg);
    cr_assert_eq(len, sizeof(pos1));
    cr_assert_eq(memcmp(buf, pos1, sizeof(pos1)), 0);

    /* A short buffer gets a prefix and the full length; nothing beyond. */
    memset(buf, 0xAA, sizeof(buf));
    rc = jr_journal_source_pos(j, buf, 4, &len, &err);
    cr_assert_eq(rc, JR_OK);
    cr_assert_eq(len, sizeof(pos1));
    cr_assert_eq(memcmp(buf, pos1, 4), 0);
    cr_assert_eq(buf[4], 0xAA, "wrote past cap");
    memset(buf, 0xAA, sizeof(buf));
    rc = jr_journal_source_pos(j, buf, 0, &len, &err);
    cr_assert_eq(rc, JR_OK);
    cr_assert_eq(len, sizeof(pos1));
    cr_assert_eq(buf[0], 0xAA, "wrote with cap 0");

    /* pos NULL leaves it unchanged. */
    append_ids(w, 3, 1, 1);
    cr_assert_eq(jr_writer_commit(w, NULL, 0, &err), JR_OK, "%s", err.msg);
    rc = jr_journal_source_pos(j, buf, sizeof(buf), &len, &err);
    cr_assert_eq(rc, JR_OK);
    cr_assert_eq(len, sizeof(pos1));
    cr_assert_eq(memcmp(buf, pos1, sizeof(pos1)), 0);

    /* A commit with only a position adds no record. */
    jt_commit(w, "only-pos-2");
    jt_info(j, &info);
    cr_assert_eq(info.head_seq, 3);
    cr_assert_eq(jr_writer_next_seq(w), 4);
    rc = jr_journal_source_pos(j, buf, sizeof(buf), &len, &err);
    cr_assert_eq(rc, JR_OK);
    cr_assert_eq(len, 10);
    cr_assert_eq(memcmp(buf, "only-pos-2", 10), 0);

    /* A position of a few hundred bytes. */
    memset(big, 'p', sizeof(big));
    big[0] = 'B';
    append_ids(w, 4, 1, 1);
    cr_assert_eq(jr_writer_commit(w, big, sizeof(big), &err), JR_OK);

    /* A rolled back append does not touch it either. */
    append_ids(w, 99, 1, 1);
    jr_writer_rollback(w);
    jr_writer_close(w);
    jr_journal_close(j);

    j = jt_open_existing(jt_dir);
    rc = jr_journal_source_pos(j, buf, sizeof(buf), &len, &err);
    cr_assert_eq(rc, JR_OK, "%d %s", rc, err.msg);
    cr_assert_eq(len, sizeof(big));
    cr_assert_eq(memcmp(buf, big, sizeof(big)), 0);
    jt_info(j, &info);
    cr_assert_eq(info.head_seq, 4);
    expect_ids_equal_seqs(j, 1, 4);
    jr_journal_close(j);
}

Test(journal_persist, rollback_hands_the_same_seqs_out_again)
{
    jr_journal *j = jt_open(jt_dir, 0, 0);
    jr_writer *w = jt_writer(j, 0, 0);
    jr_reader *r;
    jr_entry e;
    jt_rec *rec;

    append_ids(w, 1, 2, 1);
    jt_commit(w, NULL);
    append_ids(w, 1000, 3, 0);
    cr_assert_eq(jr_writer_pending(w), 3);
    cr_assert_eq(jr_writer_next_seq(w), 6);
    jr_writer_rollback(w);
    cr_assert_eq(jr_writer_pending(w), 0);
    cr_assert_eq(jr_writer_next_seq(w), 3);
    /* Rolling back nothing is harmless. */
    jr_writer_rollback(w);
    cr_assert_eq(jr_writer_next_seq(w), 3);

    rec = row_rec(3);
    cr_assert_eq(jt_append(w, &rec->r, 1), 3);
    jt_rec_free(rec);
    jt_commit(w, NULL);
    r = jt_reader(j, 3);
    jt_next(r, &e);
    cr_assert_eq(e.seq, 3);
    /* The rolled back group (which was left open) did not leak into the
    ** group structure: seq 3 starts and ends its own group. */
    cr_assert_eq(e.group, 3);
    cr_assert_eq(e.group_end, 1);

    /* A group left open by a commit stays open across a rollback of a
    ** record that would have closed it. */
    append_ids(w, 4, 1, 0);
    jt_commit(w, NULL);                 /* group 4 open */
    append_ids(w, 2000, 1, 1);
    jr_writer_rollback(w);
    append_ids(w, 5, 1, 1);
    jt_commit(w, NULL);
    jt_next(r, &e);
    cr_assert_eq(e.seq, 4);
    jt_next(r, &e);
    cr_assert_eq(e.seq, 5);
    cr_assert_eq(e.group, 4, "after rollback seq 5 is in group %llu, want 4",
                 (unsigned long long)e.group);
    cr_assert_eq(e.group_end, 1);
    jr_reader_close(r);
    jr_writer_close(w);
    expect_ids_equal_seqs(j, 1, 5);
    jr_journal_close(j);
}

static int is_uuid(const char *s)
{
    int i;

    if (strlen(s) != 36)
        return 0;
    for (i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!((s[i] >= '0' && s[i] <= '9') ||
                     (s[i] >= 'a' && s[i] <= 'f') ||
                     (s[i] >= 'A' && s[i] <= 'F'))) {
            return 0;
        }
    }
    return 1;
}

Test(journal_persist, journal_uuid_is_stable_across_reopen_and_unique)
{
    char other[JT_PATH_MAX];
    char uuid[37];
    jr_journal *j = jt_open(jt_dir, 0, 0);
    jr_writer *w;
    jr_info info;

    jt_info(j, &info);
    cr_assert(is_uuid(info.journal_uuid), "not a uuid: '%s'",
              info.journal_uuid);
    memcpy(uuid, info.journal_uuid, sizeof(uuid));
    w = jt_writer(j, 0, 0);
    append_ids(w, 1, 1, 1);
    jt_commit(w, NULL);
    jr_writer_close(w);
    jr_journal_close(j);

    j = jt_open_existing(jt_dir);
    jt_info(j, &info);
    cr_assert_str_eq(info.journal_uuid, uuid);
    jr_journal_close(j);
    /* create on an existing journal does not re-initialise it */
    j = jt_open(jt_dir, 0, 0);
    jt_info(j, &info);
    cr_assert_str_eq(info.journal_uuid, uuid);
    cr_assert_eq(info.head_seq, 1);
    jr_journal_close(j);

    j = jt_open(jt_join(other, sizeof(other), jt_base, "other"), 0, 0);
    jt_info(j, &info);
    cr_assert(is_uuid(info.journal_uuid));
    cr_assert_str_neq(info.journal_uuid, uuid, "two journals share a uuid");
    jr_journal_close(j);
}

Test(journal_persist, bind_source_accepts_its_own_id_and_refuses_another)
{
    jr_journal *j = jt_open(jt_dir, 0, 0);
    jr_err err = {0};
    jr_info info;
    int rc;

    jt_info(j, &info);
    cr_assert_str_eq(info.source_id, "");
    cr_assert_eq(jr_journal_bind_source(j, "source-AAAA", &err), JR_OK, "%s",
                 err.msg);
    cr_assert_eq(jr_journal_bind_source(j, "source-AAAA", &err), JR_OK);
    jt_info(j, &info);
    cr_assert_str_eq(info.source_id, "source-AAAA");

    rc = jr_journal_bind_source(j, "source-BBBB", &err);
    cr_assert_eq(rc, JR_EMISMATCH, "rc %d", rc);
    cr_assert_eq(err.code, JR_EMISMATCH);
    cr_assert_not_null(strstr(err.msg, "source-AAAA"), "msg: %s", err.msg);
    cr_assert_not_null(strstr(err.msg, "source-BBBB"), "msg: %s", err.msg);
    jr_journal_close(j);

    /* The binding is durable. */
    j = jt_open_existing(jt_dir);
    jt_info(j, &info);
    cr_assert_str_eq(info.source_id, "source-AAAA");
    jr_err_clear(&err);
    cr_assert_eq(jr_journal_bind_source(j, "source-BBBB", &err), JR_EMISMATCH);
    cr_assert_eq(jr_journal_bind_source(j, "source-AAAA", NULL), JR_OK);
    jr_journal_close(j);
}

Test(journal_persist, the_first_failure_stays_in_err_until_cleared)
{
    jr_journal *j = jt_open(jt_dir, 0, 0);
    jr_err err = {0};

    cr_assert_eq(jr_journal_bind_source(j, "src-1", &err), JR_OK);
    cr_assert_eq(jr_journal_bind_source(j, "src-2", &err), JR_EMISMATCH);
    cr_assert_not_null(strstr(err.msg, "src-2"));
    cr_assert_eq(jr_journal_bind_source(j, "src-3", &err), JR_EMISMATCH);
    cr_assert_not_null(strstr(err.msg, "src-2"), "first failure overwritten:"
                       " %s", err.msg);
    cr_assert_null(strstr(err.msg, "src-3"), "msg: %s", err.msg);
    jr_err_clear(&err);
    cr_assert_eq(err.code, 0);
    cr_assert_eq(jr_journal_bind_source(j, "src-3", &err), JR_EMISMATCH);
    cr_assert_not_null(strstr(err.msg, "src-3"), "msg: %s", err.msg);
    jr_journal_close(j);
}

Test(journal_persist, opening_a_missing_journal_without_create_is_enotfound)
{
    jr_journal_opts o = JR_JOURNAL_OPTS_INIT;
    jr_journal *j = (jr_journal *)&o;      /* must be set to NULL */
    jr_err err = {0};
    struct stat st;
    int rc;

    rc = jr_journal_open(&j, jt_dir, &o, &err);
    cr_assert_eq(rc, JR_ENOTFOUND, "rc %d %s", rc, err.msg);
    cr_assert_null(j);
    /* documented exception: open's JR_ENOTFOUND names the path */
    cr_assert_neq(strstr(err.msg, jt_dir), NULL,
                  "message does not name the directory: %s", err.msg);
    cr_assert_neq(stat(jt_dir, &st), 0, "open without create made the dir");

    /* An existing, empty directory holds no journal either. */
    cr_assert_eq(mkdir(jt_dir, 0755), 0);
    j = (jr_journal *)&o;
    rc = jr_journal_open(&j, jt_dir, &o, &err);
    cr_assert_eq(rc, JR_ENOTFOUND, "rc %d %s", rc, err.msg);
    cr_assert_null(j);
}

static void expect_open_fails(const char *what, int create)
{
    jr_journal_opts o = JR_JOURNAL_OPTS_INIT;
    jr_journal *j = (jr_journal *)&o;
    jr_err err = {0};
    int rc;

    o.create = create;
    rc = jr_journal_open(&j, jt_dir, &o, &err);
    if (rc == JR_OK)
        jr_journal_close(j);
    cr_assert_neq(rc, JR_OK, "%s (create=%d) opened", what, create);
    cr_assert(rc == JR_ECORRUPT || rc == JR_ERR, "%s: rc %d", what, rc);
    cr_assert_null(j, "%s: *out not NULL on failure", what);
    cr_assert_neq(err.msg[0], '\0', "%s: no message", what);
}

Test(journal_persist, opening_a_directory_with_garbage_is_an_error_not_a_crash)
{
    char path[JT_PATH_MAX];
    size_t n = JT_MIB;
    unsigned char *junk = malloc(n);
    jt_rng rng;

    cr_assert_not_null(junk);
    jt_rng_seed(&rng, 99);
    jt_rng_fill(&rng, junk, n);
    cr_assert_eq(mkdir(jt_dir, 0755), 0);
    jt_join(path, sizeof(path), jt_dir, "data.mdb");

    cr_assert_eq(jt_write_file(path, junk, n), 0);
    expect_open_fails("1 MiB of random bytes", 0);
    expect_open_fails("1 MiB of random bytes", 1);

    cr_assert_eq(jt_write_file(path, junk, 100), 0);
    expect_open_fails("100 random bytes", 0);

    memset(junk, 0, n);
    cr_assert_eq(jt_write_file(path, junk, 65536), 0);
    expect_open_fails("64 KiB of zeros", 0);
    free(junk);

    /* A journal path that is a regular file. */
    tl_rm_rf(jt_dir);
    cr_assert_eq(jt_write_file(jt_dir, "x", 1), 0);
    {
        jr_journal_opts o = JR_JOURNAL_OPTS_INIT;
        jr_journal *j = (jr_journal *)&o;
        int rc;

        o.create = 1;
        rc = jr_journal_open(&j, jt_dir, &o, NULL);
        if (rc == JR_OK)
            jr_journal_close(j);
        cr_assert_neq(rc, JR_OK, "a regular file opened as a journal");
        cr_assert_null(j);
    }
}

Test(journal_persist, an_lmdb_environment_that_is_not_a_journal_is_corrupt)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k, v;
    jr_journal_opts o = JR_JOURNAL_OPTS_INIT;
    jr_journal *j = (jr_journal *)&o;
    jr_err err = {0};
    int rc;

    cr_assert_eq(mkdir(jt_dir, 0755), 0);
    cr_assert_eq(mdb_env_create(&env), 0);
    cr_assert_eq(mdb_env_set_maxdbs(env, 4), 0);
    cr_assert_eq(mdb_env_open(env, jt_dir, 0, 0644), 0);
    cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
    cr_assert_eq(mdb_dbi_open(txn, "someone-elses", MDB_CREATE, &dbi), 0);
    k.mv_data = "hello";
    k.mv_size = 5;
    v.mv_data = "world";
    v.mv_size = 5;
    cr_assert_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
    cr_assert_eq(mdb_txn_commit(txn), 0);
    mdb_env_close(env);

    rc = jr_journal_open(&j, jt_dir, &o, &err);
    if (rc == JR_OK)
        jr_journal_close(j);
    cr_assert_eq(rc, JR_ECORRUPT, "foreign LMDB env: rc %d %s", rc, err.msg);
    cr_assert_null(j);
}

/* ---------------------------------------------------------------- */
/* Processes                                                        */
/* ---------------------------------------------------------------- */

/* Child: open (creating) the journal, become its writer, optionally leave
** a committed group open, report "ready" on `up`, then wait for EOF on
** `down` (clean exit) or to be killed. Exit codes name the failed step. */
static void child_hold_writer(int up, int down, int leave_group_open)
{
    jr_journal_opts o = JR_JOURNAL_OPTS_INIT;
    jr_writer_opts wo = JR_WRITER_OPTS_INIT;
    jr_journal *j = NULL;
    jr_writer *w = NULL;
    uint64_t dummy;

    o.create = 1;
    if (jr_journal_open(&j, jt_dir, &o, NULL) != JR_OK)
        _exit(10);
    if (jr_writer_open(&w, j, &wo, NULL) != JR_OK)
        _exit(11);
    if (leave_group_open) {
        int i;

        for (i = 1; i <= 5; i++) {
            jt_rec *rec = jt_rec_new(JR_K_INSERT, "t", i);

            jt_rec_int(rec, JT_KEY, "id", i);
            if (jr_writer_append(w, jt_rec_get(rec), i == 2, NULL, NULL) !=
                JR_OK)
                _exit(12);
            jt_rec_free(rec);
            if (i == 2 || i == 4) {
                const char *pos = i == 2 ? "pos-2" : "pos-4";

                if (jr_writer_commit(w, pos, 5, NULL) != JR_OK)
                    _exit(13);
            }
        }
        /* seq 5 appended but never committed */
    }
    if (jt_send_u64(up, 1) != 0)
        _exit(14);
    if (jt_recv_u64(down, &dummy, 30000) == 0)
        _exit(15);                      /* no message expected, only EOF */
    jr_writer_close(w);
    jr_journal_close(j);
    _exit(0);
}

/* Fork child_hold_writer; returns its pid, *down = its command pipe. */
static pid_t start_holder(int leave_group_open, int *down)
{
    int up[2], dn[2];
    uint64_t ready;
    pid_t pid;

    cr_assert_eq(pipe(up), 0);
    cr_assert_eq(pipe(dn), 0);
    pid = jt_fork();
    if (pid == 0) {
        close(up[0]);
        close(dn[1]);
        child_hold_writer(up[1], dn[0], leave_group_open);
    }
    close(up[1]);
    close(dn[0]);
    /* (no side effects in assert messages: --full-stats evaluates them) */
    if (jt_recv_u64(up[0], &ready, 20000) != 0) {
        int st = tl_wait(pid, 0);

        cr_assert_fail("writer child never became ready (exit %d)", st);
    }
    close(up[0]);
    *down = dn[1];
    return pid;
}

Test(journal_persist, a_second_writer_in_another_process_gets_ebusy,
     .timeout = 60)
{
    int down;
    pid_t pid = start_holder(0, &down);
    jr_journal *j = jt_open_existing(jt_dir);
    jr_writer *w = NULL;
    jr_writer_opts wo = JR_WRITER_OPTS_INIT;
    jr_err err = {0};
    int rc, st;

    rc = jr_writer_open(&w, j, &wo, &err);
    cr_assert_eq(rc, JR_EBUSY, "second writer: rc %d %s", rc, err.msg);
    /* Still busy on a retry. */
    jr_err_clear(&err);
    rc = jr_writer_open(&w, j, &wo, &err);
    cr_assert_eq(rc, JR_EBUSY, "second writer, again: rc %d", rc);

    /* The holder closes cleanly: the lock is free. */
    close(down);
    st = tl_wait(pid, 20000);
    cr_assert_eq(st, 0, "holder exited %d", st);
    jr_err_clear(&err);
    w = NULL;
    rc = jr_writer_open(&w, j, &wo, &err);
    cr_assert_eq(rc, JR_OK, "after the holder left: rc %d %s", rc, err.msg);
    jr_writer_close(w);
    jr_journal_close(j);
}

Test(journal_persist, the_writer_lock_dies_with_a_killed_process, .timeout = 60)
{
    int down;
    pid_t pid = start_holder(0, &down);
    jr_journal *j;
    jr_writer *w = NULL;
    jr_writer_opts wo = JR_WRITER_OPTS_INIT;
    jr_err err = {0};
    int rc;

    tl_kill(pid);
    close(down);
    j = jt_open_existing(jt_dir);
    rc = jr_writer_open(&w, j, &wo, &err);
    cr_assert_eq(rc, JR_OK, "after kill -9 of the holder: rc %d %s", rc,
                 err.msg);
    cr_assert_eq(jr_writer_next_seq(w), 1);
    jr_writer_close(w);
    jr_journal_close(j);
}

Test(journal_persist, a_writer_after_a_crash_mid_group_closes_it_with_abort,
     .timeout = 60)
{
    int down;
    pid_t pid = start_holder(1, &down);
    jr_journal *j;
    jr_writer *w;
    jr_reader *r;
    jr_entry e;
    jr_info info;
    char pos[16];
    size_t len = 0;
    uint64_t s;
    jt_rec *rec;

    tl_kill(pid);                       /* seqs 3, 4 committed, no end */
    close(down);

    j = jt_open_existing(jt_dir);
    jt_info(j, &info);
    cr_assert_eq(info.head_seq, 4);
    cr_assert_eq(info.complete_seq, 2);
    cr_assert_eq(jr_journal_source_pos(j, pos, sizeof(pos), &len, NULL), JR_OK);
    cr_assert_eq(len, 5);
    cr_assert_eq(memcmp(pos, "pos-4", 5), 0);

    w = jt_writer(j, 0, 0);
    /* The abort record is committed by jr_writer_open itself. */
    jt_info(j, &info);
    cr_assert_eq(info.head_seq, 5, "head %llu after writer open",
                 (unsigned long long)info.head_seq);
    cr_assert_eq(info.complete_seq, 5);
    cr_assert_eq(jr_writer_next_seq(w), 6);
    cr_assert_eq(jr_writer_pending(w), 0);
    /* ... and leaves the source position alone. */
    cr_assert_eq(jr_journal_source_pos(j, pos, sizeof(pos), &len, NULL), JR_OK);
    cr_assert_eq(memcmp(pos, "pos-4", 5), 0);

    r = jt_reader(j, 1);
    for (s = 1; s <= 4; s++) {
        jt_next(r, &e);
        cr_assert_eq(e.seq, s);
        cr_assert_eq(e.group, s <= 2 ? 1 : 3);
        cr_assert_eq(e.group_end, s == 2);
        cr_assert_eq(e.rec.kind, JR_K_INSERT);
    }
    jt_next(r, &e);
    cr_assert_eq(e.seq, 5);
    cr_assert_eq(e.rec.kind, JR_K_ABORT, "seq 5 is a %s",
                 jr_kind_name(e.rec.kind));
    cr_assert_eq(e.group, 3, "abort closes group %llu, want 3",
                 (unsigned long long)e.group);
    cr_assert_eq(e.group_end, 1);
    cr_assert_str_eq(e.rec.table, "");
    cr_assert_eq(jr_reader_next(r, &e, NULL), JR_EAGAIN);

    /* The next group starts fresh. */
    rec = row_rec(6);
    cr_assert_eq(jt_append(w, &rec->r, 1), 6);
    jt_rec_free(rec);
    jt_commit(w, NULL);
    jt_next(r, &e);
    cr_assert_eq(e.seq, 6);
    cr_assert_eq(e.group, 6);
    cr_assert_eq(e.group_end, 1);
    jr_reader_close(r);
    jr_writer_close(w);

    /* Reopening the writer now adds nothing. */
    w = jt_writer(j, 0, 0);
    cr_assert_eq(jr_writer_next_seq(w), 7);
    jr_writer_close(w);
    jt_info(j, &info);
    cr_assert_eq(info.head_seq, 6);
    jr_journal_close(j);
}

Test(journal_persist, a_writer_on_complete_groups_appends_nothing)
{
    jr_journal *j = jt_open(jt_dir, 0, 0);
    jr_writer *w = jt_writer(j, 0, 0);
    jr_info info;

    cr_assert_eq(jr_writer_next_seq(w), 1, "empty journal got an abort");
    append_ids(w, 1, 3, 1);
    jt_commit(w, NULL);
    jr_writer_close(w);
    w = jt_writer(j, 0, 0);
    cr_assert_eq(jr_writer_next_seq(w), 4);
    jr_writer_close(w);
    jt_info(j, &info);
    cr_assert_eq(info.head_seq, 3);
    jr_journal_close(j);
}

Test(journal_persist, the_latest_committed_schema_of_each_table_is_kept)
{
    jr_journal *j = jt_open(jt_dir, 0, 0);
    jr_writer *w = jt_writer(j, 0, 0);
    jr_err err = {0};
    char buf[64];
    size_t len = 0;
    jt_rec *rec;
    int rc;

    rc = jr_journal_table_schema(j, "t1", buf, sizeof(buf), &len, &err);
    cr_assert_eq(rc, JR_ENOTFOUND);
    cr_assert_eq(err.msg[0], '\0');

    rec = jt_rec_new(JR_K_SCHEMA, "t1", 0);
    jt_rec_aux(rec, "v1", 2);
    jt_append(w, jt_rec_get(rec), 0);
    jt_rec_free(rec);
    rec = jt_rec_new(JR_K_SCHEMA, "t2", 0);
    jt_rec_aux(rec, "w\0" "1", 3);
    jt_append(w, jt_rec_get(rec), 1);
    jt_rec_free(rec);
    jt_commit(w, NULL);
    rec = jt_rec_new(JR_K_SCHEMA, "t1", 0);
    jt_rec_aux(rec, "v2-longer", 9);
    jt_append(w, jt_rec_get(rec), 1);
    jt_rec_free(rec);
    jt_commit(w, NULL);
    /* Pending, then rolled back: never visible. */
    rec = jt_rec_new(JR_K_SCHEMA, "t1", 0);
    jt_rec_aux(rec, "v3", 2);
    jt_append(w, jt_rec_get(rec), 1);
    jt_rec_free(rec);

    rc = jr_journal_table_schema(j, "t1", buf, sizeof(buf), &len, &err);
    cr_assert_eq(rc, JR_OK, "%d %s", rc, err.msg);
    cr_assert_eq(len, 9);
    cr_assert_eq(memcmp(buf, "v2-longer", 9), 0);
    memset(buf, '#', sizeof(buf));
    rc = jr_journal_table_schema(j, "t1", buf, 2, &len, &err);
    cr_assert_eq(rc, JR_OK);
    cr_assert_eq(len, 9);
    cr_assert_eq(memcmp(buf, "v2#", 3), 0, "cap not respected");
    rc = jr_journal_table_schema(j, "t2", buf, sizeof(buf), &len, &err);
    cr_assert_eq(rc, JR_OK);
    cr_assert_eq(len, 3);
    cr_assert_eq(memcmp(buf, "w\0" "1", 3), 0);
    cr_assert_eq(jr_journal_table_schema(j, "t3", buf, sizeof(buf), &len, &err),
                 JR_ENOTFOUND);
    jr_writer_rollback(w);
    jr_writer_close(w);
    jr_journal_close(j);

    j = jt_open_existing(jt_dir);
    rc = jr_journal_table_schema(j, "t1", buf, sizeof(buf), &len, &err);
    cr_assert_eq(rc, JR_OK);
    cr_assert_eq(len, 9);
    cr_assert_eq(memcmp(buf, "v2-longer", 9), 0);

    /* A drop record forgets the table's schema (FORMAT.md, `tables`). */
    w = jt_writer(j, 0, 0);
    rec = jt_rec_new(JR_K_DROP, "t1", 0);
    jt_append(w, jt_rec_get(rec), 1);
    jt_rec_free(rec);
    jt_commit(w, NULL);
    jr_writer_close(w);
    cr_assert_eq(jr_journal_table_schema(j, "t1", buf, sizeof(buf), &len, &err),
                 JR_ENOTFOUND, "schema of a dropped table still returned");
    cr_assert_eq(jr_journal_table_schema(j, "t2", buf, sizeof(buf), &len, &err),
                 JR_OK);
    jr_journal_close(j);
}

Test(journal_persist, a_read_only_handle_reads_but_cannot_write)
{
    jr_journal *j = jt_open(jt_dir, 0, 0);
    jr_writer *w = jt_writer(j, 0, 0);
    jr_journal_opts o = JR_JOURNAL_OPTS_INIT;
    jr_writer_opts wo = JR_WRITER_OPTS_INIT;
    jr_err err = {0};
    int rc;

    append_ids(w, 1, 4, 1);
    jt_commit(w, "p");
    jr_writer_close(w);
    jr_journal_close(j);

    o.read_only = 1;
    j = NULL;
    rc = jr_journal_open(&j, jt_dir, &o, &err);
    cr_assert_eq(rc, JR_OK, "read-only open: %d %s", rc, err.msg);
    expect_ids_equal_seqs(j, 1, 4);
    w = NULL;
    rc = jr_writer_open(&w, j, &wo, &err);
    if (rc == JR_OK)
        jr_writer_close(w);
    cr_assert_neq(rc, JR_OK, "a read-only handle gave a writer");
    jr_journal_close(j);
}

/* Child: become the writer, append one record, report, wait for "go",
** then try to commit. Exit 0 if the commit failed and the writer is
** poisoned afterwards; 30+ names what went wrong. */
static void child_stale_writer(int up, int down)
{
    jr_journal_opts o = JR_JOURNAL_OPTS_INIT;
    jr_writer_opts wo = JR_WRITER_OPTS_INIT;
    jr_journal *j = NULL;
    jr_writer *w = NULL;
    jt_rec *rec = row_rec(1000);
    uint64_t go;
    int rc;

    o.create = 1;
    if (jr_journal_open(&j, jt_dir, &o, NULL) != JR_OK ||
        jr_writer_open(&w, j, &wo, NULL) != JR_OK)
        _exit(30);
    if (jr_writer_append(w, &rec->r, 1, NULL, NULL) != JR_OK)
        _exit(31);
    if (jt_send_u64(up, 1) != 0 || jt_recv_u64(down, &go, 30000) != 0)
        _exit(32);
    rc = jr_writer_commit(w, NULL, 0, NULL);
    if (rc == JR_OK)
        _exit(33);                      /* overwrote the other writer */
    if (rc == JR_EFULL)
        _exit(34);
    if (jr_writer_append(w, &rec->r, 1, NULL, NULL) != JR_EPOISONED)
        _exit(35);
    if (jr_writer_commit(w, NULL, 0, NULL) != JR_EPOISONED)
        _exit(36);
    if (jr_writer_end_group(w, NULL) != JR_EPOISONED)
        _exit(37);
    jt_rec_free(rec);
    jr_writer_close(w);
    jr_journal_close(j);
    _exit(0);
}

Test(journal_persist, a_writer_whose_head_moved_underneath_is_poisoned,
     .timeout = 60)
{
    int up[2], dn[2], st;
    uint64_t ready;
    char lock[JT_PATH_MAX];
    pid_t pid;
    jr_journal *j;
    jr_writer *w;

    cr_assert_eq(pipe(up), 0);
    cr_assert_eq(pipe(dn), 0);
    pid = jt_fork();
    if (pid == 0) {
        close(up[0]);
        close(dn[1]);
        child_stale_writer(up[1], dn[0]);
    }
    close(up[1]);
    close(dn[0]);
    if (jt_recv_u64(up[0], &ready, 20000) != 0) {
        st = tl_wait(pid, 0);
        cr_assert_fail("stale writer child never became ready (exit %d)", st);
    }
    /* Bypass the lock (an operator deleting writer.lock) and commit. */
    cr_assert_eq(unlink(jt_join(lock, sizeof(lock), jt_dir, "writer.lock")),
                 0);
    j = jt_open_existing(jt_dir);
    w = jt_writer(j, 0, 0);
    append_ids(w, 1, 2, 1);
    jt_commit(w, NULL);
    jr_writer_close(w);
    jr_journal_close(j);

    cr_assert_eq(jt_send_u64(dn[1], 1), 0);
    st = tl_wait(pid, 30000);
    cr_assert_eq(st, 0, "stale writer: exit %d (33: its commit succeeded over"
                 " the other writer's records; 35-37: not poisoned after the "
                 "failure)", st);
    close(up[0]);
    close(dn[1]);

    j = jt_open_existing(jt_dir);
    expect_ids_equal_seqs(j, 1, 2);
    jr_journal_close(j);
}
