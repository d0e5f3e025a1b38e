/*
** test_replay_target.c -- target tables the user created are respected:
** columns mapped by name in another order, each value converted to the
** existing column's type (dates in every form SQLite applications write,
** booleans, DECIMAL, JSON), rows already there before the initial
** snapshot, keyless tables matched by their old row image, REPLACE
** conflicts against a table lacking the source's UNIQUE index, and
** columns added by ADD COLUMN.
**
** The expected values of the date matrix are written out by hand (UTC),
** independently of both replay and the comparator.
*/
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_util.h"

TestSuite(replay_target, .init = rt_setup, .fini = rt_teardown,
          .timeout = 120);

static void expect_text(MYSQL *my, const char *sql, const char *want)
{
    MYSQL_RES *r;
    MYSQL_ROW row;

    cr_assert_eq(mysql_query(my, sql), 0, "%s: %s", sql, mysql_error(my));
    r = mysql_store_result(my);
    cr_assert_not_null(r);
    row = mysql_fetch_row(r);
    if (want == NULL)
        cr_expect(row != NULL && row[0] == NULL, "%s: expected NULL, got "
                  "%s", sql, row == NULL ? "no row" : row[0]);
    else
        cr_expect(row != NULL && row[0] != NULL && strcmp(row[0], want) == 0,
                  "%s: expected '%s', got '%s'", sql, want,
                  row == NULL ? "no row" : row[0] ? row[0] : "NULL");
    mysql_free_result(r);
}

Test(replay_target, date_forms_land_in_datetime_timestamp_and_date_columns_as_utc_with_milliseconds)
{
    static const struct {
        const char *src, *dt3, *dt6, *date;
    } m[] = {
        { "2026-04-16 22:41:27.490 +00:00", "2026-04-16 22:41:27.490",
          "2026-04-16 22:41:27.490000", "2026-04-16" },
        { "2026-04-16T22:41:27.490Z", "2026-04-16 22:41:27.490",
          "2026-04-16 22:41:27.490000", "2026-04-16" },
        { "2026-04-16 22:41:27", "2026-04-16 22:41:27.000",
          "2026-04-16 22:41:27.000000", "2026-04-16" },
        { "2026-04-16T22:41:27+02:00", "2026-04-16 20:41:27.000",
          "2026-04-16 20:41:27.000000", "2026-04-16" },
        { "2026-04-16 22:41:27.123-05:30", "2026-04-17 04:11:27.123",
          "2026-04-17 04:11:27.123000", "2026-04-17" },
        { "2026-04-16", "2026-04-16 00:00:00.000",
          "2026-04-16 00:00:00.000000", "2026-04-16" },
        { "2024-02-29 23:59:59.999-00:30", "2024-03-01 00:29:59.999",
          "2024-03-01 00:29:59.999000", "2024-03-01" },
        { "2026-01-01T00:00:00.5+01:00", "2025-12-31 23:00:00.500",
          "2025-12-31 23:00:00.500000", "2025-12-31" },
    };
    MYSQL *my = rt_my();
    char sql[300];

    /* the matrix is only meaningful against a strict server */
    cr_assert_eq(rt_my_int(my, "SELECT @@GLOBAL.sql_mode LIKE "
                           "'%%STRICT_ALL_TABLES%%'"), 1);
    rt_my_exec(my, "CREATE TABLE dm (id INT PRIMARY KEY, dt DATETIME(3),"
                   " ts TIMESTAMP(3) NULL DEFAULT NULL, d DATE,"
                   " dt6 DATETIME(6))");
    rt_sql(rt_src, "CREATE TABLE dm(id INTEGER PRIMARY KEY, dt TEXT, ts TEXT,"
                   " d TEXT, dt6 TEXT)");
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
        rt_sqlf(rt_src, "INSERT INTO dm VALUES (%zu, '%s', '%s', '%s', '%s')",
                i + 1, m[i].src, m[i].src, m[i].src, m[i].src);
    rt_sync();
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
        snprintf(sql, sizeof(sql), "SELECT dt FROM dm WHERE id = %zu", i + 1);
        expect_text(my, sql, m[i].dt3);
        snprintf(sql, sizeof(sql), "SELECT ts FROM dm WHERE id = %zu", i + 1);
        expect_text(my, sql, m[i].dt3);
        snprintf(sql, sizeof(sql), "SELECT d FROM dm WHERE id = %zu", i + 1);
        expect_text(my, sql, m[i].date);
        snprintf(sql, sizeof(sql), "SELECT dt6 FROM dm WHERE id = %zu",
                 i + 1);
        expect_text(my, sql, m[i].dt6);
    }
    RT_ASSERT_SAME_ALL(my);
    /* changes convert the same way */
    rt_sql(rt_src, "UPDATE dm SET dt = '2030-06-30T12:00:00.250-07:00',"
                   " ts = '2030-06-30 12:00:00.250Z' WHERE id = 1;");
    rt_sync();
    expect_text(my, "SELECT dt FROM dm WHERE id = 1",
                "2030-06-30 19:00:00.250");
    expect_text(my, "SELECT ts FROM dm WHERE id = 1",
                "2030-06-30 12:00:00.250");
    RT_ASSERT_SAME_ALL(my);
}

