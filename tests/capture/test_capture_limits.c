/*
** test_capture_limits.c -- capture stopped in the middle of a large
** snapshot (SIGKILL, a full disk, the journal's size cap) never leaves a
** journal that cannot be followed: the interrupted group is closed with
** an ABORT record when capture starts again, the snapshot is taken again,
** and the journal replays to exactly the source. A snapshot that can
** never fit under --map-max-mb stops capture with the sizes named,
** instead of waiting forever.
*/
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

#include "ct_model.h"
#include "ct_proc.h"

TestSuite(capture_limits, .init = ct_setup, .fini = ct_teardown,
          .timeout = 300);

/* rows of ~`width` random (incompressible) bytes */
static void big_table(int rows, int width)
{
    char sql[400];

    snprintf(sql, sizeof(sql),
             "CREATE TABLE IF NOT EXISTS big(id INTEGER PRIMARY KEY, v);"
             "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n "
             " WHERE x < %d) INSERT INTO big(v) SELECT randomblob(%d) "
             " FROM n;", rows, width);
    CT_APP(sql);
}

static jr_info journal_info(void)
{
    jr_journal *j = ct_journal_open(ct_jdir);
    jr_info info;

    cr_assert_eq(jr_journal_info(j, &info, NULL), JR_OK);
    jr_journal_close(j);
    return info;
}

/* ABORT records in the whole journal (ct_scan skips them). */
static int count_aborts(void)
{
    jr_journal *j = ct_journal_open(ct_jdir);
    jr_reader *r;
    jr_entry e;
    jr_info info;
    int n = 0, rc;

    cr_assert_eq(jr_journal_info(j, &info, NULL), JR_OK);
    cr_assert_eq(jr_reader_open(&r, j, info.first_seq ? info.first_seq : 1,
                                NULL), JR_OK);
    while ((rc = jr_reader_next(r, &e, NULL)) == JR_OK)
        n += e.rec.kind == JR_K_ABORT;
    cr_assert_eq(rc, JR_EAGAIN, "reading the journal: %s", jr_strerror(rc));
    jr_reader_close(r);
    jr_journal_close(j);
    return n;
}

/* Wait until the journal holds at least `records` records of a group
** still open (a snapshot under way, committed batch by batch). 0 if it
** did not happen: the time ran out, or the open group was seen to close
** first (the snapshot ended). */
static int wait_open_group(int timeout_ms, uint64_t records)
{
    int64_t end = tl_now_us() + (int64_t)timeout_ms * 1000;
    int seen_open = 0;

    while (tl_now_us() < end) {
        jr_journal *j;
        jr_journal_opts o = JR_JOURNAL_OPTS_INIT;
        jr_info info;
        o.read_only = 1;
        if (jr_journal_open(&j, ct_jdir, &o, NULL) == JR_OK) {
            int ok = jr_journal_info(j, &info, NULL) == JR_OK, open;
            jr_journal_close(j);
            open = ok && info.head_seq > info.complete_seq;
            if (open && info.head_seq >= info.complete_seq + records)
                return 1;
            if (seen_open && ok && !open)
                return 0;
            seen_open |= open;
        }
        tl_sleep_ms(2);
    }
    return 0;
}

