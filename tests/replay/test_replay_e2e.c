/*
** test_replay_e2e.c -- SQLite to MariaDB end to end, for the cases of the
** capture issue: every storage class in typed columns, every kind of key,
** hostile identifiers, a 200-column table, REPLACE conflicts with
** recursive_triggers off and on, foreign-key cascades, upserts, DELETE of
** every row, STRICT tables, generated columns and VACUUM.
**
** Each test writes the source (rt_sql, the application's own
** connections), runs the real `sluice-capture --once` and
** `sluice-replay --once`, then compares every table of the source with
** its MariaDB copy row by row (rt_compare_all: columns by name, values by
** meaning, no extra or missing tables).
*/
#include <criterion/criterion.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_util.h"

TestSuite(replay_e2e, .init = rt_setup, .fini = rt_teardown,
          .timeout = 120);

/* ---------------------------------------------------------------- */
/* Storage classes                                                  */
/* ---------------------------------------------------------------- */

typedef struct sc_type {
    const char *table;
    const char *decl;
    const int *must;             /* ids that must land exactly, 0-ended */
    const int *reject;           /* ids that must be refused, 0-ended */
} sc_type;

static const char *const sc_values[] = {
    /* 1 */ "NULL",
    /* 2 */ "0",
    /* 3 */ "9223372036854775807",
    /* 4 */ "-9223372036854775808",
    /* 5 */ "0.1",
    /* 6 */ "1.5",
    /* 7 */ "-1.7976931348623157e308",
    /* 8 */ "0.30000000000000004",
    /* 9 */ "'h\xc3\xa9llo \xf0\x9f\x8c\x8a'",
    /* 10 */ "''",
    /* 11 */ "x''",
    /* 12 */ "x'00ff10'",               /* not UTF-8 */
    /* 13 */ "x'68c3a9'",               /* UTF-8 'hé' as a blob */
    /* 14 */ "'2026-04-16 22:41:27.490 +00:00'",
    /* 15 */ "'{\"a\": [1, 2.5, \"x\"]}'",
    /* 16 */ "'true'",
    /* 17 */ "CAST(x'610062' AS TEXT)", /* text with a NUL byte */
    /* 18 */ "12.345",
    /* 19 */ "replace(hex(zeroblob(60000)), '0', '\xc3\xa9')",
    /* 20 */ "'42'",
};
#define SC_N ((int)(sizeof(sc_values) / sizeof(sc_values[0])))

static const int all_ids[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
                               14, 15, 16, 17, 18, 19, 20, 0 };
static const int text_ok[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14,
                               15, 16, 17, 18, 19, 20, 0 };
static const int only_12[] = { 12, 0 };
static const int none[] = { 0 };
static const int int_ok[] = { 1, 2, 3, 4, 20, 0 };
static const int real_ok[] = { 1, 2, 3, 4, 5, 6, 7, 8, 18, 20, 0 };
static const int num_ok[] = { 1, 2, 5, 6, 7, 8, 18, 20, 0 };
static const int bool_ok[] = { 1, 2, 16, 0 };
static const int dt_ok[] = { 1, 2, 14, 0 };
static const int json_ok[] = { 1, 2, 15, 16, 0 };
static const int dec_ok[] = { 1, 2, 5, 6, 20, 0 };

static const sc_type sc_types[] = {
    { "sc_integer", "INTEGER", int_ok, none },
    { "sc_real", "REAL", real_ok, none },
    { "sc_text", "TEXT", text_ok, only_12 },
    { "sc_varchar", "VARCHAR(10)", text_ok, only_12 },
    { "sc_blob", "BLOB", all_ids, none },
    { "sc_none", "", all_ids, none },
    { "sc_numeric", "NUMERIC", num_ok, none },
    { "sc_bool", "BOOLEAN", bool_ok, none },
    { "sc_datetime", "DATETIME", dt_ok, none },
    { "sc_json", "JSON", json_ok, only_12 },
    { "sc_decimal", "DECIMAL(10,2)", dec_ok, none },
};
#define SC_T ((int)(sizeof(sc_types) / sizeof(sc_types[0])))

