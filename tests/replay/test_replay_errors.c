/*
** test_replay_errors.c -- every error is transient or permanent, --once
** always ends, and --on-error=skip always records (issue 8, class 4):
**   - an error MariaDB raises that no list names (a trigger's SIGNAL) is
**     permanent: --once ends at once; a running replay logs it once,
**     shows sluice_replay_stuck 1, lag in records AND seconds, and goes
**     on by itself once the target is fixed;
**   - a row larger than the server's max_allowed_packet (MariaDB's default
**     16 MiB here) is a permanent error naming the setting, not a
**     reconnect loop; with --on-error=skip it is recorded (its image cut)
**     and the rest of its group commits; a server with a larger setting
**     takes the same row (replay reads the setting, it does not assume);
**   - --on-error=skip records text that is not UTF-8, values too long and
**     dates that are not dates, the error text escaped and the row image
**     binary-safe;
**   - a lock wait timeout (1205) and a read-only server (1290/1836) are
**     transient: replay logs one line, applies nothing, stays up (--once
**     waits within --once-timeout-s) and converges once they end; a
**     transient error that changes after the 30 s window is logged again
**     with suppressed=N counting the retries in between.
*/
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt_util.h"
#include "testdb.h"

TestSuite(replay_errors, .init = rt_setup, .fini = rt_teardown,
          .timeout = 150);

static int replay_timed(rt_proc *p, const char *url, int64_t *ms,
                        const char *a1, const char *a2)
{
    int64_t t0 = tl_now_ms();
    int rc = rt_replay_run(p, url, "--once-timeout-s", "60", a1, a2, NULL);

    *ms = tl_now_ms() - t0;
    return rc;
}

static void guarded_table(void)
{
    MYSQL *my = rt_my();

    rt_my_exec(my, "CREATE TABLE g (id INT PRIMARY KEY, v VARCHAR(20))");
    rt_my_exec(my, "CREATE TRIGGER g_guard BEFORE INSERT ON g FOR EACH ROW "
                   "IF NEW.v = 'forbidden' THEN SIGNAL SQLSTATE '45000' "
                   "SET MESSAGE_TEXT = 'the application forbids it'; "
                   "END IF");
    rt_sql(rt_src, "CREATE TABLE g(id INTEGER PRIMARY KEY, v TEXT);"
                   "INSERT INTO g VALUES (1, 'fine');");
    rt_sync();
    rt_sql(rt_src, "INSERT INTO g VALUES (2, 'forbidden');");
    rt_capture_once();
}

Test(replay_errors, an_error_no_list_names_is_permanent_and_once_ends_at_once)
{
    rt_proc p;
    int64_t ms;
    int rc;

    guarded_table();
    rc = replay_timed(&p, rt_url, &ms, NULL, NULL);
    cr_assert(rc > 0 && rc < 128, "%d\n%s", rc, rt_log(&p));
    cr_expect(ms < 20000, "--once took %" PRId64 " ms on a permanent "
              "error:\n%s", ms, rt_log(&p));
    cr_expect(strstr(rt_log(&p), "forbids it") != NULL &&
              strstr(rt_log(&p), "kind=permanent") != NULL, "%s",
              rt_log(&p));
}

