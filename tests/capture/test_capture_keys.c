/*
** test_capture_keys.c -- every kind of table capture must key correctly:
** composite and TEXT primary keys, WITHOUT ROWID, INTEGER PRIMARY KEY,
** no primary key at all (the rowid, under whichever alias no column
** shadows), key changes, awkward identifiers, wide tables, STRICT
** tables, generated columns, and the tables capture must leave alone
** (virtual tables and their shadow tables) next to an application whose
** own triggers keep an FTS index.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

#include "ct_model.h"
#include "ct_proc.h"

TestSuite(capture_keys, .init = ct_setup, .fini = ct_teardown,
          .timeout = 120);

/* Model equals source, and the journal was consistent on the way. */
static void assert_replays(void)
{
    ct_model *m = ct_model_new();
    char why[1024];
    ct_model_stats s;

    cr_assert_eq(ct_model_sync(m, ct_jdir, why, sizeof(why)), 0, "%s", why);
    cr_assert_eq(ct_compare(ct_src, m, NULL, why, sizeof(why)), 0, "%s",
                 why);
    s = *ct_model_get_stats(m);
    ct_model_free(m);
    cr_assert_eq(s.key_mismatch, 0, "an INSERT's key differs from its "
                 "image's key columns");
    cr_assert_eq(s.old_mismatch, 0, "a keyless UPDATE/DELETE carried an old "
                 "image that is not the row it changed");
    cr_assert_eq(s.missing, 0, "an UPDATE/DELETE named a row the replayer "
                 "does not have");
}

static const char g_key_tables[] =
    "CREATE TABLE comp(a INT, b TEXT, c, PRIMARY KEY(b, a));"
    "CREATE TABLE tpk(code TEXT PRIMARY KEY, v);"
    "CREATE TABLE wr(x, y, z, PRIMARY KEY(y, x)) WITHOUT ROWID;"
    "CREATE TABLE ipk(id INTEGER PRIMARY KEY, v);"
    "CREATE TABLE kl(v, w);"
    "CREATE TABLE klshadow(\"rowid\" TEXT, v);"
    "INSERT INTO comp VALUES (1, 'x', 'c1'), (2, 'x', 'c2'), (1, 'y', 3);"
    "INSERT INTO tpk VALUES ('old', 1), ('keep', 2);"
    "INSERT INTO wr VALUES (1, 'a', 1.5), (2, 'a', x'00'), (1, 'b', NULL);"
    "INSERT INTO ipk VALUES (1, 'one'), (2, 'two'), (3, 'three');"
    "INSERT INTO kl VALUES ('p', 1), ('q', 2), ('p', 1), (NULL, NULL);"
    "INSERT INTO klshadow VALUES ('not a rowid', 1), ('x', 2);";

static const char g_key_changes[] =
    "UPDATE comp SET a = a + 100 WHERE b = 'x';"
    "UPDATE comp SET b = 'z', c = 'moved' WHERE a = 1 AND b = 'y';"
    "INSERT INTO comp VALUES (5, 'w', 5);"
    "DELETE FROM comp WHERE a = 102;"
    "UPDATE tpk SET code = 'new' WHERE code = 'old';"
    "INSERT INTO tpk VALUES ('third', 3);"
    "DELETE FROM tpk WHERE code = 'keep';"
    "UPDATE wr SET y = 'c' WHERE y = 'a' AND x = 1;"
    "UPDATE wr SET z = 'changed' WHERE y = 'b';"
    "DELETE FROM wr WHERE x = 2;"
    "UPDATE ipk SET id = 99 WHERE id = 1;"
    "UPDATE ipk SET v = 'TWO' WHERE id = 2;"
    "DELETE FROM ipk WHERE id = 3;"
    "INSERT INTO ipk(v) VALUES ('auto');"
    "UPDATE kl SET rowid = 1000 WHERE rowid = 1;"
    "UPDATE kl SET w = w + 10 WHERE v = 'p';"
    "DELETE FROM kl WHERE v IS NULL;"
    "INSERT INTO kl VALUES ('r', 3);"
    "UPDATE klshadow SET \"rowid\" = 'still not', v = 9 WHERE v = 1;"
    "UPDATE klshadow SET oid = 50 WHERE v = 2;"
    "DELETE FROM klshadow WHERE v = 9;";

