/*
** test_capture_owner.c -- one source, one journal; no silent gap in a
** change log; only what is sluice's own is ever touched; names and files
** as users and operators actually give them.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

#include "ct_model.h"
#include "ct_proc.h"

TestSuite(capture_owner, .init = ct_setup, .fini = ct_teardown,
          .timeout = 180);

static int run_cap(ct_proc *p, const char *src, const char *jdir,
                   const char *a1, const char *a2)
{
    const char *args[] = { "--source", src, "--journal", jdir, "--once", a1,
                           a2, NULL };
    return ct_cap_runv(p, 60000, -1, args);
}

static void sh(const char *fmt, const char *a, const char *b)
{
    char cmd[4 * CT_PATH];

    snprintf(cmd, sizeof(cmd), fmt, a, b);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

/* Exec sql on db in this process (another "application"). */
static void exec_on(const char *db, const char *sql)
{
    char err[600];
    cr_assert_eq(ct_app(db, err, sizeof(err), sql, (const char *)NULL), 0,
                 "%s", err);
}

/* ---------------------------------------------------------------- */
/* One source, one journal                                          */
/* ---------------------------------------------------------------- */

Test(capture_owner, a_second_journal_for_one_source_is_refused)
{
    char j2[CT_PATH], *log;
    ct_proc cap, p;
    ct_model *m = ct_model_new();
    char why[1024];
    int rc;

    ct_path(j2, sizeof(j2), "journal-2");
    CT_APP("CREATE TABLE t(id INTEGER PRIMARY KEY, v);"
           "INSERT INTO t VALUES (1, 'a');");
    ct_cap_start_default(&cap);
    cr_assert_eq(ct_converge(m, ct_jdir, ct_src, 20000, why, sizeof(why)),
                 0, "%s", why);
    /* the scenario that lost 48 of 50 inserts: a second capture of the
    ** same source into another journal, both running */
    rc = run_cap(&p, ct_src, j2, NULL, NULL);
    log = ct_cap_log(&p);
    cr_assert_eq(rc, 69, "a second journal for one source must be refused "
                 "at start (69), got %d:\n%s", rc, log);
    cr_assert_neq(strstr(log, "one source feeds one journal"), NULL, "%s",
                  log);
    cr_assert_neq(strstr(log, "--uninstall"), NULL, "the message must say "
                  "how to start over:\n%s", log);
    cr_assert_neq(strstr(log, "replica"), NULL, "the message must say how "
                  "to feed more targets:\n%s", log);
    free(log);
    for (int i = 2; i <= 51; i++) {
        char sql[80];
        snprintf(sql, sizeof(sql), "INSERT INTO t VALUES (%d, 'x');", i);
        CT_APP(sql);
    }
    cr_assert_eq(ct_converge(m, ct_jdir, ct_src, 20000, why, sizeof(why)),
                 0, "%s", why);
    ct_cap_stop_ok(&cap);
    ct_model_free(m);
    /* starting over: --uninstall, then the new journal is accepted */
    ct_assert_status(&p,
                     ct_cap_run(&p, 30000, "--source", ct_src, "--uninstall",
                            NULL), 0);
    ct_assert_status(&p, run_cap(&p, ct_src, j2, NULL, NULL), 0);
    ct_assert_model_equals_source(j2, ct_src);
}

/* ---------------------------------------------------------------- */
/* Gaps                                                             */
/* ---------------------------------------------------------------- */

static int log_has_gap(const ct_proc *p)
{
    char *log = ct_cap_log(p);
    int gap = strstr(log, "event=capture.gap") != NULL;
    free(log);
    return gap;
}

