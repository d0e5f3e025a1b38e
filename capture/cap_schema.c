/*
** cap_schema.c -- which tables are captured and what they look like.
**
** Everything here reads the schema through table-valued pragmas with bound
** parameters (pragma_table_list/_table_xinfo/_index_list/_index_info), so
** no identifier is ever pasted into SQL text unquoted.
**
** INVARIANTS:
**  (D1) virtual tables and their shadow tables are never captured (their
**       content is derived; triggers on shadow tables would break them).
**  (D2) sluice's own objects (exactly those its registry records, see
**       cap_install.c) and sqlite_* are never captured; an application
**       table is captured whatever its name (_sluicelog, _Sluice_x, ...).
**  (D5) --tables/--exclude-tables match names without regard to ASCII
**       case, as SQLite resolves names.
**  (D3) a table without a declared primary key is keyed by its rowid,
**       through an alias (rowid, oid or _rowid_) that no column shadows;
**       if all three are shadowed the table cannot be captured.
**  (D4) the schema JSON lists columns in table order, the key in key
**       order, and every non-partial UNIQUE constraint or index on plain
**       columns (replay needs them to follow REPLACE conflicts).
*/
#include <stdlib.h>
#include <string.h>

#include "cap.h"

void cap__namelist_free(cap_namelist *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    l->n = 0;
    l->names = NULL;
}

int cap__namelist_add(cap_namelist *l, const char *s)
{
    char **p = realloc(l->names, (size_t)(l->n + 1) * sizeof(*p));
    if (p == NULL)
        return -1;
    l->names = p;
    if ((p[l->n] = strdup(s)) == NULL)
        return -1;
    l->n++;
    return 0;
}

int cap__namelist_has(const cap_namelist *l, const char *name)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->names[i], name) == 0)
            return 1;
    return 0;
}

/* Is `name` an item of the comma-separated list (D5)? */
static int list_has(const char *list, const char *name)
{
    size_t n = strlen(name);
    const char *p = list;

    while (p != NULL && *p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && sqlite3_strnicmp(p, name, (int)n) == 0)
            return 1;
        p = comma ? comma + 1 : NULL;
    }
    return 0;
}

/* ---- the catalog: every table of the source, read in one pass ----
** Per-table lookups through pragma_table_list or sqlite_schema scan every
** table each time (PRAGMA table_list compares every name): with thousands
** of tables that made start-up quadratic. */

void cap__catalog_free(cap_catalog *c)
{
    for (int i = 0; i < c->n; i++) {
        free(c->v[i].name);
        free(c->v[i].sql);
    }
    free(c->v);
    memset(c, 0, sizeof(*c));
}

static int catent_cmp(const void *a, const void *b)
{
    return strcmp(((const cap_catent *)a)->name,
                  ((const cap_catent *)b)->name);
}

const cap_catent *cap__catalog_find(const cap_catalog *c, const char *name)
{
    cap_catent key;

    key.name = (char *)name;
    return c->n ? bsearch(&key, c->v, (size_t)c->n, sizeof(*c->v),
                          catent_cmp) : NULL;
}

