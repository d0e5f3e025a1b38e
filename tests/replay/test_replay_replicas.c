/*
** test_replay_replicas.c -- two replicas (different --replica names and
** target databases) read one journal independently: a replica that falls
** behind is not pruned away by capture, both converge to the source, and
** `sluice-inspect DIR stat` shows both with their acknowledged seqs.
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

TestSuite(replay_replicas, .init = rt_setup, .fini = rt_teardown,
          .timeout = 150);

/* acked_seq of replica `name` in `sluice-inspect --json stat`, -1 if the
** replica is not listed. */
static int64_t acked(const char *js, const char *name)
{
    char pat[100];
    const char *p, *a;

    snprintf(pat, sizeof(pat), "\"name\":\"%s\"", name);
    p = strstr(js, pat);
    if (p == NULL)
        return -1;
    a = strstr(p, "\"acked_seq\":");
    return a ? strtoll(a + 12, NULL, 10) : -1;
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
    a1 = acked(js, "r1");
    a2 = acked(js, "r2");
    cr_expect(a1 > a2 && a2 > 0, "acks r1=%" PRId64 " r2=%" PRId64 ": %s",
              a1, a2, js);
    cr_expect(first_seq(js) <= a2 + 1, "capture pruned records replica r2 "
              "has not applied: first_seq %" PRId64 ", r2 acked %" PRId64,
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
    rc = rt_wait_pid(w, 60000);
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
    cr_expect_eq(acked(js, "r1"), head, "stat: %s", js);
    cr_expect_eq(acked(js, "r2"), head, "stat: %s", js);
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
