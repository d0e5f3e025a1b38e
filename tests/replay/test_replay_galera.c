/*
** test_replay_galera.c -- sluice-replay into a real 3-node MariaDB Galera
** cluster (tests/harness/galera.sh, ctest fixture "galera", label
** "galera"): a host-list target URL, the node replay writes through
** killed with SIGKILL while an application commits, a graceful stop, a
** node rejoining, the whole cluster restarted, a frozen node (SIGSTOP)
** left by the timeouts, a burst of DDL under TOI (1213) retried through,
** a node outside the primary
** component (1047) passed over, a keyless table refused, and four sources
** into one cluster through a node failure.
**
** Each test starts with all three nodes Synced (a node an earlier test
** stopped is started again first) and ends with every node equal to the
** source (tests/replay/rt_compare.c). Waits follow observed state: the
** position row, wsrep state, log lines; limits only catch hangs.
**
** Consistent prefix, checked while nodes die: every source transaction
** moves an amount between two accounts of `acct`, so the sum of all
** balances is constant in every state the source had; a reader polling
** each live node must always see that sum (a half-applied group would
** break it).
*/
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt_util.h"

#define NODES 3
#define ACCOUNTS 10
#define START_BAL 1000

static char g_dir[RT_PATH];          /* the cluster's directory */
static char g_hosts[256];
static char g_sock[NODES + 1][RT_PATH];
static unsigned g_port[NODES + 1];

/* ---- the cluster ---- */

static void env_value(const char *env, const char *key, char *out,
                      size_t cap)
{
    const char *p = env;
    size_t n = strlen(key);

    out[0] = 0;
    while ((p = strstr(p, key)) != NULL) {
        if ((p == env || p[-1] == '\n') && p[n] == '=') {
            const char *v = p + n + 1, *e;
            if (*v == '\'')
                v++;
            e = strpbrk(v, "'\n");
            snprintf(out, cap, "%.*s", (int)(e ? e - v : (long)strlen(v)),
                     v);
            return;
        }
        p += n;
    }
}

static void load_env(void)
{
    char path[RT_PATH + 20], key[40], val[RT_PATH];
    const char *bd = getenv("SLUICE_BUILD_DIR");
    char *env;

    cr_assert(bd != NULL, "SLUICE_BUILD_DIR not set (run under ctest)");
    snprintf(g_dir, sizeof(g_dir), "%s/galera", bd);
    snprintf(path, sizeof(path), "%s/env", g_dir);
    env = tl_slurp(path, NULL);
    cr_assert(env != NULL, "no %s: the galera fixture did not start the "
              "cluster (ctest -L galera runs galera_start first)", path);
    env_value(env, "SLUICE_GALERA_HOSTS", g_hosts, sizeof(g_hosts));
    for (int n = 1; n <= NODES; n++) {
        snprintf(key, sizeof(key), "SLUICE_GALERA_SOCKET%d", n);
        env_value(env, key, g_sock[n], sizeof(g_sock[n]));
        snprintf(key, sizeof(key), "SLUICE_GALERA_PORT%d", n);
        env_value(env, key, val, sizeof(val));
        g_port[n] = (unsigned)strtoul(val, NULL, 10);
    }
    free(env);
    cr_assert(g_hosts[0] && g_port[3], "incomplete %s", path);
}

/* galera.sh ACTION [N [SIG]]: exit status; output in rt_base/galera.log */
static int gsh(const char *action, int node, const char *sig)
{
    char cmd[3 * RT_PATH], log[RT_PATH];
    const char *src = getenv("SLUICE_SOURCE_DIR");
    int rc;

    rt_path(log, sizeof(log), "galera.log");
    snprintf(cmd, sizeof(cmd), "bash '%s/tests/harness/galera.sh' %s '%s'"
             " %.0d %s >>'%s' 2>&1 </dev/null", src ? src : ".", action,
             g_dir, node, sig ? sig : "", log);
    rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

static void gsh_ok(const char *action, int node, const char *sig)
{
    char log[RT_PATH];

    if (gsh(action, node, sig) != 0) {
        rt_path(log, sizeof(log), "galera.log");
        cr_assert_fail("galera.sh %s %d failed:\n%.3000s", action, node,
                       tl_slurp(log, NULL));
    }
}

/* Root-less connection (the test user) to node n, database db or none;
** NULL when the node does not answer. */
static MYSQL *node_try(int n, const char *db)
{
    MYSQL *m = mysql_init(NULL);
    unsigned t = 5, rt = 60;

    if (m == NULL)
        return NULL;
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &t);
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &rt);
    if (mysql_real_connect(m, "localhost", "sluice", rt_password(), db, 0,
                           g_sock[n], 0) == NULL) {
        mysql_close(m);
        return NULL;
    }
    mysql_query(m, "SET time_zone = '+00:00', NAMES utf8mb4");
    mysql_query(m, "SET SESSION wsrep_sync_wait = 1");
    return m;
}

