/*
** vf_source.c -- the SQLite side: open it read-only, choose and describe
** the tables, stream their rows.
**
** Tables are chosen exactly as capture chooses them (cap_schema.c):
** pragma_table_list's tables of schema main, minus sqlite_* and _sluice*.
** Tables capture deliberately skips -- virtual tables and their shadow
** tables (FTS, R*Tree), tables too wide for a change log, keyless tables
** whose rowid every alias hides -- are reported as skipped with the
** reason, never compared (so never a difference). Columns come from
** pragma_table_xinfo (hidden != 1, so generated columns are compared as
** capture journals them), the key from its pk order; a table without a
** primary key is keyed by its rowid through the first alias (rowid, oid,
** _rowid_) no column shadows -- the journal's `rowid_name`.
**
** INVARIANTS:
**  (S1) the source is never written: opened SQLITE_OPEN_READONLY with
**       query_only on; a missing file is an error, never created.
**  (S2) identifiers are always double-quoted with quotes doubled, or bound
**       as parameters of the table-valued pragmas.
**  (S3) rows are read in key order under BINARY collation (ORDER BY k
**       COLLATE BINARY), one read transaction per table.
*/
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "sl_log.h"
#include "vf.h"
#include "sl_opts.h"

int vf_src_open(sqlite3 **out, const char *path, jr_err *e)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);

    *out = NULL;
    if (rc != SQLITE_OK) {
        vf_fail(e, VF_FATAL_IO, "cannot open source %s: %s", path,
                db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, 5000);
    rc = sqlite3_exec(db, "PRAGMA query_only = 1; "
                      "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        vf_fail(e, VF_FATAL_IO, "cannot read source %s: %s", path,
                sqlite3_errmsg(db));
        sqlite3_close(db);
        return -1;
    }
    *out = db;
    return 0;
}

static int sfail(jr_err *e, sqlite3 *db, const char *what)
{
    int code = sqlite3_errcode(db);
    /* I/O, corruption, "not a database": the file is unusable */
    int fatal = code == SQLITE_IOERR || code == SQLITE_CORRUPT ||
                code == SQLITE_NOTADB || code == SQLITE_CANTOPEN;
    return vf_fail(e, fatal, "source: %s: %s", what, sqlite3_errmsg(db));
}

