/*
** test_capture_dml.c -- the ways SQLite changes rows behind the
** application's statement: foreign-key actions, REPLACE removing a row
** through a UNIQUE conflict (with recursive_triggers off, no delete
** trigger fires: the replayer must follow the schema's "unique" lists),
** UPSERT, DELETE of every row, and VACUUM renumbering the rowids of
** keyless tables. Each time the model must end up equal to the source.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

#include "ct_model.h"
#include "ct_proc.h"

TestSuite(capture_dml, .init = ct_setup, .fini = ct_teardown,
          .timeout = 120);

typedef struct kinds {
    int n[10];                   /* by jr_kind, changes of `table` only */
    const char *table;           /* NULL: every table */
} kinds;

static int count_kinds(const jr_entry *e, void *ctx)
{
    kinds *k = ctx;

    if (e->rec.kind >= 0 && e->rec.kind < 10 &&
        (k->table == NULL || strcmp(k->table, e->rec.table) == 0))
        k->n[e->rec.kind]++;
    return 0;
}

/* Sync a fresh model, compare, return its statistics. */
static ct_model_stats replay_and_compare(void)
{
    ct_model *m = ct_model_new();
    char why[1024];
    ct_model_stats s;
    int rc = ct_model_sync(m, ct_jdir, why, sizeof(why));

    if (rc == 0)
        rc = ct_compare(ct_src, m, NULL, why, sizeof(why));
    s = *ct_model_get_stats(m);
    ct_model_free(m);
    cr_assert_eq(rc, 0, "%s", why);
    return s;
}

/* ---------------------------------------------------------------- */
/* Foreign keys                                                     */
/* ---------------------------------------------------------------- */

Test(capture_dml, foreign_key_cascades_are_captured)
{
    kinds k = { { 0 }, "child" }, ko = { { 0 }, "orphan" },
          kg = { { 0 }, "grandchild" };

    CT_APP("CREATE TABLE parent(id INTEGER PRIMARY KEY, name TEXT);"
           "CREATE TABLE child(id INTEGER PRIMARY KEY, parent INT REFERENCES"
           " parent(id) ON DELETE CASCADE ON UPDATE CASCADE, v);"
           "CREATE TABLE orphan(id INTEGER PRIMARY KEY, parent INT "
           " REFERENCES parent(id) ON DELETE SET NULL ON UPDATE CASCADE);"
           "CREATE TABLE grandchild(c INT REFERENCES child(id) ON DELETE "
           " CASCADE, v);"
           "INSERT INTO parent VALUES (1, 'a'), (2, 'b'), (3, 'c');"
           "INSERT INTO child VALUES (10, 1, 'x'), (11, 1, 'y'),"
           " (12, 2, 'z'), (13, 3, 'w');"
           "INSERT INTO orphan VALUES (100, 1), (101, 2);"
           "INSERT INTO grandchild VALUES (10, 'g1'), (11, 'g2'), "
           " (12, 'g3');");
    ct_cap_once();
    CT_APP("PRAGMA foreign_keys = ON;",
           "DELETE FROM parent WHERE id = 1;"   /* 2 children, 2 grand */
           "UPDATE parent SET id = 20 WHERE id = 2;"   /* update cascade */
           "DELETE FROM child WHERE id = 13;");
    cr_assert_eq(ct_query_int(ct_src, "SELECT count(*) FROM child"), 1,
                 "the cascade did not happen in the source");
    ct_cap_once();
    replay_and_compare();
    ct_scan(ct_jdir, count_kinds, &k);
    cr_assert_eq(k.n[JR_K_DELETE], 3, "2 cascaded + 1 direct delete of "
                 "child journaled, got %d", k.n[JR_K_DELETE]);
    cr_assert_eq(k.n[JR_K_UPDATE], 1, "ON UPDATE CASCADE journaled as an "
                 "update of child");
    ct_scan(ct_jdir, count_kinds, &ko);
    cr_assert_eq(ko.n[JR_K_UPDATE], 2, "ON DELETE SET NULL and ON UPDATE "
                 "CASCADE journaled as updates of orphan");
    ct_scan(ct_jdir, count_kinds, &kg);
    cr_assert_eq(kg.n[JR_K_DELETE], 2, "cascade of a cascade journaled");
}

/* ---------------------------------------------------------------- */
/* REPLACE through UNIQUE                                           */
/* ---------------------------------------------------------------- */

