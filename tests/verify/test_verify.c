/*
** test_verify.c -- sluice-verify against real pipelines: an SQLite source
** captured and replayed into the fixture MariaDB by the real binaries,
** then verified; then the target is damaged on purpose and verify must
** say where.
**
** What vt_setup gives every test:
**   vt_base  a fresh temporary directory
**   vt_src   vt_base/src.db, written with vt_sql() like an application
**   vt_jdir  vt_base/journal
**   vt_db    a MariaDB database of its own ("vt_<test name>"), created
**            fresh and dropped by vt_teardown()
**   vt_url   mariadb://sluice@localhost/<vt_db>?socket=... without the
**            password, which children get as SLUICE_TARGET_PASSWORD
** The binaries run as child processes; verify's stdout and stderr are
** kept apart (vt_out, vt_err) so tests can assert on its report alone.
**
** INVARIANTS
**  (V1) every test starts from an empty database and source, so tests run
**       in any order and can be re-run against the same server.
**  (V2) a test that damages the target first checks that verify passed
**       before the damage: a failure is always caused by the damage.
*/
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <mysql.h>
#include <sqlite3.h>

#include "testdb.h"
#include "testlib.h"

#define VT_PATH 512

static char vt_base[VT_PATH];
static char vt_src[VT_PATH + 16];
static char vt_jdir[VT_PATH + 16];
static char vt_db[65];
static char vt_url[1200];
static char *vt_out;             /* last verify's stdout */
static char *vt_err;             /* last verify's stderr */
static MYSQL *vt_conn;

/* ---- fixture ---- */

static void url_for(char *out, size_t cap, const char *socket,
                    const char *db)
{
    size_t o = (size_t)snprintf(out, cap, "mariadb://%s@localhost/%s"
                                "?socket=", tdb_config_get()->user, db);
    for (const char *p = socket; *p && o + 4 < cap; p++) {
        unsigned char ch = (unsigned char)*p;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
            (ch >= '0' && ch <= '9') || strchr("/-_.~", ch))
            out[o++] = (char)ch;
        else
            o += (size_t)snprintf(out + o, cap - o, "%%%02X", ch);
    }
    out[o] = 0;
}

static void vt_setup(void)
{
    const tdb_config *cfg = tdb_config_get();
    const char *name = criterion_current_test->name;
    size_t o;

    cr_assert_eq(tl_tmpdir_make(vt_base, sizeof(vt_base)), 0,
                 "cannot make a temporary directory");
    snprintf(vt_src, sizeof(vt_src), "%s/src.db", vt_base);
    snprintf(vt_jdir, sizeof(vt_jdir), "%s/journal", vt_base);
    o = (size_t)snprintf(vt_db, sizeof(vt_db), "vt_%.58s", name);
    if (o >= sizeof(vt_db))
        o = sizeof(vt_db) - 1;
    vt_conn = tdb_connect();
    tdb_exec_or_fail(vt_conn, "DROP DATABASE IF EXISTS `%s`", vt_db);
    tdb_exec_or_fail(vt_conn, "CREATE DATABASE `%s` CHARACTER SET utf8mb4",
                     vt_db);
    tdb_exec_or_fail(vt_conn, "USE `%s`", vt_db);
    tdb_exec_or_fail(vt_conn, "SET time_zone = '+00:00'");
    url_for(vt_url, sizeof(vt_url), cfg->socket, vt_db);
    setenv("SLUICE_TARGET_PASSWORD", cfg->password, 1);
}

static void vt_teardown(void)
{
    tl_kill_all();
    if (vt_conn != NULL) {
        tdb_exec(vt_conn, "DROP DATABASE IF EXISTS `%s`", vt_db);
        tdb_close(vt_conn);
        vt_conn = NULL;
    }
    free(vt_out);
    free(vt_err);
    vt_out = vt_err = NULL;
    if (vt_base[0])
        tl_rm_rf(vt_base);
}

TestSuite(verify, .init = vt_setup, .fini = vt_teardown, .timeout = 180);

/* ---- helpers ---- */