Test(capture_keys, every_kind_of_key_replays_inserts_updates_and_deletes)
{
    CT_APP(g_key_tables);
    ct_cap_once();
    CT_APP(g_key_changes);
    ct_cap_once();
    assert_replays();
}

typedef struct keychange_ctx {
    int tpk, comp, ipk, kl, klshadow;
    char problem[300];
} keychange_ctx;

static int text_is(const jr_value *v, const char *s)
{
    return v != NULL && v->type == JR_TEXT && v->u.b.n == strlen(s) &&
           memcmp(v->u.b.p, s, v->u.b.n) == 0;
}

static int check_keychange(const jr_entry *e, void *ctx)
{
    keychange_ctx *c = ctx;
    const jr_record *r = &e->rec;

    if (r->kind != JR_K_UPDATE)
        return 0;
    if (strcmp(r->table, "tpk") == 0 &&
        text_is(ct_row_get(&r->key, "code"), "old") &&
        text_is(ct_row_get(&r->new_row, "code"), "new"))
        c->tpk++;
    if (strcmp(r->table, "comp") == 0 && r->key.n == 2 &&
        strcmp(r->key.names[0], "b") == 0 &&
        strcmp(r->key.names[1], "a") == 0 &&
        text_is(ct_row_get(&r->key, "b"), "y") &&
        text_is(ct_row_get(&r->new_row, "b"), "z"))
        c->comp++;
    if (strcmp(r->table, "ipk") == 0 && ct_row_int(&r->key, "id", 0) == 1 &&
        ct_row_int(&r->new_row, "id", 0) == 99)
        c->ipk++;
    if (strcmp(r->table, "kl") == 0 && ct_row_int(&r->key, "rowid", 0) == 1 &&
        ct_row_int(&r->new_row, "rowid", 0) == 1000) {
        if (r->old_row.n != 2 || !text_is(ct_row_get(&r->old_row, "v"), "p"))
            snprintf(c->problem, sizeof(c->problem), "keyless update "
                     "without its old image");
        c->kl++;
    }
    if (strcmp(r->table, "klshadow") == 0) {
        if (r->key.n != 1 || strcmp(r->key.names[0], "oid") != 0)
            snprintf(c->problem, sizeof(c->problem), "klshadow (a column "
                     "named rowid) keyed by \"%s\", not oid",
                     r->key.n ? r->key.names[0] : "");
        if (ct_row_int(&r->new_row, "oid", 0) == 50)
            c->klshadow++;
    }
    return 0;
}

Test(capture_keys, an_update_that_changes_the_key_journals_the_old_key)
{
    keychange_ctx c;

    memset(&c, 0, sizeof(c));
    CT_APP(g_key_tables);
    ct_cap_once();
    CT_APP(g_key_changes);
    ct_cap_once();
    ct_scan(ct_jdir, check_keychange, &c);
    cr_assert_eq(c.problem[0], '\0', "%s", c.problem);
    cr_assert_eq(c.tpk, 1, "TEXT key 'old' -> 'new' not journaled as an "
                 "update keyed by the old key");
    cr_assert_eq(c.comp, 1, "composite key (b, a) change");
    cr_assert_eq(c.ipk, 1, "INTEGER PRIMARY KEY 1 -> 99");
    cr_assert_eq(c.kl, 1, "rowid 1 -> 1000 of a keyless table");
    cr_assert_eq(c.klshadow, 1, "oid change of a table whose column "
                 "\"rowid\" shadows the rowid");
}

