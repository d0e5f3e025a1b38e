/*
** test_replay_keys.c -- distinct source keys never become one target row
** silently (issue 8, class 2):
**   - tables replay creates keep them apart: a UNIQUE DATETIME holding
**     '2024-01-01', '2024-01-01 00:00:00' and '2024-01-01 02:00:00+02:00'
**     keeps three rows; an untyped key holding 1, '1' and x'31' keeps
**     three rows (sqlite_sluice_class tells their storage classes apart)
**     and each follows its own changes;
**   - a user table whose key MariaDB compares loosely (the default
**     utf8mb4 collation ignores case and trailing spaces) refuses the
**     second of 'Bob@x.com'/'bob@x.com' and 'ann@x.com'/'ann@x.com ',
**     naming seq, table and both keys -- by change and by snapshot -- or
**     records it in sqlite_sluice_rejects with --on-error=skip; a delete
**     of the refused key never deletes the other; replay warns once
**     about such a collation.
*/
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_util.h"

TestSuite(replay_keys, .init = rt_setup, .fini = rt_teardown,
          .timeout = 120);

Test(replay_keys, a_created_unique_datetime_keeps_three_distinct_source_values)
{
    MYSQL *my = rt_my();

    rt_sql(rt_src, "CREATE TABLE ev(id INTEGER PRIMARY KEY,"
                   " at DATETIME UNIQUE, n INT);"
                   "INSERT INTO ev VALUES (1, '2024-01-01', 1),"
                   " (2, '2024-01-01 00:00:00', 2),"
                   " (3, '2024-01-01 02:00:00+02:00', 3);"
                   "CREATE TABLE day(d DATE PRIMARY KEY, n INT);"
                   "INSERT INTO day VALUES ('2024-01-01', 1),"
                   " ('2024-01-01 00:00', 2);");
    rt_sync();
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM ev"), 3,
                 "three source values of a UNIQUE column became fewer rows");
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM day"), 2);
    RT_ASSERT_SAME_ALL(my);
    rt_sql(rt_src, "UPDATE ev SET n = 20 WHERE id = 2;"
                   "UPDATE day SET n = 10 WHERE d = '2024-01-01';"
                   "DELETE FROM ev WHERE id = 3;");
    rt_sync();
    RT_ASSERT_SAME_ALL(my);
}

Test(replay_keys, a_created_untyped_key_keeps_1_text_1_and_blob_31_apart)
{
    MYSQL *my = rt_my();

    rt_sql(rt_src, "CREATE TABLE kv(k PRIMARY KEY, v TEXT);"
                   "INSERT INTO kv VALUES (1, 'int'), ('1', 'text'),"
                   " (x'31', 'blob');");
    rt_sync();
    cr_assert_eq(rt_my_int(my, "SELECT COUNT(*) FROM kv"), 3,
                 "1, '1' and x'31' are three SQLite keys");
    cr_expect_str_eq(rt_my_str(my, "SELECT GROUP_CONCAT(CONCAT(HEX(k), ':',"
                               " sqlite_sluice_class, ':', v) ORDER BY v) "
                               "FROM kv"),
                     "31:b:blob,31:i:int,31:t:text");
    /* each follows its own changes, also through LOAD DATA's snapshot */
    rt_sql(rt_src, "UPDATE kv SET v = 'int2' WHERE k = 1;"
                   "DELETE FROM kv WHERE k = x'31';"
                   "UPDATE kv SET k = 'one' WHERE k = '1';");
    rt_sync();
    cr_expect_str_eq(rt_my_str(my, "SELECT GROUP_CONCAT(CONCAT(k, ':',"
                               " sqlite_sluice_class, ':', v) ORDER BY v) "
                               "FROM kv"), "1:i:int2,one:t:text");
}

/* A user table keyed by email in the database's default collation. */
static void user_emails(void)
{
    MYSQL *my = rt_my();
    const char *coll = rt_my_str(my, "SELECT @@collation_database");

    cr_assert(coll != NULL && strstr(coll, "_ci") != NULL,
              "the test needs MariaDB's default case-insensitive collation, "
              "got %s", coll ? coll : "NULL");
    rt_my_exec(my, "CREATE TABLE u (email VARCHAR(100) PRIMARY KEY, n INT)");
    rt_sql(rt_src, "CREATE TABLE u(email TEXT PRIMARY KEY, n INT);");
}

static void expect_names_both(const char *log, const char *a, const char *b)
{
    const char *line = strstr(log, "lands on the row of another source key");
    cr_assert_not_null(line, "no merge refusal in:\n%s", log);
    cr_expect(strstr(log, a) != NULL && strstr(log, b) != NULL,
              "the refusal must name both keys %s and %s:\n%s", a, b, log);
    cr_expect(strstr(log, "seq ") != NULL && strstr(log, "table u") != NULL,
              "the refusal must name seq and table:\n%s", log);
}

Test(replay_keys, a_case_insensitive_user_key_refuses_the_second_key_by_change)
{
    MYSQL *my = rt_my();
    rt_proc p;
    int64_t before;
    int rc;

    user_emails();
    rt_sync();                                   /* empty snapshot */
    before = rt_position(my, "default");
    rt_sql(rt_src, "INSERT INTO u VALUES ('Bob@x.com', 1);"
                   "INSERT INTO u VALUES ('bob@x.com', 2);");
    rt_capture_once();
    rc = rt_replay_run(&p, rt_url, NULL);
    cr_assert(rc > 0 && rc < 128, "merge accepted: %d\n%s", rc, rt_log(&p));
    expect_names_both(rt_log(&p), "Bob@x.com", "bob@x.com");
    cr_expect_eq(rt_position(my, "default"), before);
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM u"), 0,
                 "part of the refused group was committed");
    cr_expect_eq(tl_count(rt_log(&p), "event=replay.loose_key_collation"),
                 1, "one warning about the collation:\n%s", rt_log(&p));
}