static int in_list(const int *l, int id)
{
    for (; *l; l++)
        if (*l == id)
            return 1;
    return 0;
}

/* the target's v of row id as text; 1 found (m NULL when SQL NULL) */
static int target_v(MYSQL *my, const char *table, int id, char **m,
                    size_t *n)
{
    char sql[200];
    MYSQL_RES *r;
    MYSQL_ROW row;
    int found = 0;

    *m = NULL;
    *n = 0;
    snprintf(sql, sizeof(sql), "SELECT v FROM `%s` WHERE id = %d", table,
             id);
    cr_assert_eq(mysql_query(my, sql), 0, "%s", mysql_error(my));
    r = mysql_store_result(my);
    if ((row = mysql_fetch_row(r)) != NULL) {
        unsigned long *len = mysql_fetch_lengths(r);
        found = 1;
        if (row[0] != NULL) {
            *m = malloc(len[0] + 1);
            memcpy(*m, row[0], len[0]);
            (*m)[len[0]] = 0;
            *n = len[0];
        }
    }
    mysql_free_result(r);
    return found;
}

Test(replay_e2e, every_storage_class_in_every_typed_column_lands_exactly_or_is_recorded_as_rejected)
{
    MYSQL *my;
    rt_proc p;
    int rc, landed = 0, rejected = 0;

    for (int t = 0; t < SC_T; t++) {
        rt_sqlf(rt_src, "CREATE TABLE %s(id INTEGER PRIMARY KEY, v %s)",
               sc_types[t].table, sc_types[t].decl);
        for (int i = 0; i < SC_N; i++)
            rt_sqlf(rt_src, "INSERT INTO %s VALUES (%d, %s)",
                   sc_types[t].table, i + 1, sc_values[i]);
    }
    rt_capture_once();
    rc = rt_replay_run(&p, rt_url, "--on-error", "skip", NULL);
    cr_assert_eq(rc, 0, "replay --on-error=skip exited %d:\n%s", rc,
                 rt_log(&p));
    my = rt_my();

    for (int t = 0; t < SC_T; t++) {
        const sc_type *ty = &sc_types[t];
        rt_mcol *cols;
        int nc = rt_my_columns(my, ty->table, &cols), vc = -1;
        sqlite3 *db;
        sqlite3_stmt *st;

        cr_assert(nc > 0, "table %s was not created", ty->table);
        for (int c = 0; c < nc; c++)
            if (strcmp(cols[c].name, "v") == 0)
                vc = c;
        cr_assert(vc >= 0);
        cr_assert_eq(sqlite3_open(rt_src, &db), SQLITE_OK);
        {
            char *q = sqlite3_mprintf("SELECT id, v FROM %s ORDER BY id",
                                      ty->table);
            cr_assert_eq(sqlite3_prepare_v2(db, q, -1, &st, NULL),
                         SQLITE_OK);
            sqlite3_free(q);
        }
        while (sqlite3_step(st) == SQLITE_ROW) {
            int id = sqlite3_column_int(st, 0);
            rt_sval s = { 0 };
            char *m, why[200], esc[64];
            size_t n;
            int found, nrej;

            s.type = sqlite3_column_type(st, 1);
            s.i = sqlite3_column_int64(st, 1);
            s.r = sqlite3_column_double(st, 1);
            s.p = s.type == SQLITE_BLOB ? sqlite3_column_blob(st, 1)
                                        : sqlite3_column_text(st, 1);
            s.n = (size_t)sqlite3_column_bytes(st, 1);
            found = target_v(my, ty->table, id, &m, &n);
            snprintf(esc, sizeof(esc), "id=%d", id);
            nrej = (int)rt_my_int(my, "SELECT COUNT(*) FROM sqlite_sluice_rejects "
                                  "WHERE table_name = '%s' AND row_key = "
                                  "'%s'", ty->table, esc);
            if (found) {
                cr_expect(rt_value_eq(&s, &cols[vc], m, n, why,
                                      sizeof(why)),
                          "%s (%s -> %s) row %d, value %s: landed altered "
                          "as '%.60s': %s", ty->table, ty->decl,
                          cols[vc].column_type, id, sc_values[id - 1],
                          m ? m : "NULL", why);
                cr_expect_eq(nrej, 0, "%s row %d landed and was also "
                             "recorded as rejected", ty->table, id);
                landed++;
            } else {
                cr_expect_eq(nrej, 1, "%s (%s) row %d, value %s: neither "
                             "in the target nor in sqlite_sluice_rejects",
                             ty->table, ty->decl, id, sc_values[id - 1]);
                rejected++;
            }
            if (in_list(ty->must, id))
                cr_expect(found, "%s (%s -> %s) row %d, value %s: must "
                          "land, but was refused", ty->table, ty->decl,
                          cols[vc].column_type, id, sc_values[id - 1]);
            if (in_list(ty->reject, id))
                cr_expect(!found, "%s row %d, value %s: the target cannot "
                          "take it, yet it landed", ty->table, id,
                          sc_values[id - 1]);
            free(m);
        }
        sqlite3_finalize(st);
        sqlite3_close(db);
        free(cols);
    }
    cr_expect_eq(landed + rejected, SC_N * SC_T);
    /* a rejected row is recorded with its seq, error and row image */
    cr_assert_eq(rt_my_int(my, "SELECT COUNT(*) FROM sqlite_sluice_rejects WHERE "
                           "table_name = 'sc_text' AND row_key = 'id=12' "
                           "AND seq > 0 AND error LIKE '%%UTF-8%%' AND "
                           "row_json LIKE '%%00ff10%%'"), 1,
                 "sqlite_sluice_rejects lacks seq/error/row image for the non-"
                 "UTF-8 blob");
}