Test(capture_owner, a_journal_restored_from_an_older_backup_resnapshots)
{
    char bak[CT_PATH];
    ct_proc p;

    ct_path(bak, sizeof(bak), "journal-backup");
    CT_APP("CREATE TABLE t(id INTEGER PRIMARY KEY, v);"
           "CREATE TABLE kl(a, b);"
           "INSERT INTO t VALUES (1, 'a'), (2, 'b'); INSERT INTO kl "
           "VALUES (1, 1);");
    ct_cap_once();
    CT_APP("INSERT INTO t VALUES (3, 'c'); INSERT INTO kl VALUES (2, 2);");
    ct_cap_once();
    sh("cp -a '%s' '%s'", ct_jdir, bak);          /* last night's backup */
    for (int i = 0; i < 3; i++) {
        /* more changes, journaled and trimmed (--once trims at exit) */
        CT_APP("UPDATE t SET v = v || '+'; DELETE FROM t WHERE id = 2;"
               "INSERT INTO t(v) VALUES ('n'); UPDATE kl SET b = b + 1;");
        cr_assert_eq(run_cap(&p, ct_src, ct_jdir, NULL, NULL), 0);
    }
    sh("rm -rf '%s'%s", ct_jdir, "");
    sh("mv '%s' '%s'", bak, ct_jdir);             /* restored */
    CT_APP("INSERT INTO t VALUES (100, 'after restore');");
    ct_assert_status(&p, run_cap(&p, ct_src, ct_jdir, NULL, NULL), 0);
    cr_assert(log_has_gap(&p), "the journal is behind the trimmed change "
              "log: capture must say it found a gap");
    ct_assert_journal_clean(ct_jdir);
    ct_assert_model_equals_source(ct_jdir, ct_src);
}

static int64_t active_log_id(const char *table)
{
    char sql[200];
    snprintf(sql, sizeof(sql), "SELECT id FROM _sluice_tables WHERE name = "
             "'%s' AND state = 0", table);
    return ct_query_int(ct_src, sql);
}

Test(capture_owner, change_log_rows_deleted_by_another_process_resnapshot)
{
    char sql[200];
    ct_proc p;
    int64_t id;

    CT_APP("CREATE TABLE t(id INTEGER PRIMARY KEY, v);"
           "INSERT INTO t VALUES (1, 'a'), (2, 'b');");
    ct_cap_once();
    id = active_log_id("t");
    CT_APP("INSERT INTO t VALUES (3, 'c'), (4, 'd'), (5, 'e');"
           "UPDATE t SET v = 'B' WHERE id = 2;");
    /* somebody else "cleans up" rows capture has not journaled */
    snprintf(sql, sizeof(sql), "DELETE FROM _sluice_log_%lld WHERE id < "
             "(SELECT max(id) FROM _sluice_log_%lld)", (long long)id,
             (long long)id);
    exec_on(ct_src, sql);
    ct_assert_status(&p, run_cap(&p, ct_src, ct_jdir, NULL, NULL), 0);
    cr_assert(log_has_gap(&p), "rows deleted from the change log must be "
              "reported as a gap");
    ct_assert_model_equals_source(ct_jdir, ct_src);

    /* worse: every row goes, the newest journaled one too, so new rows
    ** get ids capture has already journaled */
    id = active_log_id("t");
    snprintf(sql, sizeof(sql), "DELETE FROM _sluice_log_%lld",
             (long long)id);
    exec_on(ct_src, sql);
    CT_APP("INSERT INTO t VALUES (6, 'f'); DELETE FROM t WHERE id = 1;");
    ct_assert_status(&p, run_cap(&p, ct_src, ct_jdir, NULL, NULL), 0);
    cr_assert(log_has_gap(&p), "ids handed out again must be reported as a "
              "gap, never skipped as already journaled");
    ct_assert_model_equals_source(ct_jdir, ct_src);
}

/* ---------------------------------------------------------------- */
/* Only what is ours                                                */
/* ---------------------------------------------------------------- */

