/*
** test_replay_group.c -- replay's group discipline on journals built by
** hand with the journal writer (no capture involved):
**   - a DDL record (SCHEMA, DROP) that follows row changes inside a group
**     is refused as corruption, naming its seq: MariaDB commits DDL
**     implicitly, so running it would commit half a group without its
**     position row (issue 9, item 4);
**   - a group that a writer left open inside a snapshot (capture stopped
**     mid-snapshot; the writer's reopen appends ABORT) is discarded like
**     any aborted group, and the complete re-snapshot that follows
**     applies -- with --once (exit 0) and running (issue 7, item 3);
**   - complete groups that wait are applied several to a MariaDB
**     transaction (issue 12, end-to-end latency), and that never changes
**     what lands: a joined group that ends in ABORT is still discarded,
**     the groups before a corrupt one still land, each transaction ends
**     at a group's end.
*/
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jt_util.h"
#include "rt_util.h"
#include "testdb.h"

TestSuite(replay_group, .init = rt_setup, .fini = rt_teardown,
          .timeout = 120);

static const char g_schema[] =
    "{\"table\":\"t\",\"columns\":["
    "{\"name\":\"id\",\"type\":\"INTEGER\",\"notnull\":false,\"pk\":1,"
    "\"generated\":false},"
    "{\"name\":\"v\",\"type\":\"TEXT\",\"notnull\":false,\"pk\":0,"
    "\"generated\":false}],"
    "\"key\":[\"id\"],\"rowid_key\":false,\"rowid_name\":null,"
    "\"unique\":[],\"without_rowid\":false,\"strict\":false,"
    "\"sql\":\"CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)\"}";

static const char g_schema2[] =
    "{\"table\":\"t\",\"columns\":["
    "{\"name\":\"id\",\"type\":\"INTEGER\",\"notnull\":false,\"pk\":1,"
    "\"generated\":false},"
    "{\"name\":\"v\",\"type\":\"TEXT\",\"notnull\":false,\"pk\":0,"
    "\"generated\":false},"
    "{\"name\":\"added\",\"type\":\"TEXT\",\"notnull\":false,\"pk\":0,"
    "\"generated\":false}],"
    "\"key\":[\"id\"],\"rowid_key\":false,\"rowid_name\":null,"
    "\"unique\":[],\"without_rowid\":false,\"strict\":false,"
    "\"sql\":\"CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, added TEXT)\"}";

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static uint64_t put(jr_writer *w, int kind, const char *schema, int64_t id,
                    const char *v, int end)
{
    jt_rec *r = jt_rec_new(kind, "t", now_us());
    uint64_t seq;

    if (schema != NULL)
        jt_rec_aux(r, schema, strlen(schema));
    if (kind == JR_K_INSERT || kind == JR_K_UPDATE || kind == JR_K_DELETE)
        jt_rec_int(r, JT_KEY, "id", id);
    if (kind == JR_K_INSERT || kind == JR_K_UPDATE) {
        jt_rec_int(r, JT_NEW, "id", id);
        jt_rec_text(r, JT_NEW, "v", v, strlen(v));
    }
    seq = jt_append(w, jt_rec_get(r), end);
    jt_rec_free(r);
    return seq;
}

Test(replay_group, a_ddl_record_after_row_changes_in_a_group_is_refused_as_corruption)
{
    MYSQL *my = rt_my();
    jr_journal *j = jt_open(rt_jdir, 0, 0);
    jr_writer *w = jt_writer(j, 0, 0);
    uint64_t end1, bad;
    rt_proc p;
    int rc;
    char want[64];

    put(w, JR_K_SCHEMA, g_schema, 0, NULL, 0);
    put(w, JR_K_SNAP_BEGIN, NULL, 0, NULL, 0);
    put(w, JR_K_INSERT, NULL, 1, "one", 0);
    end1 = put(w, JR_K_SNAP_END, NULL, 0, NULL, 1);
    put(w, JR_K_INSERT, NULL, 2, "two", 0);
    bad = put(w, JR_K_SCHEMA, g_schema2, 0, NULL, 1);
    jt_commit(w, NULL);
    jr_writer_close(w);
    jr_journal_close(j);

    rc = rt_replay_run(&p, rt_url, NULL);
    cr_assert(rc > 0 && rc < 128, "a misplaced DDL record was applied: %d\n"
              "%s", rc, rt_log(&p));
    snprintf(want, sizeof(want), "seq %" PRIu64 ":", bad);
    cr_expect(strstr(rt_log(&p), want) != NULL &&
              strstr(rt_log(&p), "corrupt") != NULL,
              "the error must name seq %" PRIu64 " and corruption:\n%s", bad,
              rt_log(&p));
    cr_expect_eq(rt_position(my, "default"), (int64_t)end1);
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM t"), 1,
                 "half of the corrupt group was committed");
    cr_expect(!rt_my_column_exists(my, "t", "added"),
              "the misplaced DDL ran");
    /* a running replay stops on it too: it cannot get past it */
    rt_replay_start(&p, rt_url, NULL);
    rc = rt_wait(&p, 30000);
    cr_expect(rc > 0 && rc < 128, "running replay: %d\n%s", rc, rt_log(&p));
}