/* Run bin with args (NULL-terminated), stdout to out_path and stderr to
** err_path; exit status, 128 + signal, or -2 after 120 s (killed). */
static int run(const char *out_path, const char *err_path, const char *bin,
               const char *const *args)
{
    const char *argv[32];
    int n = 0;
    pid_t pid;

    argv[n++] = bin;
    for (; args[n - 1] != NULL && n < 31; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    pid = tl_fork();            /* dies with the test */
    if (pid == 0) {
        /* the child: no Criterion call here, not even a passing assert
        ** (--full-stats reports those to the runner) */
        int fo, fe;
        fo = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        fe = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
            _exit(127);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    cr_assert_neq(pid, -1, "fork failed");
    return tl_wait(pid, 120000);
}

static void bin_path(char *out, size_t cap, const char *rel)
{
    snprintf(out, cap, "%s/%s", tl_build_dir(), rel);
}

/* Run a pipeline binary to completion, asserting exit 0. */
static void run_ok(const char *rel, const char *const *args)
{
    char bin[VT_PATH + 64], out[VT_PATH + 32], err[VT_PATH + 32];
    int rc;

    bin_path(bin, sizeof(bin), rel);
    snprintf(out, sizeof(out), "%s/step.out", vt_base);
    snprintf(err, sizeof(err), "%s/step.err", vt_base);
    rc = run(out, err, bin, args);
    if (rc != 0) {
        char *log = tl_slurp(err, NULL);
        cr_assert_fail("%s exited %d:\n%s", rel, rc, log);
    }
}

/* capture --once, then replay --once: the target catches up. */
static void vt_sync(void)
{
    const char *cap[] = { "--source", vt_src, "--journal", vt_jdir,
                          "--once", NULL };
    const char *rep[] = { "--journal", vt_jdir, "--target", vt_url,
                          "--once", "--once-timeout-s", "30", NULL };

    run_ok("capture/sluice-capture", cap);
    run_ok("replay/sluice-replay", rep);
}

/* sluice-verify --source vt_src --target vt_url [args...]: its exit
** status; vt_out and vt_err receive what it printed. */
static int vt_verify(const char *arg, ...)
{
    const char *args[24];
    char bin[VT_PATH + 64], out[VT_PATH + 32], err[VT_PATH + 32];
    int n = 0, rc;
    va_list ap;

    args[n++] = "--source";
    args[n++] = vt_src;
    args[n++] = "--target";
    args[n++] = vt_url;
    va_start(ap, arg);
    for (const char *a = arg; a != NULL && n < 23;
         a = va_arg(ap, const char *))
        args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    bin_path(bin, sizeof(bin), "tools/verify/sluice-verify");
    snprintf(out, sizeof(out), "%s/verify.out", vt_base);
    snprintf(err, sizeof(err), "%s/verify.err", vt_base);
    rc = run(out, err, bin, args);
    free(vt_out);
    free(vt_err);
    vt_out = tl_slurp(out, NULL);
    vt_err = tl_slurp(err, NULL);
    return rc;
}

/* Run an argument vector as given (no --source/--target added). */
static int vt_verify_raw(const char *const *args)
{
    char bin[VT_PATH + 64], out[VT_PATH + 32], err[VT_PATH + 32];
    int rc;

    bin_path(bin, sizeof(bin), "tools/verify/sluice-verify");
    snprintf(out, sizeof(out), "%s/verify.out", vt_base);
    snprintf(err, sizeof(err), "%s/verify.err", vt_base);
    rc = run(out, err, bin, args);
    free(vt_out);
    free(vt_err);
    vt_out = tl_slurp(out, NULL);
    vt_err = tl_slurp(err, NULL);
    return rc;
}

static void vt_sql(const char *sql)
{
    sqlite3 *db = NULL;
    char *msg = NULL;
    int rc = sqlite3_open(vt_src, &db);

    cr_assert_eq(rc, SQLITE_OK, "open %s: %s", vt_src, sqlite3_errmsg(db));
    sqlite3_busy_timeout(db, 5000);
    rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    cr_assert_eq(rc, SQLITE_OK, "SQLite: %s\nin: %s", msg ? msg : "?", sql);
    sqlite3_close(db);
}

#define VT_HAS(hay, needle)                                              \
    cr_assert(strstr((hay), (needle)) != NULL,                           \
              "expected to find\n  %s\nin:\n%s\nstderr:\n%s", (needle),  \
              (hay), vt_err ? vt_err : "")

#define VT_LACKS(hay, needle)                                            \
    cr_assert(strstr((hay), (needle)) == NULL,                           \
              "did not expect\n  %s\nin:\n%s", (needle), (hay))

#define VT_PASSES()                                                      \
    do {                                                                 \
        int vt_rc_ = vt_verify(NULL);                                    \
        cr_assert_eq(vt_rc_, 0, "verify exited %d before any damage:\n"  \
                     "%s\n%s", vt_rc_, vt_out, vt_err);                  \
    } while (0)

static const char g_shop[] =
    "CREATE TABLE orders(id INTEGER PRIMARY KEY, customer TEXT,"
    " amount REAL, created DATETIME, paid BOOLEAN, price DECIMAL(10,2),"
    " meta JSON, data BLOB, misc);"
    "INSERT INTO orders VALUES"
    " (1, 'alice', 12.5, '2026-04-16 22:41:27.490 +02:00', 'true', 9.99,"
    "  '{\"a\":1}', x'00ff', 0.1),"
    " (2, 'bob', 0.1, '2026-04-16T10:00:00Z', 0, 12.25, NULL, NULL,"
    "  1.5e-7),"
    " (3, 'carol', NULL, '2026-04-16', 1, 100, '[]', x'', 1e20),"
    " (4, 'dave', -0.0, 1776400000, 'false', -0.12, NULL, 'text', 42);"
    "CREATE TABLE tags(name TEXT PRIMARY KEY, n INT) WITHOUT ROWID;"
    "INSERT INTO tags VALUES ('a', 1), ('b', 2), ('B', 3), ('é', 4);"
    "CREATE TABLE pairs(a INT, b INT, v, PRIMARY KEY(b, a));"
    "INSERT INTO pairs VALUES (1, 2, 'p'), (2, 1, 'q'), (1, 1, 3.5);"
    "CREATE TABLE log(msg TEXT, at INT);"
    "INSERT INTO log VALUES ('x', 1), ('x', 1), ('y', 2);";

/* ---------------------------------------------------------------- */

Test(verify, a_faithful_copy_verifies_and_exits_0)
{
    int rc;

    vt_sql(g_shop);
    vt_sync();
    rc = vt_verify(NULL);
    cr_assert_eq(rc, 0, "exit %d:\n%s\n%s", rc, vt_out, vt_err);
    VT_HAS(vt_out, "table=orders source_rows=4 target_rows=4 missing=0 "
                   "extra=0 differing=0 status=ok");
    VT_HAS(vt_out, "table=tags source_rows=4 target_rows=4");
    VT_HAS(vt_out, "table=pairs source_rows=3 target_rows=3");
    VT_HAS(vt_out, "table=log source_rows=3 target_rows=3");
    VT_HAS(vt_out, "summary tables=4 ok=4 diff=0 error=0 skipped=0 status=ok");

    /* later changes, replayed too, still verify */
    vt_sql("UPDATE orders SET amount = 0.30000000000000004 WHERE id = 1;"
           "DELETE FROM tags WHERE name = 'B';"
           "INSERT INTO log VALUES ('z', 3);"
           "UPDATE pairs SET a = 9 WHERE b = 2;");
    vt_sync();
    rc = vt_verify(NULL);
    cr_assert_eq(rc, 0, "exit %d:\n%s\n%s", rc, vt_out, vt_err);
}

Test(verify, a_changed_value_is_named_by_key_column_and_both_values)
{
    int rc;

    vt_sql(g_shop);
    vt_sync();
    VT_PASSES();
    tdb_exec_or_fail(vt_conn, "UPDATE orders SET amount = 0.25 WHERE id = 2");
    rc = vt_verify(NULL);
    cr_assert_eq(rc, 1, "exit %d:\n%s\n%s", rc, vt_out, vt_err);
    VT_HAS(vt_out, "table=orders source_rows=4 target_rows=4 missing=0 "
                   "extra=0 differing=1 status=DIFF");
    VT_HAS(vt_out, "differing table=orders key=\"id=2\" column=amount "
                   "source=0.10000000000000001 target=0.25");
    VT_HAS(vt_out, "summary tables=4 ok=3 diff=1 error=0 skipped=0 status=DIFF");
}

Test(verify, dates_and_decimals_differ_only_when_their_values_do)
{
    int rc;

    vt_sql(g_shop);
    vt_sync();
    VT_PASSES();
    /* same instant as '2026-04-16 22:41:27.490 +02:00': still equal */
    tdb_exec_or_fail(vt_conn, "UPDATE orders SET created = "
                     "'2026-04-16 20:41:27.490' WHERE id = 1");
    cr_assert_eq(vt_verify(NULL), 0, "%s", vt_out);
    /* one microsecond later: a difference */
    tdb_exec_or_fail(vt_conn, "UPDATE orders SET created = "
                     "'2026-04-16 20:41:27.490001' WHERE id = 1");
    rc = vt_verify(NULL);
    cr_assert_eq(rc, 1, "%s", vt_out);
    VT_HAS(vt_out, "key=\"id=1\" column=created");
    /* 12.25 was stored as 12.25 (it fits DECIMAL(10,2)); 12.24 is not */
    tdb_exec_or_fail(vt_conn, "UPDATE orders SET created = "
                     "'2026-04-16 20:41:27.490' WHERE id = 1");
    tdb_exec_or_fail(vt_conn, "UPDATE orders SET price = 12.24 WHERE id = 2");
    rc = vt_verify(NULL);
    cr_assert_eq(rc, 1, "%s", vt_out);
    VT_HAS(vt_out, "key=\"id=2\" column=price source=12.25 "
                   "target=12.24");
    /* a boolean written as 'true' is 1; 0 is a difference */
    tdb_exec_or_fail(vt_conn, "UPDATE orders SET price = 12.25, paid = 0 "
                     "WHERE id IN (1, 2)");
    rc = vt_verify(NULL);
    cr_assert_eq(rc, 1, "%s", vt_out);
    VT_HAS(vt_out, "key=\"id=1\" column=paid source='true' target=0");
    VT_LACKS(vt_out, "key=\"id=2\" column=paid");
}

Test(verify, missing_and_extra_rows_are_counted_and_named)
{
    int rc;

    vt_sql(g_shop);
    vt_sync();
    VT_PASSES();
    tdb_exec_or_fail(vt_conn, "DELETE FROM orders WHERE id = 3");
    tdb_exec_or_fail(vt_conn, "INSERT INTO orders(id, customer) "
                     "VALUES (99, 'mallory')");
    tdb_exec_or_fail(vt_conn, "DELETE FROM pairs WHERE a = 2 AND b = 1");
    tdb_exec_or_fail(vt_conn, "DELETE FROM log WHERE rowid = 2");
    rc = vt_verify(NULL);
    cr_assert_eq(rc, 1, "%s\n%s", vt_out, vt_err);
    VT_HAS(vt_out, "table=orders source_rows=4 target_rows=4 missing=1 "
                   "extra=1 differing=0 status=DIFF");
    VT_HAS(vt_out, "missing table=orders key=\"id=3\"");
    VT_HAS(vt_out, "extra table=orders key=\"id=99\"");
    VT_HAS(vt_out, "missing table=pairs key=\"b=1,a=2\"");
    VT_HAS(vt_out, "missing table=log key=\"rowid=2\"");
}

Test(verify, a_keyless_table_without_a_rowid_column_is_a_multiset)
{
    int rc;

    vt_sql("CREATE TABLE log(msg TEXT, at INT);"
           "INSERT INTO log VALUES ('x', 1), ('x', 1), ('y', 2), (NULL, 3);");
    vt_sync();
    /* a target made without the rowid column: rows have no identity */
    tdb_exec_or_fail(vt_conn, "ALTER TABLE log DROP PRIMARY KEY, "
                     "DROP COLUMN rowid");
    rc = vt_verify(NULL);
    cr_assert_eq(rc, 0, "%s\n%s", vt_out, vt_err);
    VT_HAS(vt_out, "table=log source_rows=4 target_rows=4 missing=0 extra=0"
                   " differing=0 status=ok mode=multiset");

    /* one duplicate too many, one changed row */
    tdb_exec_or_fail(vt_conn, "INSERT INTO log VALUES ('x', 1)");
    tdb_exec_or_fail(vt_conn, "UPDATE log SET at = 20 WHERE msg = 'y'");
    rc = vt_verify(NULL);
    cr_assert_eq(rc, 1, "%s", vt_out);
    VT_HAS(vt_out, "table=log source_rows=4 target_rows=5 missing=1 extra=2"
                   " differing=0 status=DIFF mode=multiset");
    VT_HAS(vt_out, "missing table=log row=\"msg='y',at=2\"");
    VT_HAS(vt_out, "extra table=log row=\"msg='y',at=20\"");
    VT_HAS(vt_out, "extra table=log row=\"msg='x',at=1\"");

    /* the same answer when memory holds only a few rows per pass */
    rc = vt_verify("--hash-rows", "1", NULL);
    cr_assert_eq(rc, 1, "%s", vt_out);
    VT_HAS(vt_out, "table=log source_rows=4 target_rows=5 missing=1 extra=2");
}

Test(verify, text_keys_are_compared_in_byte_order_whatever_the_collation)
{
    int rc;

    /* utf8mb4_bin pads with spaces: MariaDB sorts 'a\n' before 'a' */
    vt_sql("CREATE TABLE k(name TEXT PRIMARY KEY, v INT);"
           "INSERT INTO k VALUES ('a', 1), ('a' || char(10), 2),"
           " ('a' || char(9), 3), ('ab', 4), ('b', 5), ('É', 6), ('e', 7);"
           "CREATE TABLE nc(name TEXT COLLATE NOCASE PRIMARY KEY, v INT);"
           "INSERT INTO nc VALUES ('B', 1), ('a', 2), ('C', 3);");
    vt_sync();
    rc = vt_verify(NULL);
    cr_assert_eq(rc, 0, "%s\n%s", vt_out, vt_err);
    VT_HAS(vt_out, "table=k source_rows=7 target_rows=7 missing=0 extra=0 "
                   "differing=0 status=ok mode=key");
    VT_HAS(vt_out, "table=nc source_rows=3 target_rows=3");

    tdb_exec_or_fail(vt_conn, "DELETE FROM k WHERE name = 'ab'");
    tdb_exec_or_fail(vt_conn, "UPDATE k SET v = 70 WHERE name = 'e'");
    rc = vt_verify(NULL);
    cr_assert_eq(rc, 1, "%s", vt_out);
    VT_HAS(vt_out, "table=k source_rows=7 target_rows=6 missing=1 extra=0 "
                   "differing=1 status=DIFF mode=key");
    VT_HAS(vt_out, "missing table=k key=\"name='ab'\"");
    VT_HAS(vt_out, "differing table=k key=\"name='e'\" column=v source=7 "
                   "target=70");
}

Test(verify, user_created_columns_are_compared_as_replay_converts_into_them)
{
    int rc;

    tdb_exec_or_fail(vt_conn,
        "CREATE TABLE t(id BIGINT PRIMARY KEY, f FLOAT, d DOUBLE,"
        " dec1 DECIMAL(10,2), dt DATETIME(3), ts TIMESTAMP(6) NULL,"
        " tm TIME(3), b TINYINT(1), y YEAR, e ENUM('x','y'), bits BIT(8),"
        " u INT UNSIGNED, j JSON, only_here INT DEFAULT 7)"
        " CHARSET utf8mb4");
    vt_sql("CREATE TABLE t(id INTEGER PRIMARY KEY, f REAL, d REAL,"
           " dec1 TEXT, dt TEXT, ts INT, tm TEXT, b, y INT, e TEXT,"
           " bits INT, u INT, j TEXT);"
           "INSERT INTO t VALUES (1, 0.1, 0.30000000000000004, '12.34',"
           " '2026-01-02T03:04:05.123456Z', 1700000000, '12:34:56.7891',"
           " 'false', 2024, 'y', 5, 42, '{\"a\": [1, 2]}'),"
           " (2, 3.4028234663852886e+38, -0.0, '-0.12',"
           " '2026-01-02 03:04:05+05:30', 1700000000123, '-1:00', 'TRUE',"
           " 1999, 'x', 255, 4294967295, 'null'),"
           " (3, NULL, 5e-324, 7, '2026-01-02', 2460000.5, '100:00:00', 1,"
           " NULL, NULL, 0, 0, '[]');");
    vt_sync();
    rc = vt_verify(NULL);
    cr_assert_eq(rc, 0, "%s\n%s", vt_out, vt_err);

    /* a float column keeps a float: 0.1000001 is another one */
    tdb_exec_or_fail(vt_conn, "UPDATE t SET f = 0.1000001, d = 0.3 "
                     "WHERE id = 1");
    tdb_exec_or_fail(vt_conn, "UPDATE t SET tm = '12:34:56.788', "
                     "bits = 6 WHERE id = 1");
    rc = vt_verify(NULL);
    cr_assert_eq(rc, 1, "%s", vt_out);
    VT_HAS(vt_out, "differing table=t key=\"id=1\" column=f");
    VT_HAS(vt_out, "column=d source=0.30000000000000004 target=0.3");
    VT_HAS(vt_out, "column=tm source='12:34:56.7891' target='12:34:56.788'");
    VT_HAS(vt_out, "column=bits source=5 target=6");
    VT_LACKS(vt_out, "column=only_here");
}

Test(verify, a_column_or_table_the_target_lacks_is_a_difference)
{
    int rc;

    vt_sql(g_shop);
    vt_sync();
    VT_PASSES();
    tdb_exec_or_fail(vt_conn, "ALTER TABLE orders DROP COLUMN misc");
    tdb_exec_or_fail(vt_conn, "DROP TABLE tags");
    rc = vt_verify(NULL);
    cr_assert_eq(rc, 1, "%s", vt_out);
    VT_HAS(vt_out, "table=orders source_rows=4 target_rows=4 missing=0 "
                   "extra=0 differing=0 status=DIFF");
    VT_HAS(vt_out, "note=\"target lacks column misc\"");
    VT_HAS(vt_out, "table=tags source_rows=4 target_rows=0 missing=4");
    VT_HAS(vt_out, "note=\"the target has no table tags\"");
}

Test(verify, the_tables_option_chooses_what_is_compared)
{
    int rc;

    vt_sql(g_shop);
    vt_sync();
    tdb_exec_or_fail(vt_conn, "DELETE FROM tags");
    rc = vt_verify("--tables", "orders,pairs", NULL);
    cr_assert_eq(rc, 0, "%s", vt_out);
    VT_HAS(vt_out, "summary tables=2 ok=2");
    VT_LACKS(vt_out, "table=tags");

    rc = vt_verify("--exclude-tables", "tags", NULL);
    cr_assert_eq(rc, 0, "%s", vt_out);
    VT_HAS(vt_out, "summary tables=3 ok=3");

    /* a name that is not a captured table cannot match */
    rc = vt_verify("--tables", "orders,nosuch,_sluice_meta", NULL);
    cr_assert_eq(rc, 1, "%s", vt_out);
    VT_HAS(vt_out, "table=nosuch source_rows=0 target_rows=0 missing=0 "
                   "extra=0 differing=0 status=ERROR note=\"no such table "
                   "in the source\"");
    VT_HAS(vt_out, "table=_sluice_meta");
    VT_HAS(vt_out, "summary tables=3 ok=1 diff=0 error=2 skipped=0 status=ERROR");
}

Test(verify, json_output_carries_the_same_counts_and_keys)
{
    int rc;

    vt_sql(g_shop);
    vt_sync();
    tdb_exec_or_fail(vt_conn, "UPDATE tags SET n = 30 WHERE name = 'B'");
    rc = vt_verify("--json", "--tables", "tags,orders", NULL);
    cr_assert_eq(rc, 1, "%s", vt_out);
    VT_HAS(vt_out, "{\"table\":\"tags\",\"source_rows\":4,\"target_rows\":4,"
                   "\"missing\":0,\"extra\":0,\"differing\":1,"
                   "\"status\":\"DIFF\",\"mode\":\"key\",\"note\":null,");
    VT_HAS(vt_out, "{\"kind\":\"differing\",\"key\":\"name='B'\",\"count\":1,"
                   "\"more_columns\":0,\"columns\":[{\"column\":\"n\","
                   "\"source\":\"3\",\"target\":\"30\"}]}");
    VT_HAS(vt_out, "\"tables_total\":2,\"ok\":1,\"diff\":1,\"error\":0,"
                   "\"skipped\":0,\"status\":\"DIFF\"}");
}

Test(verify, usage_errors_exit_64_and_unreachable_sides_exit_69)
{
    char bad_url[1300], missing[VT_PATH + 32];
    const char *none[] = { NULL };
    const char *no_target[] = { "--source", vt_src, NULL };
    const char *http[] = { "--source", vt_src, "--target", "http://x/y",
                           NULL };
    const char *unknown[] = { "--source", vt_src, "--target", vt_url,
                              "--frobnicate", NULL };
    int rc;

    vt_sql("CREATE TABLE t(id INTEGER PRIMARY KEY);");
    cr_assert_eq(vt_verify_raw(none), 64, "%s", vt_err);
    cr_assert_eq(vt_verify_raw(no_target), 64, "%s", vt_err);
    VT_HAS(vt_err, "--target URL is required");
    cr_assert_eq(vt_verify_raw(http), 64, "%s", vt_err);
    cr_assert_eq(vt_verify_raw(unknown), 64, "%s", vt_err);

    snprintf(missing, sizeof(missing), "%s/nothere.db", vt_base);
    {
        const char *args[] = { "--source", missing, "--target", vt_url,
                               NULL };
        rc = vt_verify_raw(args);
        cr_assert_eq(rc, 69, "%s", vt_err);
        VT_HAS(vt_err, "cannot open source");
        cr_assert_eq(access(missing, F_OK), -1, "verify created %s",
                     missing);
    }
    snprintf(bad_url, sizeof(bad_url), "mariadb://%s@127.0.0.1:1/%s",
             tdb_config_get()->user, vt_db);
    {
        const char *args[] = { "--source", vt_src, "--target", bad_url,
                               NULL };
        rc = vt_verify_raw(args);
        cr_assert_eq(rc, 69, "%s", vt_err);
        VT_HAS(vt_err, "cannot connect to MariaDB");
    }
    setenv("SLUICE_TARGET_PASSWORD", "not-the-password", 1);
    rc = vt_verify(NULL);
    setenv("SLUICE_TARGET_PASSWORD", tdb_config_get()->password, 1);
    cr_assert_eq(rc, 69, "%s", vt_err);
    VT_HAS(vt_err, "Access denied");
}

Test(verify, a_large_table_is_streamed_and_a_deep_difference_is_found)
{
    int rc;

    vt_sql("CREATE TABLE big(id INTEGER PRIMARY KEY, name TEXT, x REAL);"
           "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c"
           " WHERE i < 50000)"
           " INSERT INTO big SELECT i, 'n' || i, i * 0.37 FROM c;");
    vt_sync();
    VT_PASSES();
    VT_HAS(vt_out, "table=big source_rows=50000 target_rows=50000");
    tdb_exec_or_fail(vt_conn, "UPDATE big SET x = x + 1 WHERE id = 49999");
    tdb_exec_or_fail(vt_conn, "DELETE FROM big WHERE id IN (7, 25000)");
    rc = vt_verify("--show", "2", NULL);
    cr_assert_eq(rc, 1, "%s", vt_out);
    VT_HAS(vt_out, "table=big source_rows=50000 target_rows=49998 missing=2"
                   " extra=0 differing=1 status=DIFF");
    VT_HAS(vt_out, "missing table=big key=\"id=7\"");
    VT_HAS(vt_out, "missing table=big key=\"id=25000\"");
    VT_LACKS(vt_out, "key=\"id=49999\"");       /* beyond --show 2 */
}

Test(verify, no_table_to_compare_is_an_error_not_ok)
{
    int rc;

    vt_sql("CREATE VIEW v AS SELECT 1 AS x;");
    rc = vt_verify(NULL);
    cr_assert_eq(rc, 1, "nothing compared must not pass:\n%s", vt_out);
    VT_HAS(vt_out, "summary tables=0 ok=0 diff=0 error=0 skipped=0 "
                   "status=ERROR note=\"no table to compare");
    vt_sql("CREATE TABLE t(id INTEGER PRIMARY KEY);");
    vt_sync();
    rc = vt_verify("--exclude-tables", "t", NULL);
    cr_assert_eq(rc, 1, "%s", vt_out);
    VT_HAS(vt_out, "status=ERROR");
    rc = vt_verify("--json", "--exclude-tables", "t", NULL);
    cr_assert_eq(rc, 1, "%s", vt_out);
    VT_HAS(vt_out, "\"status\":\"ERROR\",\"note\":\"no table to compare");
}

Test(verify, tables_capture_skips_are_reported_as_skipped_not_diff)
{
    size_t cap = 1000 * 16 + 200, o;
    char *sql = malloc(cap);
    int rc;

    cr_assert_not_null(sql);
    /* keyless and 1000 columns: its change log would need 2004 columns */
    o = (size_t)snprintf(sql, cap, "CREATE TABLE wide(c0 INT");
    for (int i = 1; i < 1000; i++)
        o += (size_t)snprintf(sql + o, cap - o, ", c%d INT", i);
    snprintf(sql + o, cap - o, "); INSERT INTO wide(c0) VALUES (1);"
             "CREATE VIRTUAL TABLE docs USING fts5(body);"
             "INSERT INTO docs VALUES ('hello world');"
             "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
             "INSERT INTO t VALUES (1, 'one');");
    vt_sql(sql);
    free(sql);
    vt_sync();
    rc = vt_verify(NULL);
    cr_assert_eq(rc, 0, "skipped tables are no difference:\n%s\n%s", vt_out,
                 vt_err);
    VT_HAS(vt_out, "table=t source_rows=1 target_rows=1");
    VT_HAS(vt_out, "table=docs source_rows=0 target_rows=0 missing=0 "
                   "extra=0 differing=0 status=skipped note=\"virtual table");
    VT_HAS(vt_out, "table=docs_data ");
    VT_HAS(vt_out, "status=skipped note=\"shadow table");
    VT_HAS(vt_out, "table=wide source_rows=0 target_rows=0 missing=0 "
                   "extra=0 differing=0 status=skipped note=\"too wide");
    VT_HAS(vt_out, "diff=0 error=0 skipped=");
    VT_HAS(vt_out, "status=ok");
    VT_LACKS(vt_out, "DIFF");
    /* named explicitly, still skipped, not an error */
    rc = vt_verify("--tables", "t,docs_data,wide", NULL);
    cr_assert_eq(rc, 0, "%s", vt_out);
    VT_HAS(vt_out, "summary tables=3 ok=1 diff=0 error=0 skipped=2 "
                   "status=ok");
}

Test(verify, values_follow_replays_policy_and_a_change_behind_its_back_differs)
{
    int rc;

    tdb_exec_or_fail(vt_conn, "CREATE TABLE reg (id BIGINT PRIMARY KEY,"
                     " unit_count DECIMAL(20,6), at DATETIME, t TIME(3),"
                     " qty INT)");
    vt_sql("CREATE TABLE reg(id INTEGER PRIMARY KEY, unit_count REAL,"
           " at TEXT, t, qty REAL);"
           "INSERT INTO reg VALUES"
           " (1, 93457.28571428571, '2024-01-01 10:00:00.7', 5400.25, 2.5),"
           " (2, 1.0000005, '2024-01-01T10:00:00+02:00', '10:30', 3.5);"
           "CREATE TABLE js(id INTEGER PRIMARY KEY, meta JSON);"
           "INSERT INTO js VALUES (1, 0.1), (2, 0.30000000000000004);");
    vt_sync();
    {
        char v[64];
        cr_assert_eq(tdb_query_str(vt_conn, v, sizeof(v), "SELECT meta FROM "
                                   "js WHERE id = 1"), 0);
        cr_expect_str_eq(v, "0.1", "a REAL in a JSON column is its shortest "
                         "text");
        cr_assert_eq(tdb_query_str(vt_conn, v, sizeof(v), "SELECT meta FROM "
                                   "js WHERE id = 2"), 0);
        cr_expect_str_eq(v, "0.30000000000000004");
    }
    rc = vt_verify(NULL);
    cr_assert_eq(rc, 0, "verify must agree with replay's roundings:\n%s",
                 vt_out);
    tdb_exec_or_fail(vt_conn, "UPDATE reg SET unit_count = unit_count + "
                     "0.000001 WHERE id = 1");
    rc = vt_verify(NULL);
    cr_assert_eq(rc, 1, "%s", vt_out);
    VT_HAS(vt_out, "differing table=reg key=\"id=1\" column=unit_count "
                   "source=93457.28571428571 target=93457.285715");
}

/* A password inside the --target URL works, but is visible in the process
** list: verify warns once, overwrites it in its argv (/proc/PID/cmdline
** no longer shows it), and refuses a second password from --password-file
** as a usage error. */
Test(verify, a_password_in_the_url_is_warned_about_and_scrubbed)
{
    const tdb_config *cfg = tdb_config_get();
    char url[1400], bin[VT_PATH + 64], out[VT_PATH + 32], err[VT_PATH + 32];
    char pwfile[VT_PATH + 32], path[64];
    const char *at = strchr(vt_url, '@');
    int rc, status = 0;
    pid_t pid;

    cr_assert_not_null(at);
    cr_assert(strlen(cfg->password) >= 4, "the test password is too short "
              "to look for");
    snprintf(url, sizeof(url), "mariadb://%s:%s%s", cfg->user,
             cfg->password, at);
    vt_sql("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
           "INSERT INTO t VALUES (1, 'a'), (2, 'b');");
    vt_sync();
    unsetenv("SLUICE_TARGET_PASSWORD");
    {
        const char *args[] = { "--source", vt_src, "--target", url, NULL };
        rc = vt_verify_raw(args);
    }
    setenv("SLUICE_TARGET_PASSWORD", cfg->password, 1);
    cr_assert_eq(rc, 0, "the URL's password did not work:\n%s", vt_err);
    {
        const char *p = vt_err;
        int warned = 0;
        while ((p = strstr(p, "event=verify.password_in_url")) != NULL) {
            warned++;
            p++;
        }
        cr_expect_eq(warned, 1, "not warned exactly once:\n%s", vt_err);
    }
    cr_expect_null(strstr(vt_err, cfg->password), "the password is in the "
                   "log:\n%s", vt_err);

    /* while it runs: live mode waits --wait-s for capture (not running)
    ** to journal this change, then exits 75 */
    vt_sql("INSERT INTO t VALUES (3, 'c');");
    bin_path(bin, sizeof(bin), "tools/verify/sluice-verify");
    snprintf(out, sizeof(out), "%s/live.out", vt_base);
    snprintf(err, sizeof(err), "%s/live.err", vt_base);
    if ((pid = tl_fork()) == 0) {
        int fo, fe;
        unsetenv("SLUICE_TARGET_PASSWORD");
        fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
            _exit(127);
        execl(bin, bin, "--source", vt_src, "--target", url, "--journal",
              vt_jdir, "--wait-s", "4", (char *)NULL);
        _exit(127);
    }
    cr_assert_gt(pid, 0, "fork failed");
    for (int i = 0; i < 300; i++) {        /* up to 3 s: the warning */
        char *e = tl_slurp(err, NULL);
        int seen = e != NULL && strstr(e, "password_in_url") != NULL;
        free(e);
        if (seen)
            break;
        usleep(10000);
    }
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    {
        FILE *f = fopen(path, "rb");      /* argv, NUL-separated */
        char buf[8192];
        size_t n;
        cr_assert_not_null(f, "verify ended too soon to look at");
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        for (size_t i = 0; i < n; i++)
            if (buf[i] == 0)
                buf[i] = ' ';
        buf[n] = 0;
        cr_expect_gt(n, 0);
        cr_expect_null(strstr(buf, cfg->password), "the password is in "
                       "the process list: %s", buf);
        cr_expect_not_null(strstr(buf, "--journal"), "%s", buf);
    }
    status = tl_wait(pid, 60000);
    cr_expect_eq(status, 75, "live verify with nothing to wait for did "
                 "not exit 75 (status %d)", status);

    /* two passwords: which one? a usage error */
    snprintf(pwfile, sizeof(pwfile), "%s/pw", vt_base);
    {
        FILE *f = fopen(pwfile, "w");
        const char *args[] = { "--source", vt_src, "--target", url,
                               "--password-file", pwfile, NULL };
        cr_assert_not_null(f);
        fprintf(f, "%s\n", cfg->password);
        fclose(f);
        rc = vt_verify_raw(args);
    }
    cr_expect_eq(rc, 64, "%s", vt_err);
    VT_HAS(vt_err, "--password-file gives another");
}