int cap__catalog_load(sqlite3 *db, cap_catalog *c, jr_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc, cap = 0;

    memset(c, 0, sizeof(*c));
    rc = sqlite3_prepare_v2(db,
        "SELECT name, type, wr, strict FROM pragma_table_list "
        "WHERE schema = 'main' AND type IN ('table', 'virtual', 'shadow') "
        "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return cap__sqlite_fail(err, db, "listing tables");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        cap_catent *e;
        const char *type = (const char *)sqlite3_column_text(st, 1);
        if (c->n == cap) {
            cap_catent *v;
            cap = cap ? cap * 2 : 64;
            if ((v = realloc(c->v, (size_t)cap * sizeof(*v))) == NULL)
                goto oom;
            c->v = v;
        }
        e = &c->v[c->n];
        memset(e, 0, sizeof(*e));
        if ((e->name = strdup((const char *)sqlite3_column_text(st, 0))) ==
            NULL)
            goto oom;
        c->n++;
        e->is_table = strcmp(type, "table") == 0;
        e->without_rowid = sqlite3_column_int(st, 2);
        e->strict = sqlite3_column_int(st, 3);
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc != SQLITE_DONE)
        return cap__sqlite_fail(err, db, "listing tables");
    qsort(c->v, (size_t)c->n, sizeof(*c->v), catent_cmp);
    rc = sqlite3_prepare_v2(db, "SELECT name, sql FROM sqlite_schema WHERE "
                            "type = 'table'", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return cap__sqlite_fail(err, db, "reading schema");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        cap_catent *e = (cap_catent *)cap__catalog_find(
            c, (const char *)sqlite3_column_text(st, 0));
        if (e != NULL && sqlite3_column_text(st, 1) != NULL &&
            (e->sql = strdup((const char *)sqlite3_column_text(st, 1))) ==
            NULL)
            goto oom;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return cap__sqlite_fail(err, db, "reading schema");
    return JR_OK;
oom:
    sqlite3_finalize(st);
    cap__catalog_free(c);
    return cap_fail(err, "malloc", "out of memory");
}

int cap__list_tables(const cap_catalog *cat, const cap_cfg *cfg,
                     const cap_registry *reg, cap_namelist *out,
                     cap_namelist *skipped, jr_err *err)
{
    memset(out, 0, sizeof(*out));
    memset(skipped, 0, sizeof(*skipped));
    for (int i = 0; i < cat->n; i++) {
        const char *name = cat->v[i].name;
        int wanted = (cfg->tables == NULL || list_has(cfg->tables, name)) &&
                     (cfg->exclude_tables == NULL ||
                      !list_has(cfg->exclude_tables, name));
        if (!wanted || cap__is_ours(reg, name))
            continue;
        if (cap__namelist_add(cat->v[i].is_table ? out : skipped, name) != 0)
            return cap_fail(err, "malloc", "out of memory");
    }
    return JR_OK;
}

void cap__table_free(cap_table *t)
{
    if (t == NULL)
        return;
    for (int i = 0; i < t->ncols; i++) {
        free(t->cols[i].name);
        free(t->cols[i].decl);
    }
    free(t->cols);
    free(t->key);
    free(t->name);
    free(t->rowid_name);
    sqlite3_free(t->schema_json);
    free(t);
}

static int load_columns(sqlite3 *db, cap_table *t, jr_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc, cap = 0;

    rc = sqlite3_prepare_v2(db,
        "SELECT name, type, \"notnull\", pk, hidden "
        "FROM pragma_table_xinfo(?1) WHERE hidden != 1 ORDER BY cid",
        -1, &st, NULL);
    if (rc != SQLITE_OK)
        return cap__sqlite_fail(err, db, "reading columns");
    sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        cap_col *c;
        if (t->ncols == cap) {
            cap_col *p;
            cap = cap ? cap * 2 : 16;
            p = realloc(t->cols, (size_t)cap * sizeof(*p));
            if (p == NULL)
                goto oom;
            t->cols = p;
        }
        c = &t->cols[t->ncols];
        memset(c, 0, sizeof(*c));
        t->ncols++;
        c->name = strdup((const char *)sqlite3_column_text(st, 0));
        c->decl = strdup(sqlite3_column_text(st, 1)
                             ? (const char *)sqlite3_column_text(st, 1)
                             : "");
        c->notnull = sqlite3_column_int(st, 2);
        c->pk = sqlite3_column_int(st, 3);
        c->hidden = sqlite3_column_int(st, 4);
        if (c->name == NULL || c->decl == NULL)
            goto oom;
        if (c->pk > t->nkey)
            t->nkey = c->pk;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return cap__sqlite_fail(err, db, "reading columns");
    return JR_OK;
oom:
    sqlite3_finalize(st);
    return cap_fail(err, "malloc", "out of memory");
}

static int has_column(const cap_table *t, const char *name)
{
    for (int i = 0; i < t->ncols; i++)
        if (sqlite3_stricmp(t->cols[i].name, name) == 0)
            return 1;
    return 0;
}

/* The SCHEMA record's JSON, built by SQLite's own JSON functions so every
** identifier is escaped correctly. */
static int build_json(sqlite3 *db, cap_table *t, const char *sql,
                      jr_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db,
        "SELECT json_object("
        " 'table', ?1,"
        " 'columns', (SELECT json_group_array(json_object("
        "     'name', name, 'type', type, 'notnull', json(iif(\"notnull\","
        "     'true', 'false')), 'pk', pk, 'generated',"
        "     json(iif(hidden >= 2, 'true', 'false'))))"
        "   FROM (SELECT * FROM pragma_table_xinfo(?1) WHERE hidden != 1"
        "         ORDER BY cid)),"
        " 'key', (SELECT json_group_array(name) FROM (SELECT name FROM"
        "   pragma_table_xinfo(?1) WHERE pk > 0 ORDER BY pk)),"
        " 'rowid_key', json(iif(?2, 'true', 'false')),"
        " 'rowid_name', ?5,"
        " 'unique', (SELECT json_group_array(json(cols)) FROM ("
        "   SELECT (SELECT json_group_array(name) FROM (SELECT name FROM"
        "     pragma_index_info(il.name) ORDER BY seqno)) AS cols,"
        "     (SELECT count(*) FROM pragma_index_info(il.name)"
        "      WHERE cid < 0) AS nexpr"
        "   FROM pragma_index_list(?1) il"
        "   WHERE il.\"unique\" AND il.origin != 'pk' AND NOT il.partial"
        "   ORDER BY il.name) WHERE nexpr = 0),"
        " 'without_rowid', json(iif(?3, 'true', 'false')),"
        " 'strict', json(iif(?4, 'true', 'false')),"
        " 'sql', ?6)", -1, &st, NULL);

    if (rc != SQLITE_OK)
        return cap__sqlite_fail(err, db, "building schema description");
    sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, t->nkey == 0);
    sqlite3_bind_int(st, 3, t->without_rowid);
    sqlite3_bind_int(st, 4, t->strict);
    if (t->rowid_name != NULL)
        sqlite3_bind_text(st, 5, t->rowid_name, -1, SQLITE_STATIC);
    if (sql != NULL)
        sqlite3_bind_text(st, 6, sql, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        t->schema_json = sqlite3_mprintf("%s", sqlite3_column_text(st, 0));
    rc = t->schema_json ? JR_OK
                        : cap__sqlite_fail(err, db, "building schema "
                                           "description");
    sqlite3_finalize(st);
    return rc;
}

