/*
** test_replay_values.c -- the value policy (issue 8, class 1): values land
** as MariaDB itself stores a direct write of them, in strict mode.
**   - DECIMAL(p,s): a real keeps the digits MariaDB keeps (its shortest
**     text rounded half up at s: 93457.28571428571 -> 93457.285714), an
**     INT column takes rint() of a real (2.5 -> 2); each such rounding is
**     counted per table and column (sluice_replay_values_rounded_total)
**     and logged once per column -- never a reason to stop; the same
**     for DATETIME fractional seconds beyond the column's precision
**     (truncated, as MariaDB does);
**   - --strict-values refuses them instead, naming seq, table, key,
**     column and value;
**   - TIME columns follow the documented rule (text HH:MM[:SS[.f]],
**     numbers are seconds, a date with a time or a Julian day refused);
**   - keyless tables matched by their old row image compare values as
**     the target column stores them (DATETIME without fraction, DECIMAL
**     at its scale), and a change that matches no row is never skipped
**     silently.
** Every expected value is written out by hand from what MariaDB 10.11
** stores for the same direct write (checked against the server).
*/
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_util.h"

TestSuite(replay_values, .init = rt_setup, .fini = rt_teardown,
          .timeout = 120);

static void expect_str(MYSQL *my, const char *want, const char *fmt,
                       const char *table, int id, const char *col)
{
    char sql[300];
    const char *got;

    snprintf(sql, sizeof(sql), fmt, col, table, id);
    got = rt_my_str(my, "%s", sql);
    if (want == NULL)
        cr_expect(got == NULL, "%s: expected NULL, got '%s'", sql, got);
    else
        cr_expect(got != NULL && strcmp(got, want) == 0,
                  "%s: expected '%s', got '%s'", sql, want,
                  got ? got : "NULL");
}

#define EXPECT(my, table, id, col, want)                                  \
    expect_str((my), (want), "SELECT `%s` FROM `%s` WHERE id = %d",      \
               (table), (id), (col))

static void registry(void)
{
    rt_my_exec(rt_my(), "CREATE TABLE reg (id BIGINT PRIMARY KEY,"
                        " unit_count DECIMAL(20,6), price DECIMAL(10,2),"
                        " qty INT)");
    rt_sql(rt_src, "CREATE TABLE reg(id INTEGER PRIMARY KEY,"
                   " unit_count DECIMAL(20,6), price REAL, qty REAL);"
                   "INSERT INTO reg VALUES"
                   " (1, 93457.28571428571, 2.675, 2.5),"
                   " (2, 1.0000005, 1.005, 3.5),"
                   " (3, 12.5, 10, 7);");
}

