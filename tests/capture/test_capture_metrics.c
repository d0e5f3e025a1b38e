/*
** test_capture_metrics.c -- sluice-capture --metrics serves Prometheus
** text over HTTP that follows what capture journals, and refuses a bad
** address with a usage error.
*/
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ct_proc.h"
#include "tl_output.h"

TestSuite(capture_metrics, .init = ct_setup, .fini = ct_teardown);

Test(capture_metrics, the_endpoint_follows_what_capture_journals)
{
    ct_proc p;
    char addr[64], *body = NULL;
    int port = 20000 + (int)(getpid() % 20000);
    int64_t deadline;

    CT_APP("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
           "INSERT INTO t VALUES (1, 'a'), (2, 'b');");
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    ct_cap_start(&p, "--source", ct_src, "--journal", ct_jdir, "--metrics",
                 addr, (const char *)NULL);
    deadline = tl_now_us() + 60000000;  /* a limit, not an expectation */
    for (;;) {                       /* the initial snapshot first */
        free(body);
        body = tl_http_get(port, "/metrics");
        if (body != NULL &&
            ct_metric_sample(body, "sluice_capture_snapshot_rows_total") == 2)
            break;
        if (tl_now_us() >= deadline)  /* the log only when failing */
            cr_assert_fail("metrics never showed the snapshot:\n%s\n"
                           "log:\n%s", body ? body : "(no answer)",
                           ct_cap_log(&p));
        tl_sleep_ms(50);
    }
    CT_APP("INSERT INTO t VALUES (3, 'c');", "UPDATE t SET v = 'z';");
    for (;;) {
        free(body);
        body = tl_http_get(port, "/metrics");
        if (body != NULL &&
            ct_metric_sample(body, "sluice_capture_changes_total") == 4 &&
            ct_metric_sample(body, "sluice_capture_snapshot_rows_total") == 2)
            break;
        if (tl_now_us() >= deadline)
            cr_assert_fail("metrics never showed the 4 changes and 2 "
                           "snapshot rows:\n%s\nlog:\n%s",
                           body ? body : "(no answer)", ct_cap_log(&p));
        tl_sleep_ms(100);
    }
    cr_expect(strstr(body, "200 OK") != NULL, "%s", body);
    cr_expect(strstr(body, "# TYPE sluice_journal_head_seq gauge") != NULL);
    cr_expect_eq(ct_metric_sample(body, "sluice_capture_paused"), 0);
    cr_expect_geq(ct_metric_sample(body, "sluice_journal_head_seq"), 8,
                  "schema + 2 markers + 2 rows + 4 changes");
    free(body);
    body = tl_http_get(port, "/nothing");
    cr_expect(body && strstr(body, "404") != NULL, "%s", body ? body : "");
    free(body);
    ct_cap_stop_ok(&p);
}

Test(capture_metrics, a_bad_metrics_address_is_a_usage_error)
{
    ct_proc p;
    char *log;
    int rc;

    CT_APP("CREATE TABLE t(id INTEGER PRIMARY KEY);");
    rc = ct_cap_run(&p, 10000, "--source", ct_src, "--journal", ct_jdir,
                    "--metrics", "not-an-address", (const char *)NULL);
    log = tl_slurp(p.log, NULL);
    cr_expect_eq(rc, 64, "exit %d: %s", rc, log);
    cr_expect(strstr(log, "HOST:PORT") != NULL, "%s", log);
    cr_expect_eq(ct_sluice_objects(ct_src), 0, "capture installed objects "
                 "before refusing its options");
    free(log);
}
