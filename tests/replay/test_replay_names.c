/*
** test_replay_names.c -- names and tables that are not replay's (issue 8,
** class 3):
**   - MariaDB's identifier limits count characters: a 40-character
**     accented table name (80 bytes) and 60-character column names land;
**   - names MariaDB cannot take (65 characters, a trailing space, two
**     columns MariaDB sees as one, more than 1017 columns) stop that table
**     with one message naming the way out, and --once ends at once;
**     --map SRC=DST and --exclude-tables are that way out, without a new
**     journal; --tables chooses what replay applies;
**   - a source DROP or RENAME never drops a table replay did not create
**     (its extra column, index and data stay);
**   - replay's bookkeeping lives in sqlite_sluice_* (a name no SQLite
**     table can have): application tables called sluice_position,
**     sluice_rejects or sluice_tables are just tables, and a target of an
**     older version is migrated once, keeping its position.
*/
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_util.h"

TestSuite(replay_names, .init = rt_setup, .fini = rt_teardown,
          .timeout = 150);

#define E_ACUTE "\xc3\xa9"

static char *repeat(const char *s, int n)
{
    size_t l = strlen(s);
    char *out = malloc(l * (size_t)n + 1);

    cr_assert_not_null(out);
    for (int i = 0; i < n; i++)
        memcpy(out + l * (size_t)i, s, l);
    out[l * (size_t)n] = 0;
    return out;
}

Test(replay_names, accented_names_are_counted_in_characters_not_bytes)
{
    char *t = repeat(E_ACUTE, 40), *c = repeat("\xc3\xbc", 60);

    rt_sqlf(rt_src, "CREATE TABLE \"%s\"(id INTEGER PRIMARY KEY, \"%s\" TEXT);"
                    "INSERT INTO \"%s\" VALUES (1, 'a'), (2, 'b');", t, c, t);
    rt_sync();
    RT_ASSERT_SAME_ALL(rt_my());
    free(t);
    free(c);
}

/* sluice-replay --once with args: exit status within a bound that shows
** it did not wait for retries (the old behaviour retried for minutes). */
static int replay_quick(rt_proc *p, const char *a1, const char *a2,
                        const char *a3, const char *a4)
{
    int64_t t0 = tl_now_ms();
    int rc = rt_replay_run(p, rt_url, "--once-timeout-s", "5", a1, a2, a3,
                           a4, NULL);

    cr_expect(tl_now_ms() - t0 < 20000, "--once took %" PRId64 " ms",
              tl_now_ms() - t0);
    return rc;
}

Test(replay_names, a_name_mariadb_cannot_take_stops_naming_the_way_out)
{
    MYSQL *my = rt_my();
    char *longname = repeat("x", 65);
    rt_proc p;
    int rc;

    rt_sqlf(rt_src, "CREATE TABLE ok(id INTEGER PRIMARY KEY, v TEXT);"
                    "INSERT INTO ok VALUES (1, 'one');"
                    "CREATE TABLE \"%s\"(id INTEGER PRIMARY KEY, v TEXT);"
                    "INSERT INTO \"%s\" VALUES (7, 'seven');"
                    "CREATE TABLE \"sp \"(id INTEGER PRIMARY KEY);"
                    "INSERT INTO \"sp \" VALUES (1);", longname, longname);
    rt_capture_once();
    rc = replay_quick(&p, NULL, NULL, NULL, NULL);
    cr_assert(rc > 0 && rc < 128, "%d\n%s", rc, rt_log(&p));
    cr_expect(strstr(rt_log(&p), "ends with a space") != NULL &&
              strstr(rt_log(&p), "--map") != NULL &&
              strstr(rt_log(&p), "--exclude-tables") != NULL,
              "the message must say what is wrong and the way out:\n%s",
              rt_log(&p));
    cr_expect_eq(tl_count(rt_log(&p), "event=replay.target_problem"), 1,
                 "%s", rt_log(&p));
    rc = replay_quick(&p, "--exclude-tables", "sp ", NULL, NULL);
    cr_assert(rc > 0 && rc < 128, "%d\n%s", rc, rt_log(&p));
    cr_expect(strstr(rt_log(&p), "65 characters") != NULL &&
              strstr(rt_log(&p), "--map") != NULL, "%s", rt_log(&p));
    /* the way out, with the same journal */
    {
        char map[200];
        snprintf(map, sizeof(map), "%s=long_ok", longname);
        rc = replay_quick(&p, "--map", map, "--exclude-tables", "sp ");
    }
    cr_assert_eq(rc, 0, "%s", rt_log(&p));
    {
        char why[2048];
        cr_expect_eq(rt_compare_table(rt_src, "ok", my, "ok", why,
                                      sizeof(why)), 0, "%s", why);
        cr_expect_eq(rt_compare_table(rt_src, longname, my, "long_ok", why,
                                      sizeof(why)), 0, "%s", why);
    }
    cr_expect(!rt_my_table_exists(my, "sp "));
    cr_expect(!rt_my_table_exists(my, "sp"));
    free(longname);
}