Test(replay_keys, skip_records_the_merging_keys_and_a_delete_of_one_never_removes_the_other)
{
    MYSQL *my = rt_my();
    rt_proc p;
    int rc;

    user_emails();
    rt_sync();
    rt_sql(rt_src, "INSERT INTO u VALUES ('Bob@x.com', 1), ('bob@x.com', 2),"
                   " ('ann@x.com', 3), ('ann@x.com ', 4);");
    rt_capture_once();
    rc = rt_replay_run(&p, rt_url, "--on-error", "skip", NULL);
    cr_assert_eq(rc, 0, "%s", rt_log(&p));
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM u"), 2);
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM u WHERE BINARY email "
                           "IN ('Bob@x.com', 'ann@x.com') AND n IN (1, 3)"),
                 2, "the first of each pair must stay untouched");
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM sqlite_sluice_rejects "
                           "WHERE table_name = 'u' AND error LIKE "
                           "'%%another source key%%'"), 2,
                 "both refused keys must be recorded");
    /* the source deletes the keys the target refused */
    rt_sql(rt_src, "DELETE FROM u WHERE email = 'bob@x.com';"
                   "DELETE FROM u WHERE email = 'ann@x.com ';"
                   "UPDATE u SET n = 11 WHERE email = 'Bob@x.com';");
    rt_capture_once();
    rc = rt_replay_run(&p, rt_url, "--on-error", "skip", NULL);
    cr_assert_eq(rc, 0, "%s", rt_log(&p));
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM u"), 2,
                 "a delete of a refused key removed the other key's row");
    cr_expect_eq(rt_my_int(my, "SELECT n FROM u WHERE BINARY email = "
                           "'Bob@x.com'"), 11);
    RT_ASSERT_SAME_ALL(my);
}

Test(replay_keys, a_snapshot_holding_merging_keys_is_refused_naming_both)
{
    MYSQL *my = rt_my();
    rt_proc p;
    int rc;

    user_emails();
    rt_sql(rt_src, "INSERT INTO u VALUES ('ann@x.com', 3), ('ann@x.com ', 4),"
                   " ('zed@x.com', 5);");
    rt_capture_once();              /* the rows travel in the snapshot */
    rc = rt_replay_run(&p, rt_url, NULL);
    cr_assert(rc > 0 && rc < 128, "merge accepted: %d\n%s", rc, rt_log(&p));
    expect_names_both(rt_log(&p), "'ann@x.com'", "'ann@x.com '");
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM u"), 0);
    rc = rt_replay_run(&p, rt_url, "--on-error", "skip", NULL);
    cr_assert_eq(rc, 0, "%s", rt_log(&p));
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM u"), 2);
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM sqlite_sluice_rejects"),
                 1);
}

Test(replay_keys, case_only_key_changes_in_a_case_insensitive_user_table_converge)
{
    MYSQL *my = rt_my();

    /* the application's own keys are case-insensitive too: renaming
    ** 'k1' to 'K1' is one row changing its key, never a merge */
    rt_my_exec(my, "CREATE TABLE ci (k VARCHAR(20) PRIMARY KEY, n INT)");
    rt_sql(rt_src, "CREATE TABLE ci(k TEXT COLLATE NOCASE PRIMARY KEY, n);"
                   "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1"
                   " FROM s WHERE i < 2500)"
                   " INSERT INTO ci SELECT 'k' || i, i FROM s;");
    rt_sync();
    rt_sql(rt_src, "UPDATE ci SET k = upper(k), n = n + 1;");
    rt_sync();
    RT_ASSERT_SAME_ALL(my);
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM ci WHERE BINARY k "
                           "LIKE 'K%%'"), 2500);
}

Test(replay_keys, a_unique_index_only_the_target_has_never_merges_two_source_rows)
{
    MYSQL *my = rt_my();
    rt_proc p;
    int rc;

    /* the source lets two rows share an email (in different case); the
    ** user's table has a case-insensitive UNIQUE index on it */
    rt_my_exec(my, "CREATE TABLE acct (id BIGINT PRIMARY KEY,"
                   " email VARCHAR(100), UNIQUE KEY by_email (email))");
    rt_sql(rt_src, "CREATE TABLE acct(id INTEGER PRIMARY KEY, email TEXT);");
    rt_sync();
    rt_sql(rt_src, "INSERT INTO acct VALUES (1, 'Eve@x.com');"
                   "INSERT INTO acct VALUES (2, 'eve@x.com');");
    rt_capture_once();
    rc = rt_replay_run(&p, rt_url, NULL);
    cr_assert(rc > 0 && rc < 128, "row 2 overwrote row 1: %d\n%s", rc,
              rt_log(&p));
    cr_expect(strstr(rt_log(&p), "unique index") != NULL &&
              strstr(rt_log(&p), "id=2") != NULL, "%s", rt_log(&p));
    cr_expect_eq(tl_count(rt_log(&p), "event=replay.loose_key_collation"),
                 1, "%s", rt_log(&p));
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM acct"), 0);
    rc = rt_replay_run(&p, rt_url, "--on-error", "skip", NULL);
    cr_assert_eq(rc, 0, "%s", rt_log(&p));
    cr_expect_str_eq(rt_my_str(my, "SELECT CONCAT(id, ':', email) FROM "
                               "acct"), "1:Eve@x.com");
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM sqlite_sluice_rejects "
                           "WHERE row_key = 'id=2'"), 1);
}
