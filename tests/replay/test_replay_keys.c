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

/* ---- keys a user's column type normalises (sqlite_sluice_key) ---- */

Test(replay_keys, a_user_datetime_key_refuses_another_form_of_the_same_instant)
{
    MYSQL *my = rt_my();
    rt_proc p;
    int64_t before;
    int rc;

    rt_my_exec(my, "CREATE TABLE ev (at DATETIME PRIMARY KEY, n INT)");
    rt_sql(rt_src, "CREATE TABLE ev(at DATETIME PRIMARY KEY, n INT);"
                   "INSERT INTO ev VALUES ('2024-03-01 10:00:00', 0);");
    rt_sync();                           /* one row through the snapshot */
    cr_assert_str_eq(rt_my_str(my, "SELECT EXTRA FROM information_schema."
                               "COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND "
                               "TABLE_NAME = 'ev' AND COLUMN_NAME = "
                               "'sqlite_sluice_key'"), "INVISIBLE",
                     "replay must give the table an invisible ledger");
    cr_expect_str_eq(rt_my_str(my, "SELECT sqlite_sluice_key FROM ev"),
                     "t19:2024-03-01 10:00:00;",
                     "the snapshot must fill the ledger");
    before = rt_position(my, "default");
    rt_sql(rt_src, "INSERT INTO ev VALUES ('2024-01-01', 1);"
                   "INSERT INTO ev VALUES ('2024-01-01 00:00:00', 2);");
    rt_capture_once();
    rc = rt_replay_run(&p, rt_url, NULL);
    cr_assert(rc > 0 && rc < 128, "two source keys became one DATETIME row "
              "(exit %d):\n%s", rc, rt_log(&p));
    cr_expect(strstr(rt_log(&p), "lands on the row of another source key")
              && strstr(rt_log(&p), "'2024-01-01'") &&
              strstr(rt_log(&p), "'2024-01-01 00:00:00'"),
              "the refusal must name both source keys:\n%s", rt_log(&p));
    cr_expect_eq(rt_position(my, "default"), before);
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM ev"), 1,
                 "part of the refused group was committed");

    rc = rt_replay_run(&p, rt_url, "--on-error", "skip", NULL);
    cr_assert_eq(rc, 0, "%s", rt_log(&p));
    cr_expect_eq(rt_my_int(my, "SELECT n FROM ev WHERE at = '2024-01-01'"),
                 1, "the first source key's row must stay as it wrote it");
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM sqlite_sluice_rejects "
                           "WHERE table_name = 'ev' AND error LIKE "
                           "'%%another source key%%'"), 1);
    /* the source deletes the refused key and changes the other */
    rt_sql(rt_src, "DELETE FROM ev WHERE at = '2024-01-01 00:00:00';"
                   "UPDATE ev SET n = 11 WHERE at = '2024-01-01';");
    rt_capture_once();
    rc = rt_replay_run(&p, rt_url, "--on-error", "skip", NULL);
    cr_assert_eq(rc, 0, "%s", rt_log(&p));
    cr_expect_eq(rt_my_int(my, "SELECT n FROM ev WHERE at = '2024-01-01'"),
                 11, "a delete of the refused key removed the other key's "
                 "row, or the update did not land");
    /* a key changing into another form of itself is one row moving */
    rt_sql(rt_src, "UPDATE ev SET at = '2024-01-01 00:00' WHERE at = "
                   "'2024-01-01';");
    rt_sync();
    cr_expect_str_eq(rt_my_str(my, "SELECT CONCAT(n, ' ', "
                               "sqlite_sluice_key) FROM ev WHERE at = "
                               "'2024-01-01'"), "11 t16:2024-01-01 00:00;");
    RT_ASSERT_SAME_ALL(my);
}

