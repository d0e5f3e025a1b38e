/*
** test_capture_schema.c -- schema changes while sluice-capture runs
** (never --once): ADD COLUMN, RENAME TABLE, RENAME COLUMN, DROP TABLE,
** CREATE TABLE and the ORM table rebuild, with writes before and after
** each change (some in the same transaction as the change), while a
** background application process keeps inserting into another table.
**
** After each step the model must converge to the source. At the end the
** journal must show: every background insert exactly once; each new
** schema journaled together with its re-snapshot in one group; a DROP
** for every table that went away.
*/
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

#include "ct_model.h"
#include "ct_proc.h"

TestSuite(capture_schema, .init = ct_setup, .fini = ct_teardown,
          .timeout = 150);

static volatile sig_atomic_t g_stop;

static void on_term(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* The background application: one insert every ~2 ms into bg, numbered
** 1, 2, 3, ...; stops at SIGTERM; exits 1 on any error. */
static void bg_writer(void)
{
    sqlite3 *db;
    int rc, n = 0;

    signal(SIGTERM, on_term);
    rc = sqlite3_open(ct_src, &db);
    sqlite3_busy_timeout(db, 5000);
    while (rc == SQLITE_OK && !g_stop) {
        char sql[80];
        snprintf(sql, sizeof(sql), "INSERT INTO bg(n) VALUES (%d)", ++n);
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
        tl_sleep_ms(2);
    }
    sqlite3_close(db);
    _exit(rc == SQLITE_OK ? 0 : 1);
}

static void step(ct_model *m, const char *what)
{
    char why[1024];

    cr_assert_eq(ct_converge(m, ct_jdir, ct_src, 20000, why, sizeof(why)),
                 0, "after %s: %s", what, why);
}

typedef struct sch_ctx {
    int bg_seen[20000];
    int bg_dupes;
    int64_t bg_max;
    /* SCHEMA records of the current group still waiting for the
    ** SNAP_END of their table */
    uint64_t group;
    int npending;
    char pending[16][128];
    char snap[128];             /* table being snapshotted */
    int schemas, drops_t, drops_k, drops_o;
    char problem[700];
} sch_ctx;

static int check_schema_journal(const jr_entry *e, void *ctx)
{
    sch_ctx *c = ctx;
    const jr_record *r = &e->rec;

    if (e->group != c->group) {
        if (c->npending > 0 && !c->problem[0])
            snprintf(c->problem, sizeof(c->problem), "group %llu ends "
                     "with the SCHEMA of %s not followed by its snapshot",
                     (unsigned long long)c->group, c->pending[0]);
        c->group = e->group;
        c->npending = 0;
    }
    if (r->kind == JR_K_INSERT && strcmp(r->table, "bg") == 0 &&
        strcmp(c->snap, "bg") != 0) {
        int64_t n = ct_row_int(&r->new_row, "n", -1);
        if (n >= 1 && n < 20000) {
            if (c->bg_seen[n]++)
                c->bg_dupes++;
            if (n > c->bg_max)
                c->bg_max = n;
        }
    }
    if (r->kind == JR_K_SCHEMA) {
        c->schemas++;
        if (c->npending < 16)
            snprintf(c->pending[c->npending++], sizeof(c->pending[0]), "%s",
                     r->table);
    }
    if (r->kind == JR_K_SNAP_BEGIN)
        snprintf(c->snap, sizeof(c->snap), "%s", r->table);
    if (r->kind == JR_K_SNAP_END) {
        int found = 0;
        c->snap[0] = '\0';
        for (int i = 0; i < c->npending; i++)
            if (strcmp(c->pending[i], r->table) == 0) {
                memmove(c->pending[i], c->pending[i + 1],
                        (size_t)(c->npending - i - 1) *
                        sizeof(c->pending[0]));
                c->npending--;
                found = 1;
                break;
            }
        if (!found && !c->problem[0])
            snprintf(c->problem, sizeof(c->problem), "SNAP_END of %s "
                     "(group %llu) without a SCHEMA in its group",
                     r->table, (unsigned long long)e->group);
    }
    if (r->kind == JR_K_DROP) {
        c->drops_t += strcmp(r->table, "t") == 0;
        c->drops_k += strcmp(r->table, "k") == 0;
        c->drops_o += strcmp(r->table, "o") == 0;
    }
    return 0;
}

Test(capture_schema, schema_changes_while_capture_runs_lose_nothing)
{
    ct_model *m = ct_model_new();
    sch_ctx *c = calloc(1, sizeof(*c));
    ct_proc cap;
    pid_t bg;
    int64_t nbg;

    CT_APP("CREATE TABLE bg(id INTEGER PRIMARY KEY, n INT);"
           "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b);"
           "CREATE TABLE k(x, y);"
           "CREATE TABLE o(id INTEGER PRIMARY KEY, name, extra);"
           "INSERT INTO t VALUES (1, 'a1', 'b1'), (2, 'a2', 'b2');"
           "INSERT INTO k VALUES (1, 1), (2, 2);"
           "INSERT INTO o VALUES (1, 'one', 'x'), (2, 'two', 'y');");
    ct_cap_start_default(&cap);
    step(m, "start");
    bg = ct_fork();
    if (bg == 0)
        bg_writer();

    CT_APP("INSERT INTO t VALUES (3, 'a3', 'b3');",
           "ALTER TABLE t ADD COLUMN c DEFAULT 5;",
           "INSERT INTO t VALUES (4, 'a4', 'b4', 44);"
           "UPDATE t SET c = 11 WHERE id = 1;");
    step(m, "ADD COLUMN");
    CT_APP("BEGIN; UPDATE t SET b = 'in txn' WHERE id = 2;"
           "ALTER TABLE t ADD COLUMN d TEXT;"
           "INSERT INTO t VALUES (5, 'a5', 'b5', 55, 'd5');"
           "UPDATE t SET d = 'dd' WHERE id = 1; COMMIT;");
    step(m, "ADD COLUMN inside a transaction with writes around it");

    CT_APP("UPDATE t SET a = 'before rename' WHERE id = 3;",
           "ALTER TABLE t RENAME TO t2;",
           "INSERT INTO t2 VALUES (6, 'a6', 'b6', 66, 'd6');"
           "DELETE FROM t2 WHERE id = 4;");
    step(m, "RENAME TABLE");

    CT_APP("UPDATE t2 SET a = 'before column rename' WHERE id = 5;",
           "ALTER TABLE t2 RENAME COLUMN a TO a_renamed;",
           "UPDATE t2 SET a_renamed = 'after' WHERE id = 6;"
           "INSERT INTO t2(id, a_renamed) VALUES (7, 'a7');");
    step(m, "RENAME COLUMN");

    CT_APP("INSERT INTO k VALUES (3, 3);", "DROP TABLE k;");
    step(m, "DROP TABLE");

    CT_APP("CREATE TABLE n(id INTEGER PRIMARY KEY, v);"
           "INSERT INTO n VALUES (1, 'created');",
           "INSERT INTO n VALUES (2, 'after create'); UPDATE n SET v = 'u' "
           "WHERE id = 1;");
    step(m, "CREATE TABLE");

    CT_APP("UPDATE o SET extra = 'before rebuild' WHERE id = 1;",
           "PRAGMA foreign_keys = OFF;"
           "BEGIN;"
           " CREATE TABLE o_new(id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
           "  extra INT, added TEXT DEFAULT 'new col');"
           " INSERT INTO o_new(id, name, extra) SELECT id, name, extra "
           "  FROM o;"
           " DROP TABLE o;"
           " ALTER TABLE o_new RENAME TO o;"
           " INSERT INTO o(id, name) VALUES (3, 'in rebuild txn');"
           "COMMIT;",
           "INSERT INTO o(id, name, extra) VALUES (4, 'after', 4);"
           "UPDATE o SET added = 'changed' WHERE id = 2;");
    step(m, "ORM rebuild");

    kill(bg, SIGTERM);
    cr_assert_eq(tl_wait(bg, 20000), 0, "the background application "
                 "failed: capture broke one of its writes");
    step(m, "background writer stopped");
    nbg = ct_query_int(ct_src, "SELECT max(n) FROM bg");
    ct_cap_stop_ok(&cap);
    ct_model_free(m);

    ct_scan(ct_jdir, check_schema_journal, c);
    check_schema_journal(&(jr_entry){ .group = 0 }, c);  /* end last group */
    cr_assert_eq(c->problem[0], '\0', "%s", c->problem);
    cr_assert_eq(c->bg_dupes, 0, "a background insert was journaled "
                 "twice as a change");
    cr_assert_eq(c->bg_max, nbg, "background inserts journaled up to %lld "
                 "of %lld", (long long)c->bg_max, (long long)nbg);
    for (int64_t n = 1; n <= nbg && n < 20000; n++)
        if (c->bg_seen[n] != 1)
            cr_assert_fail("background insert %lld journaled %d times as a "
                           "change", (long long)n, c->bg_seen[n]);
    cr_assert_eq(c->drops_t, 1, "RENAME TABLE t journals a DROP of t");
    cr_assert_eq(c->drops_k, 1, "DROP TABLE k journaled");
    cr_assert_leq(c->drops_o, 1, "the rebuilt o is re-snapshotted, not "
                  "dropped (at most a DROP followed by its new SCHEMA)");
    free(c);
}

Test(capture_schema, schema_changes_while_capture_is_down_are_caught_up)
{
    CT_APP("CREATE TABLE t(id INTEGER PRIMARY KEY, a, b);"
           "CREATE TABLE k(x, y);"
           "INSERT INTO t VALUES (1, 'a', 'b'); INSERT INTO k VALUES (1, 2);");
    ct_cap_once();
    CT_APP("UPDATE t SET a = 'x' WHERE id = 1;"
           "ALTER TABLE t ADD COLUMN c;"
           "UPDATE t SET c = 'c' WHERE id = 1;"
           "ALTER TABLE k RENAME TO k2;"
           "INSERT INTO k2 VALUES (3, 4);"
           "ALTER TABLE t RENAME COLUMN b TO b2;"
           "CREATE TABLE n(id INTEGER PRIMARY KEY);"
           "INSERT INTO n VALUES (1);");
    ct_cap_once();
    ct_assert_model_equals_source(ct_jdir, ct_src);
    CT_APP("DROP TABLE n; UPDATE t SET b2 = 'after' WHERE id = 1;");
    ct_cap_once();
    ct_assert_model_equals_source(ct_jdir, ct_src);
}
