/*
** test_jmetrics.c -- runtime/sl_jmetrics.c: a replica's lag in
** seconds counts from the oldest change it has not applied, whatever the
** reason it waits -- also when the records after its acknowledged seq are
** gone (pruned while it was not registered, or after it was dropped), in
** which case the oldest stored record is the oldest it misses.
*/
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jt_util.h"
#include "sl_jmetrics.h"

TestSuite(journal_jmetrics, .init = jt_tmpdir_up, .fini = jt_tmpdir_down);

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

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

static char *metrics(jr_journal *j, const char *replica, uint64_t applied)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    jr_err err = { 0 };

    cr_assert_not_null(f);
    cr_assert_eq(sl_jmetrics_write(f, j, "j", replica, applied, &err), JR_OK,
                 "%s", err.msg);
    fclose(f);
    return text;
}

Test(journal_jmetrics, lag_seconds_counts_from_the_oldest_stored_change_when_the_next_one_was_pruned)
{
    jr_journal *j = jt_open(jt_dir, 0, 0);
    jr_writer *w = jt_writer(j, 4, 0);
    jr_err err = { 0 };
    uint64_t pruned = 0;
    int64_t t0 = now_us();
    char *text;

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
    text = metrics(j, "slow", 0);
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
