/*
** test_replay_oracles.c -- the two comparators agree. The product has one
** comparator, sluice-verify (tools/verify, built on the target library's
** value policy); the tests keep their own, deliberately independent oracle
** (rt_compare.c, its own date parser and value rules). Each would hide
** the other's bug if they drifted apart unnoticed, so here both judge the
** same data: a faithful copy (both say equal), then one damage at a time
** made behind replay's back (both must say different), then the damage
** undone (both say equal again).
*/
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "rt_util.h"
#include "testlib.h"

TestSuite(replay_oracles, .init = rt_setup, .fini = rt_teardown);

/* sluice-verify over rt_src and rt_url: its exit status (0 equal, 1 a
** difference); p receives its output. */
static int verify(rt_proc *p)
{
    char bin[RT_PATH];
    const char *args[] = { "--source", rt_src, "--target", rt_url, NULL };

    snprintf(bin, sizeof(bin), "%s/tools/verify/sluice-verify",
             tl_build_dir());
    rt_spawnv(p, bin, args, rt_password());
    return rt_wait(p, 120000);          /* a limit, not an expectation */
}

/* Both oracles give the same verdict, and it is `want_equal`. */
static void both_say(int want_equal, const char *after)
{
    char why[4096];
    rt_proc p;
    int oracle = rt_compare_all(rt_src, rt_my(), why, sizeof(why));
    int vf = verify(&p);

    cr_assert_eq(oracle == 0, want_equal, "after %s: the test oracle says "
                 "%s: %s", after, oracle == 0 ? "equal" : "different", why);
    cr_assert_eq(vf, want_equal ? 0 : 1, "after %s: sluice-verify exited "
                 "%d:\n%s", after, vf, rt_log(&p));
}

static const struct damage {
    const char *what, *damage, *undo;
} g_damages[] = {
    { "a REAL one ulp off", "UPDATE t SET r = 0.10000000000000002 WHERE id = 1",
      "UPDATE t SET r = 0.1 WHERE id = 1" },
    { "a DATETIME one millisecond off",
      "UPDATE t SET d = '2026-04-16 20:41:27.491' WHERE id = 1",
      "UPDATE t SET d = '2026-04-16 20:41:27.490' WHERE id = 1" },
    { "text differing in case only", "UPDATE t SET s = 'abC' WHERE id = 1",
      "UPDATE t SET s = 'abc' WHERE id = 1" },
    { "NULL become ''", "UPDATE t SET s = '' WHERE id = 2",
      "UPDATE t SET s = NULL WHERE id = 2" },
    { "a blob byte changed", "UPDATE t SET b = x'00fe' WHERE id = 1",
      "UPDATE t SET b = x'00ff' WHERE id = 1" },
    { "an integer off by one", "UPDATE t SET i = i + 1 WHERE id = 3",
      "UPDATE t SET i = i - 1 WHERE id = 3" },
    { "an extra row", "INSERT INTO t (id) VALUES (99)",
      "DELETE FROM t WHERE id = 99" },
    { "a missing row", "DELETE FROM t WHERE id = 3",
      "INSERT INTO t VALUES (3, -9223372036854775808, -0.5, 'x', NULL, "
      "'2024-01-01 00:00:00', 12.34)" },
};

Test(replay_oracles, the_test_oracle_and_sluice_verify_agree_on_equal_and_on_each_damage)
{
    rt_sql(rt_src,
           "CREATE TABLE t (id INTEGER PRIMARY KEY, i INTEGER, r REAL, "
           "  s TEXT, b BLOB, d DATETIME, n DECIMAL(10,2));"
           "INSERT INTO t VALUES (1, 9223372036854775807, 0.1, 'abc', "
           "  x'00ff', '2026-04-16 22:41:27.490 +02:00', 1.5);"
           "INSERT INTO t VALUES (2, 0, 1e308, NULL, x'', "
           "  '2026-04-16T22:41:27Z', NULL);"
           "INSERT INTO t VALUES (3, -9223372036854775808, -0.5, 'x', NULL, "
           "  '2024-01-01', 12.34);");
    rt_sync();
    both_say(1, "a faithful copy");
    for (size_t k = 0; k < sizeof(g_damages) / sizeof(g_damages[0]); k++) {
        rt_my_exec(rt_my(), "%s", g_damages[k].damage);
        both_say(0, g_damages[k].what);
        rt_my_exec(rt_my(), "%s", g_damages[k].undo);
        both_say(1, "undoing it");
    }
}

Test(replay_oracles, both_agree_beside_the_columns_replay_adds_to_keep_keys_apart)
{
    MYSQL *my = rt_my();

    /* a user table with a ledger (DATETIME key), a created one with
    ** sqlite_sluice_class_1 (UNIQUE over an untyped column) */
    rt_my_exec(my, "CREATE TABLE ev (at DATETIME PRIMARY KEY, n INT)");
    rt_sql(rt_src, "CREATE TABLE ev(at DATETIME PRIMARY KEY, n INT);"
                   "INSERT INTO ev VALUES ('2024-01-01', 1),"
                   " ('2024-01-02 10:00:00', 2);"
                   "CREATE TABLE tag(id INTEGER PRIMARY KEY, label UNIQUE);"
                   "INSERT INTO tag VALUES (1, 1), (2, '1');");
    rt_sync();
    cr_assert(rt_my_column_exists(my, "ev", "sqlite_sluice_key"));
    cr_assert(rt_my_column_exists(my, "tag", "sqlite_sluice_class_1"));
    both_say(1, "a copy with added columns");
    rt_my_exec(my, "UPDATE ev SET n = 5 WHERE n = 2");
    both_say(0, "a value changed behind replay's back");
    rt_my_exec(my, "UPDATE ev SET n = 2 WHERE n = 5");
    rt_my_exec(my, "UPDATE tag SET label = 'x' WHERE id = 2");
    both_say(0, "a unique value changed behind replay's back");
    rt_my_exec(my, "UPDATE tag SET label = '1' WHERE id = 2");
    both_say(1, "the damage undone");
}