Test(replay_e2e, ten_mib_text_and_blob_values_land_byte_exact_by_snapshot_and_by_change)
{
    /* MariaDB's default max_allowed_packet (16 MiB) holds one such row
    ** per statement: replay must size its batches to it */
    rt_sql(rt_src,
           "CREATE TABLE big(id INTEGER PRIMARY KEY, t TEXT, b BLOB);"
           "INSERT INTO big VALUES (1,"
           " replace(hex(zeroblob(1536 * 1024)), '00',"
           " 'h\xc3\xa9\xf0\x9f\x8c\x8a'), x'ff'),"
           " (2, 'small', zeroblob(10 * 1024 * 1024) || x'ff');");
    rt_sync();
    RT_ASSERT_SAME_ALL(rt_my());
    cr_assert_eq(rt_my_int(rt_my(), "SELECT @@max_allowed_packet"),
                 16 * 1024 * 1024, "the fixture server must run with "
                 "MariaDB's default max_allowed_packet");
    rt_sql(rt_src,
           "INSERT INTO big SELECT 3, t || 'tail', NULL FROM big WHERE id = 1;"
           "INSERT INTO big VALUES (4, NULL, randomblob(10 * 1024 * 1024));"
           "INSERT INTO big VALUES (5, NULL, randomblob(10 * 1024 * 1024));"
           "UPDATE big SET t = substr(t, 2) WHERE id = 1;");
    rt_sync();
    RT_ASSERT_SAME_ALL(rt_my());
    cr_expect_eq(rt_my_int(rt_my(), "SELECT LENGTH(b) FROM big WHERE id = 4"),
                 10 * 1024 * 1024);
    cr_expect_eq(rt_my_int(rt_my(), "SELECT LENGTH(t) FROM big WHERE id = 3"),
                 1536 * 1024 * 7 + 4);
}

/* ---------------------------------------------------------------- */
/* Keys                                                             */
/* ---------------------------------------------------------------- */