static const char g_unique_tables[] =
    "CREATE TABLE u(id INTEGER PRIMARY KEY, email TEXT UNIQUE, v);"
    "CREATE TABLE u2(id TEXT PRIMARY KEY, a INT, b INT, v,"
    " UNIQUE(a, b));"
    "CREATE TABLE uw(k INT PRIMARY KEY, code TEXT, v) WITHOUT ROWID;"
    "CREATE UNIQUE INDEX uw_code ON uw(code);"
    "CREATE TABLE ukl(name TEXT UNIQUE, v);"
    "INSERT INTO u VALUES (1, 'a@x', 1), (2, 'b@x', 2), (3, 'c@x', 3),"
    " (4, NULL, 4), (5, NULL, 5);"
    "INSERT INTO u2 VALUES ('p', 1, 1, 'p'), ('q', 1, 2, 'q'),"
    " ('r', 2, 2, 'r');"
    "INSERT INTO uw VALUES (1, 'one', 1), (2, 'two', 2), (3, 'three', 3);"
    "INSERT INTO ukl VALUES ('n1', 1), ('n2', 2), ('n3', 3);";

static const char g_unique_replaces[] =
    /* a new key taking a unique value: row 1 goes */
    "INSERT OR REPLACE INTO u VALUES (10, 'a@x', 10);"
    /* REPLACE hitting the key of one row and the unique value of another:
    ** both go */
    "REPLACE INTO u VALUES (2, 'c@x', 22);"
    /* an update taking a unique value: row 10 goes */
    "UPDATE OR REPLACE u SET email = 'a@x' WHERE id = 4;"
    /* NULLs never conflict */
    "INSERT OR REPLACE INTO u VALUES (6, NULL, 6);"
    "INSERT OR REPLACE INTO u2 VALUES ('s', 1, 2, 's');"   /* q goes */
    "UPDATE OR REPLACE u2 SET a = 2, b = 2 WHERE id = 'p';" /* r goes */
    "INSERT OR REPLACE INTO uw VALUES (4, 'two', 4);"      /* 2 goes */
    "REPLACE INTO uw VALUES (1, 'three', 11);"      /* 1 replaced, 3 goes */
    "INSERT OR REPLACE INTO ukl VALUES ('n1', 100);"       /* n1 goes */
    "UPDATE OR REPLACE ukl SET name = 'n3' WHERE name = 'n2';";

static void replace_run(int recursive)
{
    kinds k = { { 0 }, NULL };
    ct_model_stats s;

    CT_APP(g_unique_tables);
    ct_cap_once();
    CT_APP(recursive ? "PRAGMA recursive_triggers = ON;"
                     : "PRAGMA recursive_triggers = OFF;",
           g_unique_replaces);
    ct_cap_once();
    s = replay_and_compare();
    ct_scan(ct_jdir, count_kinds, &k);
    if (recursive) {
        cr_assert_geq(k.n[JR_K_DELETE], 8, "with recursive_triggers the "
                      "REPLACE deletions fire the delete trigger (%d)",
                      k.n[JR_K_DELETE]);
    } else {
        cr_assert_eq(k.n[JR_K_DELETE], 0);
        cr_assert_geq(s.unique_deletes, 7, "the model removed only %llu "
                      "rows through unique conflicts: the test did not "
                      "exercise REPLACE", (unsigned long long)
                      s.unique_deletes);
    }
}

Test(capture_dml, replace_through_unique_with_recursive_triggers_off)
{
    replace_run(0);
}

Test(capture_dml, replace_through_unique_with_recursive_triggers_on)
{
    replace_run(1);
}

/* ---------------------------------------------------------------- */
/* UPSERT, DELETE of everything                                     */
/* ---------------------------------------------------------------- */