int cap__table_load(sqlite3 *db, const cap_catent *e, cap_table **out,
                    jr_err *err)
{
    const char *name = e->name;
    static const char *const aliases[] = { "rowid", "oid", "_rowid_" };
    cap_table *t = calloc(1, sizeof(*t));
    int ret;

    *out = NULL;
    if (t == NULL || (t->name = strdup(name)) == NULL) {
        free(t);
        return cap_fail(err, "malloc", "out of memory");
    }
    t->without_rowid = e->without_rowid;
    t->strict = e->strict;
    if ((ret = load_columns(db, t, err)) != JR_OK)
        goto fail;
    if (t->ncols == 0) {
        ret = JR_ENOTFOUND;
        goto fail;
    }
    if (t->nkey > 0) {
        t->key = calloc((size_t)t->nkey, sizeof(int));
        if (t->key == NULL) {
            ret = cap_fail(err, "malloc", "out of memory");
            goto fail;
        }
        for (int i = 0; i < t->ncols; i++)
            if (t->cols[i].pk > 0)
                t->key[t->cols[i].pk - 1] = i;
    } else {
        for (int i = 0; i < 3 && t->rowid_name == NULL; i++)
            if (!has_column(t, aliases[i]))
                t->rowid_name = strdup(aliases[i]);
        if (t->rowid_name == NULL) {
            ret = cap_fail(err, "schema", "table \"%s\" has no primary key "
                           "and columns named rowid, oid and _rowid_ hide "
                           "its rowid: declare a primary key to capture it",
                           name);
            goto fail;
        }
    }
    {
        /* the change log needs id, op, t, the key, the image and (keyless)
        ** the old image: it must fit SQLite's column limit */
        int need = t->nkey ? 3 + t->nkey + t->ncols : 4 + 2 * t->ncols;
        int limit = sqlite3_limit(db, SQLITE_LIMIT_COLUMN, -1);
        if (need > limit) {
            ret = cap_fail(err, "schema", "table \"%s\" is too wide to "
                           "capture: its change log would need %d columns "
                           "and SQLite allows %d%s", name, need, limit,
                           t->nkey ? "" : " (declaring a primary key "
                           "halves it)");
            goto fail;
        }
    }
    if ((ret = build_json(db, t, e->sql, err)) != JR_OK)
        goto fail;
    *out = t;
    return JR_OK;
fail:
    cap__table_free(t);
    return ret;
}