static MYSQL *node(int n, const char *db)
{
    MYSQL *m = node_try(n, db);

    cr_assert(m != NULL, "node %d does not answer", n);
    return m;
}

/* All three nodes up and Synced (an earlier test may have left one
** stopped), and a fresh database `db` on the cluster. */
static void cluster_ready(const char *db)
{
    MYSQL *m;

    load_env();
    for (int n = 1; n <= NODES; n++) {
        gsh_ok("startnode", n, NULL);
        /* a test that failed half-way may have left a node isolated */
        if ((m = node_try(n, NULL)) != NULL) {
            mysql_query(m, "SET GLOBAL wsrep_provider_options = "
                           "'gmcast.isolate=0'");
            mysql_close(m);
        }
    }
    gsh_ok("wait", NODES, NULL);
    m = node(1, NULL);
    rt_my_exec(m, "DROP DATABASE IF EXISTS `%s`", db);
    rt_my_exec(m, "CREATE DATABASE `%s` CHARACTER SET utf8mb4", db);
    mysql_close(m);
    /* the other nodes apply the CREATE in their own time: a test that
    ** connects to node 2 right away could find no such database (seen
    ** under load as "node 2 does not answer") */
    for (int n = 2; n <= NODES; n++) {
        int64_t deadline = tl_now_ms() + 60000;
        while ((m = node_try(n, db)) == NULL) {
            cr_assert(tl_now_ms() < deadline, "node %d never showed "
                      "database %s", n, db);
            tl_sleep_ms(100);
        }
        mysql_close(m);
    }
}

static void cluster_drop(const char *db)
{
    MYSQL *m = node_try(1, NULL);

    if (m == NULL)
        m = node_try(2, NULL);
    if (m != NULL) {
        mysql_query(m, "SET SESSION wsrep_sync_wait = 0");
        char sql[200];
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS `%s`", db);
        mysql_query(m, sql);
        mysql_close(m);
    }
}

static void url_of(char *out, size_t cap, const char *hosts, const char *db)
{
    snprintf(out, cap, "mariadb://sluice@%s/%s?timeout=20", hosts, db);
}

/* ---- the application ---- */

static void source_init(const char *path)
{
    rt_sql(path, "CREATE TABLE acct(id INTEGER PRIMARY KEY, bal INTEGER "
                 "NOT NULL);"
                 "CREATE TABLE ev(id INTEGER PRIMARY KEY, a INTEGER, "
                 "b INTEGER, note TEXT);");
    for (int i = 1; i <= ACCOUNTS; i++)
        rt_sqlf(path, "INSERT INTO acct VALUES (%d, %d)", i, START_BAL);
}