Test(replay_e2e, composite_keys_of_integers_and_text_follow_every_change)
{
    rt_sql(rt_src,
           "CREATE TABLE k_ii(a INT, b INT, v, PRIMARY KEY(a, b));"
           "CREATE TABLE k_it(a INT, b TEXT, v, PRIMARY KEY(a, b));"
           "CREATE TABLE k_wr2(a TEXT, b INT, v, PRIMARY KEY(b, a))"
           " WITHOUT ROWID;"
           "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
           " WHERE i < 40)"
           " INSERT INTO k_ii SELECT i % 7, i, i FROM n;"
           "INSERT INTO k_it SELECT a, 'b' || b, v FROM k_ii;"
           "INSERT INTO k_wr2 SELECT 'a' || (b % 3), b, x'00' || v"
           " FROM k_ii;");
    rt_sync();
    RT_ASSERT_SAME_ALL(rt_my());
    rt_sql(rt_src,
           "UPDATE k_ii SET v = 'changed' WHERE a = 3;"
           "UPDATE k_ii SET a = a + 100 WHERE a = 2;"
           "UPDATE k_ii SET b = -b WHERE a = 1;"
           "DELETE FROM k_ii WHERE a = 4;"
           "UPDATE k_it SET v = 'changed' WHERE a = 3;"
           "UPDATE k_it SET b = b || '-moved' WHERE a = 1;"
           "UPDATE k_it SET a = a + 100 WHERE a = 2;"
           "DELETE FROM k_it WHERE a = 4;"
           "UPDATE k_wr2 SET b = b + 1000 WHERE a = 'a1';"
           "UPDATE k_wr2 SET a = 'z' WHERE b = 2;"
           "DELETE FROM k_wr2 WHERE b = 3;");
    rt_sync();
    RT_ASSERT_SAME_ALL(rt_my());
    cr_expect_eq(rt_my_int(rt_my(), "SELECT COUNT(*) FROM k_ii WHERE "
                           "a = 2"), 0);
}

Test(replay_e2e, text_without_rowid_integer_and_rowid_keys_follow_every_change)
{
    rt_sql(rt_src,
           "CREATE TABLE k_text(k TEXT PRIMARY KEY, v);"
           "CREATE TABLE k_wr(a TEXT PRIMARY KEY, b INT, v) WITHOUT ROWID;"
           "CREATE TABLE k_ipk(id INTEGER PRIMARY KEY, v);"
           "CREATE TABLE k_none(a, b TEXT);"
           "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
           " WHERE i < 40)"
           " INSERT INTO k_text SELECT 'key-' || i, i * 1.5 FROM n;"
           "INSERT INTO k_text VALUES ('x', 1), ('', 'empty key');"
           "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
           " WHERE i < 40)"
           " INSERT INTO k_wr SELECT 'a' || i, i % 3, x'00' || i FROM n;"
           "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
           " WHERE i < 40)"
           " INSERT INTO k_ipk SELECT i, 'v' || i FROM n;"
           "INSERT INTO k_ipk VALUES (0, 'zero'), (-5, 'negative'),"
           " (9223372036854775807, 'max');"
           "INSERT INTO k_none VALUES (1, 'dup'), (1, 'dup'), (2, 'x'),"
           " (NULL, NULL), (3, '');");
    rt_sync();
    RT_ASSERT_SAME_ALL(rt_my());

    rt_sql(rt_src,
           "UPDATE k_text SET k = 'x2' WHERE k = 'x';"
           "UPDATE k_text SET v = NULL WHERE k = 'key-7';"
           "DELETE FROM k_text WHERE k IN ('key-1', '');"
           "INSERT INTO k_text VALUES ('key-1', 'back');"
           "UPDATE k_wr SET a = a || '-moved' WHERE b = 1;"
           "UPDATE k_wr SET v = NULL WHERE b = 2;"
           "DELETE FROM k_wr WHERE a = 'a3';"
           "UPDATE k_ipk SET id = id + 1000 WHERE id < 5;"
           "BEGIN;"
           " UPDATE k_ipk SET id = -1 WHERE id = 10;"
           " UPDATE k_ipk SET id = 10 WHERE id = 11;"
           " UPDATE k_ipk SET id = 11 WHERE id = -1;"
           "COMMIT;"
           "DELETE FROM k_ipk WHERE id = 9223372036854775807;"
           "UPDATE k_none SET b = 'changed' WHERE rowid = 2;"
           "UPDATE k_none SET rowid = 100 WHERE rowid = 3;"
           "DELETE FROM k_none WHERE rowid = 1;"
           "INSERT INTO k_none VALUES (1, 'dup'), (1, 'dup');");
    rt_sync();
    RT_ASSERT_SAME_ALL(rt_my());
    /* the old keys are gone, not merely updated next to the new ones */
    cr_expect_eq(rt_my_int(rt_my(), "SELECT COUNT(*) FROM k_ipk WHERE id "
                           "BETWEEN 0 AND 4"), 0);
}

