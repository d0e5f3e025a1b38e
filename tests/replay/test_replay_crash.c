/*
** test_replay_crash.c -- SIGKILL sluice-replay at random moments, many
** times, during a long backlog (a 5,000-row initial snapshot and ~20,000
** journaled changes in ~40 groups): the final target equals the source
** row by row and has exactly the checksums of a reference replay that was
** never interrupted (no duplicate effect), and the position only ever
** moves forward.
**
** Where kills land is decided by what replay is seen doing, never by a
** clock calibrated on one machine (a loaded 2-core box is many times
** slower than an idle one): most kills wait until the position row on
** MariaDB has moved past a target drawn from the rest of the backlog, then
** strike a few milliseconds later, inside the next group or between
** commits; the others strike right after the start (before or while
** connecting). Replay runs with --txn-groups 2 (or 1): by default it
** would take this backlog in one or two transactions. The test asserts
** that several kills left replay part-way,
** so resuming really was exercised. The seed is printed; set RT_SEED to
** replay a failure.
*/
#include <criterion/criterion.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rt_util.h"
#include "testdb.h"

TestSuite(replay_crash, .init = rt_setup, .fini = rt_teardown,
          .timeout = 900);   /* a limit for hangs: loaded ASan runs take 250 s */

#define NT 4
static const char *const g_tables[NT] = { "t", "c", "kl", "u" };

static void backlog(int chunks)
{
    rt_sql(rt_src,
           "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, n INT, r REAL);"
           "CREATE TABLE c(a INT, b INT, v BLOB, PRIMARY KEY(a, b));"
           "CREATE TABLE kl(x TEXT, y INT);"
           "CREATE TABLE u(id INTEGER PRIMARY KEY, code TEXT UNIQUE, n INT);"
           "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s"
           " WHERE i < 5000)"
           " INSERT INTO t SELECT i, 'seed ' || i, i, i / 7.0 FROM s;"
           "INSERT INTO kl SELECT 'k' || (id % 10), id % 3 FROM t"
           " WHERE id <= 200;");
    rt_capture_once();
    for (int r = 1; r <= chunks; r++) {
        /* ~500 changes per chunk; odd chunks as one transaction, even
        ** ones as several */
        rt_sqlf(rt_src,
                "%s"
                "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1"
                " FROM s WHERE i < 150)"
                " INSERT INTO t SELECT 100000 * %d + i, 'c%d', i, i * 0.5"
                " FROM s;"
                "%s"
                "UPDATE t SET n = n + 1, v = v || '+' WHERE id %% 50 = %d;"
                "UPDATE t SET id = id + 50000000 WHERE id BETWEEN"
                " 100000 * %d + 1 AND 100000 * %d + 20;"
                "DELETE FROM t WHERE id %% 97 = %d;"
                "%s"
                "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1"
                " FROM s WHERE i < 100)"
                " INSERT INTO c SELECT %d, i, randomblob(8) FROM s;"
                "UPDATE c SET a = a + 1000 WHERE a = %d - 1 AND b %% 4 = 0;"
                "INSERT INTO kl SELECT 'n' || %d, i FROM (SELECT 1 AS i UNION"
                " ALL SELECT 2 UNION ALL SELECT 3);"
                "UPDATE kl SET y = y + 1 WHERE rowid %% 9 = %d %% 9;"
                "DELETE FROM kl WHERE rowid %% 23 = %d %% 23;"
                "INSERT OR REPLACE INTO u VALUES (%d, 'code' || (%d %% 7),"
                " %d);"
                "%s",
                r % 2 ? "BEGIN;" : "", r, r, r % 2 ? "" : "BEGIN;",
                r % 50, r, r, r % 97, r % 2 ? "" : "COMMIT; BEGIN;", r, r,
                r, r, r, r, r, r, r % 2 ? "COMMIT;" : "COMMIT;");
        rt_capture_once();
    }
}

typedef struct sums {
    rt_sum s[NT];
    uint64_t ck[NT];
} sums;