/* A forked application: transfers between accounts, one per
** transaction (BEGIN, read, write, COMMIT; busy timeout 1 s, retried as
** an application would), until `stopfile` exists; then _exit(0). */
static pid_t app_start(const char *path, const char *stopfile,
                       uint64_t seed)
{
    pid_t pid = rt_fork();
    struct stat sb;
    rt_rng rng;
    sqlite3 *db;

    if (pid != 0)
        return pid;
    rt_rng_seed(&rng, seed);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        _exit(2);
    sqlite3_busy_timeout(db, 1000);
    for (long i = 0; stat(stopfile, &sb) != 0; i++) {
        char sql[400];
        int a = 1 + (int)rt_rng_below(&rng, ACCOUNTS);
        int b = 1 + (int)rt_rng_below(&rng, ACCOUNTS);
        int x = 1 + (int)rt_rng_below(&rng, 50);
        snprintf(sql, sizeof(sql), "BEGIN IMMEDIATE;"
                 "UPDATE acct SET bal = bal - %d WHERE id = %d;"
                 "UPDATE acct SET bal = bal + %d WHERE id = %d;"
                 "INSERT INTO ev(a, b, note) VALUES (%d, %d, 'move %d');"
                 "COMMIT;", x, a, x, b, a, b, x);
        if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        if (i % 4 == 0)
            usleep(2000);
    }
    sqlite3_close(db);
    _exit(0);
}

/* The consistent-prefix check on one node: the balances add up (or the
** table is not there yet). 1 checked, 0 node not answering. */
static int prefix_ok(int n, const char *db)
{
    MYSQL *m = node_try(n, db);
    MYSQL_RES *r;
    MYSQL_ROW row;
    int checked = 0;

    if (m == NULL)
        return 0;
    if (mysql_query(m, "SELECT COUNT(*), COALESCE(SUM(bal), 0) FROM acct")
            == 0 && (r = mysql_store_result(m)) != NULL) {
        if ((row = mysql_fetch_row(r)) != NULL && strcmp(row[0], "0")) {
            cr_assert_eq(strtoll(row[1], NULL, 10), (long long)ACCOUNTS * START_BAL,
                         "node %d shows a state the source never had: %s "
                         "accounts hold %s (a half-applied group)", n,
                         row[0], row[1]);
            checked = 1;
        }
        mysql_free_result(r);
    }
    mysql_close(m);
    return checked;
}

/* The position a node shows, or -1 when it cannot tell now. A read on a
** node may be brute-force aborted (1213) by the DDL replay runs under TOI
** (CREATE TABLE on its first groups), or find no table yet (1146), or
** meet a node that is leaving (1047, 2013): none of these is a failure of
** replay, only no reading this time. */
static int64_t position_on(int n, const char *db, const char *replica)
{
    MYSQL *m = node_try(n, db);
    MYSQL_RES *r;
    MYSQL_ROW row;
    char er[200], sql[400];
    int64_t p = -1;

    if (m == NULL)
        return -1;
    mysql_real_escape_string(m, er, replica, (unsigned long)strlen(replica));
    snprintf(sql, sizeof(sql), "SELECT seq FROM sqlite_sluice_position "
             "WHERE replica = '%s'", er);
    if (mysql_query(m, sql) == 0 && (r = mysql_store_result(m)) != NULL) {
        if ((row = mysql_fetch_row(r)) != NULL && row[0] != NULL)
            p = strtoll(row[0], NULL, 10);
        mysql_free_result(r);
    }
    mysql_close(m);
    return p;
}

/* Wait until the position on a live node other than `skip` passes
** `after`, checking the prefix on every live node meanwhile. */
static int64_t wait_progress(const char *db, const char *replica,
                             int64_t after, int skip, int timeout_ms)
{
    int64_t deadline = tl_now_ms() + timeout_ms;

    for (;;) {
        for (int n = 1; n <= NODES; n++) {
            int64_t p;
            if (n == skip)
                continue;
            prefix_ok(n, db);
            p = position_on(n, db, replica);
            if (p > after)
                return p;
        }
        cr_assert(tl_now_ms() < deadline, "replay made no progress past "
                  "seq %lld within %d s", (long long)after,
                  timeout_ms / 1000);
        tl_sleep_ms(200);
    }
}

static void assert_nodes_equal(const char *src, const char *db,
                               const char *replica, const char *jdir)
{
    for (int n = 1; n <= NODES; n++) {
        MYSQL *m = node(n, db);
        char why[4096];
        cr_assert_eq(rt_wait_applied(m, replica, jdir, 300000), 0,
                     "node %d did not catch up", n);
        cr_assert_eq(rt_compare_all(src, m, why, sizeof(why)), 0,
                     "node %d differs from the source: %s", n, why);
        prefix_ok(n, db);
        mysql_close(m);
    }
}