Test(replay_e2e, text_keys_that_differ_only_in_case_trailing_spaces_or_normalization_stay_distinct)
{
    rt_sql(rt_src,
           "CREATE TABLE tk(k TEXT PRIMARY KEY, v INT);"
           "INSERT INTO tk VALUES ('k', 1), ('k ', 2), ('K', 3),"
           " ('k  ', 4), ('\xc3\xa9', 5), ('e\xcc\x81', 6), ('a\tb', 7),"
           " ('a b', 8);"
           "CREATE TABLE tk2(a TEXT, b TEXT, v, PRIMARY KEY(a, b))"
           " WITHOUT ROWID;"
           "INSERT INTO tk2 VALUES ('x', 'y', 1), ('x', 'y ', 2),"
           " ('x ', 'y', 3), ('X', 'Y', 4);");
    rt_sync();
    RT_ASSERT_SAME_ALL(rt_my());
    rt_sql(rt_src, "UPDATE tk SET v = v * 10; DELETE FROM tk WHERE k = 'k ';"
                   "UPDATE tk2 SET v = -v WHERE a = 'x';");
    rt_sync();
    RT_ASSERT_SAME_ALL(rt_my());
}

Test(replay_e2e, a_keyless_table_survives_vacuum_renumbering_its_rowids)
{
    rt_sql(rt_src,
           "CREATE TABLE kl(a INT, b TEXT);"
           "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
           " WHERE i < 60)"
           " INSERT INTO kl SELECT i % 5, 'row ' || (i % 4) FROM n;");
    rt_sync();
    RT_ASSERT_SAME_ALL(rt_my());
    rt_sql(rt_src, "DELETE FROM kl WHERE rowid % 3 = 0;");
    rt_sql(rt_src, "VACUUM;");
    rt_sql(rt_src, "UPDATE kl SET b = 'after vacuum' WHERE rowid < 10;"
                   "DELETE FROM kl WHERE rowid BETWEEN 20 AND 25;"
                   "INSERT INTO kl VALUES (99, 'new');");
    rt_sync();
    RT_ASSERT_SAME_ALL(rt_my());
}

/* ---------------------------------------------------------------- */
/* Identifiers                                                      */
/* ---------------------------------------------------------------- */

Test(replay_e2e, identifiers_with_spaces_quotes_backticks_semicolons_and_non_ascii_letters)
{
    rt_sql(rt_src,
           "CREATE TABLE victim(id INTEGER PRIMARY KEY, v);"
           "INSERT INTO victim VALUES (1, 'must survive');"
           "CREATE TABLE \"my table\"(\"id key\" INTEGER PRIMARY KEY,"
           " \"col one\" TEXT, \"q\"\"c\" INT, \"b`c\" REAL, \"s;c\" BLOB,"
           " \"na\xc3\xafve\" TEXT UNIQUE);"
           "CREATE TABLE \"x`; DROP TABLE victim; -- \"\"\"(k TEXT PRIMARY"
           " KEY, \"v`); DROP TABLE victim; --\" TEXT);"
           "CREATE TABLE \"t\xc3\xa2" "ble_\xc3\xb1_\xe8\xa1\xa8\"("
           "\"\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87\" TEXT PRIMARY KEY,"
           " \"\xe5\x80\xbc\" INT);"
           "INSERT INTO \"my table\" VALUES (1, 'a', 1, 1.5, x'01', 'u1'),"
           " (2, 'b', 2, 2.5, x'02', 'u2'), (3, 'c', 3, 3.5, x'03', 'u3');"
           "INSERT INTO \"x`; DROP TABLE victim; -- \"\"\" VALUES"
           " ('k1', 'v1'), ('k`2', 'v''2'), ('k;3', '`);--');"
           "INSERT INTO \"t\xc3\xa2" "ble_\xc3\xb1_\xe8\xa1\xa8\" VALUES"
           " ('\xd0\xb0', 1), ('\xe6\x97\xa5\xe6\x9c\xac', 2);");
    rt_sync();
    RT_ASSERT_SAME_ALL(rt_my());
    rt_sql(rt_src,
           "UPDATE \"my table\" SET \"col one\" = 'changed', \"q\"\"c\" = 42"
           " WHERE \"id key\" = 1;"
           "UPDATE \"my table\" SET \"id key\" = 10 WHERE \"id key\" = 2;"
           "REPLACE INTO \"my table\" VALUES (4, 'd', 4, 4.5, x'04', 'u3');"
           "DELETE FROM \"x`; DROP TABLE victim; -- \"\"\" WHERE k = 'k1';"
           "UPDATE \"x`; DROP TABLE victim; -- \"\"\" SET k = 'k`2`'"
           " WHERE k = 'k`2';"
           "UPDATE \"t\xc3\xa2" "ble_\xc3\xb1_\xe8\xa1\xa8\" SET"
           " \"\xe5\x80\xbc\" = 3;");
    rt_sync();
    RT_ASSERT_SAME_ALL(rt_my());
    cr_expect(rt_my_table_exists(rt_my(), "victim"));
    cr_expect_eq(rt_my_int(rt_my(), "SELECT COUNT(*) FROM victim"), 1);
}