Test(replay_errors, a_running_replay_stuck_on_a_permanent_error_shows_stuck_and_lag)
{
    MYSQL *my = rt_my();
    rt_proc p;
    const char *body = NULL;
    int port;
    int64_t deadline;

    guarded_table();
    rt_replay_start(&p, rt_url, "--metrics", "127.0.0.1:0",
                    "--retry-max-ms", "200", NULL);
    port = rt_metrics_port(&p, 15000);
    deadline = tl_now_ms() + 20000;
    for (;;) {
        body = rt_http_get(port, "/metrics");
        if (body != NULL && rt_metric(body, "sluice_replay_stuck", NULL) == 1
            && rt_metric(body, "sluice_replay_lag_seconds",
                         "replica=\"default\"") > 0)
            break;
        cr_assert(rt_alive(&p), "replay exited:\n%s", rt_log(&p));
        cr_assert(tl_now_ms() < deadline, "never stuck with lag:\n%s\n%s",
                  body ? body : "(no answer)", rt_log(&p));
        tl_sleep_ms(100);
    }
    cr_expect(rt_metric(body, "sluice_replay_lag_records",
                        "replica=\"default\"") > 0, "%s", body);
    tl_sleep_ms(1500);                /* several retries at <= 200 ms */
    cr_expect_eq(tl_count(rt_log(&p), "event=replay.target_problem"), 1,
                 "a repeated problem must be logged once:\n%s", rt_log(&p));
    /* fixed by the operator: it goes on, no restart */
    rt_my_exec(my, "DROP TRIGGER g_guard");
    cr_assert_eq(rt_wait_applied(my, "default", rt_jdir, 20000), 0, "%s",
                 rt_log(&p));
    deadline = tl_now_ms() + 10000;
    for (;;) {
        body = rt_http_get(port, "/metrics");
        if (body != NULL && rt_metric(body, "sluice_replay_stuck", NULL) == 0
            && rt_metric(body, "sluice_replay_lag_seconds",
                         "replica=\"default\"") == 0)
            break;
        cr_assert(tl_now_ms() < deadline, "still stuck:\n%s",
                  body ? body : "(no answer)");
        tl_sleep_ms(100);
    }
    cr_expect_eq(rt_stop(&p, 20000), 0, "%s", rt_log(&p));
    RT_ASSERT_SAME_ALL(my);
}

/* t(id, v) synced; then one group: a small row, a 20 MiB row, another. */
static int64_t big_row_group(void)
{
    int64_t applied;

    rt_sql(rt_src, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
                   "INSERT INTO t VALUES (0, 'zero');");
    rt_sync();
    applied = rt_position(rt_my(), "default");
    rt_sql(rt_src, "BEGIN; INSERT INTO t VALUES (1, 'small');"
                   "INSERT INTO t VALUES (2, replace(hex(zeroblob("
                   "10 * 1024 * 1024)), '00', 'ab'));"
                   "INSERT INTO t VALUES (3, 'after'); COMMIT;");
    rt_capture_once();
    return applied;
}

Test(replay_errors, a_row_over_max_allowed_packet_is_permanent_naming_the_setting)
{
    MYSQL *my = rt_my();
    int64_t applied = big_row_group(), ms;
    rt_proc p;
    const char *log;
    int rc;

    cr_assert_eq(rt_my_int(my, "SELECT @@max_allowed_packet"),
                 16 * 1024 * 1024);
    rc = replay_timed(&p, rt_url, &ms, NULL, NULL);
    log = rt_log(&p);
    cr_assert(rc > 0 && rc < 128, "%d\n%s", rc, log);
    cr_expect(ms < 30000, "--once took %" PRId64 " ms", ms);
    cr_expect(strstr(log, "max_allowed_packet") != NULL &&
              strstr(log, "id=2") != NULL && strstr(log, "seq ") != NULL,
              "the error must name the setting, the row and its seq:\n%s",
              log);
    cr_expect(tl_count(log, "\n") < 8, "a reconnect loop?\n%s", log);
    cr_expect_eq(rt_position(my, "default"), applied);
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM t"), 1);
    rc = replay_timed(&p, rt_url, &ms, "--on-error", "skip");
    cr_assert_eq(rc, 0, "%s", rt_log(&p));
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM t WHERE id IN (1, 3)"),
                 2);
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM sqlite_sluice_rejects "
                           "WHERE row_key = 'id=2' AND error LIKE "
                           "'%%max_allowed_packet%%' AND row_json LIKE "
                           "'%%\"bytes\":20971520%%' AND LENGTH(row_json) < "
                           "1048576"), 1, "the reject is missing or its "
                 "image is not cut");
}