void vf_strv_free(char **v, int n)
{
    if (v == NULL)
        return;
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static int push(char ***v, int *n, int *cap, const char *s)
{
    if (*n == *cap) {
        int nc = *cap ? *cap * 2 : 16;
        char **p = realloc(*v, (size_t)nc * sizeof(char *));
        if (p == NULL)
            return -1;
        *v = p;
        *cap = nc;
    }
    (*v)[*n] = s ? strdup(s) : NULL;
    if (s != NULL && (*v)[*n] == NULL)
        return -1;
    (*n)++;
    return 0;
}

/* Why `name` is no table capture could take; NULL if it is one. */
static const char *not_capturable(const char *name, const char *type)
{
    if (type == NULL)
        return "no such table in the source";
    if (strncmp(name, "sqlite_", 7) == 0 || strncmp(name, "_sluice", 7) == 0)
        return "internal table, never captured";
    if (strcmp(type, "table") != 0 && strcmp(type, "virtual") != 0 &&
        strcmp(type, "shadow") != 0)
        return "not a table";
    return NULL;
}

/* Why capture deliberately skips table `name` of `type` (the same rules
** as cap_schema.c), written into buf; NULL if capture takes it. */
static const char *skipped_by_capture(sqlite3 *db, const char *name,
                                      const char *type, char *buf,
                                      size_t cap)
{
    vf_srctable t;
    jr_err e = { 0 };
    const char *why = NULL;

    if (strcmp(type, "virtual") == 0)
        return "virtual table: capture skips it (its content is derived)";
    if (strcmp(type, "shadow") == 0)
        return "shadow table of a virtual table: capture skips it";
    if (vf_src_describe(db, name, &t, &e) == 0) {
        int need = t.nkey ? 3 + t.nkey + t.ncols : 4 + 2 * t.ncols;
        int limit = sqlite3_limit(db, SQLITE_LIMIT_COLUMN, -1);
        if (need > limit) {
            snprintf(buf, cap, "too wide: capture skips it (its change log "
                     "would need %d columns, SQLite allows %d)", need,
                     limit);
            why = buf;
        } else if (t.nkey == 0 && t.rowid_alias == NULL) {
            why = "no primary key and columns rowid, oid and _rowid_ hide "
                  "its rowid: capture skips it";
        }
    }
    vf_srctable_free(&t);
    return why;
}

int vf_src_tables(sqlite3 *db, const char *only, const char *exclude,
                  char ***names, char ***bad, char ***skip, int *n,
                  jr_err *e)
{
    sqlite3_stmt *st = NULL;
    int rc, cap = 0, bcap = 0, nb = 0, scap = 0, ns = 0;
    char sbuf[200];

    *names = NULL;
    *bad = NULL;
    *skip = NULL;
    *n = 0;
    if (only != NULL) {
        /* the user's list, in the user's order */
        const char *p = only;
        rc = sqlite3_prepare_v2(db, "SELECT type FROM pragma_table_list "
                                "WHERE schema = 'main' AND name = ?1", -1,
                                &st, NULL);
        if (rc != SQLITE_OK)
            return sfail(e, db, "listing tables");
        while (*p) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            char *name = strndup(p, len);
            const char *why;
            if (name == NULL)
                goto oom;
            sqlite3_reset(st);
            sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
            rc = sqlite3_step(st);
            if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
                free(name);
                sqlite3_finalize(st);
                return sfail(e, db, "listing tables");
            }
            {
                const char *type = rc == SQLITE_ROW
                    ? (const char *)sqlite3_column_text(st, 0) : NULL;
                char tbuf[16];
                const char *sk;
                snprintf(tbuf, sizeof(tbuf), "%s", type ? type : "");
                why = not_capturable(name, type);
                sqlite3_reset(st);        /* describe needs the db free */
                sk = why == NULL ? skipped_by_capture(db, name, tbuf, sbuf,
                                                      sizeof(sbuf)) : NULL;
                if (len > 0 && !(exclude && sl_list_has(exclude, name)) &&
                    (push(names, n, &cap, name) != 0 ||
                     push(bad, &nb, &bcap, why) != 0 ||
                     push(skip, &ns, &scap, sk) != 0)) {
                    free(name);
                    goto oom;
                }
            }
            free(name);
            p = comma ? comma + 1 : p + len;
        }
        sqlite3_finalize(st);
        return 0;
    }
    rc = sqlite3_prepare_v2(db,
        "SELECT name, type FROM pragma_table_list WHERE schema = 'main' "
        "AND type IN ('table', 'virtual', 'shadow') "
        "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
        "AND name NOT LIKE '\\_sluice%' ESCAPE '\\' ORDER BY name",
        -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sfail(e, db, "listing tables");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        const char *type = (const char *)sqlite3_column_text(st, 1);
        if (exclude != NULL && sl_list_has(exclude, name))
            continue;
        if (push(names, n, &cap, name) != 0 ||
            push(bad, &nb, &bcap, NULL) != 0 ||
            push(skip, &ns, &scap, strcmp(type, "table") == 0 ? NULL
                                   : type) != 0)
            goto oom;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return sfail(e, db, "listing tables");
    /* the type was a placeholder: now the reasons (describe needs the
    ** listing statement finished) */
    for (int i = 0; i < *n; i++) {
        const char *type = (*skip)[i] ? (*skip)[i] : "table";
        char tb[16];
        const char *sk;
        snprintf(tb, sizeof(tb), "%s", type);
        sk = skipped_by_capture(db, (*names)[i], tb, sbuf, sizeof(sbuf));
        free((*skip)[i]);
        (*skip)[i] = sk ? strdup(sk) : NULL;
        if (sk && (*skip)[i] == NULL)
            return vf_fail(e, VF_FATAL_SW, "out of memory");
    }
    return 0;
oom:
    sqlite3_finalize(st);
    return vf_fail(e, VF_FATAL_SW, "out of memory");
}

void vf_srctable_free(vf_srctable *t)
{
    for (int i = 0; i < t->ncols; i++)
        free(t->cols[i].name);
    free(t->cols);
    free(t->name);
    free(t->rowid_alias);
    memset(t, 0, sizeof(*t));
}

