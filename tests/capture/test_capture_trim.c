/*
** test_capture_trim.c -- trims are never needed for correctness. With
** --trim-rows and --trim-age-s at their maximum no journaled change-log
** row is ever deleted while capture runs; through inserts, updates,
** deletes and a restart (SIGKILL: no trim at exit either) the journal
** still replays to exactly the source, and the change logs still hold
** every journaled row.
*/
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

#include "ct_model.h"
#include "ct_proc.h"

TestSuite(capture_trim, .init = ct_setup, .fini = ct_teardown);

/* Rows in every _sluice_log_<id> of the source. */
static int64_t log_rows(void)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    int64_t n = 0;
    int logs = 0;

    cr_assert_eq(sqlite3_open_v2(ct_src, &db, SQLITE_OPEN_READONLY, NULL),
                 SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master "
                                    "WHERE type = 'table' AND name LIKE "
                                    "'\\_sluice\\_log\\_%' ESCAPE '\\'",
                                    -1, &s, NULL), SQLITE_OK);
    while (sqlite3_step(s) == SQLITE_ROW) {
        char sql[200];
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM \"%s\"",
                 (const char *)sqlite3_column_text(s, 0));
        n += ct_query_int(ct_src, sql);
        logs++;
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    cr_assert_eq(logs, 2, "expected one change log per table, found %d",
                 logs);
    return n;
}

Test(capture_trim, trims_off_the_journal_still_equals_the_source,
     .timeout = 170)
{
    const char *args[] = { "--source", ct_src, "--journal", ct_jdir,
                           "--poll-ms", "50", "--trim-rows",
                           "1099511627776", "--trim-age-s", "3153600000",
                           NULL };
    ct_model *m = ct_model_new();
    char why[1024], *log;
    int64_t n, want;
    ct_proc p;

    CT_APP("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, n INT);"
           "CREATE TABLE u(a TEXT, b INT);"      /* keyless: rowid */
           "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s "
           " WHERE x < 1000) INSERT INTO t SELECT x, 'v' || x, x FROM s;"
           "INSERT INTO u VALUES ('a', 1), ('b', 2);");
    ct_cap_startv(&p, args);
    cr_assert_eq(ct_converge(m, ct_jdir, ct_src, 60000, why, sizeof(why)),
                 0, "%s", why);
    cr_assert_eq(log_rows(), 0, "the snapshot wrote change-log rows");

    /* more changes than the default --trim-rows (10,000) */
    CT_APP("WITH RECURSIVE s(x) AS (SELECT 1001 UNION ALL SELECT x + 1 "
           " FROM s WHERE x < 13000) INSERT INTO t SELECT x, 'w' || x, x "
           " FROM s;",                                      /* 12,000 */
           "UPDATE t SET n = n + 1 WHERE id % 4 = 0;",      /*  3,250 */
           "DELETE FROM t WHERE id % 13 = 0;",              /*  1,000 */
           "INSERT INTO u VALUES ('c', 3);"
           "UPDATE u SET b = b * 10 WHERE a = 'a';"
           "DELETE FROM u WHERE a = 'b';");                 /*      3 */
    cr_assert_eq(ct_converge(m, ct_jdir, ct_src, 60000, why, sizeof(why)),
                 0, "%s", why);
    tl_sleep_ms(2500);              /* several housekeeping passes */
    n = log_rows();
    cr_assert_eq(n, 16253, "the change logs hold %lld rows, not the 16,253 "
                 "changes: capture trimmed with trims off", (long long)n);

    tl_kill(p.pid);                 /* restart, no trim at exit */
    ct_cap_startv(&p, args);
    want = 16253 + 1 + 2 +          /* the insert, u's two rows */
           ct_query_int(ct_src, "SELECT count(*) FROM t WHERE id % 100 = 1")
           + ct_query_int(ct_src, "SELECT count(*) FROM t WHERE id % 17 = 0");
    CT_APP("INSERT INTO t VALUES (20000, 'new', 0);",
           "UPDATE t SET v = 'again' WHERE id % 100 = 1;",
           "DELETE FROM t WHERE id % 17 = 0;",
           "UPDATE u SET a = 'z';");
    cr_assert_eq(ct_converge(m, ct_jdir, ct_src, 60000, why, sizeof(why)),
                 0, "%s", why);
    tl_sleep_ms(2500);
    n = log_rows();
    cr_assert_eq(n, want, "the change logs hold %lld rows after the "
                 "restart, not %lld: capture trimmed with trims off",
                 (long long)n, (long long)want);
    cr_log_info("change logs: %lld rows, none trimmed", (long long)n);
    ct_cap_stop_ok(&p);             /* SIGTERM: trims at exit */
    log = ct_cap_log(&p);
    cr_log_info("%s", strstr(log, "event=capture.stopped")
                          ? strstr(log, "event=capture.stopped") : log);
    free(log);
    cr_assert_gt(log_rows(), 0, "the newest journaled row must stay");
    ct_model_free(m);
    ct_assert_model_equals_source(ct_jdir, ct_src);
}

