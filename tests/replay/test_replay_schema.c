/*
** test_replay_schema.c -- schema changes of the source reach MariaDB:
** ADD COLUMN, RENAME TABLE, RENAME COLUMN, DROP TABLE, a new table, a
** table dropped and re-created with another key, the rebuild ORMs do
** (create new, copy, drop old, rename new), DROP COLUMN through
** --pause/--resume, and all of them while capture and replay run
** continuously beside a writer.
**
** After each step the whole target is compared with the source
** (rt_compare_all): same tables (no leftover of a renamed or dropped
** one), same rows, values by meaning.
*/
#include <criterion/criterion.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt_util.h"

TestSuite(replay_schema, .init = rt_setup, .fini = rt_teardown,
          .timeout = 120);

static void base_table(void)
{
    rt_sql(rt_src,
           "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, n INT);"
           "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s"
           " WHERE i < 50)"
           " INSERT INTO t SELECT i, 'a' || i, i * 10 FROM s;");
    rt_sync();
    RT_ASSERT_SAME_ALL(rt_my());
}

Test(replay_schema, add_column_between_writes_of_one_batch)
{
    base_table();
    rt_sql(rt_src,
           "INSERT INTO t VALUES (100, 'before', 1);"
           "ALTER TABLE t ADD COLUMN b INT DEFAULT 7;"
           "ALTER TABLE t ADD COLUMN c TEXT;"
           "INSERT INTO t VALUES (101, 'after', 2, 8, 'c');"
           "UPDATE t SET b = 9, c = 'updated' WHERE id = 1;"
           "DELETE FROM t WHERE id = 2;");
    rt_sync();
    cr_expect(rt_my_column_exists(rt_my(), "t", "b"));
    cr_expect(rt_my_column_exists(rt_my(), "t", "c"));
    RT_ASSERT_SAME_ALL(rt_my());
    rt_sql(rt_src, "UPDATE t SET b = b + 1 WHERE id % 2 = 0;");
    rt_sync();
    RT_ASSERT_SAME_ALL(rt_my());
}

Test(replay_schema, rename_table_leaves_no_table_under_the_old_name)
{
    base_table();
    rt_sql(rt_src,
           "UPDATE t SET a = 'before rename' WHERE id = 1;"
           "ALTER TABLE t RENAME TO t_renamed;"
           "UPDATE t_renamed SET a = 'after rename' WHERE id = 2;"
           "INSERT INTO t_renamed VALUES (200, 'new', 0);");
    rt_sync();
    cr_expect(!rt_my_table_exists(rt_my(), "t"),
              "the old name still exists in the target");
    RT_ASSERT_SAME_ALL(rt_my());
    rt_sql(rt_src, "DELETE FROM t_renamed WHERE id < 10;");
    rt_sync();
    RT_ASSERT_SAME_ALL(rt_my());
}

Test(replay_schema, rename_column_keeps_the_values_under_the_new_name)
{
    base_table();
    rt_sql(rt_src,
           "ALTER TABLE t RENAME COLUMN a TO a_new;"
           "UPDATE t SET a_new = 'renamed ' || id WHERE id <= 5;"
           "INSERT INTO t(id, a_new, n) VALUES (300, 'x', 3);");
    rt_sync();
    cr_expect(rt_my_column_exists(rt_my(), "t", "a_new"));
    cr_expect(!rt_my_column_exists(rt_my(), "t", "a"),
              "the old column name is still in the target");
    RT_ASSERT_SAME_ALL(rt_my());
}

Test(replay_schema, drop_table_and_a_new_table)
{
    base_table();
    rt_sql(rt_src,
           "CREATE TABLE other(k TEXT PRIMARY KEY, v REAL);"
           "INSERT INTO other VALUES ('a', 1.25), ('b', NULL);");
    rt_sync();
    RT_ASSERT_SAME_ALL(rt_my());
    rt_sql(rt_src,
           "UPDATE t SET n = -1 WHERE id = 3;"
           "DROP TABLE t;"
           "CREATE TABLE fresh(id INTEGER PRIMARY KEY, w BLOB);"
           "INSERT INTO fresh VALUES (1, x'beef'), (2, NULL);"
           "UPDATE other SET v = 2.5 WHERE k = 'b';");
    rt_sync();
    cr_expect(!rt_my_table_exists(rt_my(), "t"), "dropped table remains");
    RT_ASSERT_SAME_ALL(rt_my());
}

Test(replay_schema, a_table_recreated_under_the_same_name_with_another_key)
{
    base_table();
    rt_sql(rt_src,
           "DROP TABLE t;"
           "CREATE TABLE t(code TEXT PRIMARY KEY, a TEXT, n REAL);"
           "INSERT INTO t VALUES ('x', 'one', 1.5), ('y', 'two', 2.5);");
    rt_sync();
    RT_ASSERT_SAME_ALL(rt_my());
    cr_expect(!rt_my_column_exists(rt_my(), "t", "id"));
    rt_sql(rt_src, "UPDATE t SET code = 'z' WHERE code = 'x';");
    rt_sync();
    RT_ASSERT_SAME_ALL(rt_my());
}

