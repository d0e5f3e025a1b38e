/*
** test_verify_live.c -- sluice-verify --journal (live mode) against a
** running pipeline: the real sluice-capture and sluice-replay run as
** children (tests/replay/rt_util.h fixtures: a fresh source, journal
** and MariaDB database per test), and an application process keeps
** writing to the source while verify runs.
**
** What each test would catch:
**   a busy pipeline        every live run ok: a row in flux compared
**                          would be a false DIFF (the app writes every
**                          few milliseconds, so windows are never empty)
**   changes between the    exact in_flux counts and a skipped keyless
**   snapshots              table, with changes made AFTER the source
**                          snapshot that are applied to the target: only
**                          leaving their keys out makes the run ok
**   damage behind sluice   a changed and a deleted target row that the
**                          app never touches are named while it writes
**   replay / capture       a bounded wait that ends in exit 75 naming
**   stopped                which side did not catch up
**   usage                  live-only options without --journal: 64
**
** INVARIANTS
**  (T1) the application child writes only keys >= 100 of acct (and any
**       key of item): rows 1..99 of acct are the test's own to damage.
**  (T2) a test that expects ok from several runs also asserts that some
**       run had keys in flux, so it cannot pass on an idle pipeline.
*/
#include <signal.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "rt_util.h"
#include "testlib.h"

TestSuite(verify_live, .init = rt_setup, .fini = rt_teardown,
          .timeout = 300);

static const char g_schema[] =
    "CREATE TABLE acct(id INTEGER PRIMARY KEY, bal INT, note TEXT);"
    "CREATE TABLE item(a INT, b TEXT, v REAL, PRIMARY KEY(a, b))"
    " WITHOUT ROWID;"
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
    " WHERE i < 300)"
    " INSERT INTO acct SELECT i, i * 10, 'n' || i FROM n;"
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
    " WHERE i < 100)"
    " INSERT INTO item SELECT i % 10, 'k' || i, i / 3.0 FROM n;";

static const char *verify_bin(void)
{
    static char path[RT_PATH + 64];
    snprintf(path, sizeof(path), "%s/tools/verify/sluice-verify",
             tl_build_dir());
    return path;
}

/* The application: keeps writing keyed rows until killed (T1). Inserts,
** updates, deletes and key changes, one small transaction every few
** milliseconds, as an ORM would. Never returns. */
static void app_loop(unsigned seed)
{
    sqlite3 *db = NULL;
    unsigned s = seed;
    int64_t next = 1000;

    if (sqlite3_open(rt_src, &db) != SQLITE_OK)
        _exit(2);
    sqlite3_busy_timeout(db, 5000);
    for (;;) {
        char sql[512];
        int op, k;
        s = s * 1103515245u + 12345u;
        op = (int)((s >> 16) % 6);
        k = 100 + (int)((s >> 4) % 200);
        switch (op) {
        case 0:
            snprintf(sql, sizeof(sql), "INSERT OR REPLACE INTO acct VALUES"
                     "(%lld, %u, 'new'); UPDATE acct SET bal = bal + 1 "
                     "WHERE id = %d", (long long)next++, s % 1000, k);
            break;
        case 1:
            snprintf(sql, sizeof(sql), "UPDATE acct SET bal = bal - 7, "
                     "note = 'u%u' WHERE id = %d", s % 97, k);
            break;
        case 2:
            snprintf(sql, sizeof(sql), "DELETE FROM acct WHERE id = %d; "
                     "INSERT OR IGNORE INTO acct VALUES (%d, 1, 'back')",
                     k, k + 1);
            break;
        case 3:     /* a key change */
            snprintf(sql, sizeof(sql), "UPDATE OR IGNORE acct SET id = "
                     "%lld WHERE id = %d", (long long)next++, k);
            break;
        case 4:
            snprintf(sql, sizeof(sql), "UPDATE item SET v = v + 0.25 "
                     "WHERE a = %d", k % 10);
            break;
        default:
            snprintf(sql, sizeof(sql), "INSERT OR REPLACE INTO item VALUES"
                     "(%d, 'x%u', %u.5); DELETE FROM item WHERE a = %d AND "
                     "b = 'x%u'", k % 10, s % 50, s % 9, (k + 3) % 10,
                     (s >> 8) % 50);
            break;
        }
        if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK) {
            if (sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK)
                sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
            else
                sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        }
        usleep(4000);
    }
}