Test(capture_limits, sigkill_during_a_large_snapshot_restarts_it)
{
    const char *args[] = { "--source", ct_src, "--journal", ct_jdir,
                           "--batch", "500", NULL };
    int kills = 0;
    ct_rng rng;
    uint64_t seed = (uint64_t)time(NULL);

    /* kills land anywhere in the snapshot: after a random share (up to
    ** 80%) of its 60,000 rows has been journaled, seen in the journal */
    ct_rng_seed(&rng, seed);
    cr_log_info("seed %llu", (unsigned long long)seed);
    big_table(60000, 64);
    for (int i = 0; i < 5; i++) {
        ct_proc p;
        uint64_t at = 1 + ct_rng_below(&rng, 48000);
        ct_cap_startv(&p, args);
        if (wait_open_group(30000, at)) {
            tl_kill(p.pid);
            kills++;
        } else {
            ct_cap_stop(&p, 30000);
        }
        CT_APP("UPDATE big SET v = randomblob(8) WHERE id % 997 = 0;");
    }
    cr_assert_geq(kills, 3, "only %d of 5 runs were killed inside the "
                  "snapshot (seed %llu): the test did not exercise it",
                  kills, (unsigned long long)seed);
    ct_cap_once();
    cr_assert_geq(count_aborts(), 1, "no ABORT closes a killed snapshot");
    ct_assert_journal_clean(ct_jdir);
    ct_assert_model_equals_source(ct_jdir, ct_src);
}

Test(capture_limits, a_full_disk_mid_snapshot_is_survived)
{
    ct_proc p;
    int rc;
    char *log;

    CT_APP("CREATE TABLE small(id INTEGER PRIMARY KEY, v);"
           "INSERT INTO small VALUES (1, 'x');");
    ct_cap_once();                      /* a journal exists, small */
    big_table(40000, 200);              /* ~8 MiB, incompressible */
    ct_fsize_limit = 3L << 20;          /* the disk is full at 3 MiB */
    rc = ct_cap_run(&p, 60000, "--source", ct_src, "--journal", ct_jdir,
                    "--once", "--batch", "500", NULL);
    log = ct_cap_log(&p);
    cr_assert(rc != 0, "capture cannot have journaled 8 MiB in 3:\n%s", log);
    cr_assert(rc < 128, "capture died of a signal (%d) instead of failing "
              "with a message:\n%s", rc, log);
    cr_assert_neq(strstr(log, "level=error prog=sluice-capture "), NULL,
                  "no error line:\n%s",
                  log);
    free(log);
    ct_fsize_limit = 0;                 /* space again */
    ct_cap_once();
    ct_assert_journal_clean(ct_jdir);
    ct_assert_model_equals_source(ct_jdir, ct_src);
}