Test(replay_values, reals_land_as_mariadb_stores_them_counted_per_column_and_logged_once)
{
    MYSQL *my = rt_my();
    rt_proc rp;
    const char *body, *log;
    int port;
    int64_t deadline;

    registry();
    rt_capture_once();
    rt_replay_start(&rp, rt_url, "--metrics", "127.0.0.1:0", "--poll-ms",
                    "2", NULL);
    port = rt_metrics_port(&rp, 15000);
    cr_assert_eq(rt_wait_applied(my, "default", rt_jdir, 30000), 0,
                 "replay stopped on a value MariaDB takes:\n%s", rt_log(&rp));
    EXPECT(my, "reg", 1, "unit_count", "93457.285714");
    EXPECT(my, "reg", 2, "unit_count", "1.000001");
    EXPECT(my, "reg", 3, "unit_count", "12.500000");
    EXPECT(my, "reg", 1, "price", "2.68");
    EXPECT(my, "reg", 2, "price", "1.01");
    EXPECT(my, "reg", 3, "price", "10.00");
    EXPECT(my, "reg", 1, "qty", "2");
    EXPECT(my, "reg", 2, "qty", "4");
    EXPECT(my, "reg", 3, "qty", "7");
    /* a second group rounding the same column again */
    rt_sql(rt_src, "UPDATE reg SET unit_count = 0.1234567 WHERE id = 3;");
    rt_capture_once();
    cr_assert_eq(rt_wait_applied(my, "default", rt_jdir, 30000), 0, "%s",
                 rt_log(&rp));
    EXPECT(my, "reg", 3, "unit_count", "0.123457");
    deadline = tl_now_ms() + 15000;
    for (;;) {                      /* metrics are published each second */
        body = rt_http_get(port, "/metrics");
        if (body != NULL &&
            rt_metric(body, "sluice_replay_values_rounded_total",
                      "column=\"unit_count\"") == 3)
            break;
        cr_assert(tl_now_ms() < deadline, "rounded count never reached 3:"
                  "\n%s", body ? body : "(no answer)");
        tl_sleep_ms(50);
    }
    cr_expect_eq(rt_metric(body, "sluice_replay_values_rounded_total",
                           "column=\"price\""), 2, "%s", body);
    cr_expect_eq(rt_metric(body, "sluice_replay_values_rounded_total",
                           "column=\"qty\""), 2, "%s", body);
    cr_expect(strstr(body, "table=\"reg\"") != NULL, "%s", body);
    cr_expect_eq(rt_metric(body, "sluice_replay_stuck", NULL), 0, "%s",
                 body);
    cr_assert_eq(rt_stop(&rp, 20000), 0, "%s", rt_log(&rp));
    log = rt_log(&rp);
    cr_expect_eq(tl_count(log, "event=replay.value_rounded"), 3,
                 "one line per rounded column expected:\n%s", log);
    cr_expect(strstr(log, "column=unit_count") != NULL, "%s", log);
    RT_ASSERT_SAME_ALL(my);
}

Test(replay_values, strict_values_refuses_what_mariadb_would_round)
{
    MYSQL *my = rt_my();
    rt_proc p;
    const char *log;
    int rc;

    registry();
    rt_capture_once();
    rc = rt_replay_run(&p, rt_url, "--strict-values", NULL);
    log = rt_log(&p);
    cr_assert(rc > 0 && rc < 128, "--strict-values must refuse: %d\n%s", rc,
              log);
    cr_expect(strstr(log, "table reg") && strstr(log, "id=1") &&
              strstr(log, "93457.28571428571") && strstr(log, "strict"),
              "the refusal does not name table, key, value and why:\n%s",
              log);
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM reg"), 0,
                 "part of the refused group was committed");
    rt_replay_once();               /* the default policy takes them */
    EXPECT(my, "reg", 1, "unit_count", "93457.285714");
}

Test(replay_values, time_columns_follow_the_documented_rule_or_refuse)
{
    MYSQL *my = rt_my();
    rt_proc p;
    int rc;

    rt_my_exec(my, "CREATE TABLE tt (id INT PRIMARY KEY, t TIME,"
                   " t3 TIME(3))");
    rt_sql(rt_src, "CREATE TABLE tt(id INTEGER PRIMARY KEY, t, t3);"
                   "INSERT INTO tt VALUES"
                   " (1, '10:30', '10:30:15.123456'),"
                   " (2, 3600, 5400.25),"
                   " (3, '-12:00:00', '838:59:59'),"
                   " (4, NULL, -90),"
                   " (5, '2024-01-01 10:00', 1),"
                   " (6, 2460000.5, 1),"
                   " (7, 3600, 'abc');");
    rt_capture_once();
    rc = rt_replay_run(&p, rt_url, "--on-error", "skip", NULL);
    cr_assert_eq(rc, 0, "%s", rt_log(&p));
    EXPECT(my, "tt", 1, "t", "10:30:00");
    EXPECT(my, "tt", 1, "t3", "10:30:15.123");
    EXPECT(my, "tt", 2, "t", "01:00:00");
    EXPECT(my, "tt", 2, "t3", "01:30:00.250");
    EXPECT(my, "tt", 3, "t", "-12:00:00");
    EXPECT(my, "tt", 3, "t3", "838:59:59.000");
    EXPECT(my, "tt", 4, "t", NULL);
    EXPECT(my, "tt", 4, "t3", "-00:01:30.000");
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM tt WHERE id >= 5"), 0,
                 "a value the TIME rule refuses landed");
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM sqlite_sluice_rejects "
                           "WHERE row_key = 'id=5' AND error LIKE "
                           "'%%date and time%%'"), 1);
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM sqlite_sluice_rejects "
                           "WHERE row_key = 'id=6' AND error LIKE "
                           "'%%Julian day%%'"), 1);
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM sqlite_sluice_rejects "
                           "WHERE row_key = 'id=7' AND error LIKE "
                           "'%%not a time%%'"), 1);
}