Test(replay_errors, a_server_with_a_larger_max_allowed_packet_takes_the_row)
{
    char dir[RT_PATH], url[RT_PATH + 200], sock[RT_PATH];
    MYSQL *my;
    rt_proc p;
    int64_t ms;
    int rc;

    rt_path(dir, sizeof(dir), "m64");
    setenv("SLUICE_MARIADB_EXTRA_ARGS", "--max-allowed-packet=64M", 1);
    rc = rt_server("start", dir);
    unsetenv("SLUICE_MARIADB_EXTRA_ARGS");
    cr_assert_eq(rc, 0, "%s", rt_server_log());
    rt_server_socket(sock, sizeof(sock), dir);
    rt_url_for(url, sizeof(url), sock, "sluice_test");
    my = rt_server_connect(dir, "sluice_test");
    rt_sql(rt_src, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
                   "INSERT INTO t VALUES (2, replace(hex(zeroblob("
                   "10 * 1024 * 1024)), '00', 'ab'));");
    rt_capture_once();                /* a snapshot... */
    rt_sql(rt_src, "UPDATE t SET v = v || 'x';");
    rt_capture_once();                /* ...and a change of 20 MiB */
    rc = replay_timed(&p, url, &ms, NULL, NULL);
    cr_assert_eq(rc, 0, "%s", rt_log(&p));
    cr_expect(strstr(rt_log(&p), "max_allowed_packet=67108864") != NULL,
              "%s", rt_log(&p));
    cr_expect_eq(rt_my_int(my, "SELECT LENGTH(v) FROM t WHERE id = 2"),
                 20 * 1024 * 1024 + 1);
}

Test(replay_errors, skip_records_non_utf8_text_over_long_values_and_bad_dates)
{
    MYSQL *my = rt_my();
    rt_proc p;
    int rc;

    rt_my_exec(my, "CREATE TABLE r (id INT PRIMARY KEY, name VARCHAR(5),"
                   " at DATETIME, note TEXT)");
    rt_sql(rt_src, "CREATE TABLE r(id INTEGER PRIMARY KEY, name TEXT,"
                   " at TEXT, note TEXT);"
                   "INSERT INTO r VALUES"
                   " (1, CAST(x'fffe41' AS TEXT), '2024-01-01', 'a'),"
                   " (2, 'much too long', '2024-01-01', 'b'),"
                   " (3, 'ok', 'not a date', 'c'),"
                   " (4, 'ok', '2024-01-01', CAST(x'c328' AS TEXT)),"
                   " (5, 'fine', '2024-01-02', 'fine');");
    rt_capture_once();
    rc = rt_replay_run(&p, rt_url, "--on-error", "skip", NULL);
    cr_assert_eq(rc, 0, "recording the rejects failed:\n%s", rt_log(&p));
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM r"), 1);
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM sqlite_sluice_rejects"),
                 4);
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM sqlite_sluice_rejects "
                           "WHERE row_key = 'id=1' AND error LIKE "
                           "'%%UTF-8%%' AND row_json LIKE "
                           "'%%\"text_hex\":\"fffe41\"%%'"), 1,
                 "non-UTF-8 text: %s", rt_my_str(my, "SELECT CONCAT(error, "
                 "' | ', row_json) FROM sqlite_sluice_rejects WHERE row_key "
                 "= 'id=1'"));
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM sqlite_sluice_rejects "
                           "WHERE row_key = 'id=2' AND error LIKE "
                           "'%%too long%%'"), 1);
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM sqlite_sluice_rejects "
                           "WHERE row_key = 'id=3' AND error LIKE "
                           "'%%not a date%%'"), 1);
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM sqlite_sluice_rejects "
                           "WHERE row_key = 'id=4' AND row_json LIKE "
                           "'%%\"text_hex\":\"c328\"%%'"), 1);
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM sqlite_sluice_rejects "
                           "WHERE seq > 0 AND JSON_VALID(row_json)"), 4);
}

/* ---- transient errors: wait, retry, log once, converge ---- */

/* Poll p's log until it holds needle (1) or p exits / timeout_ms passes
** (0). No assertion: the caller still has a server setting to restore. */
static int log_has(rt_proc *p, const char *needle, int timeout_ms)
{
    int64_t deadline = tl_now_ms() + timeout_ms;

    for (;;) {
        char *log = tl_slurp(p->log, NULL);
        int have = log != NULL && strstr(log, needle) != NULL;

        free(log);
        if (have)
            return 1;
        if (!rt_alive(p) || tl_now_ms() >= deadline)
            return 0;
        tl_sleep_ms(20);
    }
}

