/*
** test_replay_restore.c -- journal retention matches how people restore a
** target: an operator dumps the MariaDB database with mariadb-dump (the
** replay's position row included), the pipeline goes on, the database is
** restored from the dump, and replay catches up from the restored
** position to equal the source, because capture keeps applied records
** for --retention-s (7 days by default). The negative control runs the
** same steps with --retention-s 0: the records the restored position
** needs were pruned, and replay says so (naming the seq) instead of
** applying anything.
**
** The dump and the restore use the real MariaDB client tools against the
** shared fixture server, as an operator would.
*/
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_util.h"
#include "testdb.h"

TestSuite(replay_restore, .init = rt_setup, .fini = rt_teardown,
          .timeout = 300);

/* Run a MariaDB client tool through the shell (for the redirection),
** password in MYSQL_PWD rather than on the command line; asserts exit 0. */
static void client(const char *tool, const char *redirect, const char *file)
{
    const tdb_config *cfg = tdb_config_get();
    char cmd[4 * RT_PATH], log[RT_PATH];
    int rc;

    rt_path(log, sizeof(log), "client.log");
    snprintf(cmd, sizeof(cmd),
             "%s --socket='%s' --user='%s' %s '%s' %s '%s' 2>'%s'", tool,
             cfg->socket, cfg->user,
             strcmp(tool, "mariadb-dump") == 0 ? "--single-transaction" : "",
             rt_db, redirect, file, log);
    setenv("MYSQL_PWD", cfg->password, 1);
    rc = system(cmd);
    unsetenv("MYSQL_PWD");
    if (rc != 0) {
        char *err = tl_slurp(log, NULL);
        cr_assert_fail("%s exited with status %d: %s", tool, rc,
                       err ? err : "(no output)");
    }
}

static void schema(void)
{
    rt_sql(rt_src,
           "CREATE TABLE orders(id INTEGER PRIMARY KEY, who TEXT, amount"
           " REAL, at DATETIME);"
           "CREATE TABLE tags(name TEXT PRIMARY KEY, n INT) WITHOUT ROWID;"
           "CREATE TABLE events(msg TEXT, n INT);");
}

/* Round r: inserts, updates and deletes on every table. */
static void changes(int r)
{
    rt_sqlf(rt_src,
            "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s"
            " WHERE i < 50)"
            " INSERT INTO orders(id, who, amount, at) SELECT %d * 1000 + i,"
            " 'c' || (i %% 7), i * 1.25, '2026-12-0' || (1 + i %% 9) ||"
            " ' 10:00:00' FROM s;"
            "INSERT OR REPLACE INTO tags SELECT who, count(*) FROM orders"
            " GROUP BY who;"
            "INSERT INTO events SELECT 'round %d', id %% 3 FROM orders"
            " WHERE id > %d * 1000 AND id <= %d * 1000 + 5;"
            "UPDATE orders SET amount = amount + 1 WHERE id %% 5 = %d %% 5;"
            "DELETE FROM orders WHERE id %% 11 = %d;"
            "UPDATE events SET n = n + 10 WHERE rowid %% 4 = %d %% 4;"
            "DELETE FROM events WHERE rowid %% 9 = %d;",
            r, r, r, r, r, r, r, r);
}

/* Build the pipeline to a dump, go on past it, restore it; returns the
** position the restored target holds. retention: NULL for capture's
** default, else the value of --retention-s. */
static int64_t dump_go_on_restore(const char *retention)
{
    MYSQL *my = rt_my();
    char dump[RT_PATH];
    int64_t dumped, later;

    rt_path(dump, sizeof(dump), "target.sql");
    schema();
    changes(1);
#define CAPTURE()                                                          \
    do {                                                                   \
        if (retention)                                                     \
            rt_capture_once_with("--retention-s", retention, NULL);        \
        else                                                               \
            rt_capture_once();                                             \
    } while (0)
    CAPTURE();
    rt_replay_once();
    RT_ASSERT_SAME_ALL(my);
    dumped = rt_position(my, "default");
    cr_assert_gt(dumped, 0);

    /* last night's backup */
    client("mariadb-dump", ">", dump);

    /* the day goes on: more changes, captured and applied; the capture
    ** after the last replay prunes what retention allows */
    for (int r = 2; r <= 4; r++) {
        changes(r);
        if (r == 3)
            rt_sql(rt_src, "ALTER TABLE orders ADD COLUMN note TEXT;"
                           "UPDATE orders SET note = 'n' || id"
                           " WHERE id % 4 = 0;");
        CAPTURE();
        rt_replay_once();
    }
    rt_sql(rt_src, "INSERT INTO events VALUES ('last', 0);");
    CAPTURE();
#undef CAPTURE
    later = rt_position(my, "default");
    cr_assert_gt(later, dumped);

    /* the target is lost and restored from the dump */
    client("mariadb", "<", dump);
    cr_assert_eq(rt_position(my, "default"), dumped,
                 "the restored target holds the dumped position");
    cr_assert_eq(rt_my_int(my, "SELECT count(*) FROM `events` WHERE msg ="
                               " 'round 4'"), 0,
                 "the restored target lacks the later changes");
    return dumped;
}

Test(replay_restore, restored_target_catches_up_within_retention)
{
    MYSQL *my = rt_my();
    const char *stat;

    dump_go_on_restore(NULL);
    /* the journal still holds what the restored position needs */
    stat = rt_inspect_stat_json(rt_jdir);
    cr_assert(strstr(stat, "\"first_seq\":1,") != NULL ||
                  strstr(stat, "\"first_seq\": 1,") != NULL,
              "default retention keeps applied records: %s", stat);
    rt_replay_once();
    cr_expect_eq(rt_position(my, "default"),
                 rt_journal_complete_seq(rt_jdir));
    RT_ASSERT_SAME_ALL(my);
    cr_expect_eq(rt_my_int(my, "SELECT count(*) FROM `events` WHERE msg ="
                               " 'last'"), 1);
}

Test(replay_restore, pruned_records_are_an_error_not_a_silent_gap)
{
    MYSQL *my = rt_my();
    int64_t dumped = dump_go_on_restore("0");
    uint64_t before = rt_checksum_table(my, "orders");
    char needle[64];
    rt_proc p;
    int rc;

    rc = rt_replay_run(&p, rt_url, NULL);
    cr_assert_neq(rc, 0, "replay from a pruned position must fail:\n%s",
                  rt_log(&p));
    snprintf(needle, sizeof(needle), "seq %" PRId64 " was pruned",
             dumped + 1);
    cr_expect(strstr(rt_log(&p), needle) != NULL,
              "the error names the pruned seq (%s):\n%s", needle,
              rt_log(&p));
    cr_expect(strstr(rt_log(&p), "level=error") != NULL);
    /* nothing applied, the position untouched */
    cr_expect_eq(rt_position(my, "default"), dumped);
    cr_expect_eq(rt_checksum_table(my, "orders"), before);
}