Test(replay_schema, the_table_rebuild_orms_do)
{
    base_table();
    rt_sql(rt_src,
           "PRAGMA foreign_keys = OFF;"
           "BEGIN;"
           "CREATE TABLE \"__new_t\"(id INTEGER PRIMARY KEY, a TEXT NOT NULL,"
           " n INT, score REAL DEFAULT 0.5);"
           "INSERT INTO \"__new_t\"(id, a, n) SELECT id, a, n FROM t;"
           "DROP TABLE t;"
           "ALTER TABLE \"__new_t\" RENAME TO t;"
           "COMMIT;"
           "UPDATE t SET score = 9.75 WHERE id = 7;"
           "INSERT INTO t VALUES (400, 'after rebuild', 4, 1.0);");
    rt_sync();
    cr_expect(!rt_my_table_exists(rt_my(), "__new_t"),
              "the ORM's temporary table remains in the target");
    RT_ASSERT_SAME_ALL(rt_my());
    rt_sql(rt_src, "DELETE FROM t WHERE id % 4 = 0;");
    rt_sync();
    RT_ASSERT_SAME_ALL(rt_my());
}

Test(replay_schema, drop_column_through_pause_and_resume)
{
    rt_proc p;
    int rc;

    base_table();
    {
        const char *args[] = { "--source", rt_src, "--journal", rt_jdir,
                               "--pause", NULL };
        rt_spawnv(&p, rt_capture_bin(), args, NULL);
        rc = rt_wait(&p, 30000);
        cr_assert_eq(rc, 0, "--pause exited %d: %s", rc, rt_log(&p));
    }
    rt_sql(rt_src, "ALTER TABLE t DROP COLUMN n;"
                   "UPDATE t SET a = 'during pause' WHERE id = 1;");
    {
        const char *args[] = { "--source", rt_src, "--journal", rt_jdir,
                               "--resume", NULL };
        rt_spawnv(&p, rt_capture_bin(), args, NULL);
        rc = rt_wait(&p, 30000);
        cr_assert_eq(rc, 0, "--resume exited %d: %s", rc, rt_log(&p));
    }
    rt_sync();
    cr_expect(!rt_my_column_exists(rt_my(), "t", "n"),
              "the dropped column is still in the target");
    RT_ASSERT_SAME_ALL(rt_my());
}

/* A writer process: numbered inserts and updates, schema changes at
** fixed points. */
static void schema_writer(void)
{
    sqlite3 *db;
    char sql[400];
    int rc = 0;

    if (sqlite3_open(rt_src, &db) != SQLITE_OK)
        _exit(2);
    sqlite3_busy_timeout(db, 5000);
    for (int i = 1; i <= 300 && rc == 0; i++) {
        const char *t = i < 150 ? "t" : "t2";
        if (i == 60)
            rc |= sqlite3_exec(db, "ALTER TABLE t ADD COLUMN extra TEXT",
                               NULL, NULL, NULL);
        if (i == 100)
            rc |= sqlite3_exec(db, "CREATE TABLE side(id INTEGER PRIMARY "
                               "KEY, v)", NULL, NULL, NULL);
        if (i == 150)
            rc |= sqlite3_exec(db, "ALTER TABLE t RENAME TO t2", NULL, NULL,
                               NULL);
        if (i == 200)
            rc |= sqlite3_exec(db, "ALTER TABLE t2 RENAME COLUMN a TO aa",
                               NULL, NULL, NULL);
        snprintf(sql, sizeof(sql),
                 "BEGIN; INSERT INTO %s(id, %s, n) VALUES (%d, 'w%d', %d);"
                 " UPDATE %s SET n = n + 1 WHERE id = %d; %s COMMIT;",
                 t, i < 200 ? "a" : "aa", 1000 + i, i, i, t, 1 + i % 50,
                 i > 100 ? "INSERT OR REPLACE INTO side VALUES (1, 'x');"
                         : "");
        rc |= sqlite3_exec(db, sql, NULL, NULL, NULL);
        if (i >= 60 && i % 10 == 0) {
            snprintf(sql, sizeof(sql), "UPDATE %s SET extra = 'e%d' WHERE "
                     "id = %d", t, i, 1000 + i);
            rc |= sqlite3_exec(db, sql, NULL, NULL, NULL);
        }
        usleep(2000);
    }
    sqlite3_close(db);
    _exit(rc == 0 ? 0 : 1);
}

Test(replay_schema, schema_changes_while_capture_and_replay_run_lose_no_change)
{
    rt_proc cap, rep;
    pid_t w;
    int rc;

    base_table();
    rt_capture_start(&cap, "--poll-ms", "2", NULL);
    rt_replay_start(&rep, rt_url, "--poll-ms", "2", NULL);
    w = rt_fork();
    if (w == 0)
        schema_writer();
    rc = tl_wait(w, 60000);
    cr_assert_eq(rc, 0, "writer failed (%d)", rc);
    tl_sleep_ms(300);
    rc = rt_stop(&cap, 20000);
    cr_assert_eq(rc, 0, "capture exited %d: %s", rc, rt_log(&cap));
    rt_capture_once();
    cr_assert_eq(rt_wait_applied(rt_my(), "default", rt_jdir, 30000), 0,
                 "replay did not catch up: %s", rt_log(&rep));
    rc = rt_stop(&rep, 20000);
    cr_assert_eq(rc, 0, "replay exited %d: %s", rc, rt_log(&rep));
    RT_ASSERT_SAME_ALL(rt_my());
}
