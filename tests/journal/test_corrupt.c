/*
** test_corrupt.c -- a flipped byte on disk is found, attributed to the
** right batch, and never decoded into garbage.
**
** The journal is written in one commit as 100 records in batches of 10
** (seqs 1, 11, ..., 91 start a batch; each stored batch is several KiB, so
** it sits in LMDB overflow pages that nothing rewrites). Each stored value
** starts with the batch magic "SLJ1"; the tests find them by scanning
** DIR/data.mdb and flip one byte 60 bytes further, inside the payload.
** Then jr_journal_check must report JR_ECORRUPT with bad_seq = the first
** seq of that batch, jr_reader_next must return JR_ECORRUPT for it while
** the seqs before it (and the batches after it) still read correctly,
** and `sluice-inspect DIR check` must fail naming the seq.
**
** Density: a batch deleted behind the library's back (through LMDB, using
** the `log` database of journal/FORMAT.md) is a density violation that
** check reports at the first missing seq and readers report as
** JR_ECORRUPT, never as a silent skip or an endless JR_EAGAIN.
*/
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <lmdb.h>

#include "jt_util.h"

TestSuite(journal_corrupt, .init = jt_tmpdir_up, .fini = jt_tmpdir_down);

#define NREC   100
#define BATCH  10
#define FLIP_AT 60

static void marker_text(uint64_t seq, char *buf, size_t *len)
{
    jt_rng rng;
    int n = snprintf(buf, 32, "seq=%06llu;", (unsigned long long)seq);
    size_t i;

    jt_rng_seed(&rng, seq);
    for (i = (size_t)n; i < 1000; i++)
        buf[i] = "0123456789abcdef"[jt_rng_below(&rng, 16)];
    *len = 1000;
}

static void build_journal(int zstd_level)
{
    jr_journal *j = jt_open(jt_dir, JT_MIB, 0);
    jr_writer *w = jt_writer(j, BATCH, zstd_level);
    uint64_t s;

    for (s = 1; s <= NREC; s++) {
        jt_rec *rec = jt_rec_new(JR_K_INSERT, "c", (int64_t)s);
        char text[1000];
        size_t len;

        marker_text(s, text, &len);
        jt_rec_int(rec, JT_KEY, "id", (int64_t)s);
        jt_rec_text(rec, JT_NEW, "body", text, len);
        jt_append(w, jt_rec_get(rec), s % BATCH == 0);
        jt_rec_free(rec);
    }
    jt_commit(w, "done");
    jr_writer_close(w);
    jr_journal_close(j);
}

static void check_record(const jr_entry *e, uint64_t seq)
{
    char text[1000];
    size_t len;
    const jr_value *v = jt_row_get(&e->rec.new_row, "body");

    marker_text(seq, text, &len);
    if (e->seq != seq || jt_row_int(&e->rec.key, "id", -1) != (int64_t)seq ||
        v == NULL || v->type != JR_TEXT || v->u.b.n != len ||
        memcmp(v->u.b.p, text, len) != 0)
        cr_assert_fail("seq %llu read back wrong (got seq %llu)",
                       (unsigned long long)seq, (unsigned long long)e->seq);
}

/* Offsets of every "SLJ1" in data.mdb; returns their number. */
static size_t find_magics(const unsigned char *p, size_t n, size_t *offs,
                          size_t cap)
{
    size_t i, k = 0;

    for (i = 0; i + 4 <= n; i++)
        if (memcmp(p + i, "SLJ1", 4) == 0 && k < cap)
            offs[k++] = i;
    return k;
}

static void flip_byte(const char *path, size_t off)
{
    unsigned char b;
    int fd = open(path, O_RDWR);

    cr_assert(fd >= 0);
    cr_assert_eq(pread(fd, &b, 1, (off_t)off), 1);
    b ^= 0x5A;
    cr_assert_eq(pwrite(fd, &b, 1, (off_t)off), 1);
    cr_assert_eq(close(fd), 0);
}

