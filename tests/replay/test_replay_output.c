/*
** test_replay_output.c -- output a program can parse, whatever the names:
** tables and columns named with quotes, backslashes, newlines, '=' and
** spaces, non-ASCII and non-UTF-8 bytes, in a journal directory whose own
** name is as hostile, go through sluice-capture, sluice-replay and
** sluice-inspect, and
**   - every line either program writes to stderr parses as logfmt
**     (tests/lib/tl_output.c, written apart from sl_log.c) and none
**     needed the logger's fallback for a raw value (no fields=);
**   - the names read back exactly from the lines that carry them;
**   - every /metrics exposition and `sluice-inspect DIR metrics` is valid
**     Prometheus text;
**   - the target still equals the source row by row.
*/
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_util.h"
#include "tl_output.h"

TestSuite(replay_output, .init = rt_setup, .fini = rt_teardown,
          .timeout = 180);

#define T_QUOTE "we\"ird = name"        /* SQL: "we""ird = name" */
#define T_NL    "new\nline"

/* Every line of a process's output parses; returns how many. */
static int all_logfmt(const rt_proc *p, const char *who)
{
    const char *log = rt_log(p);
    char why[1024];
    int n = tl_logfmt_text(log, strlen(log), why, sizeof(why));

    cr_assert_geq(n, 1, "%s: a line is not logfmt: %s", who, why);
    cr_assert_null(strstr(log, " fields="), "%s printed a raw value (the "
                   "logger had to escape the whole line):\n%s", who, log);
    return n;
}

/* Does some line of log have event=`event` and key=`want` (decoded)? */
static int has_field(const char *log, const char *event, const char *key,
                     const char *want)
{
    const char *line = log;
    int found = 0;

    while (*line && !found) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        char *ev = tl_logfmt_get(line, len, "event");
        char *v = tl_logfmt_get(line, len, key);

        found = ev && v && strcmp(ev, event) == 0 && strcmp(v, want) == 0;
        free(ev);
        free(v);
        line += len + (nl != NULL);
    }
    return found;
}

/* The port a program logged for its /metrics endpoint. */
static int metrics_port(rt_proc *p, const char *event)
{
    int64_t deadline = tl_now_ms() + 30000;

    for (;;) {
        const char *log = rt_log(p), *line = strstr(log, event);
        if (line != NULL) {
            const char *nl = strchr(line, '\n');
            char *v;
            while (line > log && line[-1] != '\n')
                line--;
            v = tl_logfmt_get(line, nl ? (size_t)(nl - line)
                                       : strlen(line), "port");
            if (v != NULL) {
                int port = (int)strtol(v, NULL, 10);
                free(v);
                return port;
            }
        }
        cr_assert(rt_alive(p), "exited (%d):\n%s", p->status, log);
        cr_assert(tl_now_ms() < deadline, "no %s line:\n%s", event, log);
        tl_sleep_ms(20);
    }
}

static void assert_metrics_valid(int port, const char *who)
{
    char *resp = tl_http_get(port, "/metrics"), why[1024];
    const char *body = tl_http_body(resp);

    cr_assert_not_null(body, "%s: no answer on port %d", who, port);
    cr_assert_eq(tl_prom_valid(body, strlen(body), why, sizeof(why)), 0,
                 "%s /metrics: %s", who, why);
    cr_assert_not_null(strstr(body, "db=\"j \\\"q\\\"\\\\ =x\\ny\xef\xbf\xbd"
                              "\""), "%s: the db label is not the escaped "
                              "directory name:\n%s", who, body);
    free(resp);
}

