/*
** test_capture_reader.c -- an application that ALWAYS has a transaction
** open on the source (a connection that began a read and never ended it)
** while a schema change needs capture to re-install triggers. Capture must
** not commit to the source meanwhile (that would make the reader's next
** write fail with SQLITE_BUSY_SNAPSHOT): it puts the write off, logs
** `capture.waiting` after a second, exports
** sluice_capture_schema_change_waiting_seconds, and catches up once the
** reader is gone. With --once the wait is bounded by --busy-timeout-ms,
** then capture exits 75 (EX_TEMPFAIL) and asks to be run again.
*/
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

#include "ct_model.h"
#include "ct_proc.h"
#include "tl_output.h"

TestSuite(capture_reader, .init = ct_setup, .fini = ct_teardown);

/* A child with its own connection that holds a read transaction open
** (BEGIN; SELECT) from reader_start() until reader_end(). */
typedef struct reader {
    pid_t pid;
    int go;                     /* write end: a byte ends the transaction */
} reader;

static void reader_start(reader *r)
{
    int ready[2], go[2];
    char c = 0;

    cr_assert_eq(pipe(ready), 0);
    cr_assert_eq(pipe(go), 0);
    r->pid = ct_fork();
    if (r->pid == 0) {
        sqlite3 *db;
        close(ready[0]);
        close(go[1]);
        if (sqlite3_open(ct_src, &db) != SQLITE_OK)
            _exit(101);
        sqlite3_busy_timeout(db, 5000);
        if (sqlite3_exec(db, "BEGIN; SELECT count(*) FROM t;", NULL, NULL,
                         NULL) != SQLITE_OK)
            _exit(102);
        if (write(ready[1], &c, 1) != 1)
            _exit(103);
        if (read(go[0], &c, 1) < 0)      /* EOF also ends it */
            _exit(104);
        if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            _exit(105);
        sqlite3_close(db);
        _exit(0);
    }
    close(ready[1]);
    close(go[0]);
    cr_assert_eq(read(ready[0], &c, 1), 1, "the reader did not start");
    close(ready[0]);
    r->go = go[1];
}

static void reader_end(reader *r)
{
    char c = 1;

    cr_assert_eq(write(r->go, &c, 1), 1);
    close(r->go);
    cr_assert_eq(tl_wait(r->pid, 30000), 0, "the reader failed");
}

/* Every trigger of the source, name and SQL (malloc'd). */
static char *trigger_sql(void)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    char *out = NULL;

    cr_assert_eq(sqlite3_open_v2(ct_src, &db, SQLITE_OPEN_READONLY, NULL),
                 SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT group_concat(name || ':' "
                                    "|| sql, ';') FROM (SELECT name, sql "
                                    "FROM sqlite_master WHERE type = "
                                    "'trigger' ORDER BY name)", -1, &s,
                                    NULL), SQLITE_OK, "%s",
                 sqlite3_errmsg(db));
    cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
    out = strdup(sqlite3_column_text(s, 0)
                     ? (const char *)sqlite3_column_text(s, 0) : "");
    sqlite3_finalize(s);
    sqlite3_close(db);
    return out;
}

/* Scrape the waiting gauge until pred(value) or the deadline. */
static double wait_gauge(int port, ct_proc *p, int want_positive,
                         int64_t deadline)
{
    char *body = NULL;
    double v = -1;

    for (;;) {
        free(body);
        body = tl_http_get(port, "/metrics");
        v = body ? ct_metric_sample(body,
                       "sluice_capture_schema_change_waiting_seconds") : -1;
        if (want_positive ? v > 0 : v == 0)
            break;
        if (tl_now_us() >= deadline)
            cr_assert_fail("sluice_capture_schema_change_waiting_seconds "
                           "never became %s (last %g):\n%s\nlog:\n%s",
                           want_positive ? "> 0" : "0", v,
                           body ? body : "(no answer)", ct_cap_log(p));
        tl_sleep_ms(100);
    }
    free(body);
    return v;
}