static pid_t app_start(unsigned seed)
{
    pid_t pid = rt_fork();
    if (pid == 0)
        app_loop(seed);
    cr_assert_gt(pid, 0, "fork");
    return pid;
}

/* A pipeline in steady state: source written, captured and applied once;
** capture and replay left running. */
static void pipeline_up(rt_proc *cap, rt_proc *rep)
{
    rt_sql(rt_src, g_schema);
    rt_capture_start(cap, "--poll-ms", "20", NULL);
    rt_replay_start(rep, rt_url, NULL);
    cr_assert_eq(rt_wait_applied(rt_my(), "default", rt_jdir, 120000), 0,
                 "replay did not catch up:\n%s", rt_log(rep));
}

/* Run sluice-verify with --source/--target and args; exit status (-2
** after timeout_ms); p->log holds stdout and stderr. */
static int verify_run(rt_proc *p, int timeout_ms, const char *arg, ...)
{
    const char *args[32] = { "--source", rt_src, "--target", rt_url };
    int n = 4;
    va_list ap;

    va_start(ap, arg);
    for (const char *a = arg; a != NULL && n < 31;
         a = va_arg(ap, const char *))
        args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    rt_spawnv(p, verify_bin(), args, rt_password());
    return timeout_ms == 0 ? 0 : rt_wait(p, timeout_ms);
}

/* Sum of in_flux=N over the table lines of a report. */
static long table_in_flux(const char *log, const char *table)
{
    char needle[128];
    const char *p;

    snprintf(needle, sizeof(needle), "table=%s source_rows=", table);
    if ((p = strstr(log, needle)) == NULL)
        return -1;
    p = strstr(p, " in_flux=");
    return p ? strtol(p + 9, NULL, 10) : -1;
}

/* ---------------------------------------------------------------- */

Test(verify_live, a_busy_pipeline_verifies_ok_run_after_run)
{
    rt_proc cap, rep;
    long flux_total = 0;

    pipeline_up(&cap, &rep);
    app_start(7);
    tl_sleep_ms(500);
    for (int run = 0; run < 4; run++) {
        rt_proc v;
        const char *log;
        int rc = verify_run(&v, 180000, "--journal", rt_jdir, "--wait-s",
                            "90", NULL);
        log = rt_log(&v);
        cr_assert_eq(rc, 0, "live run %d exited %d:\n%s", run, rc, log);
        if (run == 3) {
            /* the JSON report carries the same fields */
            rc = verify_run(&v, 180000, "--journal", rt_jdir, "--json",
                            NULL);
            cr_assert_eq(rc, 0, "json run exited %d:\n%s", rc, rt_log(&v));
            cr_log_info("json run:\n%s", rt_log(&v));
            cr_assert(strstr(rt_log(&v), "\"table\":\"acct\"") != NULL &&
                      strstr(rt_log(&v), ",\"in_flux\":") != NULL &&
                      strstr(rt_log(&v), ",\"status\":\"ok\",\"in_flux\":")
                          != NULL &&
                      strstr(rt_log(&v), ",\"applied_seq\":") != NULL,
                      "%s", rt_log(&v));
        }
        cr_assert(strstr(log, "summary tables=2 ok=2 diff=0 error=0 "
                              "skipped=0 status=ok in_flux=") != NULL,
                  "run %d:\n%s", run, log);
        cr_assert(strstr(log, "table=acct source_rows=") != NULL &&
                  strstr(log, "table=acct source_rows=0 ") == NULL,
                  "run %d compared no acct row:\n%s", run, log);
        cr_assert_geq(table_in_flux(log, "acct"), 0, "%s", log);
        flux_total += table_in_flux(log, "acct") +
                      table_in_flux(log, "item");
        cr_log_info("live run %d:\n%s", run, log);
        tl_sleep_ms(200);
    }
    /* T2: the runs really had changes between their snapshots */
    cr_assert_gt(flux_total, 0, "no run saw a key in flux: the app did not "
                 "write while verify ran?");
    cr_assert(rt_alive(&cap) && rt_alive(&rep), "capture:\n%s\nreplay:\n%s",
              rt_log(&cap), rt_log(&rep));
}

