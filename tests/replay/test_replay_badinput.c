/*
** test_replay_badinput.c -- operator mistakes get a message that says
** what is wrong and a non-zero exit, quickly: malformed target URLs, a
** wrong password, an unknown database, an unreachable host (--once with a
** small --once-timeout-s), a user table whose key conflicts with the
** source's, and a target already fed from another journal.
*/
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rt_util.h"
#include "testdb.h"

TestSuite(replay_badinput, .init = rt_setup, .fini = rt_teardown,
          .timeout = 120);

static void small_source(void)
{
    rt_sql(rt_src, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
                   "INSERT INTO t VALUES (1, 'one');");
    rt_capture_once();
}

/* Run replay --once with args and password; exit status, log in *log. */
static int replay_with(const char *password, const char **log,
                       int timeout_ms, const char *const *args)
{
    const char *argv[24] = { "--journal", rt_jdir, "--once" };
    rt_proc p;
    int n = 3, rc;

    for (; args[n - 3] != NULL; n++)
        argv[n] = args[n - 3];
    argv[n] = NULL;
    rt_spawnv(&p, rt_replay_bin(), argv, password);
    rc = rt_wait(&p, timeout_ms);
    *log = rt_log(&p);
    return rc;
}

static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return 1;
    return 0;
}

Test(replay_badinput, malformed_urls_are_refused_naming_what_is_wrong)
{
    static const struct {
        const char *url, *says;
    } bad[] = {
        { "http://sluice@localhost/db", "mariadb://" },
        { "mariadb://sluice@localhost", "database" },
        { "mariadb://localhost/db", "user" },
        { "mariadb://sluice@localhost:99999/db", "port" },
        { "mariadb://sluice@localhost:abc/db", "port" },
        { "mariadb://sluice@localhost/db?sock=/x", "sock" },
        { "mariadb://sluice@localhost/db?tls=maybe", "tls" },
        { "mariadb://sluice@[::1/db", "[" },
        { "mariadb://sluice%zz@localhost/db", "escape" },
        { "", "mariadb://" },
        /* Galera host lists and their parameters */
        { "mariadb://sluice@h1:3306,,h3:3306/db", "empty host" },
        { "mariadb://sluice@h1:3306,h2:0/db", "port" },
        { "mariadb://sluice@h1,h2/db?socket=/x", "socket" },
        { "mariadb://sluice@h1/db?timeout=0", "timeout" },
        { "mariadb://sluice@h1/db?ws_fragment=-5", "ws_fragment" },
        { "mariadb://sluice@[::1]x,h2/db", "after ]" },
    };

    small_source();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *args[] = { "--target", bad[i].url, NULL };
        const char *log;
        int64_t t0 = tl_now_ms();
        int rc = replay_with(rt_password(), &log, 10000, args);

        cr_expect(rc > 0 && rc < 128, "URL '%s': exit %d", bad[i].url, rc);
        cr_expect(tl_now_ms() - t0 < 5000, "URL '%s' took %lld ms",
                  bad[i].url, (long long)(tl_now_ms() - t0));
        cr_expect(contains_ci(log, "url") && contains_ci(log, bad[i].says),
                  "URL '%s': message does not say what is wrong "
                  "(expected a mention of '%s'):\n%s", bad[i].url,
                  bad[i].says, log);
    }
}

Test(replay_badinput, a_missing_target_or_journal_option_is_a_usage_error)
{
    const char *a1[] = { NULL };
    const char *log;
    int rc;

    rc = replay_with(NULL, &log, 10000, a1);
    cr_expect_eq(rc, 64, "no --target: exit %d:\n%s", rc, log);
    cr_expect(strstr(log, "--target") != NULL, "%s", log);
}

Test(replay_badinput, a_wrong_password_fails_once_with_a_message_naming_the_access_problem)
{
    const char *args[] = { "--target", rt_url, NULL };
    int64_t t0;
    const char *log;
    int rc;

    small_source();
    t0 = tl_now_ms();
    rc = replay_with("not-the-password", &log, 30000, args);
    cr_expect(rc > 0 && rc < 128, "exit %d:\n%s", rc, log);
    cr_expect(tl_now_ms() - t0 < 10000, "took %lld ms to give up on bad "
              "credentials", (long long)(tl_now_ms() - t0));
    cr_expect(contains_ci(log, "access denied"), "%s", log);
    cr_expect(strstr(log, "not-the-password") == NULL,
              "the password appears in the log:\n%s", log);
    /* no password at all: the same, not a hang */
    rc = replay_with(NULL, &log, 30000, args);
    cr_expect(rc > 0 && rc < 128, "no password: exit %d:\n%s", rc, log);
    cr_expect(contains_ci(log, "access denied"), "%s", log);
}