/* The node replay writes through (sluice_replay_node). The exposition is
** refreshed between groups, at most once a second: one written before
** replay connected can still be served while a long group applies, so
** poll (60 s: a limit, not an expectation) until it names a node. */
static int node_in_use(const rt_proc *replay, int port)
{
    int64_t end = tl_now_ms() + 60000;
    int v;

    (void)replay;
    do {
        const char *text = rt_http_get(port, "/metrics");
        v = text ? (int)rt_metric(text, "sluice_replay_node", NULL) : -1;
        if (v >= 1)
            break;
        tl_sleep_ms(100);
    } while (tl_now_ms() < end);
    return v;
}

static double metric(int port, const char *name)
{
    const char *text = rt_http_get(port, "/metrics");
    return text ? rt_metric(text, name, NULL) : -1;
}

/* One source, its capture and replay (metrics on a free port), and the
** application writing into the source until finish() -- what most tests
** here run while they do something to the cluster. */
typedef struct pipeline {
    rt_proc cap, rep;
    char url[1024], stopfile[RT_PATH];
    pid_t app;
    int port;
} pipeline;

static void pipeline_start(pipeline *pl, uint64_t seed)
{
    cluster_ready(rt_db);
    source_init(rt_src);
    url_of(pl->url, sizeof(pl->url), g_hosts, rt_db);
    rt_capture_start(&pl->cap, NULL);
    rt_replay_start(&pl->rep, pl->url, "--metrics", "127.0.0.1:0",
                    "--retry-max-ms", "1000", NULL);
    pl->port = rt_metrics_port(&pl->rep, 60000);
    rt_path(pl->stopfile, sizeof(pl->stopfile), "app.stop");
    pl->app = app_start(rt_src, pl->stopfile, seed);
}

/* Stop the application; every node then equals the source. */
static void pipeline_settle(pipeline *pl)
{
    FILE *f = fopen(pl->stopfile, "w");

    cr_assert(f != NULL);
    fclose(f);
    cr_assert_eq(tl_wait(pl->app, 60000), 0, "the application failed");
    gsh_ok("wait", NODES, NULL);
    assert_nodes_equal(rt_src, rt_db, "default", rt_jdir);
}

/* Replay and capture stop cleanly; the database goes. */
static void pipeline_stop(pipeline *pl)
{
    cr_assert_eq(rt_stop(&pl->rep, 60000), 0, "%s", rt_log(&pl->rep));
    cr_assert_eq(rt_stop(&pl->cap, 60000), 0, "%s", rt_log(&pl->cap));
    cluster_drop(rt_db);
}

TestSuite(replay_galera, .init = rt_setup, .fini = rt_teardown,
          .timeout = 1500);

/* ---- tests ---- */