/* ---------------------------------------------------------------- */
/* Identifiers                                                      */
/* ---------------------------------------------------------------- */

Test(capture_keys, identifiers_with_quotes_spaces_backticks_and_unicode)
{
    CT_APP("CREATE TABLE \"we\"\"ird ta`ble; --ü\"("
           " \"i d\" INTEGER, \"na\"\"me\" TEXT, `back``tick` REAL,"
           " \"semi;colon\", \"ñandú 日本\" UNIQUE, \"[br]\","
           " PRIMARY KEY(\"na\"\"me\", \"i d\"));"
           "CREATE TABLE \"keyless 'tbl'\"(\"a\"\"b\", \"c d\");"
           "CREATE TABLE \"_rowid_ \"(x);"
           "INSERT INTO \"we\"\"ird ta`ble; --ü\" VALUES"
           " (1, 'a', 1.5, 's', 'u1', 'b'), (2, 'a', 2.5, 't', 'u2', 'c');"
           "INSERT INTO \"keyless 'tbl'\" VALUES (1, 2), (3, 4);"
           "INSERT INTO \"_rowid_ \" VALUES (1);");
    ct_cap_once();
    CT_APP("UPDATE \"we\"\"ird ta`ble; --ü\" SET \"i d\" = 3,"
           " \"semi;colon\" = 'moved' WHERE \"i d\" = 1;"
           "INSERT OR REPLACE INTO \"we\"\"ird ta`ble; --ü\""
           " VALUES (7, 'z', 0, ';', 'u2', 'replaced u2');"
           "UPDATE \"keyless 'tbl'\" SET \"c d\" = 40 WHERE \"a\"\"b\" = 3;"
           "DELETE FROM \"keyless 'tbl'\" WHERE \"a\"\"b\" = 1;"
           "INSERT INTO \"_rowid_ \" VALUES (2);");
    ct_cap_once();
    assert_replays();
}

/* ---------------------------------------------------------------- */
/* Wide, STRICT and generated                                       */
/* ---------------------------------------------------------------- */

Test(capture_keys, a_200_column_table_with_and_without_a_key)
{
    sqlite3_str *ddl = sqlite3_str_new(NULL), *kl = sqlite3_str_new(NULL);
    char *a, *b;

    sqlite3_str_appendall(ddl, "CREATE TABLE wide(id INTEGER PRIMARY KEY");
    sqlite3_str_appendall(kl, "CREATE TABLE widekl(c0");
    for (int i = 1; i < 200; i++) {
        sqlite3_str_appendf(ddl, ", c%d", i);
        sqlite3_str_appendf(kl, ", c%d", i);
    }
    sqlite3_str_appendall(ddl, ");");
    sqlite3_str_appendall(kl, ");");
    a = sqlite3_str_finish(ddl);
    b = sqlite3_str_finish(kl);
    CT_APP(a, b,
           "INSERT INTO wide(id, c1, c99, c199) VALUES (1, 1, 'x', x'01');"
           "INSERT INTO widekl(c0, c100, c199) VALUES (1, 2.5, 'end');");
    ct_cap_once();
    CT_APP("INSERT INTO wide(id, c5, c150) VALUES (2, 'five', 150);"
           "UPDATE wide SET c199 = 'last', c1 = NULL WHERE id = 1;"
           "INSERT INTO widekl(c0, c50) VALUES (2, 'fifty');"
           "UPDATE widekl SET c199 = 199 WHERE c0 = 1;"
           "DELETE FROM widekl WHERE c0 = 2;");
    ct_cap_once();
    assert_replays();
    sqlite3_free(a);
    sqlite3_free(b);
}

