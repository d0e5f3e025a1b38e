/*
** test_replay_reject.c -- a value the target cannot take (text into an
** INT column, text longer than its VARCHAR, an integer beyond INT, a
** non-UTF-8 blob into a text column):
**   default (stop)   replay --once exits non-zero with ONE log line naming
**                    seq, table, key, column, value and the server's
**                    message; nothing of that group is committed (the
**                    position does not move, the group's other rows are
**                    absent); a continuous replay keeps retrying, logs it
**                    once, shows the lag, and converges once the target
**                    is fixed -- without a restart;
**   --on-error=skip  the row lands in sqlite_sluice_rejects (seq, table, key,
**                    error, row image) and the rest of the group commits.
** Nothing is ever truncated to fit.
*/
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_util.h"

TestSuite(replay_reject, .init = rt_setup, .fini = rt_teardown,
          .timeout = 120);

/* The line of log that contains `needle` (malloc'd), or NULL. */
static char *line_with(const char *log, const char *needle)
{
    const char *p = strstr(log, needle), *b, *e;
    char *out;

    if (p == NULL)
        return NULL;
    for (b = p; b > log && b[-1] != '\n'; b--)
        ;
    e = strchr(p, '\n');
    if (e == NULL)
        e = p + strlen(p);
    out = malloc((size_t)(e - b) + 1);
    memcpy(out, b, (size_t)(e - b));
    out[e - b] = 0;
    return out;
}

/* Does `line` name seq S (as "seq S", "seq=S" or "seq S:")? */
static int names_seq(const char *line, int64_t seq)
{
    char a[40], b[40];

    snprintf(a, sizeof(a), "seq %" PRId64, seq);
    snprintf(b, sizeof(b), "seq=%" PRId64, seq);
    return strstr(line, a) != NULL || strstr(line, b) != NULL;
}

/* stock(id, qty, label) in both; two rows synced; then one source
** transaction with a bad value among good rows. Returns the bad row's
** seq; *applied is the position before that group. */
static int64_t stock_with_bad_group(const char *bad_insert, int64_t *applied)
{
    MYSQL *my = rt_my();
    int64_t seq;

    rt_my_exec(my, "CREATE TABLE stock (id INT PRIMARY KEY, qty INT,"
                   " label VARCHAR(5))");
    rt_sql(rt_src, "CREATE TABLE stock(id INTEGER PRIMARY KEY, qty,"
                   " label TEXT);"
                   "INSERT INTO stock VALUES (1, 1, 'a'), (2, 2, 'b');");
    rt_sync();
    *applied = rt_position(my, "default");
    cr_assert(*applied > 0);
    rt_sqlf(rt_src, "BEGIN;"
                    "INSERT INTO stock VALUES (10, 10, 'ok');"
                    "%s;"
                    "INSERT INTO stock VALUES (12, 12, 'ok');"
                    "UPDATE stock SET label = 'upd' WHERE id = 1;"
                    "COMMIT;", bad_insert);
    rt_capture_once();
    seq = rt_find_seq(rt_jdir, "stock", "key(id=11)");
    cr_assert(seq > 0, "record of id=11 not found in the journal");
    return seq;
}

static void expect_group_absent(int64_t applied)
{
    MYSQL *my = rt_my();

    cr_expect_eq(rt_position(my, "default"), applied,
                 "the position moved past a group that failed");
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM stock WHERE id IN "
                           "(10, 11, 12)"), 0,
                 "rows of the failed group were committed");
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM stock WHERE id = 1 "
                           "AND label = 'a'"), 1,
                 "the failed group's update was committed");
}

static void expect_one_line_naming(const char *log, const char *value,
                                   int64_t seq, const char *column)
{
    char *line = line_with(log, value);

    cr_assert_not_null(line, "no log line shows the value %s:\n%s", value,
                       log);
    cr_expect(names_seq(line, seq), "line does not name seq %" PRId64
              ": %s", seq, line);
    cr_expect(strstr(line, "stock") != NULL, "line does not name the "
              "table: %s", line);
    cr_expect(strstr(line, "id=11") != NULL, "line does not name the key "
              "id=11: %s", line);
    cr_expect(strstr(line, column) != NULL, "line does not name column "
              "%s: %s", column, line);
    free(line);
}

Test(replay_reject, text_into_an_int_column_stops_replay_naming_seq_table_key_column_and_value)
{
    rt_proc p;
    int64_t applied, seq;
    const char *log;
    int rc;

    seq = stock_with_bad_group("INSERT INTO stock VALUES (11, 'abc', 'ok')",
                               &applied);
    rc = rt_replay_run(&p, rt_url, NULL);
    log = rt_log(&p);
    cr_assert(rc > 0 && rc < 128, "replay --once must exit non-zero, got "
              "%d:\n%s", rc, log);
    expect_one_line_naming(log, "abc", seq, "qty");
    cr_expect(strstr(log, "Incorrect integer value") != NULL ||
              strstr(log, "integer") != NULL,
              "the server's reason is missing:\n%s", log);
    expect_group_absent(applied);
}