static void keyless_ledger(void)
{
    rt_my_exec(rt_my(), "CREATE TABLE lg (at DATETIME, amount DECIMAL(10,2),"
                        " note VARCHAR(20))");
    rt_sql(rt_src, "CREATE TABLE lg(at TEXT, amount REAL, note TEXT);");
    rt_capture_once();              /* later rows travel as changes */
    rt_sql(rt_src, "INSERT INTO lg VALUES"
                   " ('2024-01-01 10:00:00.7', 1.005, 'a'),"
                   " ('2024-01-01 10:00:01.2', 2.345, 'b'),"
                   " ('2024-01-01 10:00:02', 3, 'c');");
    rt_sync();
}

Test(replay_values, keyless_changes_match_rows_as_the_target_stores_them)
{
    MYSQL *my = rt_my();

    keyless_ledger();
    cr_assert_eq(rt_my_int(my, "SELECT COUNT(*) FROM lg"), 3);
    rt_sql(rt_src, "UPDATE lg SET note = 'a2' WHERE note = 'a';"
                   "DELETE FROM lg WHERE note = 'b';"
                   "UPDATE lg SET amount = 9.999 WHERE note = 'c';");
    rt_sync();
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM lg"), 2);
    cr_expect_str_eq(rt_my_str(my, "SELECT CONCAT(at, '|', amount) FROM lg "
                               "WHERE note = 'a2'"),
                     "2024-01-01 10:00:00|1.01");
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM lg WHERE note = 'b'"),
                 0, "the delete of a truncated DATETIME matched nothing");
    cr_expect_str_eq(rt_my_str(my, "SELECT amount FROM lg WHERE note = 'c'"),
                     "10.00");
}

Test(replay_values, a_keyless_change_that_matches_no_row_is_never_skipped_silently)
{
    MYSQL *my = rt_my();
    rt_proc p;
    int64_t before;
    int rc;

    keyless_ledger();
    before = rt_position(my, "default");
    /* the row goes behind sluice's back, then the source changes it */
    rt_my_exec(my, "DELETE FROM lg WHERE note = 'a'");
    rt_sql(rt_src, "UPDATE lg SET note = 'a2' WHERE note = 'a';");
    rt_capture_once();
    rc = rt_replay_run(&p, rt_url, NULL);
    cr_assert(rc > 0 && rc < 128, "replay must not skip it: %d\n%s", rc,
              rt_log(&p));
    cr_expect(strstr(rt_log(&p), "matches no row") != NULL, "%s",
              rt_log(&p));
    cr_expect_eq(rt_position(my, "default"), before);
    rc = rt_replay_run(&p, rt_url, "--on-error", "skip", NULL);
    cr_assert_eq(rc, 0, "%s", rt_log(&p));
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM sqlite_sluice_rejects "
                           "WHERE table_name = 'lg' AND error LIKE "
                           "'%%matches no row%%'"), 1);
}

static double rounded(int port, const char *labels, double want,
                      const char **body)
{
    int64_t deadline = tl_now_ms() + 15000;
    double v;

    for (;;) {                      /* metrics are published each second */
        *body = rt_http_get(port, "/metrics");
        v = *body ? rt_metric(*body, "sluice_replay_values_rounded_total",
                              labels) : -1;
        if (v == want || tl_now_ms() > deadline)
            return v;
        tl_sleep_ms(50);
    }
}