Test(replay_galera,
     killing_the_node_replay_writes_through_fails_over_exactly_once)
{
    pipeline pl;
    char replog[RT_PATH];
    int64_t pos = 0;
    int failovers_seen = 0;

    pipeline_start(&pl, 11);
    /* rounds: SIGKILL the node in use (it comes back by IST while
    ** replay goes on), then a graceful stop of the node in use.
    ** SLUICE_GALERA_ROUNDS=N: N-1 kills before the stop (each round costs
    ** a node rejoin, about a minute on a loaded 2-core machine) */
    const char *re = getenv("SLUICE_GALERA_ROUNDS");
    long rounds = re != NULL ? strtol(re, NULL, 10) : 2;

    if (rounds < 2)
        rounds = 2;
    for (int round = 0; round < rounds; round++) {
        int victim;
        pos = wait_progress(rt_db, "default", pos + 30, 0, 300000);
        victim = node_in_use(&pl.rep, pl.port);
        cr_assert(victim >= 1 && victim <= NODES, "no node in use "
                  "(sluice_replay_node %d):\n%s", victim, rt_log(&pl.rep));
        if (round < rounds - 1)
            gsh_ok("kill", victim, "KILL");
        else
            gsh_ok("stopnode", victim, NULL);
        /* groups go on through another node: progress past what the
        ** survivors held once the victim was gone */
        for (int n = 1; n <= NODES; n++) {
            int64_t p = n == victim ? -1 : position_on(n, rt_db, "default");
            if (p > pos)
                pos = p;
        }
        pos = wait_progress(rt_db, "default", pos + 30, victim, 300000);
        {
            /* /metrics is refreshed once a second */
            int64_t deadline = tl_now_ms() + 30000;
            while (node_in_use(&pl.rep, pl.port) == victim &&
                   tl_now_ms() < deadline)
                tl_sleep_ms(200);
        }
        cr_assert_neq(node_in_use(&pl.rep, pl.port), victim,
                      "replay still reports the stopped node");
        failovers_seen++;
        gsh_ok("startnode", victim, NULL);
    }
    pipeline_settle(&pl);
    cr_assert_geq(metric(pl.port, "sluice_replay_failovers_total"),
                  failovers_seen, "failovers not counted:\n%s",
                  rt_log(&pl.rep));
    rt_path(replog, sizeof(replog), "replay-metrics.txt");
    {
        /* the figures the closing note reports */
        FILE *f = fopen(replog, "w");
        const char *t = rt_http_get(pl.port, "/metrics");
        if (f != NULL) {
            fputs(t ? t : "", f);
            fclose(f);
        }
        fprintf(stderr, "galera failover: failovers=%.0f conflicts=%.0f "
                "commit_unknown=%.0f settled_committed=%.0f "
                "settled_rolled_back=%.0f passed_over=%.0f groups=%.0f\n",
                metric(pl.port, "sluice_replay_failovers_total"),
                metric(pl.port, "sluice_replay_conflicts_total"),
                metric(pl.port, "sluice_replay_commit_unknown_total"),
                metric(pl.port, "sluice_replay_commit_settled_committed_total"),
                metric(pl.port,
                       "sluice_replay_commit_settled_rolled_back_total"),
                metric(pl.port, "sluice_replay_nodes_passed_over_total"),
                metric(pl.port, "sluice_replay_groups_total"));
    }
    pipeline_stop(&pl);
}

Test(replay_galera, the_whole_cluster_restarted_under_replay)
{
    pipeline pl;
    int64_t pos, down_at;

    pipeline_start(&pl, 23);
    pos = wait_progress(rt_db, "default", 30, 0, 300000);
    /* n1, n2, then n3: n3 commits last and is the one safe to bootstrap */
    for (int n = 1; n <= NODES; n++)
        gsh_ok("stopnode", n, NULL);
    down_at = rt_journal_complete_seq(rt_jdir);
    {
        /* the outage is lag: the journal grows, replay stays up */
        int64_t deadline = tl_now_ms() + 120000;
        while (rt_journal_complete_seq(rt_jdir) < down_at + 50) {
            cr_assert(tl_now_ms() < deadline, "capture stopped journaling "
                      "while the cluster was down");
            tl_sleep_ms(200);
        }
    }
    cr_assert(rt_alive(&pl.rep), "replay exited while the cluster was "
              "down:\n%s", rt_log(&pl.rep));
    gsh_ok("startnode", NODES, NULL);      /* bootstraps a new primary */
    for (int n = 1; n < NODES; n++)
        gsh_ok("startnode", n, NULL);
    gsh_ok("wait", NODES, NULL);
    pos = wait_progress(rt_db, "default", down_at + 50, 0, 300000);
    cr_assert_gt(pos, down_at, "no group applied after the restart");
    pipeline_settle(&pl);
    cr_assert(tl_count(rt_log(&pl.rep), "event=replay.target_unavailable") +
              tl_count(rt_log(&pl.rep), "event=replay.connection_lost") >= 1,
              "replay never noticed the cluster was down:\n%s",
              rt_log(&pl.rep));
    pipeline_stop(&pl);
}