static void hostile_source(void)
{
    rt_sql(rt_src,
           "CREATE TABLE \"we\"\"ird = name\"(id INTEGER PRIMARY KEY,"
           " \"col \"\"q\"\"\" TEXT, \"a=b c\" INT);"
           "CREATE TABLE \"back\\slash\"(k TEXT PRIMARY KEY,"
           " \"v\\\" BLOB);"
           "CREATE TABLE \"" T_NL "\"(id INTEGER PRIMARY KEY, v TEXT);"
           "CREATE TABLE \"caf\xc3\xa9 \xe2\x82\xac\"(id INTEGER PRIMARY KEY,"
           " \"t\xc3\xa9\" TEXT);"
           "INSERT INTO \"we\"\"ird = name\" VALUES (1, 'a \"b\" =c', 1),"
           " (2, 'line\nbreak', 2);"
           "INSERT INTO \"back\\slash\" VALUES ('k\\1', x'00ff'),"
           " ('k=2', NULL);"
           "INSERT INTO \"" T_NL "\" VALUES (1, 'x');"
           "INSERT INTO \"caf\xc3\xa9 \xe2\x82\xac\" VALUES (1, '\xe2\x82\xac');");
}

Test(replay_output, hostile_names_give_logfmt_lines_and_valid_metrics_end_to_end)
{
    rt_proc cap, rep, ins;
    const char *iargv[] = { rt_jdir, "metrics", NULL };
    char why[1024];
    const char *body;
    int cport, rport;

    /* the journal directory's name becomes the db label */
    cr_assert_lt(strlen(rt_base), 400);
    snprintf(rt_jdir, sizeof(rt_jdir), "%.400s/j \"q\"\\ =x\ny\xff", rt_base);
    hostile_source();
    rt_capture_start(&cap, "--poll-ms", "2", "--log-level", "debug",
                     "--metrics", "127.0.0.1:0", NULL);
    cport = metrics_port(&cap, "event=capture.metrics");
    rt_replay_start(&rep, rt_url, "--poll-ms", "2", "--log-level", "debug",
                    "--metrics", "127.0.0.1:0", NULL);
    rport = metrics_port(&rep, "event=replay.metrics");
    cr_assert_eq(rt_wait_applied(rt_my(), "default", rt_jdir, 60000), 0,
                 "replay did not catch up:\n%s", rt_log(&rep));
    rt_sql(rt_src,
           "UPDATE \"we\"\"ird = name\" SET \"a=b c\" = 10 WHERE id = 1;"
           "DELETE FROM \"back\\slash\" WHERE k = 'k=2';"
           "INSERT INTO \"" T_NL "\" VALUES (2, 'y');");
    tl_sleep_ms(50);
    cr_assert_eq(rt_wait_applied(rt_my(), "default", rt_jdir, 60000), 0,
                 "replay did not catch up:\n%s", rt_log(&rep));
    RT_ASSERT_SAME_ALL(rt_my());
    tl_sleep_ms(1100);                /* /metrics is refreshed each second */
    assert_metrics_valid(cport, "capture");
    assert_metrics_valid(rport, "replay");
    cr_assert_eq(rt_stop(&rep, 20000), 0, "%s", rt_log(&rep));
    cr_assert_eq(rt_stop(&cap, 20000), 0, "%s", rt_log(&cap));

    all_logfmt(&cap, "sluice-capture");
    all_logfmt(&rep, "sluice-replay");
    cr_expect(has_field(rt_log(&cap), "capture.table_installed", "table",
                        T_QUOTE), "no line names table " T_QUOTE ":\n%s",
              rt_log(&cap));
    cr_expect(has_field(rt_log(&cap), "capture.table_installed", "table",
                        T_NL), "no line names the newline table:\n%s",
              rt_log(&cap));
    cr_expect(has_field(rt_log(&cap), "capture.started", "journal",
                        rt_jdir), "the journal's path does not read back:"
              "\n%s", rt_log(&cap));

    rt_spawnv(&ins, rt_inspect_bin(), iargv, NULL);
    cr_assert_eq(rt_wait(&ins, 30000), 0, "%s", rt_log(&ins));
    body = rt_log(&ins);
    cr_assert_eq(tl_prom_valid(body, strlen(body), why, sizeof(why)), 0,
                 "sluice-inspect metrics: %s", why);
}

