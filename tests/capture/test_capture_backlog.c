/*
** test_capture_backlog.c -- the change-log backlog and end-to-end lag on
** capture's /metrics: a capture held back (a full journal that a replica
** which never applies keeps from being pruned) shows the changes piling up
** in the source and a replica lag that keeps growing, although the journal
** does not move; once the journal has space again both drain to 0.
*/
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ct_proc.h"
#include "sluice/journal.h"
#include "tl_output.h"

TestSuite(capture_backlog, .init = ct_setup, .fini = ct_teardown,
          .timeout = 600);

/* Scrape until cond(body) holds; fail with the body and log after 120 s
** (a limit, not an expectation). Returns the body (caller frees). */
static char *scrape_until(int port, ct_proc *p, const char *what,
                          int (*cond)(const char *, void *), void *arg)
{
    int64_t deadline = tl_now_us() + 120000000;
    char *body = NULL;

    for (;;) {
        free(body);
        body = tl_http_get(port, "/metrics");
        if (body != NULL && cond(body, arg))
            return body;
        if (tl_now_us() >= deadline)
            cr_assert_fail("metrics never showed %s:\n%s\nlog:\n%s", what,
                           body ? body : "(no answer)", ct_cap_log(p));
        tl_sleep_ms(100);
    }
}

static int journal_exists(const char *b, void *a)
{
    (void)a;
    return ct_metric_sample(b, "sluice_capture_groups_total") >= 1;
}

static int backpressure(const char *b, void *a)
{
    (void)a;
    return ct_metric_sample(b, "sluice_capture_backpressure") == 1;
}

static int backlog_at_least(const char *b, void *a)
{
    return ct_metric_sample(b, "sluice_capture_backlog_changes") >= *(double *)a;
}

static int lag_at_least(const char *b, void *a)
{
    return ct_metric_sample(b, "sluice_end_to_end_lag_seconds") >= *(double *)a;
}

static int drained(const char *b, void *a)
{
    (void)a;
    return ct_metric_sample(b, "sluice_capture_backlog_changes") == 0 &&
           ct_metric_sample(b, "sluice_capture_backpressure") == 0;
}

static void replica(const char *name, int ack_head)
{
    jr_journal *j;
    jr_journal_opts o = JR_JOURNAL_OPTS_INIT;
    jr_info in;

    cr_assert_eq(jr_journal_open(&j, ct_jdir, &o, NULL), JR_OK);
    cr_assert_eq(jr_replica_register(j, name, NULL), JR_OK);
    if (ack_head) {
        cr_assert_eq(jr_journal_info(j, &in, NULL), JR_OK);
        cr_assert_eq(jr_replica_ack(j, name, in.complete_seq, NULL), JR_OK);
    }
    jr_journal_close(j);
}

Test(capture_backlog, a_held_back_capture_shows_its_backlog_and_lag_grow)
{
    ct_proc p;
    char addr[64], *body;
    int port = 20000 + (int)((getpid() + 7919) % 20000);
    double want, t0, lag0;

    CT_APP("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB);");
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    ct_cap_start(&p, "--source", ct_src, "--journal", ct_jdir, "--metrics",
                 addr, "--map-max-mb", "16", "--retention-s", "0",
                 (const char *)NULL);
    body = scrape_until(port, &p, "the first group", journal_exists, NULL);
    free(body);
    replica("slow", 0);              /* never applies: nothing is pruned */
    /* 1 MiB of incompressible changes per transaction until the journal
    ** is full and capture waits. Each one is journaled (a new group)
    ** before the next is written: what piles up unread is ONE group when
    ** capture drains it, and one larger than the 16 MiB cap could never
    ** be journaled (capture stops with "does not fit"; seen on a loaded
    ** machine when these were written without waiting) */
    for (int i = 0, full = 0; i < 40 && !full; i++) {
        int64_t until = tl_now_us() + 60000000;
        double groups;
        body = tl_http_get(port, "/metrics");
        groups = body ? ct_metric_sample(body, "sluice_capture_groups_"
                                         "total") : -1;
        free(body);
        CT_APP("INSERT INTO t(v) SELECT randomblob(4096) FROM "
               "(WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 "
               "FROM c WHERE n < 256) SELECT n FROM c);");
        for (;;) {
            body = tl_http_get(port, "/metrics");
            full = body && ct_metric_sample(body, "sluice_capture_"
                                            "backpressure") == 1;
            if (full || (body && ct_metric_sample(body, "sluice_capture_"
                                                  "groups_total") > groups) ||
                tl_now_us() >= until) {
                free(body);
                break;
            }
            free(body);
            tl_sleep_ms(50);
        }
    }
    body = scrape_until(port, &p, "back-pressure", backpressure, NULL);
    free(body);
    /* the application goes on: its changes wait in the change log */
    CT_APP("INSERT INTO t(v) VALUES (x'01'), (x'02'), (x'03');");
    body = tl_http_get(port, "/metrics");
    cr_assert_not_null(body);
    want = ct_metric_sample(body, "sluice_capture_backlog_changes") + 3;
    t0 = ct_metric_sample(body, "sluice_capture_backlog_oldest_change_timestamp_"
                      "seconds");
    free(body);
    CT_APP("INSERT INTO t(v) VALUES (x'04'), (x'05'), (x'06');");
    body = scrape_until(port, &p, "the backlog growing", backlog_at_least,
                        &want);
    cr_assert_gt(ct_metric_sample(body, "sluice_capture_backlog_oldest_change_"
                              "timestamp_seconds"), 0,
                 "a waiting change has a time:\n%s", body);
    cr_assert_eq(ct_metric_sample(body, "sluice_capture_backpressure"), 1);
    lag0 = ct_metric_sample(body, "sluice_end_to_end_lag_seconds");
    cr_assert_geq(lag0, 0, "no end-to-end lag for the replica:\n%s", body);
    if (t0 > 0)
        cr_assert_eq(ct_metric_sample(body, "sluice_capture_backlog_oldest_change_"
                                  "timestamp_seconds"), t0,
                     "the oldest waiting change stays the oldest");
    free(body);
    want = lag0 + 1.5;               /* it grows while nothing moves */
    body = scrape_until(port, &p, "the end-to-end lag growing",
                        lag_at_least, &want);
    free(body);
    /* the replica applies everything: pruning frees the map, capture
    ** drains the backlog */
    for (int i = 0; i < 600; i++) {
        replica("slow", 1);
        body = tl_http_get(port, "/metrics");
        if (body && drained(body, NULL)) {
            free(body);
            break;
        }
        free(body);
        tl_sleep_ms(200);
    }
    body = scrape_until(port, &p, "the backlog drained", drained, NULL);
    free(body);
    cr_assert_eq(ct_cap_stop(&p, 30000), 0);
}