Test(replay_names, columns_mariadb_sees_as_one_and_too_many_columns_stop_at_once)
{
    MYSQL *my = rt_my();
    rt_proc p;
    rt_sqlf(rt_src, "CREATE TABLE dup(id INTEGER PRIMARY KEY, \"" E_ACUTE
                    "\" TEXT, \"\xc3\x89\" TEXT);"
                    "INSERT INTO dup VALUES (1, 'small', 'CAPITAL');");
    rt_capture_once();
    cr_assert(replay_quick(&p, NULL, NULL, NULL, NULL) != 0, "%s",
              rt_log(&p));
    cr_expect(strstr(rt_log(&p), "dup") != NULL &&
              strstr(rt_log(&p), "--exclude-tables") != NULL,
              "%s", rt_log(&p));
    cr_assert_eq(replay_quick(&p, "--exclude-tables", "dup", NULL, NULL), 0,
                 "%s", rt_log(&p));
    {
        /* 1100 columns: SQLite and capture take it, InnoDB does not */
        size_t cap = 1100 * 16 + 100, o;
        char *sql = malloc(cap);
        cr_assert_not_null(sql);
        o = (size_t)snprintf(sql, cap, "CREATE TABLE wide(id INTEGER PRIMARY "
                             "KEY");
        for (int i = 0; i < 1100; i++)
            o += (size_t)snprintf(sql + o, cap - o, ", c%d INT", i);
        snprintf(sql + o, cap - o, "); INSERT INTO wide(id, c5) VALUES "
                 "(1, 5);");
        rt_sql(rt_src, sql);
        free(sql);
    }
    rt_capture_once();
    cr_assert(replay_quick(&p, "--exclude-tables", "dup", NULL, NULL) != 0,
              "%s", rt_log(&p));
    cr_expect(strstr(rt_log(&p), "1017") != NULL, "%s", rt_log(&p));
    cr_assert_eq(replay_quick(&p, "--exclude-tables", "dup,wide", NULL,
                              NULL), 0, "%s", rt_log(&p));
    cr_expect(!rt_my_table_exists(my, "wide"));
}

Test(replay_names, tables_and_exclude_tables_choose_what_replay_applies)
{
    MYSQL *my = rt_my();
    rt_proc p;

    rt_sql(rt_src, "CREATE TABLE a(id INTEGER PRIMARY KEY);"
                   "CREATE TABLE b(id INTEGER PRIMARY KEY);"
                   "CREATE TABLE c(id INTEGER PRIMARY KEY);"
                   "INSERT INTO a VALUES (1); INSERT INTO b VALUES (2);"
                   "INSERT INTO c VALUES (3);");
    rt_capture_once();
    cr_assert_eq(rt_replay_run(&p, rt_url, "--tables", "A,c",
                               "--exclude-tables", "c", NULL), 0, "%s",
                 rt_log(&p));
    cr_expect(rt_my_table_exists(my, "a"));
    cr_expect(!rt_my_table_exists(my, "b"));
    cr_expect(!rt_my_table_exists(my, "c"));
    cr_expect_eq(rt_position(my, "default"),
                 rt_journal_complete_seq(rt_jdir));
}