/* ---------------------------------------------------------------- */
/* A wide table                                                     */
/* ---------------------------------------------------------------- */

Test(replay_e2e, a_table_with_200_columns)
{
    static const char *const ty[] = { "INTEGER", "TEXT", "REAL", "BLOB" };
    char *sql = malloc(1 << 16), *ins = malloc(1 << 16);
    size_t o = 0, oi = 0;

    o += (size_t)snprintf(sql + o, 1 << 16,
                          "CREATE TABLE wide(id INTEGER PRIMARY KEY");
    for (int c = 1; c < 200; c++)
        o += (size_t)snprintf(sql + o, (1 << 16) - o, ", c%d %s", c,
                              ty[c % 4]);
    snprintf(sql + o, (1 << 16) - o, ")");
    rt_sql(rt_src, sql);
    oi += (size_t)snprintf(ins, 1 << 16, "WITH RECURSIVE n(i) AS (SELECT 1"
                           " UNION ALL SELECT i + 1 FROM n WHERE i < 60)"
                           " INSERT INTO wide SELECT i");
    for (int c = 1; c < 200; c++) {
        static const char *const ex[] = { "i * %d", "'t' || i || '-%d'",
                                          "i / 7.0 + %d", "x'ff' || i || %d" };
        char e[64];
        snprintf(e, sizeof(e), ex[c % 4], c);
        oi += (size_t)snprintf(ins + oi, (1 << 16) - oi, ", %s", e);
    }
    snprintf(ins + oi, (1 << 16) - oi, " FROM n");
    rt_sql(rt_src, ins);
    rt_sync();
    cr_assert_eq(rt_my_int(rt_my(), "SELECT COUNT(*) FROM information_"
                           "schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()"
                           " AND TABLE_NAME = 'wide'"), 200);
    RT_ASSERT_SAME_ALL(rt_my());
    rt_sql(rt_src, "UPDATE wide SET c1 = NULL, c197 = 'last', c199 = 0.5,"
                   " c101 = 'mid', c198 = c198 * 3 WHERE id % 3 = 0;"
                   "DELETE FROM wide WHERE id % 5 = 0;"
                   "UPDATE wide SET id = id + 1000 WHERE id = 1;");
    rt_sync();
    RT_ASSERT_SAME_ALL(rt_my());
    free(sql);
    free(ins);
}

/* ---------------------------------------------------------------- */
/* REPLACE conflicts                                                */
/* ---------------------------------------------------------------- */