Test(replay_values, datetime_fractions_beyond_the_column_land_as_mariadb_stores_them_counted_and_logged_once)
{
    MYSQL *my = rt_my();
    rt_proc rp;
    const char *body, *log;
    double v;
    int port;

    /* a user-made table: DATETIME without fraction, and with one digit */
    rt_my_exec(my, "CREATE TABLE ev (id INT PRIMARY KEY, at DATETIME,"
                   " at1 DATETIME(1))");
    rt_sql(rt_src, "CREATE TABLE ev(id INTEGER PRIMARY KEY, at TEXT,"
                   " at1 TEXT);"
                   "INSERT INTO ev VALUES"
                   " (1, '2024-01-01 10:00:00.7', '2024-01-01 10:00:00.75'),"
                   " (2, '2024-01-01 10:00:02', '2024-01-01 10:00:02.5'),"
                   " (3, '2024-01-01 23:59:59.999',"
                   "     '2024-01-01 23:59:59.99');");
    rt_capture_once();
    rt_replay_start(&rp, rt_url, "--metrics", "127.0.0.1:0", "--poll-ms",
                    "2", NULL);
    port = rt_metrics_port(&rp, 15000);
    cr_assert_eq(rt_wait_applied(my, "default", rt_jdir, 30000), 0,
                 "replay stopped on a value MariaDB takes:\n%s", rt_log(&rp));
    /* MariaDB truncates extra fractional seconds (no TIME_ROUND_FRACTIONAL
    ** in sql_mode): 10:00:00.7 -> 10:00:00, 23:59:59.999 stays that day */
    EXPECT(my, "ev", 1, "at", "2024-01-01 10:00:00");
    EXPECT(my, "ev", 2, "at", "2024-01-01 10:00:02");
    EXPECT(my, "ev", 3, "at", "2024-01-01 23:59:59");
    EXPECT(my, "ev", 1, "at1", "2024-01-01 10:00:00.7");
    EXPECT(my, "ev", 2, "at1", "2024-01-01 10:00:02.5");
    EXPECT(my, "ev", 3, "at1", "2024-01-01 23:59:59.9");
    /* the same as a direct write into a twin table */
    rt_my_exec(my, "CREATE TABLE ev_direct LIKE ev");
    rt_my_exec(my, "INSERT INTO ev_direct VALUES"
                   " (1, '2024-01-01 10:00:00.7', '2024-01-01 10:00:00.75'),"
                   " (2, '2024-01-01 10:00:02', '2024-01-01 10:00:02.5'),"
                   " (3, '2024-01-01 23:59:59.999',"
                   "     '2024-01-01 23:59:59.99')");
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM ev JOIN ev_direct d"
                           " USING (id) WHERE ev.at <=> d.at AND"
                           " ev.at1 <=> d.at1"), 3,
                 "replay stored other values than a direct write");
    rt_my_exec(my, "DROP TABLE ev_direct");
    /* a second group rounding the same column again */
    rt_sql(rt_src, "UPDATE ev SET at = '2024-01-02 00:00:00.1' WHERE id = 2;");
    rt_capture_once();
    cr_assert_eq(rt_wait_applied(my, "default", rt_jdir, 30000), 0, "%s",
                 rt_log(&rp));
    EXPECT(my, "ev", 2, "at", "2024-01-02 00:00:00");
    v = rounded(port, "table=\"ev\",column=\"at\"", 3, &body);
    cr_expect_eq(v, 3, "rounded count of ev.at:\n%s",
                 body ? body : "(no answer)");
    v = rounded(port, "table=\"ev\",column=\"at1\"", 2, &body);
    cr_expect_eq(v, 2, "rounded count of ev.at1:\n%s",
                 body ? body : "(no answer)");
    cr_expect_eq(rt_metric(body, "sluice_replay_stuck", NULL), 0, "%s",
                 body);
    cr_assert_eq(rt_stop(&rp, 20000), 0, "%s", rt_log(&rp));
    log = rt_log(&rp);
    cr_expect_eq(tl_count(log, "event=replay.value_rounded"), 2,
                 "one line per rounded column expected:\n%s", log);
    cr_expect(strstr(log, "column=at ") != NULL &&
              strstr(log, "column=at1 ") != NULL, "%s", log);
    RT_ASSERT_SAME_ALL(my);
}