Test(replay_reject, skip_records_the_row_in_sluice_rejects_and_commits_the_rest_of_the_group)
{
    MYSQL *my = rt_my();
    rt_proc p;
    int64_t applied, seq;
    int rc;

    seq = stock_with_bad_group("INSERT INTO stock VALUES (11, 'abc', 'ok')",
                               &applied);
    rc = rt_replay_run(&p, rt_url, "--on-error", "skip", NULL);
    cr_assert_eq(rc, 0, "replay --on-error=skip exited %d:\n%s", rc,
                 rt_log(&p));
    cr_expect_eq(rt_position(my, "default"),
                 rt_journal_complete_seq(rt_jdir));
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM stock WHERE id IN "
                           "(10, 12)"), 2);
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM stock WHERE id = 11"),
                 0);
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM stock WHERE id = 1 "
                           "AND label = 'upd'"), 1);
    cr_assert_eq(rt_my_int(my, "SELECT COUNT(*) FROM sqlite_sluice_rejects"), 1);
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM sqlite_sluice_rejects WHERE "
                           "replica = 'default' AND seq = %" PRId64
                           " AND table_name = 'stock' AND row_key LIKE "
                           "'%%id=11%%' AND error <> '' AND row_json LIKE "
                           "'%%abc%%' AND JSON_VALID(row_json)", seq), 1,
                 "sqlite_sluice_rejects lacks seq, table, key, error or row");
    /* running again changes nothing and records nothing twice */
    rc = rt_replay_run(&p, rt_url, "--on-error", "skip", NULL);
    cr_assert_eq(rc, 0);
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM sqlite_sluice_rejects"), 1);
}

Test(replay_reject, text_longer_than_its_varchar_is_refused_not_truncated)
{
    MYSQL *my = rt_my();
    rt_proc p;
    int64_t applied, seq;
    const char *log;
    int rc;

    seq = stock_with_bad_group("INSERT INTO stock VALUES (11, 11, "
                               "'toolong')", &applied);
    rc = rt_replay_run(&p, rt_url, NULL);
    log = rt_log(&p);
    cr_assert(rc > 0 && rc < 128, "exit %d:\n%s", rc, log);
    expect_one_line_naming(log, "toolong", seq, "label");
    expect_group_absent(applied);
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM stock WHERE label = "
                           "'toolo'"), 0, "text was truncated");
    rc = rt_replay_run(&p, rt_url, "--on-error", "skip", NULL);
    cr_assert_eq(rc, 0, "%s", rt_log(&p));
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM stock"), 4);
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM sqlite_sluice_rejects WHERE "
                           "seq = %" PRId64, seq), 1);
}

Test(replay_reject, an_integer_beyond_int_is_refused_not_clamped)
{
    MYSQL *my = rt_my();
    rt_proc p;
    int64_t applied, seq;
    const char *log;
    int rc;

    seq = stock_with_bad_group("INSERT INTO stock VALUES (11, 3000000000, "
                               "'big')", &applied);
    rc = rt_replay_run(&p, rt_url, NULL);
    log = rt_log(&p);
    cr_assert(rc > 0 && rc < 128, "exit %d:\n%s", rc, log);
    expect_one_line_naming(log, "3000000000", seq, "qty");
    expect_group_absent(applied);
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM stock WHERE qty = "
                           "2147483647"), 0, "integer was clamped");
}

Test(replay_reject, a_blob_that_is_not_utf8_in_a_text_column_is_refused_with_seq_table_key_and_value)
{
    MYSQL *my = rt_my();
    rt_proc p;
    int64_t applied, seq;
    const char *log;
    char *line;
    int rc;

    rt_sql(rt_src, "CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT);"
                   "INSERT INTO notes VALUES (1, 'fine');");
    rt_sync();
    applied = rt_position(my, "default");
    rt_sql(rt_src, "BEGIN; INSERT INTO notes VALUES (2, 'also fine');"
                   "INSERT INTO notes VALUES (3, x'00ff10'); COMMIT;");
    rt_capture_once();
    seq = rt_find_seq(rt_jdir, "notes", "key(id=3)");
    cr_assert(seq > 0);
    rc = rt_replay_run(&p, rt_url, NULL);
    log = rt_log(&p);
    cr_assert(rc > 0 && rc < 128, "exit %d:\n%s", rc, log);
    line = line_with(log, "00ff10");
    cr_assert_not_null(line, "the value is not shown:\n%s", log);
    cr_expect(names_seq(line, seq), "seq %" PRId64 " not named: %s", seq,
              line);
    cr_expect(strstr(line, "notes") && strstr(line, "id=3") &&
              strstr(line, "body"), "table, key or column not named: %s",
              line);
    free(line);
    cr_expect_eq(rt_position(my, "default"), applied);
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM notes"), 1);
    rc = rt_replay_run(&p, rt_url, "--on-error", "skip", NULL);
    cr_assert_eq(rc, 0, "%s", rt_log(&p));
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM notes"), 2);
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM sqlite_sluice_rejects WHERE "
                           "seq = %" PRId64 " AND table_name = 'notes' AND "
                           "row_json LIKE '%%00ff10%%'", seq), 1);
}

