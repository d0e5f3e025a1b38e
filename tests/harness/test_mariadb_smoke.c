/*
** test_mariadb_smoke.c -- the private MariaDB behaves as the integration
** tests assume: reachable through the env file, strict, utf8mb4, with
** real authentication.
**
** INVARIANTS
**  (S1) Each test owns the tables it names (harness_smoke_*), drops them
**       first and last, so tests may run in any order and be re-run
**       against the same server.
**  (S2) The strict-mode test is the one from DESIGN.md: an ORM's
**       '2026-04-16 22:41:27.490 +00:00' is refused (1292), the same
**       value without the offset is accepted into DATETIME(3).
*/
#include <criterion/criterion.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <string.h>

#include "testdb.h"

static MYSQL *db;

static void connect_up(void)
{
    db = tdb_connect();
}

static void connect_down(void)
{
    tdb_close(db);
    db = NULL;
}

TestSuite(harness_mariadb, .init = connect_up, .fini = connect_down);

Test(harness_mariadb, the_server_runs_with_the_settings_the_tests_assume)
{
    char v[256];

    cr_assert_eq(tdb_query_str(db, v, sizeof(v), "SELECT @@sql_mode"), 0);
    cr_expect(strstr(v, "STRICT_ALL_TABLES") != NULL, "sql_mode=%s", v);
    cr_expect(strstr(v, "NO_ZERO_DATE") != NULL, "sql_mode=%s", v);
    cr_expect(strstr(v, "NO_ZERO_IN_DATE") != NULL, "sql_mode=%s", v);
    cr_expect(strstr(v, "ERROR_FOR_DIVISION_BY_ZERO") != NULL,
              "sql_mode=%s", v);

    cr_assert_eq(tdb_query_str(db, v, sizeof(v),
                               "SELECT @@character_set_server"), 0);
    cr_expect_str_eq(v, "utf8mb4");
    cr_assert_eq(tdb_query_str(db, v, sizeof(v),
                               "SELECT @@innodb_flush_log_at_trx_commit"), 0);
    cr_expect_str_eq(v, "1");
    cr_assert_eq(tdb_query_str(db, v, sizeof(v), "SELECT @@local_infile"), 0);
    cr_expect_str_eq(v, "1");
    cr_assert_eq(tdb_query_str(db, v, sizeof(v), "SELECT @@bind_address"), 0);
    cr_expect_str_eq(v, "127.0.0.1");
    cr_assert_eq(tdb_query_str(db, v, sizeof(v), "SELECT DATABASE()"), 0);
    cr_expect_str_eq(v, tdb_config_get()->db);
}

Test(harness_mariadb, the_test_user_can_also_connect_over_loopback_tcp)
{
    const tdb_config *cfg = tdb_config_get();
    MYSQL *tcp = NULL;
    char err[512] = "";
    char v[128];
    int rc;

    rc = tdb_open(&tcp, cfg, NULL, NULL, TDB_VIA_TCP, err, sizeof(err));
    cr_assert_eq(rc, 0, "TCP 127.0.0.1:%u: error %d: %s", cfg->port, rc, err);
    cr_assert_eq(tdb_query_str(tcp, v, sizeof(v), "SELECT CURRENT_USER()"), 0);
    cr_expect_str_eq(v, "sluice@127.0.0.1");
    tdb_close(tcp);
}