static void take(MYSQL *my, sums *x)
{
    for (int i = 0; i < NT; i++) {
        x->s[i] = rt_checksum(my, g_tables[i]);
        x->ck[i] = rt_checksum_table(my, g_tables[i]);
    }
}

static void replay_to_end(const char *url)
{
    rt_proc p;
    int rc = rt_replay_run(&p, url, NULL);

    cr_assert_eq(rc, 0, "replay exited %d:\n%s", rc, rt_log(&p));
}

/* Wait until replica "default" on my is at or past `target` (the
** position row moving: replay is applying, however slow the machine).
** Asserts replay stays alive meanwhile. */
static int64_t wait_position(MYSQL *my, rt_proc *p, int64_t target)
{
    int64_t deadline = tl_now_ms() + 120000, pos;

    /* no assertion per poll: with --full-stats each one that passes is a
    ** message to Criterion's runner */
    while ((pos = rt_position(my, "default")) < target) {
        if (!rt_alive(p))
            cr_assert_fail("replay exited by itself (%d):\n%s", p->status,
                           rt_log(p));
        if (tl_now_ms() >= deadline)
            cr_assert_fail("replay did not reach seq %" PRId64 " in 120 s "
                           "(at %" PRId64 "):\n%s", target, pos, rt_log(p));
        tl_sleep_ms(1);
    }
    return pos;
}

/* Start replay and SIGKILL it, again and again, until it has applied
** everything or `max_kills` kills were made. One kill in four strikes
** 0..20 ms after the start; the others once the position has moved past a
** target between the last position and a sixth of the rest of the
** backlog, 0..3 ms later. */
static void kill_many_times(const char *url, MYSQL *my, int max_kills,
                            uint64_t seed)
{
    int64_t head = rt_journal_complete_seq(rt_jdir), last = -1;
    int progressed = 0, kills = 0, early = 0;
    rt_rng rng;

    rt_rng_seed(&rng, seed);
    while (kills < max_kills && last < head) {
        rt_proc p;
        int64_t pos, from = last < 0 ? 0 : last;

        /* two groups per transaction, sometimes one: kills land
        ** inside joined groups and between them (by default replay would
        ** take this whole backlog in one or two transactions) */
        rt_replay_start(&p, url, "--poll-ms", "1", "--txn-groups",
                        rt_rng_below(&rng, 3) == 0 ? "1" : "2", NULL);
        if (rt_rng_below(&rng, 4) == 0) {
            tl_sleep_ms((int)rt_rng_below(&rng, 21));
            early++;
        } else {
            int64_t span = (head - from) / 6 + 1;
            wait_position(my, &p, from + 1 + (int64_t)rt_rng_below(
                                      &rng, (uint64_t)span));
            tl_sleep_ms((int)rt_rng_below(&rng, 4));
        }
        cr_assert(rt_alive(&p), "replay exited by itself (%d):\n%s",
                  p.status, rt_log(&p));
        kill(p.pid, SIGKILL);
        kills++;
        rt_wait(&p, 10000);
        pos = rt_position(my, "default");
        cr_assert(pos >= last, "position went back from %" PRId64 " to %"
                  PRId64, last, pos);
        if (pos > last && pos > 0 && pos < head)
            progressed++;
        last = pos;
    }
    cr_log_info("seed %" PRIu64 ": %d kills (%d right after the start), "
                "%d left a new partial position, stopped at %" PRId64
                " of %" PRId64, seed, kills, early, progressed, last, head);
    cr_expect(progressed >= 3, "only %d kills left replay part-way (seed %"
              PRIu64 "); the test did not exercise resuming", progressed,
              seed);
    cr_expect(kills >= 10, "only %d kills (seed %" PRIu64 ")", kills, seed);
}

static uint64_t seed_of(void)
{
    const char *s = getenv("RT_SEED");
    return s ? strtoull(s, NULL, 10) : (uint64_t)time(NULL);
}