Test(replay_galera, a_frozen_node_is_left_behind_by_the_timeouts)
{
    pipeline pl;
    int64_t pos = 0, t0, took;
    int victim;

    pipeline_start(&pl, 31);
    pos = wait_progress(rt_db, "default", 30, 0, 300000);
    victim = node_in_use(&pl.rep, pl.port);
    cr_assert(victim >= 1 && victim <= NODES, "no node in use");
    gsh_ok("kill", victim, "STOP");
    t0 = tl_now_ms();
    for (int n = 1; n <= NODES; n++) {
        int64_t p = n == victim ? -1 : position_on(n, rt_db, "default");
        if (p > pos)
            pos = p;
    }
    pos = wait_progress(rt_db, "default", pos + 10, victim, 300000);
    took = tl_now_ms() - t0;
    fprintf(stderr, "galera frozen node: groups went on through another "
            "node %lld ms after SIGSTOP\n", (long long)took);
    gsh_ok("kill", victim, "CONT");
    if (gsh("wait", NODES, NULL) != 0) {
        /* evicted for good: restart it, as an operator would */
        gsh_ok("stopnode", victim, NULL);
        gsh_ok("startnode", victim, NULL);
        gsh_ok("wait", NODES, NULL);
    }
    pipeline_settle(&pl);
    cr_assert_geq(metric(pl.port, "sluice_replay_failovers_total"), 1,
                  "the frozen node was never left:\n%s", rt_log(&pl.rep));
    pipeline_stop(&pl);
}

Test(replay_galera, a_burst_of_ddl_on_another_node_is_retried_through)
{
    pipeline pl;
    int victim, other, ddl = 0;
    int64_t deadline;
    double conflicts = 0;
    MYSQL *m;

    pipeline_start(&pl, 47);
    wait_progress(rt_db, "default", 30, 0, 300000);
    victim = node_in_use(&pl.rep, pl.port);
    other = victim % NODES + 1;
    m = node(other, rt_db);
    /* until replay has met some aborts (a limit of 120 s, not an
    ** expectation: under load a burst of a few dozen does it) */
    deadline = tl_now_ms() + 120000;
    while ((conflicts = metric(pl.port, "sluice_replay_conflicts_total")) < 3 &&
           tl_now_ms() < deadline) {
        for (int i = 0; i < 10; i++, ddl++)
            rt_my_exec(m, "ALTER TABLE acct COMMENT = 'burst %d'", ddl);
        tl_sleep_ms(1100);                 /* /metrics: once a second */
    }
    mysql_close(m);
    fprintf(stderr, "galera ddl burst: %d ALTERs, %.0f conflicts retried\n",
            ddl, conflicts);
    cr_assert_geq(conflicts, 3, "%d ALTERs under TOI on node %d never "
                  "aborted replay's groups on node %d -- the test proved "
                  "nothing:\n%s", ddl, other, victim, rt_log(&pl.rep));
    pipeline_settle(&pl);
    pipeline_stop(&pl);
}