static const char *inspect_path(char *buf, size_t cap)
{
    const char *bd = getenv("SLUICE_BUILD_DIR");

    cr_assert_not_null(bd, "SLUICE_BUILD_DIR is not set (run through ctest)");
    return jt_join(buf, cap, bd, "tools/inspect/sluice-inspect");
}

/* Open, check, read around the bad batch. Returns the bad seq reported by
** jr_journal_check (0 if it found nothing). */
static uint64_t check_and_read(uint64_t want_bad)
{
    jr_journal *j = jt_open_existing(jt_dir);
    jr_check_report rep;
    jr_err err = {0};
    jr_reader *r;
    jr_entry e;
    char num[32];
    uint64_t s, bad;
    int rc;

    memset(&rep, 0, sizeof(rep));
    rc = jr_journal_check(j, &rep, &err);
    if (rc == JR_OK) {
        jr_journal_close(j);
        return 0;
    }
    cr_assert_eq(rc, JR_ECORRUPT, "check: %d %s", rc, err.msg);
    bad = rep.bad_seq;
    if (want_bad != 0)
        cr_assert_eq(bad, want_bad, "check blames seq %llu, want %llu (%s)",
                     (unsigned long long)bad, (unsigned long long)want_bad,
                     rep.problem);
    cr_assert_eq((bad - 1) % BATCH, 0, "bad_seq %llu is not a batch start",
                 (unsigned long long)bad);
    cr_assert(bad >= 1 && bad <= NREC);
    cr_assert_neq(rep.problem[0], '\0', "no problem described");

    /* Everything before the bad batch reads correctly. */
    r = jt_reader(j, 1);
    for (s = 1; s < bad; s++) {
        jt_next(r, &e);
        check_record(&e, s);
    }
    /* The bad batch is JR_ECORRUPT, naming the seq, never data. */
    jr_err_clear(&err);
    rc = jr_reader_next(r, &e, &err);
    cr_assert_eq(rc, JR_ECORRUPT, "reading bad seq %llu gave %d",
                 (unsigned long long)bad, rc);
    snprintf(num, sizeof(num), "%llu", (unsigned long long)bad);
    cr_assert_not_null(strstr(err.msg, num), "err does not name seq %s: %s",
                       num, err.msg);
    jr_err_clear(&err);
    rc = jr_reader_next(r, &e, &err);
    cr_assert_eq(rc, JR_ECORRUPT, "the call after a corrupt read gave %d", rc);
    jr_reader_seek(r, bad + BATCH / 2);
    cr_assert_eq(jr_reader_next(r, &e, NULL), JR_ECORRUPT,
                 "a seq inside the bad batch read fine");
    /* Later batches are unaffected. */
    if (bad + BATCH <= NREC) {
        jr_reader_seek(r, bad + BATCH);
        for (s = bad + BATCH; s <= NREC; s++) {
            jt_next(r, &e);
            check_record(&e, s);
        }
    }
    jr_reader_close(r);
    jr_journal_close(j);
    return bad;
}

Test(journal_corrupt, a_clean_journal_passes_check)
{
    jr_journal *j;
    jr_check_report rep;
    jr_info info;
    jr_err err = {0};
    char exe[JT_PATH_MAX], out[4096];
    const char *argv[4];
    int rc;

    build_journal(0);
    j = jt_open_existing(jt_dir);
    memset(&rep, 0xff, sizeof(rep));
    rep.problem[0] = '\0';
    rc = jr_journal_check(j, &rep, &err);
    cr_assert_eq(rc, JR_OK, "%d %s (%s)", rc, err.msg, rep.problem);
    cr_assert_eq(rep.records, NREC);
    cr_assert_eq(rep.batches, NREC / BATCH);
    cr_assert_eq(rep.first_seq, 1);
    cr_assert_eq(rep.last_seq, NREC);
    cr_assert_eq(rep.bad_seq, 0);
    jt_info(j, &info);
    cr_assert_eq(info.nbatches, NREC / BATCH);
    cr_assert_gt(info.stored_bytes, 0);
    jr_journal_close(j);

    argv[0] = inspect_path(exe, sizeof(exe));
    argv[1] = jt_dir;
    argv[2] = "check";
    argv[3] = NULL;
    rc = jt_run(argv, out, sizeof(out));
    cr_assert_eq(rc, 0, "sluice-inspect DIR check on a clean journal exited "
                 "%d: %s", rc, out);
}