/* A snapshot of `rows` rows left open (the writer stopped inside it), the
** ABORT its reopen appends, a complete re-snapshot and one more group. */
static uint64_t journal_with_aborted_snapshot(int rows)
{
    jr_journal *j = jt_open(rt_jdir, 0, 0);
    jr_writer *w = jt_writer(j, 64, 0);
    uint64_t last;
    jr_info in;

    put(w, JR_K_SCHEMA, g_schema, 0, NULL, 0);
    put(w, JR_K_SNAP_BEGIN, NULL, 0, NULL, 0);
    for (int i = 1; i <= rows; i++) {
        put(w, JR_K_INSERT, NULL, i, "first", 0);
        if (i % 1000 == 0)
            jt_commit(w, NULL);       /* a large group spans commits */
    }
    jt_commit(w, NULL);
    jr_writer_close(w);               /* stopped: the group stays open */
    w = jt_writer(j, 64, 0);          /* reopen: ABORT closes it */
    jt_info(j, &in);
    cr_assert_eq(in.complete_seq, in.head_seq, "no ABORT was appended");
    put(w, JR_K_SCHEMA, g_schema, 0, NULL, 0);
    put(w, JR_K_SNAP_BEGIN, NULL, 0, NULL, 0);
    for (int i = 1; i <= rows / 2; i++)
        put(w, JR_K_INSERT, NULL, i, "second", 0);
    put(w, JR_K_SNAP_END, NULL, 0, NULL, 1);
    last = put(w, JR_K_UPDATE, NULL, 1, "changed", 1);
    jt_commit(w, NULL);
    jr_writer_close(w);
    jr_journal_close(j);
    return last;
}

static void expect_second_snapshot(MYSQL *my, int rows)
{
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM t"), rows / 2);
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM t WHERE v = 'first'"),
                 0, "rows of the aborted snapshot were applied");
    cr_expect_str_eq(rt_my_str(my, "SELECT v FROM t WHERE id = 1"),
                     "changed");
}

Test(replay_group, an_abort_inside_a_snapshot_is_discarded_and_once_exits_0)
{
    MYSQL *my = rt_my();
    uint64_t last = journal_with_aborted_snapshot(6000);
    rt_proc p;
    int rc = rt_replay_run(&p, rt_url, NULL);

    cr_assert_eq(rc, 0, "replay --once must get past an aborted snapshot:"
                 "\n%s", rt_log(&p));
    cr_expect(strstr(rt_log(&p), "event=replay.group_aborted") != NULL,
              "%s", rt_log(&p));
    cr_expect_eq(rt_position(my, "default"), (int64_t)last);
    expect_second_snapshot(my, 6000);
}

Test(replay_group, a_running_replay_gets_past_an_aborted_snapshot)
{
    MYSQL *my = rt_my();
    rt_proc p;

    journal_with_aborted_snapshot(3000);
    rt_replay_start(&p, rt_url, "--poll-ms", "2", NULL);
    cr_assert_eq(rt_wait_applied(my, "default", rt_jdir, 60000), 0,
                 "replay did not converge:\n%s", rt_log(&p));
    cr_assert_eq(rt_stop(&p, 20000), 0, "%s", rt_log(&p));
    expect_second_snapshot(my, 3000);
}

Test(replay_group, an_abort_right_after_snapshot_begin_is_discarded_too)
{
    MYSQL *my = rt_my();
    jr_journal *j = jt_open(rt_jdir, 0, 0);
    jr_writer *w = jt_writer(j, 0, 0);
    rt_proc p;

    put(w, JR_K_SCHEMA, g_schema, 0, NULL, 0);
    put(w, JR_K_SNAP_BEGIN, NULL, 0, NULL, 0);
    jt_commit(w, NULL);
    jr_writer_close(w);
    w = jt_writer(j, 0, 0);
    put(w, JR_K_SCHEMA, g_schema, 0, NULL, 0);
    put(w, JR_K_SNAP_BEGIN, NULL, 0, NULL, 0);
    put(w, JR_K_INSERT, NULL, 9, "nine", 0);
    put(w, JR_K_SNAP_END, NULL, 0, NULL, 1);
    jt_commit(w, NULL);
    jr_writer_close(w);
    jr_journal_close(j);
    cr_assert_eq(rt_replay_run(&p, rt_url, NULL), 0, "%s", rt_log(&p));
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM t"), 1);
}