Test(replay_badinput, an_unknown_database_fails_naming_it)
{
    char url[RT_PATH + 200];
    const char *args[] = { "--target", url, NULL };
    const char *log;
    int rc;

    small_source();
    rt_url_for(url, sizeof(url), tdb_config_get()->socket,
               "rt_no_such_database_here");
    rc = replay_with(rt_password(), &log, 30000, args);
    cr_expect(rc > 0 && rc < 128, "exit %d:\n%s", rc, log);
    cr_expect(strstr(log, "rt_no_such_database_here") != NULL &&
              contains_ci(log, "unknown database"), "%s", log);
}

Test(replay_badinput, an_unreachable_host_gives_up_after_once_timeout)
{
    const char *args[] = { "--target",
                           "mariadb://sluice@127.0.0.1:1/db",
                           "--once-timeout-s", "2", "--retry-max-ms", "200",
                           NULL };
    int64_t t0;
    const char *log;
    int rc;

    small_source();
    t0 = tl_now_ms();
    rc = replay_with(rt_password(), &log, 30000, args);
    cr_expect(rc > 0 && rc < 128, "exit %d:\n%s", rc, log);
    cr_expect(tl_now_ms() - t0 >= 1500 && tl_now_ms() - t0 < 12000,
              "gave up after %lld ms (--once-timeout-s 2)",
              (long long)(tl_now_ms() - t0));
    cr_expect(strstr(log, "127.0.0.1:1") != NULL, "the host is not named:"
              "\n%s", log);
    cr_expect(tl_count(log, "level=error") <= 3, "one line per retry?\n%s",
              log);
}

Test(replay_badinput, a_missing_socket_gives_up_after_once_timeout)
{
    char url[RT_PATH + 200], sock[RT_PATH + 20];
    const char *args[] = { "--target", url, "--once-timeout-s", "1", NULL };
    const char *log;
    int rc;

    small_source();
    rt_path(sock, sizeof(sock), "no-server.sock");
    rt_url_for(url, sizeof(url), sock, rt_db);
    rc = replay_with(rt_password(), &log, 30000, args);
    cr_expect(rc > 0 && rc < 128, "exit %d:\n%s", rc, log);
    cr_expect(strstr(log, "no-server.sock") != NULL, "%s", log);
}

Test(replay_badinput, a_user_table_without_a_key_on_the_source_key_is_refused_clearly)
{
    const char *args[] = { "--target", rt_url, NULL };
    const char *log;
    int rc;

    rt_my_exec(rt_my(), "CREATE TABLE t (id INT, v VARCHAR(10))");
    small_source();
    rc = replay_with(rt_password(), &log, 30000, args);
    cr_expect(rc > 0 && rc < 128, "exit %d:\n%s", rc, log);
    cr_expect(strstr(log, "t") != NULL && contains_ci(log, "key") &&
              strstr(log, "id") != NULL, "the message does not name the "
              "table and its missing key:\n%s", log);
    cr_expect_eq(rt_my_int(rt_my(), "SELECT COUNT(*) FROM t"), 0);
}

Test(replay_badinput, a_user_table_keyed_on_other_columns_is_refused_clearly)
{
    const char *args[] = { "--target", rt_url, NULL };
    const char *log;
    int rc;

    rt_my_exec(rt_my(), "CREATE TABLE t (id INT, v VARCHAR(10) PRIMARY KEY)");
    small_source();
    rc = replay_with(rt_password(), &log, 30000, args);
    cr_expect(rc > 0 && rc < 128, "exit %d:\n%s", rc, log);
    cr_expect(contains_ci(log, "key") && strstr(log, "(id)") != NULL,
              "%s", log);
}

Test(replay_badinput, a_target_fed_from_another_journal_is_refused)
{
    char other_src[RT_PATH + 20], other_j[RT_PATH + 20];
    const char *log;
    int rc;

    small_source();
    rt_replay_once();
    /* another source, another journal, the same target and replica */
    rt_path(other_src, sizeof(other_src), "other.db");
    rt_path(other_j, sizeof(other_j), "other-journal");
    rt_sql(other_src, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
                      "INSERT INTO t VALUES (2, 'two');");
    {
        const char *a[] = { "--source", other_src, "--journal", other_j,
                            "--once", NULL };
        rt_proc p;
        rt_spawnv(&p, rt_capture_bin(), a, NULL);
        cr_assert_eq(rt_wait(&p, 30000), 0);
    }
    {
        const char *a[] = { "--journal", other_j, "--target", rt_url,
                            "--once", NULL };
        rt_proc p;
        rt_spawnv(&p, rt_replay_bin(), a, rt_password());
        rc = rt_wait(&p, 30000);
        log = rt_log(&p);
    }
    cr_expect(rc > 0 && rc < 128, "exit %d:\n%s", rc, log);
    cr_expect(contains_ci(log, "journal"), "%s", log);
    RT_ASSERT_SAME_TABLE(rt_my(), "t");     /* untouched */
}
