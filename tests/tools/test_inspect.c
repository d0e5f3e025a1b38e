/*
** test_inspect.c -- sluice-inspect on journals at the edges: fully pruned
** (every record acknowledged and pruned: not "no journal", no 1970 commit
** time, list prints nothing, a pruned seq is named as pruned), --limit 0
** (prints nothing), no journal at all (exit 66).
*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "jt_util.h"

TestSuite(tools_inspect, .init = jt_tmpdir_up, .fini = jt_tmpdir_down);

static char g_out[65536];

/* sluice-inspect args... (NULL-terminated): exit status; output (stdout
** and stderr) in g_out. */
static int inspect(const char *a1, ...)
{
    const char *argv[16];
    char exe[JT_PATH_MAX];
    const char *bd = getenv("SLUICE_BUILD_DIR");
    va_list ap;
    int n = 1;

    cr_assert_not_null(bd, "SLUICE_BUILD_DIR is not set (run through ctest)");
    argv[0] = jt_join(exe, sizeof(exe), bd, "tools/inspect/sluice-inspect");
    va_start(ap, a1);
    for (const char *a = a1; a != NULL && n < 15; a = va_arg(ap, const char *))
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    return jt_run(argv, g_out, sizeof(g_out));
}

/* n single-record groups, committed 10 to a batch. */
static void write_records(jr_journal *j, int n)
{
    jr_writer *w = jt_writer(j, 10, 3);

    for (int i = 1; i <= n; i++) {
        jt_rec *r = jt_rec_new(JR_K_INSERT, "t", 1000000 + i);
        jt_rec_int(r, JT_KEY, "id", i);
        jt_append(w, jt_rec_get(r), 1);
        jt_rec_free(r);
        if (i % 10 == 0)
            jt_commit(w, NULL);
    }
    jt_commit(w, NULL);
    jr_writer_close(w);
}

static void fully_pruned(void)
{
    jr_journal *j = jt_open(jt_dir, 0, 0);
    uint64_t pruned = 0;
    jr_info info;

    write_records(j, 25);
    cr_assert_eq(jr_replica_register(j, "r", NULL), JR_OK);
    cr_assert_eq(jr_replica_ack(j, "r", 25, NULL), JR_OK);
    cr_assert_eq(jr_journal_prune(j, 0, &pruned, NULL), JR_OK);
    jt_info(j, &info);
    cr_assert_eq(info.first_seq, 0, "not fully pruned (first seq %llu)",
                 (unsigned long long)info.first_seq);
    cr_assert_eq(info.head_seq, 25);
    cr_assert_gt(info.head_time_us, 0, "the last commit time was pruned "
                 "with the batches");
    jr_journal_close(j);
}

Test(tools_inspect, a_fully_pruned_journal_is_a_journal_with_no_records)
{
    int rc;

    fully_pruned();
    rc = inspect(jt_dir, "stat", NULL);
    cr_assert_eq(rc, 0, "stat exited %d: %s", rc, g_out);
    cr_assert_null(strstr(g_out, "1970"), "%s", g_out);
    cr_assert_not_null(strstr(g_out, "0 stored (seq 1..25 all pruned)"), "%s",
                       g_out);
    cr_assert_not_null(strstr(g_out, "last commit    20"), "%s", g_out);

    rc = inspect("--json", jt_dir, "stat", NULL);
    cr_assert_eq(rc, 0, "%s", g_out);
    cr_assert_not_null(strstr(g_out, "\"first_seq\":0,\"head_seq\":25"), "%s",
                       g_out);

    rc = inspect(jt_dir, "list", NULL);
    cr_assert_eq(rc, 0, "list exited %d: %s", rc, g_out);
    cr_assert_str_eq(g_out, "", "list printed something");

    rc = inspect(jt_dir, "list", "--from", "5", NULL);
    cr_assert_eq(rc, 1, "list --from 5 exited %d: %s", rc, g_out);
    cr_assert_not_null(strstr(g_out, "seq 5 was pruned"), "%s", g_out);

    rc = inspect(jt_dir, "show", "25", NULL);
    cr_assert_eq(rc, 1, "show exited %d: %s", rc, g_out);
    cr_assert_not_null(strstr(g_out, "pruned"), "%s", g_out);

    rc = inspect(jt_dir, "show", "26", NULL);
    cr_assert_eq(rc, 1, "%s", g_out);
    cr_assert_not_null(strstr(g_out, "beyond the head"), "%s", g_out);

    rc = inspect(jt_dir, "check", NULL);
    cr_assert_eq(rc, 0, "check exited %d: %s", rc, g_out);
}

Test(tools_inspect, limit_zero_prints_nothing_and_limit_n_prints_n)
{
    jr_journal *j = jt_open(jt_dir, 0, 0);
    int rc, lines = 0;

    write_records(j, 25);
    jr_journal_close(j);
    rc = inspect(jt_dir, "list", "--limit", "0", NULL);
    cr_assert_eq(rc, 0, "%s", g_out);
    cr_assert_str_eq(g_out, "");
    rc = inspect(jt_dir, "list", "--limit", "3", "--from", "7", NULL);
    cr_assert_eq(rc, 0, "%s", g_out);
    for (const char *p = g_out; (p = strchr(p, '\n')) != NULL; p++)
        lines++;
    cr_assert_eq(lines, 3, "%s", g_out);
    cr_assert_eq(strncmp(g_out, "7 ", 2), 0, "%s", g_out);
    rc = inspect(jt_dir, "list", NULL);
    cr_assert_eq(rc, 0, "%s", g_out);
    lines = 0;
    for (const char *p = g_out; (p = strchr(p, '\n')) != NULL; p++)
        lines++;
    cr_assert_eq(lines, 25, "%s", g_out);
    rc = inspect(jt_dir, "list", "--limit", "-1", NULL);
    cr_assert_eq(rc, 64, "%s", g_out);
}

Test(tools_inspect, no_journal_at_dir_is_exit_66)
{
    int rc = inspect(jt_dir, "stat", NULL);

    cr_assert_eq(rc, 66, "%s", g_out);
    cr_assert_not_null(strstr(g_out, "no journal"), "%s", g_out);
}