Test(replay_output, a_table_name_that_is_not_utf8_is_refused_in_a_line_that_parses)
{
    rt_proc rep;
    const char *log;
    int rc, n;

    rt_sql(rt_src, "CREATE TABLE ok(id INTEGER PRIMARY KEY);"
                   "CREATE TABLE \"bad\xff\xfe name\"(id INTEGER PRIMARY KEY,"
                   " \"c\xc3\" TEXT);"
                   "INSERT INTO \"bad\xff\xfe name\" VALUES (1, 'v');");
    {
        const char *argv[] = { "--source", rt_src, "--journal", rt_jdir,
                               "--once", NULL };
        rt_proc cap;
        rt_spawnv(&cap, rt_capture_bin(), argv, NULL);
        rc = rt_wait(&cap, 60000);
        cr_assert_eq(rc, 0, "capture exited %d:\n%s", rc, rt_log(&cap));
        all_logfmt(&cap, "sluice-capture");
        cr_expect(has_field(rt_log(&cap), "capture.table_installed", "table",
                            "bad\xff\xfe name"), "the name does not read "
                  "back byte for byte:\n%s", rt_log(&cap));
    }
    rc = rt_replay_run(&rep, rt_url, NULL);
    log = rt_log(&rep);
    n = all_logfmt(&rep, "sluice-replay");
    cr_assert_neq(rc, 0, "replay accepted a name MariaDB cannot hold:\n%s",
                  log);
    cr_assert_geq(n, 2);
    cr_assert_not_null(strstr(log, "level=error"), "%s", log);
    cr_assert(has_field(log, "replay.failed", "msg", "table bad\xff\xfe "
                        "name: MariaDB cannot take this table name: it is "
                        "not valid UTF-8; replay it under another name with "
                        "--map 'bad\xff\xfe name=NEW_NAME', or leave it out "
                        "with --exclude-tables"), "the refusal does not name "
              "the table byte for byte:\n%s", log);
}

Test(replay_output, a_start_failure_naming_a_hostile_table_is_one_logfmt_line)
{
    const char *argv[] = { "--source", rt_src, "--journal", rt_jdir,
                           "--once", "--tables", "nosuch\"x\n=y", NULL };
    rt_proc cap;
    int rc;

    rt_sql(rt_src, "CREATE TABLE t(id INTEGER PRIMARY KEY);");
    rt_spawnv(&cap, rt_capture_bin(), argv, NULL);
    rc = rt_wait(&cap, 60000);
    cr_assert_eq(rc, 69, "exit %d:\n%s", rc, rt_log(&cap));
    all_logfmt(&cap, "sluice-capture");
    cr_assert_not_null(strstr(rt_log(&cap), "level=error"), "%s",
                       rt_log(&cap));
    cr_assert_not_null(strstr(rt_log(&cap), "nosuch\\\"x\\n=y"), "%s",
                       rt_log(&cap));
}

Test(replay_output, a_column_name_that_is_not_utf8_stops_replay_with_a_clear_line)
{
    rt_proc rep;
    int rc;

    rt_sql(rt_src, "CREATE TABLE good(id INTEGER PRIMARY KEY, \"c\xe9\" TEXT);"
                   "INSERT INTO good VALUES (1, 'v');");
    rt_capture_once();
    rc = rt_replay_run(&rep, rt_url, NULL);
    all_logfmt(&rep, "sluice-replay");
    cr_assert_neq(rc, 0, "replay accepted a column MariaDB cannot hold:\n%s",
                  rt_log(&rep));
    cr_assert_neq(rc, -2, "replay retried a permanent problem for 30 s:\n%s",
                  rt_log(&rep));
    cr_assert(has_field(rt_log(&rep), "replay.failed", "msg",
                        "table good has a column name that is not UTF-8, "
                        "which MariaDB cannot hold: rename it in the source "
                        "or leave the table out with sluice-capture "
                        "--exclude-tables"), "%s", rt_log(&rep));
}
