/*
** test_replay_replicas.c -- two replicas (different --replica names and
** target databases) read one journal independently: a replica that falls
** behind is not pruned away by capture, both converge to the source, and
** `sluice-inspect DIR stat` shows both with their acknowledged seqs.
** A replay that fails at start registers no replica (it would hold back
** pruning for good); `sluice-inspect DIR replicas` lists the replicas and
** `sluice-replay --unregister` drops one.
*/
#include <criterion/criterion.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt_util.h"
#include "testdb.h"
#include "sluice/journal.h"

TestSuite(replay_replicas, .init = rt_setup, .fini = rt_teardown,
          .timeout = 150);

/* applied_seq of replica `name` in `sluice-inspect --json stat`, -1 if the
** replica is not listed. */
static int64_t applied_of(const char *js, const char *name)
{
    char pat[100];
    const char *p, *a;

    snprintf(pat, sizeof(pat), "\"name\":\"%s\"", name);
    p = strstr(js, pat);
    if (p == NULL)
        return -1;
    a = strstr(p, "\"applied_seq\":");
    return a ? strtoll(a + strlen("\"applied_seq\":"), NULL, 10) : -1;
}

static int64_t first_seq(const char *js)
{
    const char *a = strstr(js, "\"first_seq\":");
    return a ? strtoll(a + 12, NULL, 10) : -1;
}

static int replay_replica(const char *url, const char *replica)
{
    rt_proc p;
    int rc = rt_replay_run(&p, url, "--replica", replica, NULL);

    cr_assert_eq(rc, 0, "replica %s exited %d:\n%s", replica, rc,
                 rt_log(&p));
    return rc;
}

static void writer(int from, int n)
{
    sqlite3 *db;
    char sql[300];
    int rc = 0;

    if (sqlite3_open(rt_src, &db) != SQLITE_OK)
        _exit(2);
    sqlite3_busy_timeout(db, 5000);
    for (int i = from; i < from + n && rc == 0; i++) {
        snprintf(sql, sizeof(sql),
                 "BEGIN; INSERT INTO t VALUES (%d, 'w%d', %d.5);"
                 "UPDATE t SET n = n + 1 WHERE id = %d;"
                 "DELETE FROM t WHERE id = %d; COMMIT;",
                 i, i, i, 1 + i % 30, i - 7);
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
        if (i % 8 == 0)
            usleep(1000);
    }
    sqlite3_close(db);
    _exit(rc == SQLITE_OK ? 0 : 1);
}