/* k(id, v) synced, then an UPDATE of row 1 captured but not applied. */
static void one_pending_update(void)
{
    rt_sql(rt_src, "CREATE TABLE k(id INTEGER PRIMARY KEY, v TEXT);"
                   "INSERT INTO k VALUES (1, 'old'), (2, 'other');");
    rt_sync();
    rt_sql(rt_src, "UPDATE k SET v = 'new' WHERE id = 1;"
                   "INSERT INTO k VALUES (3, 'three');");
    rt_capture_once();
}

Test(replay_errors, a_lock_wait_timeout_is_transient_retried_and_converges)
{
    MYSQL *my = rt_my(), *locker = rt_my_db(rt_db);
    int64_t saved, applied;
    int retried, alive;
    rt_proc p;
    const char *log;

    one_pending_update();
    applied = rt_position(my, "default");
    saved = rt_my_int(my, "SELECT @@GLOBAL.innodb_lock_wait_timeout");
    /* another application holds the row replay must update */
    rt_my_exec(locker, "BEGIN");
    rt_my_exec(locker, "SELECT * FROM k WHERE id = 1 FOR UPDATE");
    rt_my_exec(my, "SET GLOBAL innodb_lock_wait_timeout = 1");
    /* its sessions start after the setting; nothing asserts until it is
    ** restored */
    rt_replay_start(&p, rt_url, "--retry-max-ms", "200", NULL);
    retried = log_has(&p, "event=replay.retry", 20000);
    tl_sleep_ms(retried ? 3000 : 0);       /* several 1 s waits more */
    alive = rt_alive(&p);
    rt_my_exec(my, "SET GLOBAL innodb_lock_wait_timeout = %lld",
               (long long)saved);
    cr_expect_eq(rt_position(my, "default"), applied,
                 "applied through a held lock?");
    rt_my_exec(locker, "ROLLBACK");
    cr_assert(retried && alive, "no replay.retry while the row was locked:"
              "\n%s", rt_log(&p));
    cr_assert_eq(rt_wait_applied(my, "default", rt_jdir, 30000), 0, "%s",
                 rt_log(&p));
    cr_expect_eq(rt_stop(&p, 20000), 0, "%s", rt_log(&p));
    log = rt_log(&p);
    cr_expect(strstr(log, "kind=transient") != NULL &&
              strstr(log, "Lock wait timeout") != NULL, "%s", log);
    cr_expect(strstr(log, "kind=permanent") == NULL, "%s", log);
    cr_expect_eq(tl_count(log, "event=replay.retry"), 1,
                 "a repeated lock wait must be logged once:\n%s", log);
    cr_expect(strstr(log, "event=replay.recovered") != NULL, "%s", log);
    {
        /* the repeats that were not logged are counted when it ends */
        const char *r = strstr(log, "event=replay.recovered");
        const char *n = r ? strstr(r, "suppressed=") : NULL;
        cr_expect(n != NULL && strtoll(n + 11, NULL, 10) >= 1,
                  "replay.recovered must count the unlogged retries:\n%s",
                  log);
    }
    RT_ASSERT_SAME_ALL(my);
}

