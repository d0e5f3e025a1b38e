/*
** test_replay_idempotency.c -- exactly once in effect: the position moves
** with the changes, and every operation is idempotent, so replaying from
** an older position (0, or any group boundary) converges to the same
** state. Checked with two independent checksums per table (a hash of
** every row, order-independent, and CHECKSUM TABLE) plus the row-by-row
** comparison with the source.
*/
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_util.h"

TestSuite(replay_idempotency, .init = rt_setup, .fini = rt_teardown,
          .timeout = 150);

#define NT 6
static const char *const g_tables[NT] = { "ti", "tt", "tc", "tr", "tu",
                                          "tk" };

typedef struct snap {
    rt_sum sum[NT];
    uint64_t ck[NT];
} snap;

static void take(MYSQL *my, snap *s, int n)
{
    for (int i = 0; i < n; i++) {
        s->sum[i] = rt_checksum(my, g_tables[i]);
        s->ck[i] = rt_checksum_table(my, g_tables[i]);
    }
}

static void expect_same(const snap *a, const snap *b, int n,
                        const char *when)
{
    for (int i = 0; i < n; i++) {
        cr_expect(a->sum[i].rows == b->sum[i].rows &&
                  a->sum[i].sum == b->sum[i].sum &&
                  a->sum[i].x == b->sum[i].x,
                  "%s: table %s changed: %" PRIu64 " rows -> %" PRIu64
                  " rows, or the same count with other content", when,
                  g_tables[i], a->sum[i].rows, b->sum[i].rows);
        cr_expect_eq(a->ck[i], b->ck[i], "%s: CHECKSUM TABLE %s differs",
                     when, g_tables[i]);
    }
}

static void create_tables(int with_user_keyless)
{
    rt_sql(rt_src,
           "CREATE TABLE ti(id INTEGER PRIMARY KEY, v TEXT, r REAL);"
           "CREATE TABLE tt(k TEXT PRIMARY KEY, v INT) WITHOUT ROWID;"
           "CREATE TABLE tc(a INT, b INT, v BLOB, PRIMARY KEY(a, b));"
           "CREATE TABLE tr(x TEXT, y INT);"
           "CREATE TABLE tu(id INTEGER PRIMARY KEY, email TEXT UNIQUE,"
           " n INT);"
           "CREATE TABLE tk(msg TEXT, n INT);");
    if (with_user_keyless)
        rt_my_exec(rt_my(), "CREATE TABLE tk (msg VARCHAR(50) COLLATE "
                            "utf8mb4_bin, n INT)");
}

/* Round r of changes: inserts, updates (some changing keys), deletes,
** REPLACE conflicts; each round is its own capture batch. */
static void round_of_changes(int r)
{
    rt_sqlf(rt_src,
            "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s"
            " WHERE i < 40)"
            " INSERT INTO ti(id, v, r) SELECT %d * 100 + i, 'r%d-' || i,"
            " i / 3.0 FROM s;"
            "INSERT INTO tt SELECT 'k' || id, id FROM ti WHERE id > %d * 100"
            " AND id <= %d * 100 + 40;"
            "INSERT INTO tc SELECT id %% 9, id, x'0a' || id FROM ti"
            " WHERE id > %d * 100 AND id <= %d * 100 + 40;"
            "INSERT INTO tr SELECT 'x' || (id %% 5), id %% 3 FROM ti"
            " WHERE id > %d * 100 AND id <= %d * 100 + 20;"
            "INSERT INTO tk SELECT 'm' || (id %% 4), id %% 2 FROM ti"
            " WHERE id > %d * 100 AND id <= %d * 100 + 10;"
            "INSERT OR REPLACE INTO tu VALUES (%d, 'e' || %d, %d);"
            "INSERT OR REPLACE INTO tu VALUES (%d + 1000, 'e' || (%d - 1),"
            " %d);"
            "UPDATE ti SET v = v || '+', r = r * 2 WHERE id %% 3 = %d;"
            "UPDATE ti SET id = id + 10000 WHERE id = %d * 100 + 7;"
            "UPDATE tt SET k = k || '~' WHERE v %% 7 = %d;"
            "UPDATE tc SET a = a + 50 WHERE b %% 11 = %d;"
            "DELETE FROM ti WHERE id %% 13 = %d;"
            "DELETE FROM tt WHERE v %% 17 = %d;"
            "UPDATE tr SET y = y + 1 WHERE rowid %% 4 = %d %% 4;"
            "DELETE FROM tr WHERE rowid %% 9 = %d;"
            "UPDATE tk SET n = n + 10 WHERE rowid %% 5 = %d %% 5;"
            "DELETE FROM tk WHERE rowid %% 7 = %d;",
            r, r, r, r, r, r, r, r, r, r, r, r, r, r, r, r, r, r, r, r, r,
            r, r, r, r, r);
}