/* field=N of replay's replay.stopped line; -1 if absent */
static long long stopped_field(const char *log, const char *field)
{
    const char *p = strstr(log, "event=replay.stopped");
    char pat[64];

    if (p == NULL)
        return -1;
    snprintf(pat, sizeof(pat), " %s=", field);
    p = strstr(p, pat);
    return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

/* `n` one-row groups (after the table's schema group), committed to the
** journal one by one as capture does. Returns the last seq. */
static uint64_t many_groups(jr_writer *w, int first_id, int n)
{
    uint64_t last = 0;

    for (int i = 0; i < n; i++) {
        char v[32];
        snprintf(v, sizeof(v), "v%d", first_id + i);
        last = put(w, i % 3 == 2 ? JR_K_UPDATE : JR_K_INSERT, NULL,
                   i % 3 == 2 ? first_id + i - 1 : first_id + i, v, 1);
        jt_commit(w, NULL);
    }
    return last;
}

Test(replay_group, waiting_groups_share_transactions_and_land_exactly)
{
    MYSQL *my = rt_my();
    jr_journal *j = jt_open(rt_jdir, 0, 0);
    jr_writer *w = jt_writer(j, 0, 0);
    uint64_t last;
    long long groups, txns;
    rt_proc p;

    put(w, JR_K_SCHEMA, g_schema, 0, NULL, 1);
    jt_commit(w, NULL);
    last = many_groups(w, 1, 3000);
    jr_writer_close(w);
    jr_journal_close(j);
    cr_assert_eq(rt_replay_run(&p, rt_url, NULL), 0, "%s", rt_log(&p));
    groups = stopped_field(rt_log(&p), "groups");
    txns = stopped_field(rt_log(&p), "transactions");
    cr_assert_eq(groups, 3001, "%s", rt_log(&p));
    cr_assert(txns >= 2 && txns <= 10, "3,001 waiting groups took %lld "
              "transactions (DDL alone, then at most 1,000 groups each)",
              txns);
    cr_expect_eq(rt_position(my, "default"), (int64_t)last);
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM t"), 2000);
    cr_expect_str_eq(rt_my_str(my, "SELECT v FROM t WHERE id = 2"), "v3",
                     "an UPDATE of a joined group was lost");
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM t WHERE v = "
                           "CONCAT('v', id)"), 1000);
}

Test(replay_group, a_joined_group_that_ends_in_abort_is_still_discarded)
{
    MYSQL *my = rt_my();
    jr_journal *j = jt_open(rt_jdir, 0, 0);
    jr_writer *w = jt_writer(j, 0, 0);
    uint64_t last;
    rt_proc p;

    put(w, JR_K_SCHEMA, g_schema, 0, NULL, 1);
    many_groups(w, 1, 30);
    put(w, JR_K_INSERT, NULL, 1001, "lost", 0);  /* an open group ... */
    put(w, JR_K_INSERT, NULL, 1002, "lost", 0);
    jt_commit(w, NULL);
    jr_writer_close(w);
    w = jt_writer(j, 0, 0);                      /* ... ABORTed */
    last = many_groups(w, 101, 30);
    jr_writer_close(w);
    jr_journal_close(j);
    cr_assert_eq(rt_replay_run(&p, rt_url, NULL), 0, "%s", rt_log(&p));
    cr_expect(strstr(rt_log(&p), "event=replay.group_aborted") != NULL,
              "%s", rt_log(&p));
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM t WHERE id > 1000"), 0,
                 "rows of the aborted group were applied");
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM t"), 40);
    cr_expect_eq(rt_position(my, "default"), (int64_t)last);
    cr_expect_lt(stopped_field(rt_log(&p), "transactions"),
                 stopped_field(rt_log(&p), "groups"), "%s", rt_log(&p));
}

Test(replay_group, groups_before_a_corrupt_one_still_land)
{
    MYSQL *my = rt_my();
    jr_journal *j = jt_open(rt_jdir, 0, 0);
    jr_writer *w = jt_writer(j, 0, 0);
    uint64_t good;
    rt_proc p;
    int rc;

    put(w, JR_K_SCHEMA, g_schema, 0, NULL, 1);
    good = many_groups(w, 1, 30);
    put(w, JR_K_INSERT, NULL, 500, "x", 0);
    put(w, JR_K_SCHEMA, g_schema2, 0, NULL, 1);  /* DDL after a change */
    jt_commit(w, NULL);
    jr_writer_close(w);
    jr_journal_close(j);
    rc = rt_replay_run(&p, rt_url, NULL);
    cr_assert(rc > 0 && rc < 128, "a misplaced DDL record was applied: %d\n"
              "%s", rc, rt_log(&p));
    cr_expect_eq(rt_position(my, "default"), (int64_t)good,
                 "the good groups before the corrupt one must land:\n%s",
                 rt_log(&p));
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM t"), 20);
}
