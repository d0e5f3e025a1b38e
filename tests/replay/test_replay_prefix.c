/*
** test_replay_prefix.c -- consistent prefix: MariaDB only ever shows a
** state that existed in SQLite.
**
** Source transactions move amounts between rows of two tables (so a
** transaction spans tables and statements), move whole rows from one
** table to the other, and change keys -- the total of all balances never
** changes in SQLite. While a writer commits continuously and capture and
** replay run, a checker process reads the total from MariaDB in a loop,
** each read one REPEATABLE READ snapshot, and counts every read that
** shows another total. It must count none, and must have seen replay make
** progress while it read.
*/
#include <criterion/criterion.h>
#include <inttypes.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt_util.h"
#include "testdb.h"

TestSuite(replay_prefix, .init = rt_setup, .fini = rt_teardown,
          .timeout = 150);

#define NACCT   40
#define START   1000
#define TOTAL   (2 * NACCT * START)
#define NTXN    1200

static void writer(void)
{
    sqlite3 *db;
    rt_rng rng;
    char sql[600];
    int64_t next_id = 100000;
    int fails = 0;

    if (sqlite3_open(rt_src, &db) != SQLITE_OK)
        _exit(2);
    sqlite3_busy_timeout(db, 5000);
    rt_rng_seed(&rng, 0x5eed);
    for (int t = 0; t < NTXN; t++) {
        int kind = (int)rt_rng_below(&rng, 10), x = 1 +
                   (int)rt_rng_below(&rng, 50);
        if (kind < 6) {                   /* transfer a -> b, by rank */
            snprintf(sql, sizeof(sql),
                     "BEGIN;"
                     "UPDATE acct_a SET bal = bal - %d WHERE id = (SELECT id"
                     " FROM acct_a ORDER BY id LIMIT 1 OFFSET %d);"
                     "UPDATE acct_b SET bal = bal + %d WHERE id = (SELECT id"
                     " FROM acct_b ORDER BY id LIMIT 1 OFFSET %d);"
                     "COMMIT;", x, (int)rt_rng_below(&rng, NACCT / 2), x,
                     (int)rt_rng_below(&rng, NACCT / 2));
        } else if (kind < 8) {            /* move a row b -> a */
            snprintf(sql, sizeof(sql),
                     "BEGIN;"
                     "INSERT INTO acct_a(id, bal) SELECT %" PRId64 ", bal"
                     " FROM acct_b ORDER BY id LIMIT 1;"
                     "DELETE FROM acct_b WHERE id = (SELECT id FROM acct_b"
                     " ORDER BY id LIMIT 1);"
                     "INSERT INTO acct_b(id, bal, note) SELECT %" PRId64
                     ", bal, 'moved' FROM acct_a ORDER BY id DESC LIMIT 1"
                     " OFFSET 1;"
                     "DELETE FROM acct_a WHERE id = (SELECT id FROM acct_a"
                     " ORDER BY id DESC LIMIT 1 OFFSET 1);"
                     "COMMIT;", next_id, next_id + 1);
            next_id += 2;
        } else {                          /* key change + transfer */
            snprintf(sql, sizeof(sql),
                     "BEGIN;"
                     "UPDATE acct_b SET id = %" PRId64 ", bal = bal - %d"
                     " WHERE id = (SELECT id FROM acct_b ORDER BY id DESC"
                     " LIMIT 1 OFFSET %d);"
                     "UPDATE acct_a SET bal = bal + %d, note = 'k' WHERE"
                     " id = (SELECT id FROM acct_a ORDER BY id LIMIT 1);"
                     "COMMIT;", next_id++, x,
                     (int)rt_rng_below(&rng, NACCT / 2), x);
        }
        if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            fails++;
        }
        if (t % 4 == 0)
            usleep(1000);
    }
    sqlite3_close(db);
    _exit(fails == 0 ? 0 : 1);
}

