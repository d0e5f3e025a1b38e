/*
** test_replay_outage.c -- outages of MariaDB are lag, nothing more.
**
** Each test runs its OWN private server (tests/harness/mariadb.sh start
** in the test's directory; rt_teardown() stops it even when the test
** fails) and never touches the shared fixture server:
**   - killed (SIGKILL) mid-stream and restarted, while capture and replay
**     run continuously and a writer keeps committing;
**   - stopped cleanly mid-stream and started again;
**   - start-up race: capture and replay started before the server exists;
**   - replay --once started while the server is down, which comes up
**     within --once-timeout-s;
**   - replay started before capture has created the journal (this one
**     needs no outage and uses the fixture server).
** Replay must converge WITHOUT being restarted (same pid throughout),
** log each state change once rather than once per retry, and end with a
** target equal to the source row by row.
**
** Nothing here waits a fixed time calibrated on one machine: an outage
** lasts until replay has been seen retrying (its debug log has one
** event=replay.backoff line per retry) and capture has journaled on
** while the server was away; "still waiting" is asserted after observed
** retries, not after a guess of how long a start takes.
*/
#include <criterion/criterion.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rt_util.h"

TestSuite(replay_outage, .init = rt_setup, .fini = rt_teardown,
          .timeout = 600);   /* a limit for hangs, not an expectation */

static char g_dir[RT_PATH + 20];
static char g_url[RT_PATH + 200];

static void server_paths(void)
{
    char sock[RT_PATH + 40];

    rt_path(g_dir, sizeof(g_dir), "mdb");
    rt_server_socket(sock, sizeof(sock), g_dir);
    rt_url_for(g_url, sizeof(g_url), sock, "sluice_test");
}

static void server(const char *action)
{
    int rc = rt_server(action, g_dir);
    cr_assert_eq(rc, 0, "mariadb.sh %s %s exited %d:\n%s", action, g_dir, rc,
                 rt_server_log());
}

static void source_table(void)
{
    rt_sql(rt_src, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, n INT);"
                   "CREATE TABLE k(a TEXT, b INT);"
                   "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1"
                   " FROM s WHERE i < 100)"
                   " INSERT INTO t SELECT i, 'v' || i, i FROM s;"
                   "INSERT INTO k SELECT v, n FROM t WHERE id <= 10;");
}

/* n transactions, ~1 ms apart: insert, update, delete, keyless change */
static pid_t start_writer(int from, int n)
{
    pid_t w = rt_fork();
    sqlite3 *db;
    char sql[400];
    int rc = 0;

    if (w != 0)
        return w;
    if (sqlite3_open(rt_src, &db) != SQLITE_OK)
        _exit(2);
    sqlite3_busy_timeout(db, 5000);
    for (int i = from; i < from + n && rc == 0; i++) {
        snprintf(sql, sizeof(sql),
                 "BEGIN; INSERT INTO t VALUES (%d, 'w%d', %d);"
                 "UPDATE t SET n = n + 1, v = v || '.' WHERE id = %d;"
                 "DELETE FROM t WHERE id = %d;"
                 "INSERT INTO k VALUES ('w', %d);"
                 "DELETE FROM k WHERE rowid = (SELECT MIN(rowid) FROM k);"
                 "COMMIT;", i, i, i, 1 + i % 90, i - 5, i);
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
        usleep(1000);
    }
    sqlite3_close(db);
    _exit(rc == SQLITE_OK ? 0 : 1);
}

/* Has child pid exited? (Not reaped: tl_wait still sees it.) */
static int exited(pid_t pid)
{
    siginfo_t si;

    memset(&si, 0, sizeof(si));
    return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
           si.si_pid == pid;
}

/* Wait until the private server's sqlite_sluice_position shows progress. */
static void wait_progress(MYSQL *my, int64_t beyond, int timeout_ms)
{
    int64_t deadline = tl_now_ms() + timeout_ms;

    while (rt_position(my, "default") <= beyond) {
        cr_assert(tl_now_ms() < deadline, "replay made no progress");
        tl_sleep_ms(20);
    }
}

static void finish_and_compare(rt_proc *cap, rt_proc *rep, pid_t w,
                               pid_t rep_pid)
{
    MYSQL *my;
    const char *log;
    int rc;

    rc = tl_wait(w, 90000);
    cr_assert_eq(rc, 0, "writer failed (%d)", rc);
    rc = rt_stop(cap, 20000);
    cr_assert_eq(rc, 0, "capture exited %d: %s", rc, rt_log(cap));
    rt_capture_once();
    my = rt_server_connect(g_dir, "sluice_test");
    cr_assert_eq(rt_wait_applied(my, "default", rt_jdir, 60000), 0,
                 "replay did not converge:\n%s", rt_log(rep));
    cr_assert(rt_alive(rep) && rep->pid == rep_pid,
              "replay is not the process started before the outage");
    RT_ASSERT_SAME_ALL(my);
    rc = rt_stop(rep, 20000);
    cr_expect_eq(rc, 0, "replay exited %d on SIGTERM", rc);
    log = rt_log(rep);
    cr_expect(strstr(log, "recovered") != NULL || strstr(log, "connected")
              != NULL, "no recovery logged:\n%s", log);
    /* each state change once: a handful of lines, not one per retry */
    cr_expect(tl_count(log, "level=error") + tl_count(log, "level=warn")
              <= 6, "%d error/warn lines for one outage:\n%s",
              tl_count(log, "level=error") + tl_count(log, "level=warn"),
              log);
}

