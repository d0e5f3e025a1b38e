/*
** test_capture_admin.c -- the one-shot commands and the source identity:
** --pause / --resume around a migration SQLite refuses while triggers
** name a column (ALTER TABLE ... DROP COLUMN), with capture running and
** with capture stopped; --uninstall removes every _sluice object and
** nothing else; a journal refuses a source it was not created for.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

#include "ct_model.h"
#include "ct_proc.h"

TestSuite(capture_admin, .init = ct_setup, .fini = ct_teardown,
          .timeout = 120);

static int admin(const char *db, const char *cmd, char **log)
{
    ct_proc p;
    int rc = ct_cap_run(&p, 30000, "--source", db, cmd, NULL);

    if (log != NULL)
        *log = ct_cap_log(&p);
    return rc;
}

static void admin_ok(const char *cmd)
{
    char *log;
    int rc = admin(ct_src, cmd, &log);

    cr_assert_eq(rc, 0, "sluice-capture %s exited %d:\n%s", cmd, rc, log);
    free(log);
}

static const char g_setup[] =
    "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, old_col TEXT);"
    "CREATE TABLE kl(x, y);"
    "INSERT INTO t VALUES (1, 'a', 'o1'), (2, 'b', 'o2');"
    "INSERT INTO kl VALUES (1, 1), (2, 2);";

static void drop_column_refused_while_triggers_exist(void)
{
    char err[600];

    cr_assert_neq(ct_app(ct_src, err, sizeof(err),
                         "ALTER TABLE t DROP COLUMN old_col;", NULL), 0,
                  "DROP COLUMN succeeded although capture triggers name "
                  "the column: the pause test proves nothing");
}

Test(capture_admin, pause_resume_around_drop_column_with_capture_stopped)
{
    CT_APP(g_setup);
    ct_cap_once();
    CT_APP("UPDATE t SET a = 'before pause' WHERE id = 1;");
    drop_column_refused_while_triggers_exist();
    admin_ok("--pause");
    cr_assert_eq(ct_query_int(ct_src, "SELECT count(*) FROM sqlite_schema "
                              "WHERE type = 'trigger' AND name LIKE "
                              "'\\_sluice%' ESCAPE '\\'"), 0,
                 "--pause leaves capture triggers behind");
    CT_APP("ALTER TABLE t DROP COLUMN old_col;"
           "UPDATE t SET a = 'while paused' WHERE id = 2;"
           "INSERT INTO t VALUES (3, 'paused insert');"
           "DELETE FROM kl WHERE x = 1;");
    /* capture running while paused journals what was logged before */
    ct_cap_once();
    admin_ok("--resume");
    CT_APP("INSERT INTO t VALUES (4, 'after resume');"
           "UPDATE kl SET y = 20 WHERE x = 2;");
    ct_cap_once();
    ct_assert_model_equals_source(ct_jdir, ct_src);
    CT_APP("UPDATE t SET a = 'later' WHERE id = 4;");
    ct_cap_once();
    ct_assert_model_equals_source(ct_jdir, ct_src);
}

/*
** KNOWN BUG (reported): --resume only clears _sluice_meta.paused, which
** does not move PRAGMA schema_version; a running sluice-capture only
** reconciles (and so reinstalls triggers) when schema_version moves, so
** it stays paused -- writes after --resume are not captured until the
** next schema change or restart.
*/
Test(capture_admin, pause_resume_around_drop_column_with_capture_running)
{
    ct_model *m = ct_model_new();
    ct_proc cap;
    char why[1024];
    int rc;

    CT_APP(g_setup);
    ct_cap_start_default(&cap);
    cr_assert_eq(ct_converge(m, ct_jdir, ct_src, 20000, why, sizeof(why)),
                 0, "%s", why);
    drop_column_refused_while_triggers_exist();
    admin_ok("--pause");
    CT_APP("ALTER TABLE t DROP COLUMN old_col;"
           "INSERT INTO t VALUES (3, 'paused insert');");
    admin_ok("--resume");
    CT_APP("INSERT INTO t VALUES (4, 'after resume');"
           "UPDATE kl SET y = 20 WHERE x = 2;");
    rc = ct_converge(m, ct_jdir, ct_src, 10000, why, sizeof(why));
    cr_expect_eq(rc, 0, "after --resume the running capture has not "
                 "caught up: %s", why);
    ct_cap_stop_ok(&cap);
    /* a restart does catch up */
    ct_cap_once();
    cr_assert_eq(ct_converge(m, ct_jdir, ct_src, 5000, why, sizeof(why)),
                 0, "%s", why);
    ct_model_free(m);
}

Test(capture_admin, pause_and_resume_refuse_a_source_without_sluice)
{
    char *log;

    CT_APP("CREATE TABLE t(id INTEGER PRIMARY KEY);");
    cr_assert_neq(admin(ct_src, "--pause", &log), 0);
    cr_assert_neq(strstr(log, "not installed"), NULL, "%s", log);
    free(log);
    cr_assert_eq(ct_sluice_objects(ct_src), 0);
}

/* ---------------------------------------------------------------- */
/* Uninstall                                                        */
/* ---------------------------------------------------------------- */