Test(journal_corrupt, a_flipped_payload_byte_is_caught_and_names_its_batch)
{
    char path[JT_PATH_MAX], num[32];
    unsigned char *data;
    size_t n, offs[64], nm, m, target = (size_t)-1;

    /* Uncompressed batches: the first record's marker text tells which
    ** batch a magic belongs to. */
    build_journal(-1);
    jt_join(path, sizeof(path), jt_dir, "data.mdb");
    data = jt_read_file(path, &n);
    cr_assert_not_null(data);
    nm = find_magics(data, n, offs, 64);
    cr_assert_geq(nm, NREC / BATCH, "found %zu batch magics in data.mdb", nm);
    for (m = 0; m < nm && target == (size_t)-1; m++) {
        size_t i, end = offs[m] + 2000 < n ? offs[m] + 2000 : n;

        for (i = offs[m]; i + 10 < end; i++)
            if (memcmp(data + i, "seq=", 4) == 0) {
                if (memcmp(data + i, "seq=000041;", 11) == 0)
                    target = offs[m];
                break;
            }
    }
    free(data);
    cr_assert_neq(target, (size_t)-1, "no batch starting at seq 41 found");

    flip_byte(path, target + FLIP_AT);
    cr_assert_eq(check_and_read(41), 41);

    {
        char exe[JT_PATH_MAX], out[8192];
        const char *argv[4];
        int rc;

        argv[0] = inspect_path(exe, sizeof(exe));
        argv[1] = jt_dir;
        argv[2] = "check";
        argv[3] = NULL;
        rc = jt_run(argv, out, sizeof(out));
        cr_assert_neq(rc, 127, "could not run %s", exe);
        cr_assert_neq(rc, 0, "sluice-inspect check passed a corrupt journal:"
                      " %s", out);
        cr_assert_lt(rc, 128, "sluice-inspect crashed (status %d): %s", rc,
                     out);
        snprintf(num, sizeof(num), "41");
        cr_assert_not_null(strstr(out, num), "inspect output does not name "
                           "seq 41: %s", out);
    }

    /* Repair the byte: clean again. */
    flip_byte(path, target + FLIP_AT);
    cr_assert_eq(check_and_read(0), 0);
}

Test(journal_corrupt, every_compressed_batch_is_protected, .timeout = 60)
{
    char path[JT_PATH_MAX];
    unsigned char *data;
    size_t n, offs[64], nm, m;
    uint64_t seen[NREC / BATCH + 1];
    int nseen = 0, k;

    build_journal(0);
    jt_join(path, sizeof(path), jt_dir, "data.mdb");
    data = jt_read_file(path, &n);
    cr_assert_not_null(data);
    nm = find_magics(data, n, offs, 64);
    free(data);
    cr_assert_geq(nm, NREC / BATCH, "found %zu batch magics in data.mdb", nm);

    for (m = 0; m < nm; m++) {
        uint64_t bad;

        flip_byte(path, offs[m] + FLIP_AT);
        bad = check_and_read(0);
        flip_byte(path, offs[m] + FLIP_AT);
        if (bad == 0)
            continue;                  /* a stale copy in a free page */
        for (k = 0; k < nseen; k++)
            cr_assert_neq(seen[k], bad, "two different stored batches "
                          "blamed on seq %llu", (unsigned long long)bad);
        cr_assert_lt(nseen, NREC / BATCH);
        seen[nseen++] = bad;
    }
    cr_assert_eq(nseen, NREC / BATCH, "corruption detected in only %d of %d "
                 "batches", nseen, NREC / BATCH);
    cr_assert_eq(check_and_read(0), 0, "not clean after restoring");
}