static void outage(const char *down, const char *up)
{
    rt_proc cap, rep;
    MYSQL *my;
    pid_t w, rep_pid;
    int64_t t0, at;
    int retries;

    server_paths();
    server("start");
    source_table();
    rt_capture_start(&cap, "--poll-ms", "2", NULL);
    rt_replay_start(&rep, g_url, "--poll-ms", "2", "--retry-max-ms", "300",
                    "--log-level", "debug", NULL);
    rep_pid = rep.pid;
    my = rt_server_connect(g_dir, "sluice_test");
    w = start_writer(1000, 3000);
    wait_progress(my, 0, 60000);
    wait_progress(my, rt_position(my, "default"), 60000);
    retries = tl_count(rt_log(&rep), "event=replay.backoff");
    server(down);                     /* mid-stream */
    t0 = tl_now_ms();
    at = rt_journal_complete_seq(rt_jdir);
    /* the outage lasts until replay has retried three times and capture
    ** has journaled on meanwhile (the outage is lag), unless the
    ** application is done writing */
    rt_wait_log(&rep, "event=replay.backoff", retries + 3, 120000);
    while (rt_journal_complete_seq(rt_jdir) <= at && !exited(w)) {
        if (!rt_alive(&cap))
            cr_assert_fail("capture died during the outage");
        if (tl_now_ms() - t0 >= 120000)
            cr_assert_fail("capture journaled nothing during the outage");
        tl_sleep_ms(20);
    }
    cr_assert(rt_alive(&rep), "replay died during the outage:\n%s",
              rt_log(&rep));
    cr_assert(rt_alive(&cap), "capture died during the outage");
    server(up);
    cr_log_info("outage lasted %lld ms", (long long)(tl_now_ms() - t0));
    finish_and_compare(&cap, &rep, w, rep_pid);
}

Test(replay_outage, mariadb_killed_mid_stream_and_restarted_replay_converges_without_restart)
{
    outage("kill", "restart");
}

Test(replay_outage, mariadb_stopped_cleanly_mid_stream_and_started_again_replay_converges)
{
    outage("stop", "restart");
}

Test(replay_outage, capture_and_replay_started_before_the_server_exists_converge)
{
    rt_proc cap, rep;
    pid_t w, rep_pid;
    const char *log;

    server_paths();
    source_table();
    rt_capture_start(&cap, "--poll-ms", "2", NULL);
    rt_replay_start(&rep, g_url, "--poll-ms", "2", "--retry-max-ms", "300",
                    "--log-level", "debug", NULL);
    rep_pid = rep.pid;
    w = start_writer(1000, 1000);
    rt_wait_log(&rep, "event=replay.backoff", 5, 120000);  /* retrying */
    cr_assert(rt_alive(&rep), "replay exited with no server:\n%s",
              rt_log(&rep));
    log = rt_log(&rep);
    cr_expect(tl_count(log, "level=error") <= 2, "retries logged one by "
              "one:\n%s", log);
    server("start");
    finish_and_compare(&cap, &rep, w, rep_pid);
}

Test(replay_outage, replay_once_started_while_the_server_is_down_waits_for_it)
{
    rt_proc rep;
    MYSQL *my;
    int rc;

    server_paths();
    server("start");
    server("stop");
    source_table();
    rt_capture_once();
    {
        const char *argv[] = { "--journal", rt_jdir, "--target", g_url,
                               "--once", "--once-timeout-s", "120",
                               "--retry-max-ms", "300", "--log-level",
                               "debug", NULL };
        rt_spawnv(&rep, rt_replay_bin(), argv, rt_password());
    }
    rt_wait_log(&rep, "event=replay.backoff", 3, 60000);
    cr_assert(rt_alive(&rep), "replay --once gave up at once:\n%s",
              rt_log(&rep));
    server("restart");
    rc = rt_wait(&rep, 60000);
    cr_assert_eq(rc, 0, "replay --once exited %d:\n%s", rc, rt_log(&rep));
    my = rt_server_connect(g_dir, "sluice_test");
    RT_ASSERT_SAME_ALL(my);
}

Test(replay_outage, replay_started_before_capture_created_the_journal_waits_for_it)
{
    rt_proc cap, rep;
    pid_t w, rep_pid;
    int rc;

    rt_replay_start(&rep, rt_url, "--poll-ms", "2", "--retry-max-ms", "300",
                    NULL);
    rep_pid = rep.pid;
    rt_wait_log(&rep, "event=replay.waiting_for_journal", 1, 60000);
    cr_assert(rt_alive(&rep), "replay exited without a journal:\n%s",
              rt_log(&rep));
    source_table();
    rt_capture_start(&cap, "--poll-ms", "2", NULL);
    w = start_writer(1000, 300);
    rc = tl_wait(w, 60000);
    cr_assert_eq(rc, 0, "writer failed (%d)", rc);
    rc = rt_stop(&cap, 20000);
    cr_assert_eq(rc, 0, "capture exited %d: %s", rc, rt_log(&cap));
    rt_capture_once();
    cr_assert_eq(rt_wait_applied(rt_my(), "default", rt_jdir, 30000), 0,
                 "replay did not converge:\n%s", rt_log(&rep));
    cr_assert(rt_alive(&rep) && rep.pid == rep_pid);
    RT_ASSERT_SAME_ALL(rt_my());
    cr_expect_eq(rt_stop(&rep, 20000), 0, "%s", rt_log(&rep));
}