/*
** KNOWN BUG (reported): a keyless table's change log needs 2n + 4
** columns (k0, r, c*, o*), a keyed one n + k + 3; past SQLite's column
** limit (2000 by default) CREATE TABLE of the log fails, and that error
** stops sluice-capture altogether -- one unusual table and no table is
** captured. Expected: that table skipped with a warning (as a keyless
** table with a hidden rowid is), the others captured.
*/
Test(capture_keys, a_table_too_wide_for_its_change_log_does_not_stop_capture)
{
    sqlite3_str *ddl = sqlite3_str_new(NULL);
    ct_proc p;
    char *sql, *log;
    int rc;

    sqlite3_str_appendall(ddl, "CREATE TABLE widest(c0");
    for (int i = 1; i < 1000; i++)
        sqlite3_str_appendf(ddl, ", c%d", i);
    sqlite3_str_appendall(ddl, "); INSERT INTO widest(c0) VALUES (1);"
                          "CREATE TABLE ok(id INTEGER PRIMARY KEY);"
                          "INSERT INTO ok VALUES (1);");
    sql = sqlite3_str_finish(ddl);
    CT_APP(sql);
    sqlite3_free(sql);
    rc = ct_cap_run(&p, 60000, "--source", ct_src, "--journal", ct_jdir,
                    "--once", NULL);
    log = ct_cap_log(&p);
    cr_expect_eq(rc, 0, "a 1000-column keyless table stopped capture of "
                 "every table:\n%s", log);
    free(log);
    if (rc == 0) {
        const char *only[] = { "ok", NULL };
        ct_model *m = ct_model_new();
        char why[1024];
        cr_assert_eq(ct_model_sync(m, ct_jdir, why, sizeof(why)), 0, "%s",
                     why);
        rc = ct_compare(ct_src, m, only, why, sizeof(why));
        ct_model_free(m);
        cr_assert_eq(rc, 0, "%s", why);
    }
}

Test(capture_keys, strict_tables_with_and_without_rowid)
{
    CT_APP("CREATE TABLE s(id INTEGER PRIMARY KEY, i INT, r REAL, t TEXT,"
           " b BLOB, a ANY) STRICT;"
           "CREATE TABLE sw(k TEXT PRIMARY KEY, a ANY NOT NULL) STRICT, "
           "WITHOUT ROWID;"
           "CREATE TABLE skl(i INT, a ANY) STRICT;"
           "INSERT INTO s VALUES (1, 1, 1.5, 't', x'01', 'any text'),"
           " (2, -9223372036854775808, 1e308, '', x'', 1.0);"
           "INSERT INTO sw VALUES ('a', 1), ('b', x'ff'), ('c', 0.1 + 0.2);"
           "INSERT INTO skl VALUES (1, 'x'), (2, 2);");
    ct_cap_once();
    CT_APP("INSERT INTO s VALUES (3, 3, 3, '3', x'03', x'');"
           "UPDATE s SET a = 9223372036854775807 WHERE id = 1;"
           "UPDATE sw SET a = 'was real' WHERE k = 'c';"
           "UPDATE sw SET k = 'd' WHERE k = 'a';"
           "DELETE FROM skl WHERE i = 1;"
           "UPDATE skl SET a = -0.0 WHERE i = 2;");
    ct_cap_once();
    assert_replays();
}

typedef struct gen_ctx {
    int schema_ok, images;
} gen_ctx;

static int check_generated(const jr_entry *e, void *ctx)
{
    gen_ctx *c = ctx;

    if (strcmp(e->rec.table, "g") != 0)
        return 0;
    if (e->rec.kind == JR_K_SCHEMA && e->rec.aux_len > 0) {
        char *json = strndup(e->rec.aux, e->rec.aux_len);
        /* both generated columns flagged, the plain ones not */
        if (json && strstr(json, "\"name\":\"twice\",\"type\":\"INT\","
                           "\"notnull\":false,\"pk\":0,\"generated\":true") &&
            strstr(json, "\"name\":\"label\",\"type\":\"TEXT\","
                   "\"notnull\":false,\"pk\":0,\"generated\":true") &&
            strstr(json, "\"name\":\"a\",\"type\":\"INT\",\"notnull\":"
                   "false,\"pk\":0,\"generated\":false"))
            c->schema_ok++;
        free(json);
    }
    if ((e->rec.kind == JR_K_INSERT || e->rec.kind == JR_K_UPDATE) &&
        ct_row_get(&e->rec.new_row, "twice") != NULL &&
        ct_row_get(&e->rec.new_row, "label") != NULL)
        c->images++;
    return 0;
}