Test(replay_errors, a_lock_wait_timeout_under_once_waits_and_exits_0)
{
    MYSQL *my = rt_my(), *locker = rt_my_db(rt_db);
    int64_t saved;
    int rc;
    rt_proc p;

    one_pending_update();
    saved = rt_my_int(my, "SELECT @@GLOBAL.innodb_lock_wait_timeout");
    rt_my_exec(locker, "BEGIN");
    rt_my_exec(locker, "SELECT * FROM k WHERE id = 1 FOR UPDATE");
    rt_my_exec(my, "SET GLOBAL innodb_lock_wait_timeout = 1");
    {
        const char *args[] = { "--journal", rt_jdir, "--target", rt_url,
                               "--once", "--once-timeout-s", "60",
                               "--retry-max-ms", "200", NULL };
        rt_spawnv(&p, rt_replay_bin(), args, rt_password());
    }
    rc = log_has(&p, "event=replay.retry", 20000);
    tl_sleep_ms(rc ? 2500 : 0);
    rt_my_exec(my, "SET GLOBAL innodb_lock_wait_timeout = %lld",
               (long long)saved);
    rt_my_exec(locker, "ROLLBACK");
    cr_assert(rc, "no replay.retry while the row was locked:\n%s",
              rt_log(&p));
    rc = rt_wait(&p, 30000);
    cr_assert_eq(rc, 0, "--once must wait out a lock, not fail: %d\n%s", rc,
                 rt_log(&p));
    cr_expect(strstr(rt_log(&p), "kind=transient") != NULL, "%s",
              rt_log(&p));
    RT_ASSERT_SAME_ALL(my);
}

/* Run one statement as the fixture server's root (no password, reachable
** through its socket only: tests/harness/mariadb.sh), which alone holds
** GRANT OPTION. */
static void root_exec(const char *sql)
{
    MYSQL *root = NULL;
    char err[512] = "";
    int rc = tdb_open(&root, tdb_config_get(), "root", "", TDB_VIA_SOCKET,
                      err, sizeof(err));

    cr_assert_eq(rc, 0, "root over the socket: %s", err);
    rc = mysql_query(root, sql);
    snprintf(err, sizeof(err), "%s", mysql_error(root));
    tdb_close(root);
    cr_assert_eq(rc, 0, "%s: %s", sql, err);
}

Test(replay_errors, a_read_only_server_is_transient_waited_out_and_converges)
{
    MYSQL *my = rt_my();
    char user[32], url[RT_PATH + 240], sql[300];
    const char *at = strchr(rt_url, '@'), *log;
    int64_t applied;
    int waited, alive, permanent;
    rt_proc p;

    /* read_only binds only users without READ_ONLY ADMIN (or SUPER):
    ** the harness's user has ALL PRIVILEGES, so replay runs as a user
    ** with rights on its database only, as an operator's would */
    cr_assert_not_null(at);
    snprintf(user, sizeof(user), "rt_ro_%d", (int)getpid());
    rt_my_exec(my, "CREATE OR REPLACE USER '%s'@'localhost' IDENTIFIED BY "
                   "'%s'", user, rt_password());
    snprintf(sql, sizeof(sql), "GRANT ALL ON `%s`.* TO '%s'@'localhost'",
             rt_db, user);
    root_exec(sql);
    cr_assert_eq(rt_my_int(my, "SELECT COUNT(*) FROM information_schema."
                           "USER_PRIVILEGES WHERE GRANTEE = "
                           "\"'%s'@'localhost'\" AND PRIVILEGE_TYPE IN "
                           "('SUPER', 'READ_ONLY ADMIN')", user), 0);
    snprintf(url, sizeof(url), "mariadb://%s%s", user, at);
    one_pending_update();
    applied = rt_position(my, "default");
    rt_my_exec(my, "SET GLOBAL read_only = 1");
    /* nothing asserts until read_only is off again */
    rt_replay_start(&p, url, "--retry-max-ms", "200", NULL);
    waited = log_has(&p, "kind=transient", 20000);
    tl_sleep_ms(waited ? 3000 : 0);        /* many retries at <= 200 ms */
    alive = rt_alive(&p);
    permanent = strstr(rt_log(&p), "kind=permanent") != NULL;
    cr_expect_eq(rt_position(my, "default"), applied,
                 "applied into a read-only server?");
    rt_my_exec(my, "SET GLOBAL read_only = 0");
    cr_assert(waited && alive && !permanent, "read-only must be waited "
              "out:\n%s", rt_log(&p));
    cr_assert_eq(rt_wait_applied(my, "default", rt_jdir, 30000), 0, "%s",
                 rt_log(&p));
    cr_expect_eq(rt_stop(&p, 20000), 0, "%s", rt_log(&p));
    log = rt_log(&p);
    cr_expect(strstr(log, "read-only") != NULL ||
              strstr(log, "read_only") != NULL, "%s", log);
    cr_expect_eq(tl_count(log, "kind=transient"), 1,
                 "a read-only server must be logged once while it lasts:"
                 "\n%s", log);
    RT_ASSERT_SAME_ALL(my);
    rt_my_exec(my, "DROP USER '%s'@'localhost'", user);
}