Test(replay_galera, a_node_outside_the_primary_component_is_passed_over)
{
    rt_proc p;
    char url[1024], hosts[256];
    MYSQL *m, *m2;
    int64_t ws0, ws1;
    int rc, i;

    cluster_ready(rt_db);
    source_init(rt_src);
    /* a snapshot of about 1 MiB: with ws_fragment=65536 below, its LOAD
    ** DATA is replicated in streaming fragments, and still lands whole */
    rt_sql(rt_src, "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 "
                   "FROM n WHERE x < 4000) INSERT INTO ev(a, b, note) "
                   "SELECT x, x * 3, printf('%0250d', x) FROM n");
    rt_capture_once();
    /* isolate node 1: it keeps accepting connections, but leaves the
    ** primary component and answers 1047 to queries */
    m = node(1, NULL);
    rt_my_exec(m, "SET GLOBAL wsrep_provider_options = 'gmcast.isolate=1'");
    for (i = 0; i < 600; i++) {
        MYSQL_RES *r;
        MYSQL_ROW row;
        int isolated = 0;
        if (mysql_query(m, "SHOW GLOBAL STATUS LIKE 'wsrep_cluster_status'")
                == 0 && (r = mysql_store_result(m)) != NULL) {
            row = mysql_fetch_row(r);
            isolated = row != NULL && row[1] != NULL &&
                       strcmp(row[1], "Primary") != 0;
            mysql_free_result(r);
        }
        if (isolated)
            break;
        tl_sleep_ms(200);
    }
    cr_assert_lt(i, 600, "node 1 stayed in the primary component");
    /* node 1 first in the list: replay must pass it over */
    snprintf(hosts, sizeof(hosts), "127.0.0.1:%u,127.0.0.1:%u,127.0.0.1:%u",
             g_port[1], g_port[2], g_port[3]);
    url_of(url, sizeof(url), hosts, rt_db);
    snprintf(url + strlen(url), sizeof(url) - strlen(url),
             "&ws_fragment=65536");
    m2 = node(2, NULL);
    ws0 = rt_my_int(m2, "SELECT VARIABLE_VALUE FROM information_schema."
                    "GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_REPLICATED'");
    rc = rt_replay_run(&p, url, NULL);
    ws1 = rt_my_int(m2, "SELECT VARIABLE_VALUE FROM information_schema."
                    "GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_REPLICATED'");
    mysql_close(m2);
    mysql_close(m);
    m = node(1, NULL);
    rt_my_exec(m, "SET GLOBAL wsrep_provider_options = 'gmcast.isolate=0'");
    mysql_close(m);
    cr_assert_eq(rc, 0, "replay failed:\n%s", rt_log(&p));
    /* ~1 MiB in 64 KiB fragments: many write sets, not one */
    cr_assert_geq(ws1 - ws0, 8, "the snapshot was not fragmented (%lld "
                  "write sets)", (long long)(ws1 - ws0));
    cr_assert(strstr(rt_log(&p), "event=replay.node_passed_over") != NULL &&
              strstr(rt_log(&p), "wsrep_cluster_status=non-Primary") != NULL,
              "node 1 was not passed over:\n%s", rt_log(&p));
    {
        char want[64];
        snprintf(want, sizeof(want), "node=127.0.0.1:%u", g_port[2]);
        cr_assert(strstr(rt_log(&p), want) != NULL, "not written through "
                  "node 2:\n%s", rt_log(&p));
    }
    gsh_ok("wait", NODES, NULL);
    assert_nodes_equal(rt_src, rt_db, "default", rt_jdir);
    cluster_drop(rt_db);
}

Test(replay_galera, a_keyless_table_of_the_user_is_refused_on_a_cluster)
{
    rt_proc p;
    char url[1024];
    MYSQL *m;
    int rc;

    cluster_ready(rt_db);
    rt_sql(rt_src, "CREATE TABLE loose(a INTEGER, b TEXT);"
                   "INSERT INTO loose VALUES (1, 'x'), (2, 'y');");
    m = node(2, rt_db);
    rt_my_exec(m, "CREATE TABLE loose (a BIGINT, b LONGTEXT)");
    mysql_close(m);
    rt_capture_once();
    url_of(url, sizeof(url), g_hosts, rt_db);
    rc = rt_replay_run(&p, url, NULL);
    cr_assert_neq(rc, 0, "a keyless table was written on Galera:\n%s",
                  rt_log(&p));
    cr_assert(strstr(rt_log(&p), "target table loose has no primary key")
              != NULL && strstr(rt_log(&p), "ADD PRIMARY KEY") != NULL,
              "no clear message:\n%s", rt_log(&p));
    m = node(1, rt_db);
    cr_assert_eq(rt_my_int(m, "SELECT COUNT(*) FROM loose"), 0);
    /* the way out the message names works */
    rt_my_exec(m, "ALTER TABLE loose ADD COLUMN id BIGINT NOT NULL "
                  "AUTO_INCREMENT PRIMARY KEY");
    mysql_close(m);
    rc = rt_replay_run(&p, url, NULL);
    cr_assert_eq(rc, 0, "%s", rt_log(&p));
    cluster_drop(rt_db);
}