Test(replay_crash, sigkill_at_random_moments_during_a_long_backlog_ends_equal_with_no_duplicate_effect)
{
    char ref[80], ref_url[RT_PATH + 200];
    MYSQL *my = rt_my(), *rmy;
    sums a, b;

    backlog(40);
    snprintf(ref, sizeof(ref), "%.50s_ref", rt_db);
    rt_db_create(ref);
    rt_url_for(ref_url, sizeof(ref_url), tdb_config_get()->socket, ref);
    rmy = rt_my_db(ref);
    replay_to_end(ref_url);
    RT_ASSERT_SAME_ALL(rmy);

    kill_many_times(rt_url, my, 80, seed_of());
    replay_to_end(rt_url);
    cr_assert_eq(rt_position(my, "default"),
                 rt_journal_complete_seq(rt_jdir));
    RT_ASSERT_SAME_ALL(my);
    take(rmy, &a);
    take(my, &b);
    for (int i = 0; i < NT; i++) {
        cr_expect(a.s[i].rows == b.s[i].rows && a.s[i].sum == b.s[i].sum &&
                  a.s[i].x == b.s[i].x, "table %s differs from the "
                  "uninterrupted replay (%" PRIu64 " vs %" PRIu64 " rows)",
                  g_tables[i], b.s[i].rows, a.s[i].rows);
        cr_expect_eq(a.ck[i], b.ck[i], "CHECKSUM TABLE %s differs",
                     g_tables[i]);
    }
}

Test(replay_crash, a_user_keyless_table_gets_no_duplicate_rows_across_kills)
{
    MYSQL *my = rt_my(), *ref;
    uint64_t seed = seed_of();
    char db2[80], url2[RT_PATH + 200];
    rt_sum a, b;
    rt_rng rng;

    /* matched by old image: inserts are not idempotent, so applying any
    ** group twice would show as extra rows */
    rt_my_exec(my, "CREATE TABLE kl (x VARCHAR(40) COLLATE utf8mb4_bin,"
                   " y INT)");
    /* empty at the snapshot: every row arrives as a change (the
    ** snapshot of such a table is covered by test_replay_target) */
    rt_sql(rt_src, "CREATE TABLE kl(x TEXT, y INT);");
    rt_capture_once();
    rt_sql(rt_src, "INSERT INTO kl VALUES ('seed', 0), ('seed', 0);");
    rt_capture_once();
    rt_rng_seed(&rng, seed ^ 0xabc);
    for (int r = 1; r <= 30; r++) {
        rt_sqlf(rt_src, "BEGIN;"
                "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1"
                " FROM s WHERE i < 60)"
                " INSERT INTO kl SELECT 'r%d', i %% 4 FROM s;"
                "UPDATE kl SET y = y + 10 WHERE rowid %% 11 = %d;"
                "DELETE FROM kl WHERE rowid %% 13 = %d;"
                "COMMIT;", r, (int)rt_rng_below(&rng, 11),
                (int)rt_rng_below(&rng, 13));
        rt_capture_once();
    }
    /* an uninterrupted replay to compare with */
    snprintf(db2, sizeof(db2), "%.50s_ref", rt_db);
    rt_db_create(db2);
    rt_url_for(url2, sizeof(url2), tdb_config_get()->socket, db2);
    ref = rt_my_db(db2);
    rt_my_exec(ref, "CREATE TABLE kl (x VARCHAR(40) COLLATE utf8mb4_bin, "
                    "y INT)");
    replay_to_end(url2);
    kill_many_times(rt_url, my, 40, seed);
    replay_to_end(rt_url);
    RT_ASSERT_SAME_ALL(my);
    a = rt_checksum(ref, "kl");
    b = rt_checksum(my, "kl");
    cr_expect(a.rows == b.rows && a.sum == b.sum && a.x == b.x, "kl differs "
              "from the uninterrupted replay (%" PRIu64 " vs %" PRIu64
              " rows)", b.rows, a.rows);
}