Test(capture_dml, insert_on_conflict_do_update_and_do_nothing)
{
    kinds k = { { 0 }, "cnt" };

    CT_APP("CREATE TABLE cnt(name TEXT PRIMARY KEY, n INT, email TEXT "
           " UNIQUE);"
           "INSERT INTO cnt VALUES ('a', 1, 'a@x'), ('b', 1, 'b@x');");
    ct_cap_once();
    CT_APP("INSERT INTO cnt VALUES ('a', 1, 'zz') ON CONFLICT(name) DO "
           " UPDATE SET n = n + excluded.n;"
           "INSERT INTO cnt VALUES ('c', 5, 'b@x') ON CONFLICT(email) DO "
           " UPDATE SET n = n + 100, name = 'b2';"
           "INSERT INTO cnt VALUES ('d', 1, 'd@x') ON CONFLICT DO NOTHING;"
           "INSERT INTO cnt VALUES ('d', 9, 'e@x') ON CONFLICT DO NOTHING;"
           "INSERT INTO cnt VALUES ('a', 0, 'q') ON CONFLICT(name) DO "
           " UPDATE SET n = n * 10 WHERE excluded.n > 0;");
    ct_cap_once();
    replay_and_compare();
    ct_scan(ct_jdir, count_kinds, &k);
    cr_assert_eq(k.n[JR_K_UPDATE], 2, "two DO UPDATEs took effect");
    cr_assert_eq(k.n[JR_K_INSERT], 2 + 1, "snapshot rows + 'd'");
}

Test(capture_dml, delete_of_every_row)
{
    kinds k = { { 0 }, NULL };
    ct_model_stats s;

    CT_APP("CREATE TABLE t(id INTEGER PRIMARY KEY, v);"
           "CREATE TABLE kl(v);"
           "CREATE TABLE w(k TEXT PRIMARY KEY, v) WITHOUT ROWID;"
           "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n "
           " WHERE x < 500) INSERT INTO t SELECT x, x FROM n;"
           "INSERT INTO kl SELECT v FROM t; INSERT INTO w SELECT id, v "
           " FROM t;");
    ct_cap_once();
    CT_APP("DELETE FROM t; DELETE FROM kl; DELETE FROM w;");
    ct_cap_once();
    s = replay_and_compare();
    ct_scan(ct_jdir, count_kinds, &k);
    cr_assert_eq(k.n[JR_K_DELETE], 1500, "every deleted row journaled "
                 "(%d)", k.n[JR_K_DELETE]);
    cr_assert_eq(s.missing, 0);
    cr_assert_eq(ct_query_int(ct_src, "SELECT count(*) FROM t"), 0);
}

/* ---------------------------------------------------------------- */
/* VACUUM                                                           */
/* ---------------------------------------------------------------- */

static const char g_vacuum_setup[] =
    "CREATE TABLE kl(v, w);"
    "CREATE TABLE pk(id INTEGER PRIMARY KEY, v);"
    "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n "
    " WHERE x < 200) INSERT INTO kl SELECT x, 'w' || x FROM n;"
    "INSERT INTO pk SELECT rowid, v FROM kl;";

Test(capture_dml, vacuum_renumbering_keyless_rowids_while_capture_is_down)
{
    CT_APP(g_vacuum_setup);
    ct_cap_once();
    CT_APP("DELETE FROM kl WHERE v % 3 = 0 OR v < 50;"
           "DELETE FROM pk WHERE v % 3 = 0;");
    ct_cap_once();
    CT_APP("VACUUM;");
    cr_assert_eq(ct_query_int(ct_src, "SELECT min(rowid) FROM kl"), 1,
                 "VACUUM did not renumber: the test proves nothing");
    CT_APP("UPDATE kl SET w = 'after' WHERE rowid = 5;"
           "DELETE FROM kl WHERE rowid = 6;");
    ct_cap_once();
    replay_and_compare();
}

Test(capture_dml, vacuum_renumbering_keyless_rowids_while_capture_runs)
{
    ct_model *m = ct_model_new();
    ct_proc cap;
    char why[1024];

    CT_APP(g_vacuum_setup);
    ct_cap_start_default(&cap);
    cr_assert_eq(ct_converge(m, ct_jdir, ct_src, 20000, why, sizeof(why)),
                 0, "%s", why);
    CT_APP("DELETE FROM kl WHERE v % 2 = 0;");
    /* VACUUM then writes right away, before capture can reconcile */
    CT_APP("VACUUM;", "UPDATE kl SET w = 'after vacuum' WHERE rowid < 10;"
           "DELETE FROM kl WHERE rowid BETWEEN 20 AND 30;"
           "INSERT INTO kl VALUES ('new', 'row');");
    cr_assert_eq(ct_converge(m, ct_jdir, ct_src, 20000, why, sizeof(why)),
                 0, "%s", why);
    CT_APP("UPDATE kl SET w = 'later' WHERE rowid = 3;");
    cr_assert_eq(ct_converge(m, ct_jdir, ct_src, 20000, why, sizeof(why)),
                 0, "%s", why);
    ct_cap_stop_ok(&cap);
    ct_model_free(m);
}