Test(replay_replicas, two_replicas_read_one_journal_independently_and_both_converge)
{
    char db2[80], url2[RT_PATH + 200];
    const char *js;
    MYSQL *my1 = rt_my(), *my2;
    rt_proc cap, r1, r2;
    int64_t a1, a2, head;
    pid_t w;
    int rc;

    snprintf(db2, sizeof(db2), "%.50s_r2", rt_db);
    rt_db_create(db2);
    rt_url_for(url2, sizeof(url2), tdb_config_get()->socket, db2);
    my2 = rt_my_db(db2);

    rt_sql(rt_src, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, n REAL);"
                   "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1"
                   " FROM s WHERE i < 30)"
                   " INSERT INTO t SELECT i, 'v' || i, i FROM s;");
    rt_capture_once();
    replay_replica(rt_url, "r1");
    replay_replica(url2, "r2");
    RT_ASSERT_SAME_ALL(my1);
    RT_ASSERT_SAME_ALL(my2);

    /* r2 falls behind while capture keeps journaling (and pruning) */
    for (int round = 0; round < 3; round++) {
        rt_sqlf(rt_src, "UPDATE t SET v = v || '%d'; INSERT INTO t VALUES"
                        " (%d, 'r', 0);", round, 1000 + round);
        rt_capture_once();
        replay_replica(rt_url, "r1");
    }
    js = rt_inspect_stat_json(rt_jdir);
    a1 = applied_of(js, "r1");
    a2 = applied_of(js, "r2");
    cr_expect(a1 > a2 && a2 > 0, "acks r1=%" PRId64 " r2=%" PRId64 ": %s",
              a1, a2, js);
    cr_expect(first_seq(js) <= a2 + 1, "capture pruned records replica r2 "
              "has not applied: first_seq %" PRId64 ", r2 applied %" PRId64,
              first_seq(js), a2);
    replay_replica(url2, "r2");
    RT_ASSERT_SAME_ALL(my2);

    /* both running continuously beside a writer */
    rt_capture_start(&cap, "--poll-ms", "2", NULL);
    rt_replay_start(&r1, rt_url, "--replica", "r1", "--poll-ms", "2", NULL);
    rt_replay_start(&r2, url2, "--replica", "r2", "--poll-ms", "2", NULL);
    w = rt_fork();
    if (w == 0)
        writer(2000, 400);
    rc = tl_wait(w, 60000);
    cr_assert_eq(rc, 0, "writer failed (%d)", rc);
    rc = rt_stop(&cap, 20000);
    cr_assert_eq(rc, 0, "capture exited %d: %s", rc, rt_log(&cap));
    rt_capture_once();
    cr_assert_eq(rt_wait_applied(my1, "r1", rt_jdir, 60000), 0,
                 "r1 did not converge: %s", rt_log(&r1));
    cr_assert_eq(rt_wait_applied(my2, "r2", rt_jdir, 60000), 0,
                 "r2 did not converge: %s", rt_log(&r2));
    cr_expect_eq(rt_stop(&r1, 20000), 0, "%s", rt_log(&r1));
    cr_expect_eq(rt_stop(&r2, 20000), 0, "%s", rt_log(&r2));
    RT_ASSERT_SAME_ALL(my1);
    RT_ASSERT_SAME_ALL(my2);
    cr_expect_eq(rt_position(my1, "r2"), -1, "r2's position is in r1's "
                 "target");
    cr_expect_eq(rt_position(my2, "r1"), -1, "r1's position is in r2's "
                 "target");

    head = rt_journal_complete_seq(rt_jdir);
    js = rt_inspect_stat_json(rt_jdir);
    cr_expect_eq(applied_of(js, "r1"), head, "stat: %s", js);
    cr_expect_eq(applied_of(js, "r2"), head, "stat: %s", js);
    {
        const char *argv[] = { rt_jdir, "stat", NULL };
        rt_proc p;
        const char *out;
        rt_spawnv(&p, rt_inspect_bin(), argv, NULL);
        cr_assert_eq(rt_wait(&p, 30000), 0);
        out = rt_log(&p);
        cr_expect(strstr(out, "r1") != NULL && strstr(out, "r2") != NULL,
                  "sluice-inspect stat does not show both replicas:\n%s",
                  out);
    }
}

static const char *inspect_replicas(int json)
{
    const char *argv[] = { json ? "--json" : rt_jdir, json ? rt_jdir
                                                           : "replicas",
                           json ? "replicas" : NULL, NULL };
    rt_proc p;
    int rc;

    rt_spawnv(&p, rt_inspect_bin(), argv, NULL);
    rc = rt_wait(&p, 30000);
    cr_assert_eq(rc, 0, "sluice-inspect replicas exited %d: %s", rc,
                 rt_log(&p));
    return rt_log(&p);
}

static int unregister(const char *name)
{
    const char *argv[] = { "--journal", rt_jdir, "--replica", name,
                           "--unregister", NULL };
    rt_proc p;

    rt_spawnv(&p, rt_replay_bin(), argv, NULL);
    return rt_wait(&p, 30000);
}