Test(verify_live, changes_between_the_snapshots_are_set_aside_and_counted)
{
    rt_proc cap, rep, v;
    const char *log;
    int rc;

    /* no app process: every change here is the test's, so counts are
    ** exact */
    rt_sql(rt_src, g_schema);
    rt_sql(rt_src, "CREATE TABLE notes(msg TEXT, at INT);"
                   "INSERT INTO notes VALUES ('a', 1), ('b', 2);");
    rt_sync();
    /* capture is stopped: these changes are in the source and the logs
    ** but not in the journal, so they land after the verify's F */
    rt_sql(rt_src, "UPDATE acct SET bal = 1 WHERE id IN (1, 2, 3);"
                   "DELETE FROM acct WHERE id = 4;"
                   "UPDATE acct SET id = 1001 WHERE id = 5;"
                   "INSERT INTO notes VALUES ('c', 3);");
    rc = verify_run(&v, 0, "--journal", rt_jdir, "--wait-s", "120",
                    "--log-level", "info", NULL);
    rt_wait_log(&v, "event=verify.waiting for=capture", 1, 60000);
    /* the source snapshot is taken: these are newer than it, yet capture
    ** journals them and replay applies them before the target snapshot
    ** -- compared, id 6 would be missing and id 2 would differ */
    rt_sql(rt_src, "DELETE FROM acct WHERE id = 6;"
                   "UPDATE acct SET bal = 2 WHERE id = 2;"
                   "INSERT INTO acct VALUES (2000, 0, 'late');");
    rt_capture_start(&cap, "--poll-ms", "20", NULL);
    rt_replay_start(&rep, rt_url, NULL);
    rc = rt_wait(&v, 180000);
    log = rt_log(&v);
    cr_assert_eq(rc, 0, "exit %d:\n%s", rc, log);
    /* keys 1, 2, 3, 4, 5, 1001 (before P) and 6, 2000 (after P) */
    cr_assert(strstr(log, "table=acct source_rows=294 target_rows=294 "
                          "missing=0 extra=0 differing=0 status=ok mode=key "
                          "in_flux=8") != NULL, "%s", log);
    cr_assert(strstr(log, "table=item source_rows=100 target_rows=100 "
                          "missing=0 extra=0 differing=0 status=ok mode=key "
                          "in_flux=0") != NULL, "%s", log);
    cr_assert(strstr(log, "table=notes") != NULL &&
              strstr(strstr(log, "table=notes"), "status=skipped") != NULL &&
              strstr(log, "no primary key") != NULL, "%s", log);
    cr_assert(strstr(log, "summary tables=3 ok=2 diff=0 error=0 skipped=1 "
                          "status=ok in_flux=8") != NULL, "%s", log);
}