/* The sum of logs= over every capture.logs_measured line of p's log so
** far: how many change-log measurements capture has made. */
static long measured_total(const ct_proc *p)
{
    char *log = ct_cap_log(p);
    const char *at = log;
    long n = 0;

    while ((at = strstr(at, "event=capture.logs_measured")) != NULL) {
        const char *v = strstr(at, "logs=");
        if (v == NULL)
            break;
        n += strtol(v + 5, NULL, 10);
        at = v;
    }
    free(log);
    return n;
}

/* Wait up to 60 s until measured_total(p) >= want; returns it. */
static long wait_measured(const ct_proc *p, long want)
{
    int64_t end = tl_now_us() + 60000000;
    long n;

    while ((n = measured_total(p)) < want) {
        cr_assert_lt(tl_now_us(), end, "capture measured %ld change logs, "
                     "not the %ld expected, within 60 s", n, want);
        tl_sleep_ms(100);
    }
    return n;
}

/* Whether a change log is one page is measured with dbstat, about a
** millisecond a log with a thousand tables: once at start-up (however
** many install transactions a loaded machine cuts it into). A schema
** change reloads the registry; the logs it did not touch keep their
** measure, so only the new log is measured again (before, every log was:
** a second of CPU after each ALTER at a thousand tables). */
Test(capture_trim, a_schema_change_measures_only_the_new_logs,
     .timeout = 120)
{
    const char *args[] = { "--source", ct_src, "--journal", ct_jdir,
                           "--poll-ms", "20", "--log-level", "debug", NULL };
    ct_model *m = ct_model_new();
    char why[1024];
    long first, second;
    ct_proc p;

    for (int i = 0; i < 20; i++) {
        char sql[160];
        snprintf(sql, sizeof(sql), "CREATE TABLE t%d(id INTEGER PRIMARY "
                 "KEY, v TEXT); INSERT INTO t%d VALUES (1, 'a');", i, i);
        CT_APP(sql);
    }
    ct_cap_startv(&p, args);
    cr_assert_eq(ct_converge(m, ct_jdir, ct_src, 60000, why, sizeof(why)),
                 0, "%s", why);
    wait_measured(&p, 20);
    tl_sleep_ms(1500);                      /* housekeeping passes */
    first = measured_total(&p);
    cr_assert_eq(first, 20, "start-up measured %ld logs, not the 20 "
                 "installed", first);
    CT_APP("ALTER TABLE t3 ADD COLUMN w INT DEFAULT 7;",
           "INSERT INTO t3 VALUES (2, 'b', 8);",
           "INSERT INTO t5 VALUES (2, 'c');");
    cr_assert_eq(ct_converge(m, ct_jdir, ct_src, 60000, why, sizeof(why)),
                 0, "%s", why);
    wait_measured(&p, 21);                  /* t3's new log */
    tl_sleep_ms(1500);
    second = measured_total(&p) - first;
    cr_assert_leq(second, 2, "after one ADD COLUMN capture measured %ld "
                  "logs again: the others lost their measure", second);
    CT_APP("INSERT INTO t7 VALUES (2, 'd');", "UPDATE t3 SET w = 9;");
    cr_assert_eq(ct_converge(m, ct_jdir, ct_src, 60000, why, sizeof(why)),
                 0, "%s", why);
    ct_cap_stop_ok(&p);
    ct_model_free(m);
    ct_assert_model_equals_source(ct_jdir, ct_src);
}