/* The suppressed count reaches the log only on a later problem line: one
** per distinct message, and the same event at most once every 30 s. A lock
** wait that moves from one table to the other after more than 30 s is
** such a line (which table replay meets first is its business). An
** unchanging message is not logged again while it lasts; replay.recovered
** then carries the count (a_lock_wait_timeout_is_transient_...). */
Test(replay_errors, a_transient_error_past_the_30_s_window_logs_the_suppressed_count)
{
    MYSQL *my = rt_my(), *lk = rt_my_db(rt_db), *lj = rt_my_db(rt_db);
    int64_t saved, first_ms = 0;
    int first, second, k_first = 0;
    const char *log, *line, *then = "table k";
    long long n = -1;
    rt_proc p;

    rt_sql(rt_src, "CREATE TABLE k(id INTEGER PRIMARY KEY, v TEXT);"
                   "CREATE TABLE j(id INTEGER PRIMARY KEY, v TEXT);"
                   "INSERT INTO k VALUES (1, 'old');"
                   "INSERT INTO j VALUES (1, 'old');");
    rt_sync();
    rt_sql(rt_src, "BEGIN; UPDATE k SET v = 'new' WHERE id = 1;"
                   "UPDATE j SET v = 'new' WHERE id = 1; COMMIT;");
    rt_capture_once();
    saved = rt_my_int(my, "SELECT @@GLOBAL.innodb_lock_wait_timeout");
    rt_my_exec(lk, "BEGIN");
    rt_my_exec(lk, "SELECT * FROM k WHERE id = 1 FOR UPDATE");
    rt_my_exec(lj, "BEGIN");
    rt_my_exec(lj, "SELECT * FROM j WHERE id = 1 FOR UPDATE");
    rt_my_exec(my, "SET GLOBAL innodb_lock_wait_timeout = 1");
    /* nothing asserts until the setting is restored */
    rt_replay_start(&p, rt_url, "--retry-max-ms", "200", NULL);
    first = log_has(&p, "event=replay.retry", 20000);
    if (first) {
        first_ms = tl_now_ms();
        k_first = strstr(rt_log(&p), "table k") != NULL;
        then = k_first ? "table j" : "table k";
        tl_sleep_ms(32000);            /* past the 30 s window */
    }
    rt_my_exec(k_first ? lk : lj, "ROLLBACK");  /* now it waits for the other */
    second = first && log_has(&p, then, 10000);
    rt_my_exec(my, "SET GLOBAL innodb_lock_wait_timeout = %lld",
               (long long)saved);
    rt_my_exec(k_first ? lj : lk, "ROLLBACK");
    cr_assert(first && second, "first line after %lld ms:\n%s",
              (long long)(first_ms ? tl_now_ms() - first_ms : -1),
              rt_log(&p));
    cr_assert_eq(rt_wait_applied(my, "default", rt_jdir, 30000), 0, "%s",
                 rt_log(&p));
    cr_expect_eq(rt_stop(&p, 20000), 0, "%s", rt_log(&p));
    log = rt_log(&p);
    cr_expect_eq(tl_count(log, "event=replay.retry"), 2, "%s", log);
    line = strstr(log, then);
    while (line != NULL && line > log && line[-1] != '\n')
        line--;
    line = line ? strstr(line, "suppressed=") : NULL;
    cr_assert_not_null(line, "%s", log);
    cr_expect(sscanf(line, "suppressed=%lld", &n) == 1 && n > 0,
              "the retries in between were not counted:\n%s", log);
    RT_ASSERT_SAME_ALL(my);
}