static void replace_conflicts(int recursive)
{
    rt_sql(rt_src,
           "CREATE TABLE u(id INTEGER PRIMARY KEY, email TEXT UNIQUE,"
           " n INT);"
           "CREATE TABLE u2(a INT PRIMARY KEY, b INT, c TEXT, d,"
           " UNIQUE(b, c));"
           "CREATE TABLE u3(id INTEGER PRIMARY KEY, code INT UNIQUE,"
           " name TEXT UNIQUE);"
           "INSERT INTO u VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', 3),"
           " (5, 'e', 5);"
           "INSERT INTO u2 VALUES (1, 1, 'x', 'one'), (2, 2, 'y', 'two'),"
           " (3, 1, 'z', 'three');"
           "INSERT INTO u3 VALUES (1, 10, 'p'), (2, 20, 'q'), (3, 30, 'r');");
    rt_sync();
    RT_ASSERT_SAME_ALL(rt_my());
    rt_sqlf(rt_src,
           "PRAGMA recursive_triggers = %s;"
           /* removes row 1 through the unique email only */
           "REPLACE INTO u VALUES (4, 'a', 4);"
           /* removes row 3 (email) and replaces row 2 (key) */
           "INSERT OR REPLACE INTO u VALUES (2, 'c', 22);"
           /* UPDATE OR REPLACE removes row 4 holding 'a' */
           "UPDATE OR REPLACE u SET email = 'a' WHERE id = 5;"
           /* composite unique */
           "REPLACE INTO u2 VALUES (4, 2, 'y', 'four');"
           /* one row conflicting on two unique columns with two rows */
           "INSERT OR REPLACE INTO u3 VALUES (4, 10, 'q');"
           "BEGIN;"
           " REPLACE INTO u VALUES (6, 'b', 6);"
           " REPLACE INTO u VALUES (7, 'b', 7);"
           "COMMIT;",
           recursive ? "ON" : "OFF");
    rt_sync();
    RT_ASSERT_SAME_ALL(rt_my());
    cr_expect_eq(rt_my_int(rt_my(), "SELECT COUNT(*) FROM u WHERE id IN "
                           "(1, 3, 4, 6)"), 0,
                 "rows removed by REPLACE survived in the target");
    cr_expect_eq(rt_my_int(rt_my(), "SELECT COUNT(*) FROM u3"), 2);
}

Test(replay_e2e, replace_through_a_unique_conflict_removes_the_row_with_recursive_triggers_off)
{
    replace_conflicts(0);
}

Test(replay_e2e, replace_through_a_unique_conflict_removes_the_row_with_recursive_triggers_on)
{
    replace_conflicts(1);
}

/* ---------------------------------------------------------------- */
/* Cascades, upserts, DELETE of everything                          */
/* ---------------------------------------------------------------- */

Test(replay_e2e, foreign_key_cascades_reach_the_target)
{
    rt_sql(rt_src,
           "PRAGMA foreign_keys = ON;"
           "CREATE TABLE parent(id INTEGER PRIMARY KEY, name TEXT);"
           "CREATE TABLE child(id INTEGER PRIMARY KEY, pid INT REFERENCES"
           " parent(id) ON DELETE CASCADE ON UPDATE CASCADE, v TEXT);"
           "CREATE TABLE grandchild(id INTEGER PRIMARY KEY, cid INT"
           " REFERENCES child(id) ON DELETE CASCADE, w TEXT);"
           "INSERT INTO parent VALUES (1, 'one'), (2, 'two'), (3, 'three');"
           "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
           " WHERE i < 30)"
           " INSERT INTO child SELECT i, 1 + i % 3, 'c' || i FROM n;"
           "INSERT INTO grandchild SELECT id, id, 'g' FROM child;");
    rt_sync();
    RT_ASSERT_SAME_ALL(rt_my());
    rt_sql(rt_src,
           "PRAGMA foreign_keys = ON;"
           "DELETE FROM parent WHERE id = 1;"
           "UPDATE parent SET id = 20 WHERE id = 2;");
    cr_assert_eq(rt_sqlite_int(rt_src, "SELECT COUNT(*) FROM child WHERE "
                               "pid = 1"), 0, "cascade did not run");
    rt_sync();
    RT_ASSERT_SAME_ALL(rt_my());
    cr_expect_eq(rt_my_int(rt_my(), "SELECT COUNT(*) FROM child WHERE "
                           "pid = 1"), 0);
    cr_expect_eq(rt_my_int(rt_my(), "SELECT COUNT(*) FROM grandchild"),
                 rt_sqlite_int(rt_src, "SELECT COUNT(*) FROM grandchild"));
}