Test(replay_target, a_user_table_with_other_column_order_datetime3_bool_decimal_and_json)
{
    MYSQL *my = rt_my();

    rt_my_exec(my, "CREATE TABLE ev (note TEXT, at DATETIME(3) NULL,"
                   " flag TINYINT(1), price DECIMAL(10,2), meta JSON,"
                   " id BIGINT NOT NULL PRIMARY KEY,"
                   " local_only INT NOT NULL DEFAULT 5)");
    rt_sql(rt_src,
           "CREATE TABLE ev(id INTEGER PRIMARY KEY, flag, at TEXT,"
           " price REAL, meta TEXT, note TEXT);"
           "INSERT INTO ev VALUES"
           " (1, 'true', '2026-04-16 22:41:27.490 +00:00', 12.34,"
           "  '{\"a\": [1, 2]}', 'first'),"
           " (2, 'false', '2026-04-16T22:41:27.490Z', 0.5, '[]', NULL),"
           " (3, 1, '2026-04-16', 99999999.99, 'null', 'three'),"
           " (4, 0, NULL, 7, NULL, ''),"
           " (5, NULL, '2026-04-16T22:41:27+02:00', NULL,"
           "  '{\"k\": \"h\xc3\xa9\"}', 'five');");
    rt_sync();
    RT_ASSERT_SAME_TABLE(my, "ev");
    expect_text(my, "SELECT flag FROM ev WHERE id = 1", "1");
    expect_text(my, "SELECT flag FROM ev WHERE id = 2", "0");
    expect_text(my, "SELECT price FROM ev WHERE id = 3", "99999999.99");
    expect_text(my, "SELECT at FROM ev WHERE id = 5",
                "2026-04-16 20:41:27.000");
    expect_text(my, "SELECT JSON_EXTRACT(meta, '$.a[1]') FROM ev WHERE "
                    "id = 1", "2");
    expect_text(my, "SELECT local_only FROM ev WHERE id = 1", "5");
    rt_sql(rt_src,
           "UPDATE ev SET flag = 'true', price = 0.01 WHERE id = 2;"
           "UPDATE ev SET flag = 'false', meta = '{\"b\": null}' WHERE id = 1;"
           "UPDATE ev SET id = 10 WHERE id = 4;"
           "DELETE FROM ev WHERE id = 3;"
           "INSERT INTO ev VALUES (6, 1, '2026-12-31 23:59:59.999', 1,"
           " '{}', 'six');");
    rt_sync();
    RT_ASSERT_SAME_TABLE(my, "ev");
    expect_text(my, "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE "
                    "TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'ev' AND "
                    "COLUMN_NAME = 'note' AND ORDINAL_POSITION = 1", "1");
    expect_text(my, "SELECT COLUMN_TYPE FROM information_schema.COLUMNS "
                    "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'ev' "
                    "AND COLUMN_NAME = 'price'", "decimal(10,2)");
}

Test(replay_target, a_user_table_holding_rows_before_the_snapshot_ends_with_exactly_the_source_rows)
{
    MYSQL *my = rt_my();

    rt_my_exec(my, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))");
    rt_my_exec(my, "INSERT INTO t VALUES (1, 'stale'), (99, 'extra'),"
                   " (100, 'extra too')");
    rt_sql(rt_src, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
                   "INSERT INTO t VALUES (1, 'one'), (2, 'two'), (3, NULL);");
    rt_sync();
    RT_ASSERT_SAME_ALL(my);
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM t"), 3);
    expect_text(my, "SELECT v FROM t WHERE id = 1", "one");
}

static void keyless_user_table(void)
{
    rt_my_exec(rt_my(), "CREATE TABLE lg (msg VARCHAR(100) COLLATE "
                        "utf8mb4_bin, n INT, r DOUBLE)");
    rt_sql(rt_src, "CREATE TABLE lg(msg TEXT, n INT, r REAL);");
}