Test(capture_keys, generated_columns_virtual_and_stored)
{
    gen_ctx c = { 0, 0 };

    CT_APP("CREATE TABLE g(id INTEGER PRIMARY KEY, a INT, b TEXT,"
           " twice INT GENERATED ALWAYS AS (a * 2) STORED,"
           " label TEXT GENERATED ALWAYS AS (b || '#' || a) VIRTUAL);"
           "CREATE TABLE gkl(a INT, v AS (a + 1), s AS (a - 1) STORED);"
           "INSERT INTO g(id, a, b) VALUES (1, 1, 'one'), (2, 2, 'two');"
           "INSERT INTO gkl(a) VALUES (10), (20);");
    ct_cap_once();
    CT_APP("UPDATE g SET a = 21 WHERE id = 2;"
           "INSERT INTO g(id, a, b) VALUES (3, 3, 'three');"
           "DELETE FROM g WHERE id = 1;"
           "UPDATE gkl SET a = 11 WHERE a = 10;"
           "DELETE FROM gkl WHERE a = 20;");
    ct_cap_once();
    assert_replays();
    ct_scan(ct_jdir, check_generated, &c);
    cr_assert_eq(c.schema_ok, 1, "schema JSON must flag generated columns");
    cr_assert_eq(c.images, 4, "images carry the generated values");
}

/* ---------------------------------------------------------------- */
/* Tables capture leaves alone                                      */
/* ---------------------------------------------------------------- */

Test(capture_keys, virtual_tables_are_skipped_with_one_warning)
{
    ct_model *m = ct_model_new();
    ct_proc cap;
    char why[1024], *log;
    int rc;

    CT_APP("CREATE VIRTUAL TABLE notes USING fts5(title, body);"
           "CREATE TABLE plain(id INTEGER PRIMARY KEY, v);"
           "INSERT INTO notes VALUES ('a', 'first note');"
           "INSERT INTO plain VALUES (1, 'x');");
    ct_cap_start_default(&cap);
    rc = ct_converge(m, ct_jdir, ct_src, 20000, why, sizeof(why));
    cr_assert_eq(rc, 0, "capture must start despite the virtual table: %s",
                 why);
    /* schema changes make capture reconcile again: still one warning */
    CT_APP("INSERT INTO notes VALUES ('b', 'second note');"
           "CREATE TABLE later(id INTEGER PRIMARY KEY);"
           "INSERT INTO later VALUES (1);"
           "INSERT INTO plain VALUES (2, 'y');");
    CT_APP("CREATE VIRTUAL TABLE notes2 USING fts5(x);"
           "INSERT INTO plain VALUES (3, 'z');");
    rc = ct_converge(m, ct_jdir, ct_src, 20000, why, sizeof(why));
    cr_assert_eq(rc, 0, "%s", why);
    ct_cap_stop_ok(&cap);
    ct_model_free(m);
    log = ct_cap_log(&cap);
    cr_assert_eq(tl_count(log, "level=warn"), 2, "expected one warning for "
                 "notes (+ shadow tables) and one for notes2, log:\n%s",
                 log);
    cr_assert_eq(tl_count(log, "notes_data"), 1, "shadow tables named "
                 "once, log:\n%s", log);
    cr_assert_eq(tl_count(log, "level=error"), 0, "%s", log);
    free(log);
    cr_assert_eq(ct_query_int(ct_src, "SELECT count(*) FROM sqlite_schema "
                              "WHERE type = 'trigger' AND tbl_name LIKE "
                              "'notes%'"), 0,
                 "no trigger on a virtual or shadow table");
    cr_assert_eq(ct_query_int(ct_src, "SELECT count(*) FROM notes WHERE "
                              "notes MATCH 'note'"), 2);
}