Test(replay_keys, a_user_binary_or_decimal_key_never_merges_storage_classes)
{
    MYSQL *my = rt_my();
    rt_proc p;
    int rc;

    rt_my_exec(my, "CREATE TABLE kb (k VARBINARY(20) PRIMARY KEY, "
                   "v VARCHAR(10))");
    rt_my_exec(my, "CREATE TABLE kd (k DECIMAL(10,2) PRIMARY KEY, "
                   "v VARCHAR(10))");
    rt_sql(rt_src, "CREATE TABLE kb(k PRIMARY KEY, v TEXT);"
                   "CREATE TABLE kd(k PRIMARY KEY, v TEXT);");
    rt_sync();
    rt_sql(rt_src, "INSERT INTO kb VALUES (1, 'int'), ('1', 'text'),"
                   " (x'31', 'blob');"
                   "INSERT INTO kd VALUES (1.5, 'real'), ('1.50', 'text');");
    rt_capture_once();
    rc = rt_replay_run(&p, rt_url, "--on-error", "skip", NULL);
    cr_assert_eq(rc, 0, "%s", rt_log(&p));
    cr_expect_str_eq(rt_my_str(my, "SELECT CONCAT(HEX(k), ':', v) FROM kb"),
                     "31:int", "1, '1' and x'31' are three source keys");
    cr_expect_str_eq(rt_my_str(my, "SELECT CONCAT(k, ':', v) FROM kd"),
                     "1.50:real");
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM sqlite_sluice_rejects "
                           "WHERE error LIKE '%%another source key%%'"), 3,
                 "each refused key must be recorded");
    rt_sql(rt_src, "DELETE FROM kb WHERE k = x'31';"
                   "DELETE FROM kd WHERE k = '1.50';"
                   "UPDATE kb SET v = 'int2' WHERE k = 1;");
    rt_capture_once();
    rc = rt_replay_run(&p, rt_url, "--on-error", "skip", NULL);
    cr_assert_eq(rc, 0, "%s", rt_log(&p));
    cr_expect_str_eq(rt_my_str(my, "SELECT CONCAT(HEX(k), ':', v) FROM kb"),
                     "31:int2");
    cr_expect_str_eq(rt_my_str(my, "SELECT CONCAT(k, ':', v) FROM kd"),
                     "1.50:real", "deleting '1.50' removed 1.5's row");
    /* 1.0 is the key 1 to SQLite: a change of it, never a merge */
    rt_sql(rt_src, "INSERT OR REPLACE INTO kb VALUES (1.0, 'one');");
    rt_capture_once();
    rc = rt_replay_run(&p, rt_url, NULL);
    cr_assert_eq(rc, 0, "%s", rt_log(&p));
    cr_expect_str_eq(rt_my_str(my, "SELECT CONCAT(HEX(k), ':', v) FROM kb"),
                     "31:one");
}

Test(replay_keys, a_user_integer_key_gets_no_ledger)
{
    MYSQL *my = rt_my();

    rt_my_exec(my, "CREATE TABLE plain (id BIGINT PRIMARY KEY, "
                   "email VARCHAR(100))");
    rt_sql(rt_src, "CREATE TABLE plain(id INTEGER PRIMARY KEY, email TEXT);"
                   "INSERT INTO plain VALUES (1, 'a@x');");
    rt_sync();
    cr_expect_not(rt_my_column_exists(my, "plain", "sqlite_sluice_key"),
                  "an integer key cannot merge: no ledger column");
    RT_ASSERT_SAME_ALL(my);
}

Test(replay_keys, a_created_unique_untyped_column_keeps_1_text_1_and_blob_31_apart)
{
    MYSQL *my = rt_my();

    rt_sql(rt_src, "CREATE TABLE tag(id INTEGER PRIMARY KEY, label UNIQUE,"
                   " n INT);"
                   "INSERT INTO tag VALUES (1, 1, 1), (2, '1', 2);");
    rt_sync();                                 /* through the snapshot */
    rt_sql(rt_src, "INSERT INTO tag VALUES (3, x'31', 3);");
    rt_sync();                                 /* and by change */
    cr_assert_eq(rt_my_int(my, "SELECT COUNT(*) FROM tag"), 3,
                 "1, '1' and x'31' are three values of a UNIQUE column");
    /* SQLite's REPLACE removes the row holding text '1' only */
    rt_sql(rt_src, "INSERT OR REPLACE INTO tag VALUES (4, '1', 4);"
                   "UPDATE tag SET n = 10 WHERE label = 1;");
    rt_sync();
    cr_expect_str_eq(rt_my_str(my, "SELECT GROUP_CONCAT(id ORDER BY id) "
                               "FROM tag"), "1,3,4");
    cr_expect_eq(rt_my_int(my, "SELECT n FROM tag WHERE id = 1"), 10);
    RT_ASSERT_SAME_ALL(my);
    /* 1.0 and 1 are one value to SQLite: its REPLACE removes row 1 */
    rt_sql(rt_src, "INSERT OR REPLACE INTO tag VALUES (5, 1.0, 5);");
    rt_sync();
    cr_expect_str_eq(rt_my_str(my, "SELECT GROUP_CONCAT(id ORDER BY id) "
                               "FROM tag"), "3,4,5");
    RT_ASSERT_SAME_ALL(my);
}