static void keyless_rows_and_changes(void)
{
    MYSQL *my = rt_my();

    RT_ASSERT_SAME_ALL(my);
    cr_expect(!rt_my_column_exists(my, "lg", "rowid"),
              "replay added a rowid column to the user's table");
    rt_sql(rt_src,
           "UPDATE lg SET n = 5 WHERE rowid = 2;"     /* one of two twins */
           "DELETE FROM lg WHERE rowid = 3;"
           "UPDATE lg SET msg = 'was null' WHERE msg IS NULL;"
           "UPDATE lg SET r = 0.30000000000000004 WHERE msg = 'c';"
           "INSERT INTO lg VALUES ('a', 1, 0.1), ('d', 4, 4.5);"
           "DELETE FROM lg WHERE msg = '';");
    rt_sync();
    RT_ASSERT_SAME_ALL(my);
    rt_sql(rt_src, "DELETE FROM lg WHERE msg = 'a';");
    rt_sync();
    RT_ASSERT_SAME_ALL(my);
}

#define LG_ROWS "INSERT INTO lg VALUES ('a', 1, 0.1), ('a', 1, 0.1)," \
                " ('b', 2, NULL), (NULL, NULL, NULL), ('c', 3, 1e300)," \
                " ('', 0, -0.5);"

Test(replay_target, a_keyless_source_against_a_target_without_a_rowid_column_is_matched_by_old_image)
{
    keyless_user_table();
    rt_capture_once();                /* snapshot of an empty table */
    rt_sql(rt_src, LG_ROWS);
    rt_sync();
    keyless_rows_and_changes();
}

Test(replay_target, the_initial_snapshot_of_a_keyless_source_fills_a_target_without_a_rowid_column)
{
    keyless_user_table();
    rt_sql(rt_src, LG_ROWS);
    rt_sync();
    keyless_rows_and_changes();
}

Test(replay_target, old_image_matching_is_exact_even_where_the_user_collation_is_not)
{
    MYSQL *my = rt_my();

    /* the server's default utf8mb4 collation ignores case and trailing
    ** spaces; a change of 'a' must still hit 'a', not 'A' or 'a ' */
    rt_my_exec(my, "CREATE TABLE lg (msg VARCHAR(100), n INT)");
    rt_sql(rt_src, "CREATE TABLE lg(msg TEXT, n INT);");
    rt_capture_once();
    rt_sql(rt_src, "INSERT INTO lg VALUES ('A', 1), ('a ', 1), ('a', 1);");
    rt_sync();
    RT_ASSERT_SAME_ALL(my);
    rt_sql(rt_src, "UPDATE lg SET n = 2 WHERE msg = 'a';"
                   "DELETE FROM lg WHERE msg = 'a ';");
    rt_sync();
    RT_ASSERT_SAME_ALL(my);
}

Test(replay_target, replace_conflicts_reach_a_user_table_that_lacks_the_unique_index)
{
    MYSQL *my = rt_my();

    rt_my_exec(my, "CREATE TABLE u (id BIGINT PRIMARY KEY,"
                   " email VARCHAR(50) COLLATE utf8mb4_bin, n INT)");
    rt_sql(rt_src,
           "CREATE TABLE u(id INTEGER PRIMARY KEY, email TEXT UNIQUE, n INT);"
           "INSERT INTO u VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', 3);");
    rt_sync();
    RT_ASSERT_SAME_ALL(my);
    rt_sql(rt_src,
           "REPLACE INTO u VALUES (4, 'a', 4);"
           "INSERT OR REPLACE INTO u VALUES (2, 'c', 22);"
           "UPDATE OR REPLACE u SET email = 'a' WHERE id = 2;");
    rt_sync();
    RT_ASSERT_SAME_ALL(my);
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM u"), 1);
}

Test(replay_target, add_column_adds_the_column_to_a_user_table)
{
    MYSQL *my = rt_my();

    rt_my_exec(my, "CREATE TABLE t (v VARCHAR(20), id INT PRIMARY KEY)");
    rt_sql(rt_src, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
                   "INSERT INTO t VALUES (1, 'one'), (2, 'two');");
    rt_sync();
    RT_ASSERT_SAME_ALL(my);
    rt_sql(rt_src, "ALTER TABLE t ADD COLUMN added REAL;"
                   "UPDATE t SET added = 2.5 WHERE id = 2;"
                   "INSERT INTO t VALUES (3, 'three', 0.1);");
    rt_sync();
    cr_expect(rt_my_column_exists(my, "t", "added"));
    RT_ASSERT_SAME_ALL(my);
    cr_expect_eq(rt_my_int(my, "SELECT ORDINAL_POSITION FROM information_"
                           "schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
                           "AND TABLE_NAME = 't' AND COLUMN_NAME = 'v'"), 1,
                 "the user's columns were reordered");
}