Test(capture_keys, a_keyless_table_whose_rowid_is_hidden_is_skipped)
{
    ct_proc p;
    char *log;
    int rc;

    CT_APP("CREATE TABLE hidden(rowid, oid, _rowid_);"
           "CREATE TABLE ok(id INTEGER PRIMARY KEY);"
           "INSERT INTO hidden VALUES (1, 2, 3); INSERT INTO ok VALUES (1);");
    rc = ct_cap_run(&p, 60000, "--source", ct_src, "--journal", ct_jdir,
                    "--once", NULL);
    log = ct_cap_log(&p);
    cr_assert_eq(rc, 0, "a table capture cannot key must not stop it:\n%s",
                 log);
    cr_assert_eq(tl_count(log, "level=warn"), 1, "%s", log);
    cr_assert_neq(strstr(log, "hidden"), NULL, "%s", log);
    free(log);
    {
        const char *only[] = { "ok", NULL };
        ct_model *m = ct_model_new();
        char why[1024];
        cr_assert_eq(ct_model_sync(m, ct_jdir, why, sizeof(why)), 0, "%s",
                     why);
        rc = ct_compare(ct_src, m, only, why, sizeof(why));
        ct_model_free(m);
        cr_assert_eq(rc, 0, "%s", why);
    }
}

Test(capture_keys, the_applications_fts_triggers_keep_working)
{
    CT_APP("CREATE TABLE docs(id INTEGER PRIMARY KEY, title TEXT, body);"
           "CREATE VIRTUAL TABLE docs_fts USING fts5(title, body, "
           " content='docs', content_rowid='id');"
           "CREATE TRIGGER docs_ai AFTER INSERT ON docs BEGIN"
           " INSERT INTO docs_fts(rowid, title, body)"
           "  VALUES (new.id, new.title, new.body); END;"
           "CREATE TRIGGER docs_ad AFTER DELETE ON docs BEGIN"
           " INSERT INTO docs_fts(docs_fts, rowid, title, body)"
           "  VALUES ('delete', old.id, old.title, old.body); END;"
           "CREATE TRIGGER docs_au AFTER UPDATE ON docs BEGIN"
           " INSERT INTO docs_fts(docs_fts, rowid, title, body)"
           "  VALUES ('delete', old.id, old.title, old.body);"
           " INSERT INTO docs_fts(rowid, title, body)"
           "  VALUES (new.id, new.title, new.body); END;"
           "INSERT INTO docs VALUES (1, 'alpha', 'the quick fox'),"
           " (2, 'beta', 'lazy dog');");
    ct_cap_once();
    CT_APP("INSERT INTO docs VALUES (3, 'gamma', 'quick brown cat');"
           "UPDATE docs SET body = 'slow fox' WHERE id = 1;"
           "DELETE FROM docs WHERE id = 2;"
           "INSERT INTO docs_fts(docs_fts) VALUES ('integrity-check');");
    ct_cap_once();
    cr_assert_eq(ct_query_int(ct_src, "SELECT group_concat(rowid) FROM "
                              "(SELECT rowid FROM docs_fts WHERE docs_fts "
                              "MATCH 'quick' ORDER BY rowid)"), 3);
    cr_assert_eq(ct_query_int(ct_src, "SELECT count(*) FROM docs_fts WHERE "
                              "docs_fts MATCH 'fox'"), 1);
    cr_assert_eq(ct_query_int(ct_src, "SELECT count(*) FROM docs_fts WHERE "
                              "docs_fts MATCH 'dog'"), 0);
    assert_replays();
}