Test(capture_owner, application_objects_named_like_sluices_are_not_ours)
{
    ct_proc p;
    int64_t before;

    CT_APP("CREATE TABLE _sluicelog(id INTEGER PRIMARY KEY, line);"
           "CREATE TABLE _Sluice_settings(k TEXT PRIMARY KEY, v);"
           "CREATE TABLE _sluice_log_7(id INTEGER PRIMARY KEY, x);"
           "CREATE TABLE t(id INTEGER PRIMARY KEY, v);"
           "CREATE TRIGGER _sluice_app_audit AFTER INSERT ON t BEGIN "
           " INSERT INTO _sluicelog(line) VALUES ('t ' || new.id); END;"
           "INSERT INTO _Sluice_settings VALUES ('mode', 'on');"
           "INSERT INTO _sluice_log_7 VALUES (1, 'mine');"
           "INSERT INTO t VALUES (1, 'a');");
    before = ct_query_int(ct_src, "SELECT count(*) FROM sqlite_schema");
    ct_assert_status(&p, run_cap(&p, ct_src, ct_jdir, NULL, NULL), 0);
    CT_APP("INSERT INTO t VALUES (2, 'b');"
           "UPDATE _Sluice_settings SET v = 'off';"
           "INSERT INTO _sluice_log_7 VALUES (2, 'also mine');");
    ct_assert_status(&p, run_cap(&p, ct_src, ct_jdir, NULL, NULL), 0);
    /* all four application tables are captured, rows included */
    ct_assert_model_equals_source(ct_jdir, ct_src);
    cr_assert_eq(ct_query_int(ct_src, "SELECT count(*) FROM _sluice_tables "
                              "WHERE state = 0"), 4, "every application "
                 "table is captured, whatever its name");
    ct_assert_status(&p,
                     ct_cap_run(&p, 30000, "--source", ct_src, "--uninstall",
                            NULL), 0);
    cr_assert_eq(ct_query_int(ct_src, "SELECT count(*) FROM sqlite_schema"),
                 before, "--uninstall removed or left objects: it must "
                 "remove exactly what sluice created");
    cr_assert_eq(ct_query_int(ct_src, "SELECT count(*) FROM sqlite_schema "
                              "WHERE name = '_sluice_app_audit'"), 1);
    cr_assert_eq(ct_query_int(ct_src, "SELECT count(*) FROM _sluicelog"), 2);
    cr_assert_eq(ct_query_int(ct_src, "SELECT count(*) FROM _sluice_log_7"),
                 2);
    cr_assert_eq(ct_query_int(ct_src, "SELECT count(*) FROM "
                              "_Sluice_settings WHERE v = 'off'"), 1);
}

Test(capture_owner, table_filters_ignore_case_as_sqlite_does)
{
    ct_proc p;

    CT_APP("CREATE TABLE Orders(id INTEGER PRIMARY KEY, v);"
           "CREATE TABLE audit(id INTEGER PRIMARY KEY, v);"
           "CREATE TABLE other(id INTEGER PRIMARY KEY, v);"
           "INSERT INTO Orders VALUES (1, 1); INSERT INTO audit VALUES "
           "(1, 1); INSERT INTO other VALUES (1, 1);");
    ct_assert_status(&p, run_cap(&p, ct_src, ct_jdir, "--tables",
                                 "ORDERS,Audit"), 0);
    cr_assert_eq(ct_query_int(ct_src, "SELECT count(*) FROM _sluice_tables "
                              "WHERE state = 0"), 2);
    ct_assert_status(&p, run_cap(&p, ct_src, ct_jdir, "--exclude-tables",
                                 "OTHER"), 0);
    cr_assert_eq(ct_query_int(ct_src, "SELECT count(*) FROM _sluice_tables "
                              "WHERE state = 0 AND name = 'other'"), 0,
                 "--exclude-tables OTHER must exclude table other");
}

static int count_drops(const jr_entry *e, void *ctx)
{
    if (e->rec.kind == JR_K_DROP && strcmp(e->rec.table, "b") == 0)
        (*(int *)ctx)++;
    return 0;
}

