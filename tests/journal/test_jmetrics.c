/*
** test_jmetrics.c -- journal/metrics.c (jr_metrics_write): a replica's lag in
** seconds counts from the oldest change it has not applied, whatever the
** reason it waits -- also when the records after its acknowledged seq are
** gone (pruned while it was not registered, or after it was dropped), in
** which case the oldest stored record is the oldest it misses; and a
** hostile directory name (quotes, backslash, newline, a byte that is not
** UTF-8) still gives an exposition that parses.
*/
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jt_util.h"
#include "sl_clock.h"
#include "tl_output.h"

TestSuite(journal_jmetrics, .init = jt_tmpdir_up, .fini = jt_tmpdir_down);

static void put(jr_writer *w, int64_t id, int64_t time_us)
{
    jt_rec *r = jt_rec_new(JR_K_INSERT, "t", time_us);

    jt_rec_int(r, JT_KEY, "id", id);
    jt_rec_int(r, JT_NEW, "id", id);
    jt_append(w, jt_rec_get(r), 1);
    jt_rec_free(r);
}

/* The sample of `name` for replica `replica` in the metrics text. */
static double sample(const char *text, const char *name,
                     const char *replica)
{
    char pat[200];
    const char *p;

    snprintf(pat, sizeof(pat), "\n%s{db=\"j\",replica=\"%s\"} ", name,
             replica);
    p = strstr(text, pat);
    return p ? strtod(p + strlen(pat), NULL) : -1;
}

/* The exposition into *text (malloc'd; the caller frees it). The caller
** owns the variables open_memstream writes through: GCC 12 at -O3 took a
** local one returned from here for a dangling pointer. */
static void metrics(char **text, size_t *len, jr_journal *j,
                    const char *replica, uint64_t applied)
{
    FILE *f = open_memstream(text, len);
    jr_err err = { 0 };

    cr_assert_not_null(f);
    cr_assert_eq(jr_metrics_write(f, j, "j", replica, applied, &err), JR_OK,
                 "%s", err.msg);
    fclose(f);
}

Test(journal_jmetrics, lag_seconds_counts_from_the_oldest_stored_change_when_the_next_one_was_pruned)
{
    jr_journal *j = jt_open(jt_dir, 0, 0);
    jr_writer *w = jt_writer(j, 4, 0);
    jr_err err = { 0 };
    uint64_t pruned = 0;
    int64_t t0 = sl_now_us();
    char *text = NULL;
    size_t len = 0;

    for (int i = 1; i <= 10; i++)
        put(w, i, t0 - 300 * 1000000LL);     /* changes 5 minutes old */
    jt_commit(w, NULL);
    cr_assert_eq(jr_replica_ack(j, "fast", 10, &err), JR_OK, "%s", err.msg);
    cr_assert_eq(jr_journal_prune(j, -1, &pruned, &err), JR_OK, "%s",
                 err.msg);
    cr_assert_gt(pruned, 0, "nothing pruned: the test needs seq 1 gone");
    for (int i = 11; i <= 15; i++)
        put(w, i, t0 - 100 * 1000000LL);     /* 100 s old */
    jt_commit(w, NULL);
    /* "slow" has applied nothing (not connected yet); seq 1 is gone */
    metrics(&text, &len, j, "slow", 0);
    cr_expect_eq(sample(text, "sluice_replay_lag_records", "slow"), 15,
                 "%s", text);
    cr_expect(sample(text, "sluice_replay_lag_seconds", "slow") >= 99,
              "lag in seconds must count while records wait:\n%s", text);
    cr_expect(sample(text, "sluice_replay_lag_seconds", "fast") >= 99 &&
              sample(text, "sluice_replay_lag_seconds", "fast") < 250,
              "%s", text);
    free(text);
    jr_writer_close(w);
    jr_journal_close(j);
}

Test(journal_jmetrics, metrics_with_a_hostile_directory_name_are_valid)
{
    char dir[700], *text = NULL, why[800];
    size_t len = 0;
    jr_journal *j;
    jr_journal_opts o = JR_JOURNAL_OPTS_INIT;
    FILE *f;

    snprintf(dir, sizeof(dir), "%s/j \"q\"\\ =\xff\n", jt_base);
    o.create = 1;
    cr_assert_eq(jr_journal_open(&j, dir, &o, NULL), JR_OK);
    cr_assert_eq(jr_replica_register(j, "r1", NULL), JR_OK);
    f = open_memstream(&text, &len);
    cr_assert_eq(jr_metrics_write(f, j, "j \"q\"\\ =\xff\n", "r2", 0, NULL),
                 JR_OK);
    fclose(f);
    jr_journal_close(j);
    cr_assert_eq(tl_prom_valid(text, len, why, sizeof(why)), 0, "%s\n%s",
                 why, text);
    cr_assert_not_null(strstr(text, "db=\"j \\\"q\\\"\\\\ =\xef\xbf\xbd\\n\""),
                       "%s", text);
    free(text);
}