/* The checker: until `stop` exists, read the total in one snapshot;
** write "reads bad positions first_bad" to `out`. */
static void checker(const tdb_config *cfg, const char *stop,
                    const char *out)
{
    MYSQL *db = NULL;
    int64_t reads = 0, bad = 0, first_bad = 0, last_pos = -1, moves = 0;
    FILE *f;

    if (tdb_open(&db, cfg, NULL, NULL, TDB_VIA_SOCKET, NULL, 0) != 0 ||
        mysql_select_db(db, rt_db) != 0 ||
        mysql_query(db, "SET SESSION TRANSACTION ISOLATION LEVEL "
                        "REPEATABLE READ") != 0)
        _exit(3);
    for (;;) {
        struct stat sb;
        MYSQL_RES *r;
        MYSQL_ROW row;
        int done = stat(stop, &sb) == 0;

        if (mysql_query(db, "START TRANSACTION WITH CONSISTENT SNAPSHOT, "
                            "READ ONLY") != 0 ||
            mysql_query(db, "SELECT (SELECT COALESCE(SUM(bal), 0) FROM "
                            "acct_a) + (SELECT COALESCE(SUM(bal), 0) FROM "
                            "acct_b), (SELECT seq FROM sqlite_sluice_position "
                            "WHERE replica = 'default')") != 0 ||
            (r = mysql_store_result(db)) == NULL)
            _exit(4);
        row = mysql_fetch_row(r);
        if (row != NULL && row[0] != NULL) {
            int64_t total = strtoll(row[0], NULL, 10);
            int64_t pos = row[1] ? strtoll(row[1], NULL, 10) : -1;
            reads++;
            if (total != TOTAL && bad++ == 0)
                first_bad = total;
            if (pos != last_pos) {
                moves++;
                last_pos = pos;
            }
        }
        mysql_free_result(r);
        mysql_query(db, "COMMIT");
        if (done)
            break;
    }
    mysql_close(db);
    f = fopen(out, "w");
    if (f == NULL)
        _exit(5);
    fprintf(f, "%" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 "\n", reads,
            bad, moves, first_bad);
    fclose(f);
    _exit(0);
}

Test(replay_prefix, a_checker_reading_during_replay_never_sees_the_total_change)
{
    const tdb_config *cfg = tdb_config_get();
    char stop[RT_PATH + 20], out[RT_PATH + 20], *res;
    rt_proc cap, rep;
    pid_t w, c;
    int64_t reads = 0, bad = -1, moves = 0, first_bad = 0;
    int rc;

    rt_sqlf(rt_src,
            "CREATE TABLE acct_a(id INTEGER PRIMARY KEY, bal INT, note TEXT);"
            "CREATE TABLE acct_b(id INTEGER PRIMARY KEY, bal INT, note TEXT);"
            "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s"
            " WHERE i < %d)"
            " INSERT INTO acct_a SELECT i, %d, NULL FROM s;"
            "INSERT INTO acct_b SELECT id + 1000, bal, NULL FROM acct_a;",
            NACCT, START);
    rt_sync();
    cr_assert_eq(rt_my_int(rt_my(), "SELECT (SELECT SUM(bal) FROM acct_a) "
                           "+ (SELECT SUM(bal) FROM acct_b)"), TOTAL);
    rt_path(stop, sizeof(stop), "stop-checker");
    rt_path(out, sizeof(out), "checker.txt");
    c = rt_fork();
    if (c == 0)
        checker(cfg, stop, out);
    rt_capture_start(&cap, "--poll-ms", "1", NULL);
    rt_replay_start(&rep, rt_url, "--poll-ms", "1", NULL);
    w = rt_fork();
    if (w == 0)
        writer();
    rc = tl_wait(w, 90000);
    cr_assert_eq(rc, 0, "writer failed (%d)", rc);
    cr_assert_eq(rt_sqlite_int(rt_src, "SELECT (SELECT SUM(bal) FROM acct_a)"
                               " + (SELECT SUM(bal) FROM acct_b)"), TOTAL);
    rc = rt_stop(&cap, 20000);
    cr_assert_eq(rc, 0, "capture exited %d: %s", rc, rt_log(&cap));
    rt_capture_once();
    cr_assert_eq(rt_wait_applied(rt_my(), "default", rt_jdir, 60000), 0,
                 "replay did not catch up: %s", rt_log(&rep));
    {
        FILE *f = fopen(stop, "w");
        cr_assert_not_null(f);
        fclose(f);
    }
    rc = tl_wait(c, 30000);
    cr_assert_eq(rc, 0, "checker failed (%d)", rc);
    res = tl_slurp(out, NULL);
    cr_assert_not_null(res);
    cr_assert_eq(sscanf(res, "%" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNd64,
                        &reads, &bad, &moves, &first_bad), 4);
    free(res);
    cr_expect_eq(bad, 0, "%" PRId64 " of %" PRId64 " reads showed a total "
                 "the source never had (first: %" PRId64 ", expected %d)",
                 bad, reads, first_bad, TOTAL);
    cr_expect(moves >= 10, "the checker saw the position move only %"
              PRId64 " times in %" PRId64 " reads: it did not overlap "
              "replay", moves, reads);
    rc = rt_stop(&rep, 20000);
    cr_expect_eq(rc, 0, "replay exited %d: %s", rc, rt_log(&rep));
    RT_ASSERT_SAME_ALL(rt_my());
}