Test(replay_names, a_source_rename_or_drop_never_drops_a_user_table)
{
    MYSQL *my = rt_my();
    char why[2048];

    rt_my_exec(my, "CREATE TABLE u (id BIGINT PRIMARY KEY, v VARCHAR(20),"
                   " mine VARCHAR(20) DEFAULT 'local', KEY by_v (v))");
    rt_my_exec(my, "CREATE TABLE w (id BIGINT PRIMARY KEY)");
    rt_sql(rt_src, "CREATE TABLE u(id INTEGER PRIMARY KEY, v TEXT);"
                   "INSERT INTO u VALUES (1, 'one'), (2, 'two');"
                   "CREATE TABLE w(id INTEGER PRIMARY KEY);"
                   "INSERT INTO w VALUES (5);");
    rt_sync();
    rt_my_exec(my, "UPDATE u SET mine = 'kept' WHERE id = 1");
    rt_sql(rt_src, "ALTER TABLE u RENAME TO u_archive; DROP TABLE w;");
    rt_sync();
    cr_assert(rt_my_table_exists(my, "u"), "the user's table was dropped");
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM u"), 2);
    cr_expect_str_eq(rt_my_str(my, "SELECT mine FROM u WHERE id = 1"),
                     "kept");
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM information_schema."
                           "STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND "
                           "TABLE_NAME = 'u' AND INDEX_NAME = 'by_v'"), 1);
    cr_expect(rt_my_table_exists(my, "w"), "the user's table was dropped");
    cr_expect_eq(rt_compare_table(rt_src, "u_archive", my, "u_archive", why,
                                  sizeof(why)), 0, "%s", why);
    /* a table replay created is replay's to drop */
    rt_sql(rt_src, "DROP TABLE u_archive;");
    rt_sync();
    cr_expect(!rt_my_table_exists(my, "u_archive"));
}

Test(replay_names, application_tables_named_like_replays_old_tables_are_just_tables)
{
    MYSQL *my = rt_my();

    rt_sql(rt_src, "CREATE TABLE sluice_position(replica TEXT PRIMARY KEY,"
                   " seq TEXT);"
                   "INSERT INTO sluice_position VALUES ('default', 'mine');"
                   "CREATE TABLE sluice_rejects(id INTEGER PRIMARY KEY, x);"
                   "INSERT INTO sluice_rejects VALUES (1, 'app row');"
                   "CREATE TABLE sluice_tables(table_name TEXT PRIMARY KEY,"
                   " schema_json TEXT);"
                   "INSERT INTO sluice_tables VALUES ('t', '{}');");
    rt_sync();
    RT_ASSERT_SAME_ALL(my);
    rt_sql(rt_src, "UPDATE sluice_position SET seq = 'still mine';"
                   "INSERT INTO sluice_rejects VALUES (2, x'00');");
    rt_sync();
    RT_ASSERT_SAME_ALL(my);
    cr_expect_eq(rt_position(my, "default"),
                 rt_journal_complete_seq(rt_jdir));
}

Test(replay_names, an_older_target_is_migrated_once_and_keeps_its_position)
{
    MYSQL *my = rt_my();
    rt_proc p;
    int64_t pos;

    rt_sql(rt_src, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
                   "INSERT INTO t VALUES (1, 'a');");
    rt_sync();
    pos = rt_position(my, "default");
    /* what an older sluice-replay left behind */
    rt_my_exec(my, "RENAME TABLE sqlite_sluice_position TO sluice_position,"
                   " sqlite_sluice_rejects TO sluice_rejects,"
                   " sqlite_sluice_tables TO sluice_tables");
    rt_sql(rt_src, "INSERT INTO t VALUES (2, 'b');");
    rt_capture_once();
    cr_assert_eq(rt_replay_run(&p, rt_url, NULL), 0, "%s", rt_log(&p));
    cr_expect_eq(tl_count(rt_log(&p), "event=replay.migrated"), 3, "%s",
                 rt_log(&p));
    cr_expect(strstr(rt_log(&p), "applied_seq=" ) != NULL);
    {
        char want[64];
        snprintf(want, sizeof(want), "event=replay.connected replica=default"
                 " applied_seq=%" PRId64 " ", pos);
        cr_expect(strstr(rt_log(&p), want) != NULL, "replay did not go on "
                  "from the migrated position %" PRId64 ":\n%s", pos,
                  rt_log(&p));
    }
    cr_expect(!rt_my_table_exists(my, "sluice_position"));
    RT_ASSERT_SAME_ALL(my);
    /* an application table of that name is not ours: left alone */
    rt_my_exec(my, "CREATE TABLE sluice_tables (x INT)");
    cr_assert_eq(rt_replay_run(&p, rt_url, NULL), 0, "%s", rt_log(&p));
    cr_expect_eq(tl_count(rt_log(&p), "event=replay.migrated"), 0);
    cr_expect(rt_my_table_exists(my, "sluice_tables"));
}