/* Four SQLite sources, each with its own capture and journal, replay
** into one cluster: two into one database (different tables, replica
** names r0/r1), two into a database each (same table names). The node
** they write through is killed half-way. */
Test(replay_galera, four_sources_into_one_cluster_through_a_node_failure)
{
    enum { S = 4 };
    rt_proc cap[S], rep[S];
    char src[S][RT_PATH], jdir[S][RT_PATH], db[S][80], url[S][1024];
    char replica[S][8], table[S][8];

    cluster_ready(rt_db);
    for (int i = 0; i < S; i++) {
        char name[32];
        snprintf(name, sizeof(name), "s%d.db", i);
        rt_path(src[i], sizeof(src[i]), name);
        snprintf(name, sizeof(name), "j%d", i);
        rt_path(jdir[i], sizeof(jdir[i]), name);
        snprintf(replica[i], sizeof(replica[i]), "r%d", i);
        snprintf(table[i], sizeof(table[i]), i < 2 ? "t%d" : "t", i);
        if (i < 2)
            snprintf(db[i], sizeof(db[i]), "%s", rt_db);
        else
            snprintf(db[i], sizeof(db[i]), "%.40s_%d", rt_db, i);
        if (i >= 2) {
            MYSQL *m = node(1, NULL);
            rt_my_exec(m, "DROP DATABASE IF EXISTS `%s`", db[i]);
            rt_my_exec(m, "CREATE DATABASE `%s`", db[i]);
            mysql_close(m);
        }
        url_of(url[i], sizeof(url[i]), g_hosts, db[i]);
        rt_sqlf(src[i], "CREATE TABLE %s(id INTEGER PRIMARY KEY, site "
                "INTEGER, v TEXT)", table[i]);
        {
            const char *ca[] = { "--source", src[i], "--journal", jdir[i],
                                 NULL };
            rt_spawnv(&cap[i], rt_capture_bin(), ca, NULL);
            rt_wait_log(&cap[i], "event=capture.started", 1, 120000);
        }
        {
            const char *ra[] = { "--journal", jdir[i], "--target", url[i],
                                 "--replica", replica[i], "--retry-max-ms",
                                 "1000", NULL };
            rt_spawnv(&rep[i], rt_replay_bin(), ra, rt_password());
        }
    }
    for (int half = 0; half < 2; half++) {
        for (int k = 0; k < 40; k++)
            for (int i = 0; i < S; i++)
                rt_sqlf(src[i], "INSERT INTO %s(site, v) VALUES (%d, "
                        "'row %d of site %d'); UPDATE %s SET v = v || '+' "
                        "WHERE id %% 7 = %d", table[i], i, k, i, table[i],
                        k % 7);
        if (half == 0) {
            /* every replay has started writing: kill the node they all
            ** write through (the first of the list) */
            for (int i = 0; i < S; i++) {
                MYSQL *m = node(2, db[i]);
                cr_assert_eq(rt_wait_applied(m, replica[i], jdir[i],
                                             300000), 0, "%s",
                             rt_log(&rep[i]));
                mysql_close(m);
            }
            gsh_ok("kill", 1, "KILL");
        }
    }
    for (int i = 0; i < S; i++) {
        MYSQL *m = node(2, db[i]);
        cr_assert_eq(rt_wait_applied(m, replica[i], jdir[i], 300000), 0,
                     "source %d did not converge:\n%s", i, rt_log(&rep[i]));
        mysql_close(m);
    }
    gsh_ok("startnode", 1, NULL);
    gsh_ok("wait", NODES, NULL);
    for (int n = 1; n <= NODES; n++)
        for (int i = 0; i < S; i++) {
            MYSQL *m = node(n, db[i]);
            char why[4096];
            cr_assert_eq(rt_wait_applied(m, replica[i], jdir[i], 300000),
                         0);
            cr_assert_eq(rt_compare_table(src[i], table[i], m, table[i],
                                          why, sizeof(why)), 0,
                         "node %d, source %d: %s", n, i, why);
            /* positions never mixed: each replica's row is its own */
            cr_assert_eq(rt_position(m, replica[i]),
                         rt_journal_complete_seq(jdir[i]));
            mysql_close(m);
        }
    for (int i = 0; i < S; i++) {
        cr_assert_eq(rt_stop(&rep[i], 60000), 0, "%s", rt_log(&rep[i]));
        cr_assert_eq(rt_stop(&cap[i], 60000), 0, "%s", rt_log(&cap[i]));
    }
    for (int i = 2; i < S; i++)
        cluster_drop(db[i]);
    cluster_drop(rt_db);
}