Test(capture_limits, a_snapshot_larger_than_the_map_cap_is_refused)
{
    ct_proc p;
    int rc;
    char *log, why[1024];
    jr_journal *j;
    jr_info info;
    ct_model *m = ct_model_new();

    cr_assert_eq(ct_cap_run(&p, 10000, "--source", ct_src, "--journal",
                            ct_jdir, "--map-max-mb", "8", NULL), 64,
                 "a cap below 16 MiB must be a usage error");
    CT_APP("CREATE TABLE small(id INTEGER PRIMARY KEY, v);"
           "INSERT INTO small VALUES (1, 'x');");
    ct_cap_once();
    /* a replica (the model) that has applied everything so far: the
    ** records it has are pruned early when the cap is reached */
    cr_assert_eq(ct_model_sync(m, ct_jdir, why, sizeof(why)), 0, "%s", why);
    info = journal_info();
    j = ct_journal_open(ct_jdir);
    jr_journal_close(j);
    {
        jr_journal_opts o = JR_JOURNAL_OPTS_INIT;
        cr_assert_eq(jr_journal_open(&j, ct_jdir, &o, NULL), JR_OK);
        cr_assert_eq(jr_replica_ack(j, "r1", info.head_seq, NULL), JR_OK);
        jr_journal_close(j);
    }
    big_table(120000, 200);             /* ~24 MiB, incompressible */
    rc = ct_cap_run(&p, 120000, "--source", ct_src, "--journal", ct_jdir,
                    "--once", "--batch", "1000", "--map-max-mb", "16",
                    NULL);
    log = ct_cap_log(&p);
    cr_assert_eq(rc, 70, "a snapshot that cannot fit must stop capture "
                 "(exit 70), not wait forever: got %d\n%s", rc, log);
    cr_assert_neq(strstr(log, "--map-max-mb"), NULL, "the message must "
                  "name the option to raise:\n%s", log);
    cr_assert_neq(strstr(log, "16 MiB"), NULL, "the message must name the "
                  "cap:\n%s", log);
    free(log);
    info = journal_info();
    cr_assert_eq(info.map_max, 16ull << 20, "sluice-inspect must see the "
                 "cap capture ran with, not its own default (%llu)",
                 (unsigned long long)info.map_max);
    {
        char path[CT_PATH + 16];
        struct stat sb;
        snprintf(path, sizeof(path), "%s/data.mdb", ct_jdir);
        cr_assert_eq(stat(path, &sb), 0);
        cr_assert_leq((unsigned long long)sb.st_size,
                      (16ull << 20) + (4ull << 20), "the journal grew past "
                      "its cap: %llu bytes",
                      (unsigned long long)sb.st_size);
    }
    /* with room it goes on: the aborted group is discarded */
    rc = ct_cap_run(&p, 120000, "--source", ct_src, "--journal", ct_jdir,
                    "--once", "--map-max-mb", "256", NULL);
    ct_assert_status(&p, rc, 0);
    cr_assert_geq(count_aborts(), 1);
    ct_assert_journal_clean(ct_jdir);
    cr_assert_eq(ct_model_sync(m, ct_jdir, why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(ct_compare(ct_src, m, NULL, why, sizeof(why)), 0, "%s",
                 why);
    ct_model_free(m);
}

/*
** The same for CHANGES: capture down while the application writes 24 MiB
** of large rows in many small transactions. The next pass reads them as
** one group; with the default --batch (10,000 records) the whole group
** used to be ONE pending commit larger than the cap, which no prune could
** ever make room for -- capture waited forever, even with --once. Parts
** of a group are now committed by size, so the group that cannot fit is
** found and named, and with a larger cap it goes through.
*/
Test(capture_limits, a_change_backlog_larger_than_the_map_cap_is_refused)
{
    ct_proc p;
    int rc;
    char *log, why[1024];
    jr_info info;
    ct_model *m = ct_model_new();

    CT_APP("CREATE TABLE big(id INTEGER PRIMARY KEY, v BLOB);");
    ct_cap_once();
    cr_assert_eq(ct_model_sync(m, ct_jdir, why, sizeof(why)), 0, "%s", why);
    info = journal_info();
    {
        jr_journal *j;
        jr_journal_opts o = JR_JOURNAL_OPTS_INIT;
        cr_assert_eq(jr_journal_open(&j, ct_jdir, &o, NULL), JR_OK);
        cr_assert_eq(jr_replica_ack(j, "r1", info.head_seq, NULL), JR_OK);
        jr_journal_close(j);
    }
    for (int i = 0; i < 24; i++)        /* 24 x 1 MiB, incompressible */
        CT_APP("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 "
               "FROM n WHERE x < 256) INSERT INTO big(v) "
               "SELECT randomblob(4096) FROM n;");
    rc = ct_cap_run(&p, 120000, "--source", ct_src, "--journal", ct_jdir,
                    "--once", "--map-max-mb", "16", NULL);
    log = ct_cap_log(&p);
    cr_assert_eq(rc, 70, "a group that cannot fit must stop capture "
                 "(exit 70), not wait forever: got %d\n%s", rc, log);
    cr_assert_neq(strstr(log, "--map-max-mb"), NULL, "the message must "
                  "name the option to raise:\n%s", log);
    free(log);
    rc = ct_cap_run(&p, 120000, "--source", ct_src, "--journal", ct_jdir,
                    "--once", "--map-max-mb", "256", NULL);
    ct_assert_status(&p, rc, 0);
    ct_assert_journal_clean(ct_jdir);
    cr_assert_eq(ct_model_sync(m, ct_jdir, why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(ct_compare(ct_src, m, NULL, why, sizeof(why)), 0, "%s",
                 why);
    ct_model_free(m);
}