Test(replay_e2e, insert_on_conflict_do_update_and_do_nothing)
{
    rt_sql(rt_src, "CREATE TABLE cnt(k TEXT PRIMARY KEY, n INT, last TEXT,"
                   " u TEXT UNIQUE);");
    for (int i = 0; i < 40; i++)
        rt_sqlf(rt_src,
               "INSERT INTO cnt VALUES ('k%d', 1, 'first', 'u%d')"
               " ON CONFLICT(k) DO UPDATE SET n = n + excluded.n,"
               " last = 'again %d';"
               "INSERT INTO cnt VALUES ('z%d', 1, 'x', 'u%d')"
               " ON CONFLICT DO NOTHING;",
               i % 7, i % 7, i, i % 3, i % 7);
    rt_sync();
    RT_ASSERT_SAME_ALL(rt_my());
    rt_sql(rt_src, "INSERT INTO cnt VALUES ('k1', 5, 'last', 'u1')"
                   " ON CONFLICT(k) DO UPDATE SET k = 'k1-renamed',"
                   " n = excluded.n;");
    rt_sync();
    RT_ASSERT_SAME_ALL(rt_my());
}

Test(replay_e2e, delete_of_every_row_empties_the_target_tables)
{
    rt_sql(rt_src,
           "CREATE TABLE a(id INTEGER PRIMARY KEY, v);"
           "CREATE TABLE b(x, y);"
           "CREATE TABLE c(k TEXT PRIMARY KEY, v) WITHOUT ROWID;"
           "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
           " WHERE i < 300)"
           " INSERT INTO a SELECT i, i FROM n;"
           "INSERT INTO b SELECT v, v FROM a;"
           "INSERT INTO c SELECT 'k' || id, v FROM a;");
    rt_sync();
    RT_ASSERT_SAME_ALL(rt_my());
    rt_sql(rt_src, "DELETE FROM a; DELETE FROM b; DELETE FROM c;");
    rt_sync();
    RT_ASSERT_SAME_ALL(rt_my());
    cr_expect_eq(rt_my_int(rt_my(), "SELECT (SELECT COUNT(*) FROM a) + "
                           "(SELECT COUNT(*) FROM b) + (SELECT COUNT(*) "
                           "FROM c)"), 0);
    rt_sql(rt_src, "INSERT INTO a VALUES (1, 'again');");
    rt_sync();
    RT_ASSERT_SAME_ALL(rt_my());
}

Test(replay_e2e, strict_tables_and_generated_columns)
{
    rt_sql(rt_src,
           "CREATE TABLE st(id INTEGER PRIMARY KEY, i INT, r REAL, t TEXT,"
           " b BLOB, a ANY) STRICT;"
           "INSERT INTO st VALUES (1, 9223372036854775807, 2.5e-300,"
           " 'text', x'00', 1.25), (2, NULL, NULL, NULL, NULL, 'any text'),"
           " (3, -1, 1e300, '', x'', x'ff');"
           "CREATE TABLE gen(id INTEGER PRIMARY KEY, a INT,"
           " b INT GENERATED ALWAYS AS (a * 2) VIRTUAL,"
           " c TEXT GENERATED ALWAYS AS ('c' || a) STORED, d TEXT);"
           "INSERT INTO gen(id, a, d) VALUES (1, 1, 'x'), (2, 2, 'y');");
    rt_sync();
    RT_ASSERT_SAME_ALL(rt_my());
    rt_sql(rt_src, "UPDATE st SET a = 7 WHERE id = 2;"
                   "UPDATE gen SET a = a + 10;"
                   "INSERT INTO gen(id, a) VALUES (3, 3);");
    rt_sync();
    RT_ASSERT_SAME_ALL(rt_my());
}