Test(replay_replicas, a_replay_that_fails_at_start_registers_nothing_and_a_replica_can_be_dropped)
{
    jr_journal_opts o = JR_JOURNAL_OPTS_INIT;
    jr_journal *j = NULL;
    jr_err err = { 0 };
    char bad[RT_PATH + 300];
    const char *out;
    rt_proc p;
    int rc;

    rt_sql(rt_src, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
                   "INSERT INTO t VALUES (1, 'a');");
    rt_capture_once();
    replay_replica(rt_url, "r1");
    rt_sql(rt_src, "INSERT INTO t VALUES (2, 'b');");
    rt_capture_once();
    replay_replica(rt_url, "r1");
    /* every record r1 applied leaves the journal */
    cr_assert_eq(jr_journal_open(&j, rt_jdir, &o, &err), JR_OK, "%s",
                 err.msg);
    cr_assert_eq(jr_journal_prune(j, -1, NULL, &err), JR_OK, "%s", err.msg);
    jr_journal_close(j);
    rt_sql(rt_src, "INSERT INTO t VALUES (3, 'c');");
    rt_capture_once();
    cr_assert(first_seq(rt_inspect_stat_json(rt_jdir)) > 1);

    /* r2 would start at seq 1, which is gone: a permanent error */
    rc = rt_replay_run(&p, rt_url, "--replica", "r2", NULL);
    cr_assert(rc > 0 && rc < 128, "%d\n%s", rc, rt_log(&p));
    cr_expect(strstr(rt_log(&p), "pruned") != NULL, "%s", rt_log(&p));
    /* r3 cannot even log in */
    snprintf(bad, sizeof(bad), "%s", rt_url);
    {
        const char *argv[] = { "--journal", rt_jdir, "--target", bad,
                               "--replica", "r3", "--once", NULL };
        rt_spawnv(&p, rt_replay_bin(), argv, "wrong password");
        rc = rt_wait(&p, 30000);
    }
    cr_assert(rc > 0 && rc < 128, "%d\n%s", rc, rt_log(&p));
    out = inspect_replicas(0);
    cr_expect(strstr(out, "r1") != NULL, "%s", out);
    cr_expect(strstr(out, "r2") == NULL && strstr(out, "r3") == NULL,
              "a replay that never started holds back pruning:\n%s", out);
    out = inspect_replicas(1);
    cr_expect(strstr(out, "{\"name\":\"r1\",\"applied_seq\":") != NULL,
              "%s", out);
    /* dropping r1: pruning no longer waits for it */
    cr_expect_eq(unregister("r1"), 0);
    out = inspect_replicas(0);
    cr_expect(strstr(out, "r1") == NULL, "%s", out);
    cr_expect(strstr(out, "no replica registered") != NULL, "%s", out);
    cr_expect_eq(unregister("r1"), 1, "dropping an unknown replica must "
                 "say so");
}

static void keyless_writer(int n)
{
    sqlite3 *db;
    char sql[200];
    int rc = 0;

    if (sqlite3_open(rt_src, &db) != SQLITE_OK)
        _exit(2);
    sqlite3_busy_timeout(db, 5000);
    for (int i = 0; i < n && rc == 0; i++) {
        snprintf(sql, sizeof(sql), "INSERT INTO lg VALUES ('row %d', %d);",
                 i, i);
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
        usleep(2000);
    }
    sqlite3_close(db);
    _exit(rc == SQLITE_OK ? 0 : 1);
}

Test(replay_replicas, two_replays_with_one_replica_name_never_apply_a_group_twice)
{
    MYSQL *my = rt_my();
    rt_proc cap, a, b;
    pid_t w;

    /* a keyless user table: its inserts are not idempotent, so a group
    ** applied twice leaves duplicate rows */
    rt_my_exec(my, "CREATE TABLE lg (msg VARCHAR(40), n INT)");
    rt_sql(rt_src, "CREATE TABLE lg(msg TEXT, n INT);");
    rt_sync();
    rt_capture_start(&cap, "--poll-ms", "2", NULL);
    rt_replay_start(&a, rt_url, "--poll-ms", "1", NULL);
    rt_replay_start(&b, rt_url, "--poll-ms", "1", NULL);
    w = rt_fork();
    if (w == 0)
        keyless_writer(300);
    cr_assert_eq(tl_wait(w, 60000), 0, "writer failed");
    cr_assert_eq(rt_stop(&cap, 20000), 0, "%s", rt_log(&cap));
    rt_capture_once();
    cr_assert_eq(rt_wait_applied(my, "default", rt_jdir, 60000), 0,
                 "%s\n%s", rt_log(&a), rt_log(&b));
    cr_expect_eq(rt_stop(&a, 20000), 0, "%s", rt_log(&a));
    cr_expect_eq(rt_stop(&b, 20000), 0, "%s", rt_log(&b));
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM lg"), 300,
                 "a group was applied twice:\n%s\n%s", rt_log(&a),
                 rt_log(&b));
    RT_ASSERT_SAME_ALL(my);
}