int vf_src_describe(sqlite3 *db, const char *name, vf_srctable *out,
                    jr_err *e)
{
    static const char *const aliases[] = { "rowid", "oid", "_rowid_" };
    sqlite3_stmt *st = NULL;
    int rc, cap = 0;

    memset(out, 0, sizeof(*out));
    if ((out->name = strdup(name)) == NULL)
        return vf_fail(e, VF_FATAL_SW, "out of memory");
    rc = sqlite3_prepare_v2(db, "SELECT name, pk FROM pragma_table_xinfo(?1)"
                            " WHERE hidden != 1 ORDER BY cid", -1, &st,
                            NULL);
    if (rc != SQLITE_OK)
        return sfail(e, db, "reading columns");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        vf_srccol *c;
        if (out->ncols == cap) {
            vf_srccol *p;
            cap = cap ? cap * 2 : 16;
            p = realloc(out->cols, (size_t)cap * sizeof(*p));
            if (p == NULL)
                goto oom;
            out->cols = p;
        }
        c = &out->cols[out->ncols];
        c->name = strdup((const char *)sqlite3_column_text(st, 0));
        c->pk = sqlite3_column_int(st, 1);
        if (c->name == NULL)
            goto oom;
        out->ncols++;
        if (c->pk > out->nkey)
            out->nkey = c->pk;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return sfail(e, db, "reading columns");
    if (out->ncols == 0)
        return 1;
    if (out->nkey == 0) {
        for (int a = 0; a < 3 && out->rowid_alias == NULL; a++) {
            int shadowed = 0;
            for (int i = 0; i < out->ncols; i++)
                if (sqlite3_stricmp(out->cols[i].name, aliases[a]) == 0)
                    shadowed = 1;
            if (!shadowed && (out->rowid_alias = strdup(aliases[a])) == NULL)
                return vf_fail(e, VF_FATAL_SW, "out of memory");
        }
    }
    return 0;
oom:
    sqlite3_finalize(st);
    return vf_fail(e, VF_FATAL_SW, "out of memory");
}

static void ident(sqlite3_str *s, const char *name)
{
    sqlite3_str_appendchar(s, 1, '"');
    for (; *name; name++) {
        if (*name == '"')
            sqlite3_str_appendchar(s, 1, '"');
        sqlite3_str_appendchar(s, 1, *name);
    }
    sqlite3_str_appendchar(s, 1, '"');
}

static int prepare_str(sqlite3 *db, sqlite3_str *s, sqlite3_stmt **out,
                       jr_err *e)
{
    char *sql = sqlite3_str_finish(s);
    int rc;

    if (sql == NULL)
        return vf_fail(e, VF_FATAL_SW, "out of memory");
    rc = sqlite3_prepare_v2(db, sql, -1, out, NULL);
    sqlite3_free(sql);
    return rc == SQLITE_OK ? 0 : sfail(e, db, "preparing SELECT");
}

int vf_src_select(sqlite3 *db, const vf_table *t, int ordered,
                  sqlite3_stmt **out, jr_err *e)
{
    sqlite3_str *s = sqlite3_str_new(db);

    *out = NULL;
    sqlite3_str_appendall(s, "SELECT ");
    for (int i = 0; i < t->ncols; i++) {
        if (i)
            sqlite3_str_appendall(s, ", ");
        ident(s, t->cols[i].sname);
    }
    sqlite3_str_appendall(s, " FROM main.");
    ident(s, t->name);
    if (ordered && t->nkey > 0) {
        sqlite3_str_appendall(s, " ORDER BY ");
        for (int i = 0; i < t->nkey; i++) {
            if (i)
                sqlite3_str_appendall(s, ", ");
            ident(s, t->cols[t->key[i]].sname);
            if (!(t->rowid_key && i == 0))
                sqlite3_str_appendall(s, " COLLATE BINARY");
        }
    }
    return prepare_str(db, s, out, e);
}

int vf_src_count(sqlite3 *db, const char *table, uint64_t *n, jr_err *e)
{
    sqlite3_str *s = sqlite3_str_new(db);
    sqlite3_stmt *st;
    int rc;

    sqlite3_str_appendall(s, "SELECT count(*) FROM main.");
    ident(s, table);
    if (prepare_str(db, s, &st, e) != 0)
        return -1;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *n = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : sfail(e, db, "counting rows");
}

int vf_src_begin(sqlite3 *db, jr_err *e)
{
    /* BEGIN is lazy: the read snapshot starts with the first SELECT
    ** and lasts until vf_src_end */
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return sfail(e, db, "BEGIN");
    return 0;
}

void vf_src_end(sqlite3 *db)
{
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
}