Test(journal_corrupt, a_destroyed_batch_header_is_corrupt_not_a_crash)
{
    char path[JT_PATH_MAX];
    unsigned char *data;
    size_t n, offs[64], nm;

    build_journal(0);
    jt_join(path, sizeof(path), jt_dir, "data.mdb");
    data = jt_read_file(path, &n);
    cr_assert_not_null(data);
    nm = find_magics(data, n, offs, 64);
    free(data);
    cr_assert_geq(nm, 1);
    /* Wipe the magic and the length fields of one batch. */
    {
        size_t i;

        for (i = 0; i < 24; i++)
            flip_byte(path, offs[nm / 2] + i);
    }
    cr_assert_neq(check_and_read(0), 0, "a batch without header passed check");
}

/* Delete the batch keyed by `seq` from the `log` database (FORMAT.md). */
static void delete_batch(uint64_t seq)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k;
    unsigned char kb[8];
    int i, rc;

    for (i = 0; i < 8; i++)
        kb[i] = (unsigned char)(seq >> (56 - 8 * i));
    k.mv_size = 8;
    k.mv_data = kb;
    cr_assert_eq(mdb_env_create(&env), 0);
    cr_assert_eq(mdb_env_set_maxdbs(env, 16), 0);
    cr_assert_eq(mdb_env_open(env, jt_dir, 0, 0644), 0);
    cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
    rc = mdb_dbi_open(txn, "log", 0, &dbi);
    cr_assert_eq(rc, 0, "no 'log' database: %s", mdb_strerror(rc));
    rc = mdb_del(txn, dbi, &k, NULL);
    cr_assert_eq(rc, 0, "no batch at %llu: %s", (unsigned long long)seq,
                 mdb_strerror(rc));
    cr_assert_eq(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static void expect_check_blames(uint64_t want)
{
    jr_journal *j = jt_open_existing(jt_dir);
    jr_check_report rep;
    jr_err err = {0};
    int rc;

    memset(&rep, 0, sizeof(rep));
    rc = jr_journal_check(j, &rep, &err);
    jr_journal_close(j);
    cr_assert_eq(rc, JR_ECORRUPT, "check of a journal with a hole: %d", rc);
    cr_assert_eq(rep.bad_seq, want, "check blames %llu, want %llu (%s)",
                 (unsigned long long)rep.bad_seq, (unsigned long long)want,
                 rep.problem);
    cr_assert_neq(rep.problem[0], '\0');
}

Test(journal_corrupt, a_missing_batch_breaks_density_and_is_reported)
{
    jr_journal *j;
    jr_reader *r;
    jr_entry e;
    jr_err err = {0};
    uint64_t s;
    int rc;

    build_journal(0);
    delete_batch(41);
    expect_check_blames(41);

    j = jt_open_existing(jt_dir);
    r = jt_reader(j, 1);
    for (s = 1; s <= 40; s++) {
        jt_next(r, &e);
        check_record(&e, s);
    }
    rc = jr_reader_next(r, &e, &err);
    cr_assert_eq(rc, JR_ECORRUPT, "reading missing seq 41 gave %d%s", rc,
                 rc == JR_OK ? " (skipped the hole?)" : "");
    cr_assert_not_null(strstr(err.msg, "41"), "err does not name 41: %s",
                       err.msg);
    jr_reader_seek(r, 51);
    jt_next(r, &e);
    check_record(&e, 51);
    jr_reader_close(r);
    jr_journal_close(j);
}

Test(journal_corrupt, a_missing_last_batch_is_corrupt_not_eagain)
{
    jr_journal *j;
    jr_reader *r;
    jr_entry e;
    int rc;

    build_journal(0);
    delete_batch(91);                   /* head_seq still says 100 */
    expect_check_blames(91);

    j = jt_open_existing(jt_dir);
    r = jt_reader(j, 91);
    rc = jr_reader_next(r, &e, NULL);
    cr_assert_eq(rc, JR_ECORRUPT, "committed seq 91 is gone but reading it "
                 "gave %d (JR_EAGAIN would make a replica wait forever)", rc);
    jr_reader_close(r);
    jr_journal_close(j);
}