/*
** Capture runs; a reader holds a transaction open; the application adds a
** column and writes. While the reader is there capture must not touch the
** source's triggers (a commit), must say it waits, and the gauge must
** grow; once it ends, capture re-installs and the journal equals the
** source.
*/
Test(capture_reader, a_schema_change_waits_for_an_open_read_transaction,
     .timeout = 150)
{
    ct_proc p;
    reader r;
    char addr[64], why[1024], *before, *during, *log;
    int port = 20000 + (int)((getpid() + 7919) % 20000);
    ct_model *m = ct_model_new();
    int64_t deadline = tl_now_us() + 90000000;  /* a limit */
    double g1, g2;

    CT_APP("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
           "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c');");
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    ct_cap_start(&p, "--source", ct_src, "--journal", ct_jdir, "--metrics",
                 addr, "--poll-ms", "50", (const char *)NULL);
    cr_assert_eq(ct_converge(m, ct_jdir, ct_src, 60000, why, sizeof(why)),
                 0, "%s", why);
    before = trigger_sql();
    cr_assert_neq(strlen(before), 0, "capture installed no trigger");

    reader_start(&r);
    CT_APP("ALTER TABLE t ADD COLUMN x INT;",
           "INSERT INTO t VALUES (4, 'd', 40);",
           "UPDATE t SET x = id * 10 WHERE id < 3;",
           "DELETE FROM t WHERE id = 3;");
    g1 = wait_gauge(port, &p, 1, deadline);
    for (;;) {                     /* logged after about a second */
        log = ct_cap_log(&p);
        if (strstr(log, "event=capture.waiting") != NULL)
            break;
        if (tl_now_us() >= deadline)
            cr_assert_fail("capture never logged capture.waiting:\n%s", log);
        free(log);
        tl_sleep_ms(100);
    }
    free(log);
    tl_sleep_ms(2500);              /* the gauge is published each second */
    g2 = wait_gauge(port, &p, 1, deadline);
    cr_assert_gt(g2, g1, "the waiting gauge did not grow (%g then %g)", g1,
                 g2);
    during = trigger_sql();
    cr_assert_str_eq(during, before, "capture re-installed its triggers "
                     "(a commit to the source) while a transaction of "
                     "another process was open");
    /* the reader can still write: nobody committed since its read */
    free(during);

    reader_end(&r);
    cr_assert_eq(ct_converge(m, ct_jdir, ct_src, 60000, why, sizeof(why)),
                 0, "%s", why);
    during = trigger_sql();
    cr_assert_str_neq(during, before, "capture never re-installed its "
                      "triggers after the schema change");
    wait_gauge(port, &p, 0, deadline);
    CT_APP("INSERT INTO t VALUES (5, 'e', 50);");   /* the new triggers */
    cr_assert_eq(ct_converge(m, ct_jdir, ct_src, 60000, why, sizeof(why)),
                 0, "%s", why);
    ct_cap_stop_ok(&p);
    log = ct_cap_log(&p);
    cr_assert_gt(ct_stopped_field(log, "writes_deferred"), 0, "capture says it "
                 "put no write off:\n%s", log);
    cr_assert(strstr(log, "event=capture.waited") != NULL, "%s", log);
    cr_log_info("waiting gauge %g then %g s; writes_deferred=%lld", g1, g2,
                ct_stopped_field(log, "writes_deferred"));
    free(log);
    free(before);
    free(during);
    ct_model_free(m);
    ct_assert_model_equals_source(ct_jdir, ct_src);
}

/*
** --once with a schema change to capture and a reader that never ends:
** capture gives up after --busy-timeout-ms, exits 75 and asks to be run
** again, without having committed to the source; run again once the
** reader is gone, it captures everything.
*/
Test(capture_reader, once_exits_75_while_a_reader_stays_open, .timeout = 120)
{
    ct_proc p;
    reader r;
    char *before, *after, *log;
    int64_t t0, ms;
    int rc;

    CT_APP("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
           "INSERT INTO t VALUES (1, 'a'), (2, 'b');");
    ct_cap_once();                      /* WAL, installed, snapshotted */
    before = trigger_sql();
    reader_start(&r);
    CT_APP("ALTER TABLE t ADD COLUMN x INT;",
           "INSERT INTO t VALUES (3, 'c', 30);");
    t0 = tl_now_us();
    rc = ct_cap_run(&p, 60000, "--source", ct_src, "--journal", ct_jdir,
                    "--once", "--busy-timeout-ms", "1500",
                    (const char *)NULL);
    ms = (tl_now_us() - t0) / 1000;
    log = ct_cap_log(&p);
    ct_assert_status(&p, rc, 75);
    cr_assert(strstr(log, "run sluice-capture again") != NULL, "%s", log);
    cr_assert_geq(ms, 1500, "exited after %lld ms, before "
                  "--busy-timeout-ms", (long long)ms);
    cr_assert_lt(ms, 30000, "took %lld ms", (long long)ms);
    after = trigger_sql();
    cr_assert_str_eq(after, before, "capture committed to the source while "
                     "a reader was open");
    cr_log_info("--once gave up after %lld ms", (long long)ms);
    free(log);
    free(after);

    reader_end(&r);
    ct_cap_once();
    after = trigger_sql();
    cr_assert_str_neq(after, before, "triggers never re-installed");
    free(before);
    free(after);
    ct_assert_model_equals_source(ct_jdir, ct_src);
}