Test(verify_live, a_change_behind_sluices_back_is_a_diff_while_the_app_writes)
{
    rt_proc cap, rep, v;
    const char *log;
    int rc;

    pipeline_up(&cap, &rep);
    /* rows the app never touches (T1) */
    rt_my_exec(rt_my(), "UPDATE acct SET bal = -999 WHERE id = 7");
    rt_my_exec(rt_my(), "DELETE FROM acct WHERE id = 9");
    app_start(11);
    tl_sleep_ms(500);
    rc = verify_run(&v, 180000, "--journal", rt_jdir, "--replica",
                    "default", "--wait-s", "90", NULL);
    log = rt_log(&v);
    cr_log_info("%s", log);
    cr_assert_eq(rc, 1, "exit %d:\n%s", rc, log);
    cr_assert(strstr(log, "differing table=acct key=\"id=7\" column=bal "
                          "source=70 target=-999") != NULL, "%s", log);
    cr_assert(strstr(log, "missing table=acct key=\"id=9\"") != NULL, "%s",
              log);
    cr_assert(strstr(log, "missing=1 extra=0 differing=1 status=DIFF") !=
              NULL, "%s", log);
    cr_assert(strstr(log, "table=item source_rows=") != NULL &&
              strstr(strstr(log, "table=item source_rows="), "status=ok") !=
              NULL, "item should verify:\n%s", log);
    cr_assert(strstr(log, "summary tables=2 ok=1 diff=1 error=0") != NULL,
              "%s", log);
}

Test(verify_live, a_stopped_replay_fails_the_wait_within_wait_s)
{
    rt_proc cap, rep, v;
    const char *log;
    int64_t t0;
    int rc;

    pipeline_up(&cap, &rep);
    cr_assert_eq(rt_stop(&rep, 30000), 0, "replay:\n%s", rt_log(&rep));
    app_start(13);
    tl_sleep_ms(300);
    t0 = tl_now_ms();
    rc = verify_run(&v, 120000, "--journal", rt_jdir, "--wait-s", "3", NULL);
    log = rt_log(&v);
    cr_assert_eq(rc, 75, "exit %d:\n%s", rc, log);
    cr_assert(strstr(log, "waited 3 s for replay: replica default has "
                          "applied seq ") != NULL, "%s", log);
    cr_assert(strstr(log, "replay is stopped or not keeping up") != NULL,
              "%s", log);
    cr_assert(strstr(log, "summary") == NULL, "no report: %s", log);
    /* 3 s of waiting plus start-up; generous for a loaded machine */
    cr_assert_lt(tl_now_ms() - t0, 30000, "took %lld ms",
                 (long long)(tl_now_ms() - t0));
}

Test(verify_live, a_stopped_capture_fails_the_wait_within_wait_s)
{
    rt_proc cap, rep, v;
    const char *log;
    int rc;

    pipeline_up(&cap, &rep);
    cr_assert_eq(rt_stop(&cap, 30000), 0, "capture:\n%s", rt_log(&cap));
    app_start(17);
    tl_sleep_ms(300);
    rc = verify_run(&v, 120000, "--journal", rt_jdir, "--wait-s", "2", NULL);
    log = rt_log(&v);
    cr_assert_eq(rc, 75, "exit %d:\n%s", rc, log);
    cr_assert(strstr(log, "waited 2 s for capture: the journal does not "
                          "hold the source's changes up to the verify "
                          "snapshot (table ") != NULL, "%s", log);
    cr_assert(strstr(log, "capture is stopped or not keeping up") != NULL,
              "%s", log);
}

Test(verify_live, live_options_without_a_journal_are_usage_errors)
{
    static const struct {
        const char *a, *b, *c, *d, *msg;
    } cases[] = {
        { "--replica", "default", NULL, NULL,
          "--replica belongs to live mode: give --journal DIR too" },
        { "--wait-s", "5", NULL, NULL,
          "--wait-s belongs to live mode: give --journal DIR too" },
        { "--journal", "J", "--replica", "no spaces",
          "--replica: a name is 1 to 63 characters" },
        { "--journal", "J", "--wait-s", "-1", "--wait-s" },
        { "--journal", "", NULL, NULL, "--journal: empty directory name" },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rt_proc v;
        int rc = verify_run(&v, 60000, cases[i].a, cases[i].b, cases[i].c,
                            cases[i].d, NULL);
        cr_assert_eq(rc, 64, "case %zu exit %d:\n%s", i, rc, rt_log(&v));
        cr_assert(strstr(rt_log(&v), cases[i].msg) != NULL,
                  "case %zu:\n%s", i, rt_log(&v));
    }
    {
        /* a journal that is not there is no usage error: 69, named */
        rt_proc v;
        char missing[RT_PATH + 16];
        int rc;
        rt_sql(rt_src, g_schema);
        snprintf(missing, sizeof(missing), "%s/nojournal", rt_base);
        rc = verify_run(&v, 60000, "--journal", missing, NULL);
        cr_assert_eq(rc, 69, "exit %d:\n%s", rc, rt_log(&v));
        cr_assert(strstr(rt_log(&v), "nojournal") != NULL, "%s",
                  rt_log(&v));
    }
}