Test(capture_admin, uninstall_removes_every_sluice_object_and_nothing_else)
{
    ct_model *m = ct_model_new();
    char why[1024];
    int64_t app_objects;

    CT_APP(g_setup,
           "CREATE TABLE audit(id INTEGER PRIMARY KEY AUTOINCREMENT, what);"
           "CREATE INDEX t_a ON t(a);"
           "CREATE VIEW v AS SELECT * FROM t;"
           "CREATE TRIGGER t_audit AFTER INSERT ON t BEGIN"
           " INSERT INTO audit(what) VALUES ('insert ' || new.id); END;"
           "INSERT INTO t VALUES (3, 'c', 'o3');");
    app_objects = ct_query_int(ct_src, "SELECT count(*) FROM sqlite_schema");
    ct_cap_once();
    /* retired installations and drained logs exist too */
    CT_APP("ALTER TABLE kl ADD COLUMN z;", "UPDATE t SET a = 'x';"
           "INSERT INTO t VALUES (4, 'd', 'o4');");
    ct_cap_once();
    cr_assert_gt(ct_sluice_objects(ct_src), 0);
    cr_assert_eq(ct_model_sync(m, ct_jdir, why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(ct_compare(ct_src, m, NULL, why, sizeof(why)), 0, "%s",
                 why);

    admin_ok("--uninstall");
    cr_assert_eq(ct_sluice_objects(ct_src), 0, "objects named _sluice* "
                 "remain after --uninstall");
    cr_assert_eq(ct_query_int(ct_src, "SELECT count(*) FROM sqlite_schema"),
                 app_objects, "--uninstall changed the application's "
                 "schema objects");
    cr_assert_eq(ct_query_int(ct_src, "SELECT count(*) FROM sqlite_sequence "
                              "WHERE name LIKE '\\_sluice%' ESCAPE '\\'"), 0);
    /* the application's rows are untouched: the model still matches */
    cr_assert_eq(ct_compare(ct_src, m, NULL, why, sizeof(why)), 0, "%s",
                 why);
    ct_model_free(m);
    /* and the application keeps working, its trigger too */
    CT_APP("INSERT INTO t VALUES (5, 'e', 'o5'); DELETE FROM kl;");
    cr_assert_eq(ct_query_int(ct_src, "SELECT count(*) FROM audit"), 3);
    /* uninstalling twice is harmless */
    admin_ok("--uninstall");
}

/* ---------------------------------------------------------------- */
/* Identity                                                         */
/* ---------------------------------------------------------------- */

static char *source_id(const char *db)
{
    sqlite3 *h;
    sqlite3_stmt *s;
    char *id = NULL;

    cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL),
                 SQLITE_OK);
    if (sqlite3_prepare_v2(h, "SELECT value FROM _sluice_meta WHERE key = "
                           "'source_id'", -1, &s, NULL) == SQLITE_OK) {
        if (sqlite3_step(s) == SQLITE_ROW)
            id = strdup((const char *)sqlite3_column_text(s, 0));
        sqlite3_finalize(s);
    }
    sqlite3_close(h);
    cr_assert_not_null(id, "no source_id in %s", db);
    return id;
}

Test(capture_admin, a_journal_refuses_another_source)
{
    char other[CT_PATH], fresh[CT_PATH], jother[CT_PATH], *log, *ida, *idb;
    char err[600];
    ct_proc p;
    int rc;

    ct_path(other, sizeof(other), "other.db");
    ct_path(fresh, sizeof(fresh), "fresh.db");
    ct_path(jother, sizeof(jother), "journal-other");
    CT_APP("CREATE TABLE t(id INTEGER PRIMARY KEY);"
           "INSERT INTO t VALUES (1);");
    cr_assert_eq(ct_app(other, err, sizeof(err), "CREATE TABLE t(id INTEGER "
                        "PRIMARY KEY); INSERT INTO t VALUES (2);", NULL), 0,
                 "%s", err);
    cr_assert_eq(ct_app(fresh, err, sizeof(err), "CREATE TABLE t(id INTEGER "
                        "PRIMARY KEY);", NULL), 0, "%s", err);
    ct_cap_once();
    rc = ct_cap_run(&p, 30000, "--source", other, "--journal", jother,
                    "--once", NULL);
    cr_assert_eq(rc, 0);
    ida = source_id(ct_src);
    idb = source_id(other);
    cr_assert_str_neq(ida, idb);

    /* a source captured elsewhere */
    rc = ct_cap_run(&p, 30000, "--source", other, "--journal", ct_jdir,
                    "--once", NULL);
    log = ct_cap_log(&p);
    cr_assert_neq(rc, 0, "journal of %s accepted %s", ct_src, other);
    cr_assert_neq(strstr(log, ida), NULL, "message must name the journal's "
                  "source %s:\n%s", ida, log);
    cr_assert_neq(strstr(log, idb), NULL, "message must name this source "
                  "%s:\n%s", idb, log);
    free(log);
    /* a source never captured: refused, and nothing installed in it */
    rc = ct_cap_run(&p, 30000, "--source", fresh, "--journal", ct_jdir,
                    "--once", NULL);
    log = ct_cap_log(&p);
    cr_assert_neq(rc, 0);
    cr_assert_neq(strstr(log, ida), NULL, "%s", log);
    free(log);
    cr_assert_eq(ct_sluice_objects(fresh), 0, "a refused source got _sluice "
                 "objects");
    /* the rightful source still works with it */
    CT_APP("INSERT INTO t VALUES (3);");
    ct_cap_once();
    ct_assert_model_equals_source(ct_jdir, ct_src);
    free(ida);
    free(idb);
}
