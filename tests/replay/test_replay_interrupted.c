/*
** test_replay_interrupted.c -- capture interrupted in the middle of a
** large snapshot (SIGKILL, SIGTERM) while a replay follows the journal:
** the half-written snapshot group is closed with an ABORT when capture
** starts again, replay discards it like any aborted group (it never
** stops at "abort inside the snapshot"), the snapshot is taken again, and
** the MariaDB copy converges to exactly the source, with the running
** replay and with a later --once replay into a second database.
**
** Kills happen on observed progress (the journal holds records of a group
** still open), not after a delay, so a slow machine still kills inside
** the snapshot; the test asserts that it did.
*/
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "sluice/journal.h"
#include "rt_util.h"
#include "testdb.h"

TestSuite(replay_interrupted, .init = rt_setup, .fini = rt_teardown,
          .timeout = 600);

/* Wait until the journal holds records of a group still open (a snapshot
** under way, committed batch by batch). 0 if it did not happen. */
static int wait_open_group(int timeout_ms)
{
    int64_t end = tl_now_ms() + timeout_ms;

    while (tl_now_ms() < end) {
        jr_journal *j;
        jr_journal_opts o = JR_JOURNAL_OPTS_INIT;
        jr_info info;

        o.read_only = 1;
        if (jr_journal_open(&j, rt_jdir, &o, NULL) == JR_OK) {
            int open = jr_journal_info(j, &info, NULL) == JR_OK &&
                       info.head_seq > info.complete_seq;
            jr_journal_close(j);
            if (open)
                return 1;
        }
        tl_sleep_ms(2);
    }
    return 0;
}

Test(replay_interrupted, a_snapshot_cut_off_by_kills_is_discarded_and_taken_again)
{
    MYSQL *my = rt_my();
    rt_proc rep, cap, once;
    int cut = 0, rc;
    char url2[sizeof(rt_url)], db2[80];

    /* a table whose snapshot spans many batches */
    rt_sql(rt_src, "CREATE TABLE small(id INTEGER PRIMARY KEY, v TEXT);"
                   "INSERT INTO small VALUES (1, 'first');");
    rt_capture_once();
    rt_replay_start(&rep, rt_url, NULL);
    rt_sql(rt_src, "CREATE TABLE big(id INTEGER PRIMARY KEY, v BLOB, n INT);"
                   "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1"
                   " FROM s WHERE x < 25000) INSERT INTO big(v, n)"
                   " SELECT randomblob(64), x FROM s;");
    for (int i = 0; i < 4; i++) {
        rt_capture_start(&cap, "--batch", "250", NULL);
        if (wait_open_group(60000)) {
            if (i % 2 == 0)
                rt_kill(&cap);                  /* SIGKILL */
            else
                cr_assert_eq(rt_stop(&cap, 60000), 0, "capture stopped by "
                             "SIGTERM mid-snapshot must exit 0:\n%s",
                             rt_log(&cap));
            cut++;
        } else {
            rt_stop(&cap, 60000);
        }
        rt_sqlf(rt_src, "UPDATE big SET n = n + 1 WHERE id %% 991 = %d;"
                        "INSERT INTO small VALUES (%d, 'round');", i, 10 + i);
        cr_assert(rt_alive(&rep), "replay stopped on an interrupted "
                  "snapshot:\n%s", rt_log(&rep));
    }
    cr_assert_geq(cut, 2, "only %d of 4 captures were cut off inside the "
                  "snapshot: the test did not exercise it", cut);

    /* capture runs to the end: the snapshot is taken again */
    rt_capture_once();
    cr_assert_eq(rt_wait_applied(my, "default", rt_jdir, 300000), 0,
                 "the running replay did not reach the journal's end:\n%s",
                 rt_log(&rep));
    cr_assert(rt_alive(&rep), "%s", rt_log(&rep));
    RT_ASSERT_SAME_ALL(my);
    cr_expect_eq(tl_count(rt_log(&rep), "level=error"), 0,
                 "replay logged an error:\n%s", rt_log(&rep));

    /* a second target from seq 1 with --once: the same journal, aborted
    ** groups and all, ends equal and --once ends */
    snprintf(db2, sizeof(db2), "%.60s_b", rt_db);
    rt_db_create(db2);
    rt_url_for(url2, sizeof(url2), tdb_config_get()->socket, db2);
    rc = rt_replay_run(&once, url2, "--replica", "second", NULL);
    cr_assert_eq(rc, 0, "replay --once over the interrupted snapshots "
                 "exited %d:\n%s", rc, rt_log(&once));
    {
        MYSQL *my2 = rt_my_db(db2);
        RT_ASSERT_SAME_ALL(my2);
    }
    rt_stop(&rep, 60000);
}