Test(verify_live, a_schema_change_capture_has_not_reconciled_is_no_diff)
{
    rt_proc cap, rep, v;
    const char *log, *line;
    int rc;

    rt_sql(rt_src, g_schema);
    rt_sync();
    /* capture is stopped: the source's schema is ahead of the journal's.
    ** Compared at such a snapshot, acct would lack its new column on the
    ** target: verify must let its snapshot go until capture reconciles
    ** (capture's installs need a moment without readers) */
    rt_sql(rt_src, "ALTER TABLE acct ADD COLUMN extra TEXT DEFAULT 'x';"
                   "UPDATE acct SET extra = 'y' WHERE id = 3;");
    rc = verify_run(&v, 0, "--journal", rt_jdir, "--wait-s", "120",
                    "--log-level", "info", NULL);
    rt_wait_log(&v, "event=verify.waiting for=capture", 1, 60000);
    rt_capture_start(&cap, "--poll-ms", "20", NULL);
    rt_replay_start(&rep, rt_url, NULL);
    rc = rt_wait(&v, 180000);
    log = rt_log(&v);
    cr_log_info("%s", log);
    cr_assert_eq(rc, 0, "exit %d:\n%s", rc, log);
    line = strstr(log, "table=acct ");
    cr_assert(line != NULL, "%s", log);
    /* compared with its new column, or skipped when its re-snapshot came
    ** between the snapshots: never a DIFF */
    cr_assert(strncmp(strstr(line, "status="), "status=ok", 9) == 0 ||
              strncmp(strstr(line, "status="), "status=skipped", 14) == 0,
              "%s", log);
    cr_assert(strstr(log, "status=DIFF") == NULL, "%s", log);
}

Test(verify_live, a_table_dropped_after_the_snapshot_does_not_stall_the_wait)
{
    rt_proc cap, rep, v;
    const char *log;
    int rc;

    rt_sql(rt_src, g_schema);
    rt_sql(rt_src, "CREATE TABLE gone(id INTEGER PRIMARY KEY, v TEXT);"
                   "INSERT INTO gone VALUES (1, 'a'), (2, 'b');");
    rt_sync();
    /* changes capture has not journaled, one of them to `gone` */
    rt_sql(rt_src, "INSERT INTO gone VALUES (3, 'c');"
                   "UPDATE acct SET bal = 5 WHERE id = 1;");
    rc = verify_run(&v, 0, "--journal", rt_jdir, "--wait-s", "60",
                    "--log-level", "info", NULL);
    rt_wait_log(&v, "event=verify.waiting for=capture", 1, 60000);
    /* after the snapshot: gone's triggers go with it, so capture drains
    ** its log only once it has reconciled -- which needs a moment without
    ** readers: a verify holding its snapshot would wait in vain */
    rt_sql(rt_src, "DROP TABLE gone;");
    rt_capture_start(&cap, "--poll-ms", "20", NULL);
    rt_replay_start(&rep, rt_url, NULL);
    rc = rt_wait(&v, 180000);
    log = rt_log(&v);
    cr_log_info("%s", log);
    cr_assert_eq(rc, 0, "exit %d:\n%s", rc, log);
    cr_assert(strstr(log, "summary tables=2 ok=2 diff=0 error=0 skipped=0 "
                          "status=ok") != NULL, "%s", log);
}