Test(capture_owner, a_table_left_out_of_tables_stops_being_captured)
{
    ct_proc p;
    int drops = 0;

    CT_APP("CREATE TABLE a(id INTEGER PRIMARY KEY, v);"
           "CREATE TABLE b(id INTEGER PRIMARY KEY, v);"
           "INSERT INTO a VALUES (1, 1); INSERT INTO b VALUES (1, 1);");
    cr_assert_eq(run_cap(&p, ct_src, ct_jdir, "--tables", "a,b"), 0);
    CT_APP("INSERT INTO b VALUES (2, 2);");
    ct_assert_status(&p, run_cap(&p, ct_src, ct_jdir, "--tables", "a"), 0);
    ct_scan(ct_jdir, count_drops, &drops);
    cr_assert_eq(drops, 1, "the journal must say b is no longer captured");
    cr_assert_eq(ct_query_int(ct_src, "SELECT count(*) FROM sqlite_schema "
                              "WHERE type = 'trigger' AND tbl_name = 'b'"),
                 0, "b keeps capture triggers");
    cr_assert_eq(run_cap(&p, ct_src, ct_jdir, "--tables", "a"), 0);
    cr_assert_eq(ct_query_int(ct_src, "SELECT count(*) FROM _sluice_tables "
                              "WHERE name = 'b'"), 0, "b's change log "
                 "remains");
    CT_APP("INSERT INTO a VALUES (2, 2); INSERT INTO b VALUES (3, 3);");
    cr_assert_eq(run_cap(&p, ct_src, ct_jdir, "--tables", "a"), 0);
    {
        static const char *const only_a[] = { "a", NULL };
        ct_model *m = ct_model_new();
        char why[1024];
        cr_assert_eq(ct_model_sync(m, ct_jdir, why, sizeof(why)), 0, "%s",
                     why);
        cr_assert_eq(ct_compare(ct_src, m, only_a, why, sizeof(why)), 0,
                     "%s", why);
        cr_assert_eq(ct_model_ntables(m), 1, "b must be dropped from "
                     "the model by the journal's DROP");
        ct_model_free(m);
    }
}

Test(capture_owner, empty_table_names_are_usage_errors)
{
    static const char *const bad[] = { "", "a,", ",a", "a,,b", "," };
    ct_proc p;

    CT_APP("CREATE TABLE a(id INTEGER PRIMARY KEY);");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *log;
        cr_assert_eq(run_cap(&p, ct_src, ct_jdir, "--tables", bad[i]), 64,
                     "--tables '%s' must be a usage error", bad[i]);
        log = ct_cap_log(&p);
        cr_assert_neq(strstr(log, "empty table name"), NULL, "%s", log);
        free(log);
        cr_assert_eq(run_cap(&p, ct_src, ct_jdir, "--exclude-tables",
                             bad[i]), 64);
    }
    cr_assert_eq(ct_sluice_objects(ct_src), 0);
}

/* ---------------------------------------------------------------- */
/* Files                                                            */
/* ---------------------------------------------------------------- */

Test(capture_owner, an_empty_file_is_not_turned_into_a_database)
{
    ct_proc p;
    char *log;
    FILE *f = fopen(ct_src, "w");

    cr_assert_not_null(f);
    fclose(f);
    cr_assert_eq(run_cap(&p, ct_src, ct_jdir, NULL, NULL), 69);
    log = ct_cap_log(&p);
    cr_assert_neq(strstr(log, "empty"), NULL, "%s", log);
    free(log);
    cr_assert_eq(access(ct_src, F_OK), 0);
    {
        FILE *g = fopen(ct_src, "r");
        cr_assert_eq(fgetc(g), EOF, "capture wrote into the empty file");
        fclose(g);
    }
}

Test(capture_owner, a_source_replaced_under_a_running_capture_stops_it)
{
    char other[CT_PATH], err[600], *log;
    ct_proc cap;
    ct_model *m = ct_model_new();
    char why[1024];
    int rc;

    ct_path(other, sizeof(other), "other.db");
    CT_APP("CREATE TABLE t(id INTEGER PRIMARY KEY, v);"
           "INSERT INTO t VALUES (1, 'a');");
    cr_assert_eq(ct_app(other, err, sizeof(err), "CREATE TABLE t(id INTEGER "
                        "PRIMARY KEY, v); INSERT INTO t VALUES (9, 'z');",
                        NULL), 0, "%s", err);
    ct_cap_start_default(&cap);
    cr_assert_eq(ct_converge(m, ct_jdir, ct_src, 20000, why, sizeof(why)),
                 0, "%s", why);
    ct_model_free(m);
    cr_assert_eq(rename(other, ct_src), 0);    /* swapped underneath */
    rc = tl_wait(cap.pid, 20000);
    log = ct_cap_log(&cap);
    cr_assert_eq(rc, 70, "capture must stop when its source is replaced "
                 "(got %d):\n%s", rc, log);
    cr_assert_neq(strstr(log, "replaced"), NULL, "%s", log);
    free(log);
}