Test(replay_reject, a_bad_value_inside_the_initial_snapshot_commits_none_of_it_or_is_skipped)
{
    MYSQL *my = rt_my();
    rt_proc p;
    const char *log;
    int rc;

    rt_my_exec(my, "CREATE TABLE stock (id INT PRIMARY KEY, qty INT,"
                   " label VARCHAR(5))");
    rt_sql(rt_src, "CREATE TABLE stock(id INTEGER PRIMARY KEY, qty,"
                   " label TEXT);"
                   "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1"
                   " FROM n WHERE i < 200)"
                   " INSERT INTO stock SELECT i, i, 'l' || (i % 10) FROM n;"
                   "UPDATE stock SET qty = 'abc' WHERE id = 11;");
    rt_capture_once();
    rc = rt_replay_run(&p, rt_url, NULL);
    log = rt_log(&p);
    cr_assert(rc > 0 && rc < 128, "exit %d:\n%s", rc, log);
    expect_one_line_naming(log, "abc", rt_find_seq(rt_jdir, "stock",
                                                   "key(id=11)"), "qty");
    cr_expect(rt_position(my, "default") <= 0);
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM stock"), 0,
                 "part of a failed snapshot was committed");
    rc = rt_replay_run(&p, rt_url, "--on-error", "skip", NULL);
    cr_assert_eq(rc, 0, "%s", rt_log(&p));
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM stock"), 199);
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM sqlite_sluice_rejects WHERE "
                           "row_key LIKE '%%id=11%%'"), 1);
}

static int64_t lag_records(void)
{
    const char *argv[] = { rt_jdir, "metrics", NULL };
    rt_proc p;
    const char *out, *at;
    int64_t v = -1;

    rt_spawnv(&p, rt_inspect_bin(), argv, NULL);
    cr_assert_eq(rt_wait(&p, 30000), 0);
    out = rt_log(&p);
    at = strstr(out, "sluice_replay_lag_records{");
    if (at != NULL && (at = strchr(at, '}')) != NULL)
        v = strtoll(at + 1, NULL, 10);
    return v;
}

Test(replay_reject, a_running_replay_stuck_on_a_bad_value_logs_once_shows_lag_and_converges_once_the_target_is_fixed)
{
    MYSQL *my = rt_my();
    rt_proc rep;
    int64_t applied, deadline;
    const char *log;
    int rc;

    stock_with_bad_group("INSERT INTO stock VALUES (11, 'abc', 'ok')",
                         &applied);
    rt_replay_start(&rep, rt_url, "--retry-max-ms", "200", "--poll-ms", "5",
                    "--log-level", "debug", NULL);
    deadline = tl_now_ms() + 20000;
    for (;;) {
        log = rt_log(&rep);
        if (strstr(log, "abc") != NULL)
            break;
        cr_assert(rt_alive(&rep), "replay exited (%d) instead of retrying",
                  rep.status);
        cr_assert(tl_now_ms() < deadline, "no error logged");
        tl_sleep_ms(50);
    }
    rt_wait_log(&rep, "event=replay.backoff", 5, 60000);  /* retrying */
    cr_assert(rt_alive(&rep), "replay gave up: %s", rt_log(&rep));
    log = rt_log(&rep);
    cr_expect_eq(tl_count(log, "event=replay.value_rejected"), 1,
                 "the same problem was logged %d times:\n%s",
                 tl_count(log, "event=replay.value_rejected"), log);
    cr_expect(lag_records() > 0, "the lag metric does not show the stuck "
              "group");
    expect_group_absent(applied);
    /* the operator fixes the target; no restart */
    rt_my_exec(my, "ALTER TABLE stock MODIFY qty VARCHAR(10)");
    cr_assert_eq(rt_wait_applied(my, "default", rt_jdir, 20000), 0,
                 "replay did not converge after the fix: %s", rt_log(&rep));
    cr_expect(rt_alive(&rep));
    RT_ASSERT_SAME_ALL(my);
    rc = rt_stop(&rep, 10000);
    cr_expect_eq(rc, 0, "replay exited %d on SIGTERM", rc);
    log = rt_log(&rep);
    cr_expect(strstr(log, "recovered") != NULL, "recovery not logged:\n%s",
              log);
}