Test(harness_mariadb, a_row_inserted_into_a_new_table_reads_back_unchanged)
{
    char v[256];

    tdb_exec_or_fail(db, "DROP TABLE IF EXISTS harness_smoke_rows");
    tdb_exec_or_fail(db, "CREATE TABLE harness_smoke_rows ("
                         " id BIGINT PRIMARY KEY,"
                         " name VARCHAR(64) NOT NULL,"
                         " note TEXT NULL) ENGINE=InnoDB");
    tdb_exec_or_fail(db, "INSERT INTO harness_smoke_rows VALUES"
                         " (9223372036854775807, 'h\xc3\xa9llo \xf0\x9f\x8c\x8a',"
                         " NULL)");

    cr_assert_eq(tdb_query_str(db, v, sizeof(v),
                               "SELECT COUNT(*) FROM harness_smoke_rows"), 0);
    cr_expect_str_eq(v, "1");
    cr_assert_eq(tdb_query_str(db, v, sizeof(v),
                               "SELECT id FROM harness_smoke_rows"), 0);
    cr_expect_str_eq(v, "9223372036854775807");
    cr_assert_eq(tdb_query_str(db, v, sizeof(v),
                               "SELECT name FROM harness_smoke_rows"), 0);
    cr_expect_str_eq(v, "h\xc3\xa9llo \xf0\x9f\x8c\x8a",
                     "4-byte UTF-8 must survive (utf8mb4)");
    cr_expect_eq(tdb_query_str(db, v, sizeof(v),
                               "SELECT note FROM harness_smoke_rows"),
                 TDB_IS_NULL);
    cr_expect_eq(tdb_query_str(db, v, sizeof(v),
                               "SELECT id FROM harness_smoke_rows WHERE id = 1"),
                 TDB_NO_ROW);
    tdb_exec_or_fail(db, "DROP TABLE harness_smoke_rows");
}

Test(harness_mariadb, strict_mode_rejects_an_orm_datetime_with_a_utc_offset)
{
    char v[64];
    int rc;

    tdb_exec_or_fail(db, "DROP TABLE IF EXISTS harness_smoke_offset");
    tdb_exec_or_fail(db, "CREATE TABLE harness_smoke_offset ("
                         " id INT PRIMARY KEY, at DATETIME NOT NULL)");
    rc = tdb_exec(db, "INSERT INTO harness_smoke_offset VALUES"
                      " (1, '2026-04-16 22:41:27.490 +00:00')");
    cr_assert_eq(rc, ER_TRUNCATED_WRONG_VALUE,
                 "expected error %d (Incorrect datetime value), got %d: %s",
                 ER_TRUNCATED_WRONG_VALUE, rc, mysql_error(db));
    cr_expect(strstr(mysql_error(db), "Incorrect datetime value") != NULL,
              "message: %s", mysql_error(db));
    cr_assert_eq(tdb_query_str(db, v, sizeof(v),
                               "SELECT COUNT(*) FROM harness_smoke_offset"), 0);
    cr_expect_str_eq(v, "0", "a refused row must not be stored");
    tdb_exec_or_fail(db, "DROP TABLE harness_smoke_offset");
}

Test(harness_mariadb, a_datetime_without_offset_keeps_its_milliseconds)
{
    char v[64];

    tdb_exec_or_fail(db, "DROP TABLE IF EXISTS harness_smoke_millis");
    tdb_exec_or_fail(db, "CREATE TABLE harness_smoke_millis ("
                         " id INT PRIMARY KEY, at DATETIME(3) NOT NULL)");
    tdb_exec_or_fail(db, "INSERT INTO harness_smoke_millis VALUES"
                         " (1, '2026-04-16 22:41:27.490')");
    cr_assert_eq(tdb_query_str(db, v, sizeof(v),
                               "SELECT at FROM harness_smoke_millis"), 0);
    cr_expect_str_eq(v, "2026-04-16 22:41:27.490");
    tdb_exec_or_fail(db, "DROP TABLE harness_smoke_millis");
}

Test(harness_mariadb, a_wrong_password_is_refused_over_socket_and_tcp)
{
    const tdb_config *cfg = tdb_config_get();
    MYSQL *other = NULL;
    char err[512] = "";
    int rc;

    rc = tdb_open(&other, cfg, NULL, "not-the-password", TDB_VIA_SOCKET,
                  err, sizeof(err));
    cr_expect_eq(rc, ER_ACCESS_DENIED_ERROR, "socket: got %d: %s", rc, err);
    cr_expect_null(other);
    tdb_close(other);

    rc = tdb_open(&other, cfg, NULL, "not-the-password", TDB_VIA_TCP,
                  err, sizeof(err));
    cr_expect_eq(rc, ER_ACCESS_DENIED_ERROR, "tcp: got %d: %s", rc, err);
    cr_expect_null(other);
    tdb_close(other);

    rc = tdb_open(&other, cfg, NULL, "", TDB_VIA_TCP, err, sizeof(err));
    cr_expect_eq(rc, ER_ACCESS_DENIED_ERROR, "empty password: got %d: %s",
                 rc, err);
    tdb_close(other);
}