Test(replay_keys, a_user_unique_datetime_replaces_only_what_sqlite_replaced)
{
    MYSQL *my = rt_my();
    rt_proc p;
    int rc;

    rt_my_exec(my, "CREATE TABLE ue (id BIGINT PRIMARY KEY, at DATETIME, "
                   "n INT, UNIQUE KEY (at))");
    rt_sql(rt_src, "CREATE TABLE ue(id INTEGER PRIMARY KEY, at DATETIME "
                   "UNIQUE, n INT);"
                   "INSERT INTO ue VALUES (1, '2024-01-01', 1);");
    rt_sync();
    cr_expect_str_eq(rt_my_str(my, "SELECT sqlite_sluice_key_1 FROM ue"),
                     "t10:2024-01-01;",
                     "the snapshot must fill the unique set's ledger");
    /* SQLite's REPLACE of the same text removes row 1: so must replay */
    rt_sql(rt_src, "INSERT OR REPLACE INTO ue VALUES (2, '2024-01-01', 2);");
    rt_sync();
    cr_expect_str_eq(rt_my_str(my, "SELECT GROUP_CONCAT(id) FROM ue"), "2");
    /* another form of the same instant is another value to SQLite: the
    ** row it lands on is never replaced nor merged */
    rt_sql(rt_src, "INSERT INTO ue VALUES (3, '2024-01-01 00:00:00', 3);");
    rt_capture_once();
    rc = rt_replay_run(&p, rt_url, NULL);
    cr_assert(rc > 0 && rc < 128, "row 3 replaced or merged into row 2 "
              "(exit %d):\n%s", rc, rt_log(&p));
    cr_expect(strstr(rt_log(&p), "unique index") != NULL &&
              strstr(rt_log(&p), "id=3") != NULL, "%s", rt_log(&p));
    cr_expect_str_eq(rt_my_str(my, "SELECT GROUP_CONCAT(CONCAT(id, ':', n))"
                               " FROM ue"), "2:2");
    rc = rt_replay_run(&p, rt_url, "--on-error", "skip", NULL);
    cr_assert_eq(rc, 0, "%s", rt_log(&p));
    cr_expect_str_eq(rt_my_str(my, "SELECT GROUP_CONCAT(CONCAT(id, ':', n))"
                               " FROM ue"), "2:2");
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM sqlite_sluice_rejects "
                           "WHERE row_key = 'id=3'"), 1);
}

Test(replay_keys, a_new_unique_index_never_shifts_which_ledger_a_set_uses)
{
    MYSQL *my = rt_my();

    rt_my_exec(my, "CREATE TABLE ue2 (id BIGINT PRIMARY KEY, at DATETIME, "
                   "code BIGINT, n INT, UNIQUE KEY (at), UNIQUE KEY (code))");
    rt_sql(rt_src, "CREATE TABLE ue2(id INTEGER PRIMARY KEY, at DATETIME "
                   "UNIQUE, code INT, n INT);");
    rt_sync();
    /* a new unique set sorts before the DATETIME one in the schema */
    rt_sql(rt_src, "CREATE UNIQUE INDEX a_code ON ue2(code);"
                   "INSERT INTO ue2 VALUES (1, '2024-01-01', 7, 1);");
    rt_sync();
    rt_sql(rt_src, "INSERT OR REPLACE INTO ue2 VALUES (2, '2024-02-02', 7, "
                   "2);");
    rt_sync();
    cr_expect_str_eq(rt_my_str(my, "SELECT GROUP_CONCAT(CONCAT(id, ':', n))"
                               " FROM ue2"), "2:2",
                     "SQLite's REPLACE on code removed row 1");
    RT_ASSERT_SAME_ALL(my);
}

Test(replay_keys, a_unique_set_named_with_quotes_and_backslashes_keeps_its_ledger)
{
    MYSQL *my = rt_my();
    rt_proc p;
    int rc;

    /* the ledger's COMMENT names the set as JSON: a hostile name must
    ** read back as itself, or the set would lose its ledger and the
    ** conflict delete would replace the row silently */
    rt_my_exec(my, "CREATE TABLE h (id BIGINT PRIMARY KEY, "
                   "`we\"i'rd\\at` DATETIME, UNIQUE KEY (`we\"i'rd\\at`))");
    rt_sql(rt_src, "CREATE TABLE h(id INTEGER PRIMARY KEY,"
                   " \"we\"\"i'rd\\at\" DATETIME UNIQUE);"
                   "INSERT INTO h VALUES (1, '2024-01-01');");
    rt_sync();
    cr_assert(rt_my_column_exists(my, "h", "sqlite_sluice_key_1"));
    rt_sql(rt_src, "INSERT INTO h VALUES (2, '2024-01-01 00:00:00');");
    rt_capture_once();
    rc = rt_replay_run(&p, rt_url, NULL);
    cr_assert(rc > 0 && rc < 128, "row 2 replaced row 1 (exit %d):\n%s", rc,
              rt_log(&p));
    cr_expect_eq(rt_my_int(my, "SELECT id FROM h"), 1);
}