static void run_resets(int with_user_keyless, int middle)
{
    MYSQL *my = rt_my();
    int64_t pos[8];
    int np = 0;
    snap first, again;

    create_tables(with_user_keyless);
    rt_sql(rt_src, "INSERT INTO ti VALUES (1, 'seed', 0.5);"
                   "INSERT INTO tr VALUES ('seed', 0), ('seed', 0);"
                   "INSERT INTO tk VALUES ('seed', 0), ('seed', 0);");
    rt_capture_once_with("--retention-s", "86400", NULL);
    if (middle) {
        rt_replay_once();
        pos[np++] = rt_position(my, "default");
    }
    for (int r = 1; r <= 5; r++) {
        round_of_changes(r);
        if (r == 3)
            rt_sql(rt_src, "ALTER TABLE ti ADD COLUMN extra TEXT DEFAULT"
                           " 'd';"
                           "UPDATE ti SET extra = 'set' WHERE id % 2 = 0;");
        rt_capture_once_with("--retention-s", "86400", NULL);
        if (middle) {
            rt_replay_once();
            pos[np++] = rt_position(my, "default");
        }
    }
    rt_replay_once();
    RT_ASSERT_SAME_ALL(my);
    take(my, &first, NT);

    rt_my_exec(my, "UPDATE sqlite_sluice_position SET seq = 0");
    rt_replay_once();
    cr_expect_eq(rt_position(my, "default"),
                 rt_journal_complete_seq(rt_jdir));
    take(my, &again, NT);
    expect_same(&first, &again, NT, "after replaying from seq 0");
    RT_ASSERT_SAME_ALL(my);

    for (int i = 0; middle && i < np; i++) {
        char when[64];
        rt_my_exec(my, "UPDATE sqlite_sluice_position SET seq = %" PRId64, pos[i]);
        rt_replay_once();
        take(my, &again, NT);
        snprintf(when, sizeof(when), "after replaying from seq %" PRId64,
                 pos[i]);
        expect_same(&first, &again, NT, when);
        RT_ASSERT_SAME_ALL(my);
    }
}

Test(replay_idempotency, replaying_everything_again_from_seq_0_gives_identical_checksums)
{
    run_resets(0, 0);
}

Test(replay_idempotency, replaying_from_seq_0_into_a_user_keyless_table_gives_identical_checksums)
{
    run_resets(1, 0);
}

Test(replay_idempotency, replaying_from_every_older_group_boundary_gives_identical_checksums)
{
    run_resets(0, 1);
}

Test(replay_idempotency, a_second_run_with_nothing_new_changes_nothing)
{
    MYSQL *my = rt_my();
    snap a, b;

    create_tables(0);
    round_of_changes(1);
    rt_sync();
    take(my, &a, NT);
    rt_replay_once();
    rt_replay_once();
    take(my, &b, NT);
    expect_same(&a, &b, NT, "after two idle runs");
}
