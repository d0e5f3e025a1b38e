/*
** ct_model.c -- the model replayer of the capture suites (contract in
** ct_model.h), and the small helpers ct_compare.c shares (ct_internal.h).
**
** The model's own bookkeeping lives in its database, so a rolled-back
** group rolls it back too: _model_schema(name, json) holds the SCHEMA
** JSON of every table the model has. Parsed descriptions are cached in
** memory and the cache is dropped on every ROLLBACK.
**
** INVARIANTS:
**  (M1) the model only ever holds whole groups: BEGIN at a group's first
**       record, COMMIT at its group_end, ROLLBACK on ABORT, on an error
**       and when the journal ends mid-group (that group is re-read from
**       its first seq at the next sync).
**  (M2) seqs are dense: the model demands seq == next_seq on every record.
**  (M3) statistics of a group are added only when it commits.
*/
#include "ct_model.h"
#include "ct_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

typedef struct mtable {
    char *name;
    int ncols;             /* model columns: JSON columns (+ rowid col) */
    char **cols;
    int nkey;
    char **key;            /* key column names (keyless: the rowid col) */
    int keyless;
    int nuniq;
    int *uniq_n;
    char ***uniq;          /* unique column lists */
} mtable;

struct ct_model {
    sqlite3 *db;
    int ntables;
    mtable *t;             /* cache of parsed schemas */
    ct_model_stats st;     /* committed */
    ct_model_stats pend;   /* of the open group */
    int in_group;
    uint64_t group_start;
    char snap_table[512];  /* table between SNAP_BEGIN and SNAP_END */
};

/* ---------------------------------------------------------------- */
/* Small helpers                                                    */
/* ---------------------------------------------------------------- */

int ct__fail(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return -1;
}

char *ct__xstrdup(const char *s)
{
    char *p = strdup(s ? s : "");

    cr_assert(p != NULL, "out of memory");
    return p;
}

void *ct__xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);

    cr_assert(q != NULL, "out of memory");
    return q;
}

int ct__exec(sqlite3 *db, const char *sql, char *why, size_t cap)
{
    char *e = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &e);

    if (rc != SQLITE_OK) {
        ct__fail(why, cap, "model: %.200s: %s", sql,
                 e ? e : sqlite3_errstr(rc));
        sqlite3_free(e);
        return -1;
    }
    return 0;
}

const char *ct_value_str(const jr_value *v, char *buf, size_t cap)
{
    switch (v->type) {
    case JR_NULL:
        snprintf(buf, cap, "NULL");
        break;
    case JR_INT:
        snprintf(buf, cap, "int:%lld", (long long)v->u.i);
        break;
    case JR_REAL: {
        uint64_t bits;
        memcpy(&bits, &v->u.r, sizeof(bits));
        snprintf(buf, cap, "real:%.17g(0x%016llx)", v->u.r,
                 (unsigned long long)bits);
        break;
    }
    default:
        snprintf(buf, cap, "%s[%zu]:%.*s", v->type == JR_TEXT ? "text"
                                                              : "blob",
                 v->u.b.n, v->type == JR_TEXT ? (int)(v->u.b.n > 40 ? 40 :
                                                      v->u.b.n) : 0,
                 v->u.b.p ? (const char *)v->u.b.p : "");
    }
    return buf;
}

const jr_value *ct_row_get(const jr_row *row, const char *name)
{
    for (uint32_t i = 0; i < row->n; i++)
        if (strcmp(row->names[i], name) == 0)
            return &row->vals[i];
    return NULL;
}

int64_t ct_row_int(const jr_row *row, const char *name, int64_t dflt)
{
    const jr_value *v = ct_row_get(row, name);

    return v != NULL && v->type == JR_INT ? v->u.i : dflt;
}

int ct__value_equal(const jr_value *a, const jr_value *b)
{
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case JR_NULL:
        return 1;
    case JR_INT:
        return a->u.i == b->u.i;
    case JR_REAL:
        return memcmp(&a->u.r, &b->u.r, sizeof(double)) == 0;
    default:
        return a->u.b.n == b->u.b.n &&
               (a->u.b.n == 0 || memcmp(a->u.b.p, b->u.b.p, a->u.b.n) == 0);
    }
}

/* Column i of a stepped statement as a jr_value view. */
void ct__col_value(sqlite3_stmt *s, int i, jr_value *v)
{
    memset(v, 0, sizeof(*v));
    switch (sqlite3_column_type(s, i)) {
    case SQLITE_INTEGER:
        v->type = JR_INT;
        v->u.i = sqlite3_column_int64(s, i);
        break;
    case SQLITE_FLOAT:
        v->type = JR_REAL;
        v->u.r = sqlite3_column_double(s, i);
        break;
    case SQLITE_TEXT:
        v->type = JR_TEXT;
        v->u.b.p = sqlite3_column_text(s, i);
        v->u.b.n = (size_t)sqlite3_column_bytes(s, i);
        break;
    case SQLITE_BLOB:
        v->type = JR_BLOB;
        v->u.b.p = sqlite3_column_blob(s, i);
        v->u.b.n = (size_t)sqlite3_column_bytes(s, i);
        break;
    default:
        v->type = JR_NULL;
    }
}

static int bind_value(sqlite3_stmt *s, int i, const jr_value *v)
{
    switch (v->type) {
    case JR_NULL:
        return sqlite3_bind_null(s, i);
    case JR_INT:
        return sqlite3_bind_int64(s, i, v->u.i);
    case JR_REAL:
        return sqlite3_bind_double(s, i, v->u.r);
    case JR_TEXT:
        return sqlite3_bind_text64(s, i, v->u.b.n ? v->u.b.p : "",
                                   v->u.b.n, SQLITE_TRANSIENT, SQLITE_UTF8);
    case JR_BLOB:     /* a NULL pointer would bind NULL, not x'' */
        return sqlite3_bind_blob64(s, i, v->u.b.n ? v->u.b.p : "",
                                   v->u.b.n, SQLITE_TRANSIENT);
    default:
        return SQLITE_MISUSE;
    }
}

/* ---------------------------------------------------------------- */
/* Schema descriptions                                              */
/* ---------------------------------------------------------------- */

static void mtable_free(mtable *t)
{
    for (int i = 0; i < t->ncols; i++)
        free(t->cols[i]);
    for (int i = 0; i < t->nkey; i++)
        free(t->key[i]);
    for (int u = 0; u < t->nuniq; u++) {
        for (int i = 0; i < t->uniq_n[u]; i++)
            free(t->uniq[u][i]);
        free(t->uniq[u]);
    }
    free(t->cols);
    free(t->key);
    free(t->uniq);
    free(t->uniq_n);
    free(t->name);
    memset(t, 0, sizeof(*t));
}

static void cache_clear(ct_model *m)
{
    for (int i = 0; i < m->ntables; i++)
        mtable_free(&m->t[i]);
    free(m->t);
    m->t = NULL;
    m->ntables = 0;
}

static void cache_forget(ct_model *m, const char *name)
{
    for (int i = 0; i < m->ntables; i++)
        if (strcmp(m->t[i].name, name) == 0) {
            mtable_free(&m->t[i]);
            m->t[i] = m->t[--m->ntables];
            return;
        }
}

/* The rowid alias capture keys a keyless table by: the first of rowid,
** oid, _rowid_ that no column shadows (case-insensitively). */
const char *ct__rowid_alias(char **cols, int ncols)
{
    static const char *const aliases[] = { "rowid", "oid", "_rowid_" };

    for (int a = 0; a < 3; a++) {
        int shadowed = 0;
        for (int i = 0; i < ncols; i++)
            if (sqlite3_stricmp(cols[i], aliases[a]) == 0)
                shadowed = 1;
        if (!shadowed)
            return aliases[a];
    }
    return NULL;
}

/* Run a one-column query on json ?1 and collect the text results. */
static int json_list(sqlite3 *db, const char *sql, const char *json,
                     char ***out, int *n, char *why, size_t cap)
{
    sqlite3_stmt *s;
    int rc;

    *out = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return ct__fail(why, cap, "model: %s: %s", sql, sqlite3_errmsg(db));
    sqlite3_bind_text(s, 1, json, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(s, 0);
        if (v == NULL) {
            sqlite3_finalize(s);
            return ct__fail(why, cap, "schema JSON: a name is missing or not "
                            "a string in %.300s", json);
        }
        *out = ct__xrealloc(*out, (size_t)(*n + 1) * sizeof(char *));
        (*out)[(*n)++] = ct__xstrdup(v);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return ct__fail(why, cap, "schema JSON %.300s: %s", json,
                        sqlite3_errmsg(db));
    return 0;
}

static int parse_schema(ct_model *m, const char *json, mtable *t,
                        char *why, size_t cap)
{
    sqlite3_stmt *s;
    char **jcols = NULL, **jkey = NULL;
    int njcols = 0, njkey = 0, rc, rowid_key = 0;

    memset(t, 0, sizeof(*t));
    if (sqlite3_prepare_v2(m->db, "SELECT json_extract(?1, '$.table'), "
                           "json_extract(?1, '$.rowid_key'), "
                           "json_type(?1, '$.columns'), json_type(?1, "
                           "'$.key'), json_type(?1, '$.unique')", -1, &s,
                           NULL) != SQLITE_OK)
        return ct__fail(why, cap, "model: %s", sqlite3_errmsg(m->db));
    sqlite3_bind_text(s, 1, json, -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc != SQLITE_ROW || sqlite3_column_type(s, 0) != SQLITE_TEXT ||
        sqlite3_column_type(s, 1) != SQLITE_INTEGER ||
        sqlite3_column_text(s, 2) == NULL ||
        strcmp((const char *)sqlite3_column_text(s, 2), "array") != 0 ||
        sqlite3_column_text(s, 3) == NULL ||
        strcmp((const char *)sqlite3_column_text(s, 3), "array") != 0 ||
        sqlite3_column_text(s, 4) == NULL ||
        strcmp((const char *)sqlite3_column_text(s, 4), "array") != 0) {
        sqlite3_finalize(s);
        return ct__fail(why, cap, "schema JSON lacks table/rowid_key/columns/"
                        "key/unique: %.300s", json);
    }
    t->name = ct__xstrdup((const char *)sqlite3_column_text(s, 0));
    rowid_key = sqlite3_column_int(s, 1);
    sqlite3_finalize(s);
    if (json_list(m->db, "SELECT json_extract(value, '$.name') FROM "
                  "json_each(?1, '$.columns') ORDER BY key", json, &jcols,
                  &njcols, why, cap) != 0 ||
        json_list(m->db, "SELECT value FROM json_each(?1, '$.key') ORDER "
                  "BY key", json, &jkey, &njkey, why, cap) != 0)
        goto bad;
    if (njcols == 0) {
        ct__fail(why, cap, "schema JSON of %s has no columns", t->name);
        goto bad;
    }
    t->cols = jcols;
    t->ncols = njcols;
    jcols = NULL;
    if (rowid_key) {
        const char *alias = ct__rowid_alias(t->cols, t->ncols);
        if (njkey != 0 || alias == NULL) {
            ct__fail(why, cap, "schema JSON of %s: rowid_key with key %d "
                     "columns / no free rowid alias", t->name, njkey);
            goto bad;
        }
        t->keyless = 1;
        t->cols = ct__xrealloc(t->cols,
                               (size_t)(t->ncols + 1) * sizeof(char *));
        t->cols[t->ncols++] = ct__xstrdup(alias);
        t->key = ct__xrealloc(NULL, sizeof(char *));
        t->key[0] = ct__xstrdup(alias);
        t->nkey = 1;
    } else {
        if (njkey == 0) {
            ct__fail(why, cap, "schema JSON of %s: no key and not rowid_key",
                     t->name);
            goto bad;
        }
        t->key = jkey;
        t->nkey = njkey;
        jkey = NULL;
        njkey = 0;
    }
    for (int k = 0; k < njkey; k++)
        free(jkey[k]);
    free(jkey);
    jkey = NULL;
    njkey = 0;
    /* unique column lists */
    if (sqlite3_prepare_v2(m->db, "SELECT u.key, c.value FROM "
                           "json_each(?1, '$.unique') u, json_each(u.value) "
                           "c ORDER BY u.key, c.key", -1, &s, NULL) !=
        SQLITE_OK) {
        ct__fail(why, cap, "model: %s", sqlite3_errmsg(m->db));
        goto bad;
    }
    sqlite3_bind_text(s, 1, json, -1, SQLITE_STATIC);
    {
        int64_t last = -1;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            int64_t u = sqlite3_column_int64(s, 0);
            const char *c = (const char *)sqlite3_column_text(s, 1);
            if (u != last) {
                t->uniq = ct__xrealloc(t->uniq, (size_t)(t->nuniq + 1) *
                                       sizeof(char **));
                t->uniq_n = ct__xrealloc(t->uniq_n, (size_t)(t->nuniq + 1) *
                                         sizeof(int));
                t->uniq[t->nuniq] = NULL;
                t->uniq_n[t->nuniq] = 0;
                t->nuniq++;
                last = u;
            }
            {
                int n = t->uniq_n[t->nuniq - 1];
                t->uniq[t->nuniq - 1] = ct__xrealloc(t->uniq[t->nuniq - 1],
                                                     (size_t)(n + 1) *
                                                     sizeof(char *));
                t->uniq[t->nuniq - 1][n] = ct__xstrdup(c);
                t->uniq_n[t->nuniq - 1] = n + 1;
            }
        }
        sqlite3_finalize(s);
        if (rc != SQLITE_DONE) {
            ct__fail(why, cap, "schema JSON of %s: bad unique list", t->name);
            goto bad;
        }
    }
    return 0;
bad:
    for (int k = 0; k < njcols && jcols; k++)
        free(jcols[k]);
    free(jcols);
    for (int k = 0; k < njkey && jkey; k++)
        free(jkey[k]);
    free(jkey);
    mtable_free(t);
    return -1;
}

/* The description of `name`, from the cache or _model_schema. */
static mtable *lookup(ct_model *m, const char *name, char *why, size_t cap)
{
    sqlite3_stmt *s;
    mtable t;
    char *json = NULL;

    for (int i = 0; i < m->ntables; i++)
        if (strcmp(m->t[i].name, name) == 0)
            return &m->t[i];
    if (sqlite3_prepare_v2(m->db, "SELECT json FROM _model_schema WHERE "
                           "name = ?1", -1, &s, NULL) != SQLITE_OK) {
        ct__fail(why, cap, "model: %s", sqlite3_errmsg(m->db));
        return NULL;
    }
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW)
        json = ct__xstrdup((const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    if (json == NULL) {
        ct__fail(why, cap, "a record for table \"%s\", which no SCHEMA record "
                 "created (or a DROP removed)", name);
        return NULL;
    }
    if (parse_schema(m, json, &t, why, cap) != 0) {
        free(json);
        return NULL;
    }
    free(json);
    m->t = ct__xrealloc(m->t, (size_t)(m->ntables + 1) * sizeof(mtable));
    m->t[m->ntables] = t;
    return &m->t[m->ntables++];
}

/* ---------------------------------------------------------------- */
/* Applying records                                                 */
/* ---------------------------------------------------------------- */

static int apply_schema(ct_model *m, const jr_entry *e, char *why,
                        size_t cap)
{
    sqlite3_stmt *s;
    sqlite3_str *q;
    char *json, *sql;
    mtable t;
    int rc;

    if (e->rec.aux == NULL || e->rec.aux_len == 0)
        return ct__fail(why, cap, "seq %llu: SCHEMA of %s without JSON",
                        (unsigned long long)e->seq, e->rec.table);
    json = ct__xrealloc(NULL, e->rec.aux_len + 1);
    memcpy(json, e->rec.aux, e->rec.aux_len);
    json[e->rec.aux_len] = '\0';
    if (parse_schema(m, json, &t, why, cap) != 0) {
        free(json);
        return -1;
    }
    if (strcmp(t.name, e->rec.table) != 0) {
        ct__fail(why, cap, "seq %llu: SCHEMA record of \"%s\" describes "
                 "\"%s\"", (unsigned long long)e->seq, e->rec.table, t.name);
        mtable_free(&t);
        free(json);
        return -1;
    }
    q = sqlite3_str_new(m->db);
    sqlite3_str_appendf(q, "DROP TABLE IF EXISTS \"%w\"; CREATE TABLE "
                        "\"%w\"(", t.name, t.name);
    for (int i = 0; i < t.ncols; i++)
        sqlite3_str_appendf(q, "\"%w\", ", t.cols[i]);
    sqlite3_str_appendall(q, "PRIMARY KEY(");
    for (int i = 0; i < t.nkey; i++)
        sqlite3_str_appendf(q, "%s\"%w\"", i ? ", " : "", t.key[i]);
    sqlite3_str_appendall(q, "))");
    sql = sqlite3_str_finish(q);
    cache_forget(m, t.name);
    rc = ct__exec(m->db, sql, why, cap);
    sqlite3_free(sql);
    if (rc == 0) {
        rc = sqlite3_prepare_v2(m->db, "INSERT OR REPLACE INTO "
                                "_model_schema(name, json) VALUES (?1, ?2)",
                                -1, &s, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_text(s, 1, t.name, -1, SQLITE_STATIC);
            sqlite3_bind_text(s, 2, json, -1, SQLITE_STATIC);
            rc = sqlite3_step(s) == SQLITE_DONE ? 0 : -1;
            sqlite3_finalize(s);
        }
        if (rc != 0)
            rc = ct__fail(why, cap, "model: %s", sqlite3_errmsg(m->db));
    }
    mtable_free(&t);
    free(json);
    return rc;
}

static int apply_drop(ct_model *m, const jr_entry *e, char *why, size_t cap)
{
    char *sql = sqlite3_mprintf("DROP TABLE IF EXISTS \"%w\"; DELETE FROM "
                                "_model_schema WHERE name = %Q",
                                e->rec.table, e->rec.table);
    int rc = ct__exec(m->db, sql, why, cap);

    sqlite3_free(sql);
    cache_forget(m, e->rec.table);
    return rc;
}

static int apply_empty(ct_model *m, const jr_entry *e, char *why,
                       size_t cap)
{
    char *sql;
    int rc;

    if (lookup(m, e->rec.table, why, cap) == NULL)
        return -1;
    sql = sqlite3_mprintf("DELETE FROM \"%w\"", e->rec.table);
    rc = ct__exec(m->db, sql, why, cap);
    sqlite3_free(sql);
    return rc;
}

/* Prepare sql (freed here); on failure describe it. */
static sqlite3_stmt *prep(ct_model *m, char *sql, const jr_entry *e,
                          char *why, size_t cap)
{
    sqlite3_stmt *s = NULL;

    if (sqlite3_prepare_v2(m->db, sql, -1, &s, NULL) != SQLITE_OK) {
        ct__fail(why, cap, "seq %llu (%s on %s): %s",
                 (unsigned long long)e->seq, jr_kind_name(e->rec.kind),
                 e->rec.table, sqlite3_errmsg(m->db));
        s = NULL;
    }
    sqlite3_free(sql);
    return s;
}

static int step_done(ct_model *m, sqlite3_stmt *s, const jr_entry *e,
                     char *why, size_t cap)
{
    int rc = sqlite3_step(s);

    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return ct__fail(why, cap, "seq %llu (%s on %s): %s",
                        (unsigned long long)e->seq, jr_kind_name(e->rec.kind),
                        e->rec.table, sqlite3_errmsg(m->db));
    return 0;
}

/* The record's key must name exactly the table's key columns. */
static int check_key_names(const mtable *t, const jr_entry *e, char *why,
                           size_t cap)
{
    if (e->rec.key.n != (uint32_t)t->nkey)
        return ct__fail(why, cap, "seq %llu (%s on %s): key has %u columns, "
                        "the schema %d", (unsigned long long)e->seq,
                        jr_kind_name(e->rec.kind), t->name, e->rec.key.n,
                        t->nkey);
    for (int i = 0; i < t->nkey; i++)
        if (strcmp(e->rec.key.names[i], t->key[i]) != 0)
            return ct__fail(why, cap, "seq %llu (%s on %s): key column %d is "
                            "\"%s\", the schema says \"%s\"",
                            (unsigned long long)e->seq,
                            jr_kind_name(e->rec.kind), t->name, i,
                            e->rec.key.names[i], t->key[i]);
    return 0;
}

/* Keyless UPDATE/DELETE: the old image must be the row the model has. */
static int check_old_image(ct_model *m, const mtable *t, const jr_entry *e,
                           char *why, size_t cap)
{
    sqlite3_str *q = sqlite3_str_new(m->db);
    sqlite3_stmt *s;
    const jr_row *old = &e->rec.old_row;

    if (old->n != (uint32_t)(t->ncols - 1)) {
        sqlite3_free(sqlite3_str_finish(q));
        return ct__fail(why, cap, "seq %llu (%s on keyless %s): old image has "
                        "%u columns, the table %d", (unsigned long long)e->seq,
                        jr_kind_name(e->rec.kind), t->name, old->n,
                        t->ncols - 1);
    }
    sqlite3_str_appendall(q, "SELECT ");
    for (uint32_t i = 0; i < old->n; i++)
        sqlite3_str_appendf(q, "%s\"%w\"", i ? ", " : "", old->names[i]);
    sqlite3_str_appendf(q, " FROM \"%w\" WHERE \"%w\" = ?1", t->name,
                        t->key[0]);
    if ((s = prep(m, sqlite3_str_finish(q), e, why, cap)) == NULL)
        return -1;
    bind_value(s, 1, &e->rec.key.vals[0]);
    if (sqlite3_step(s) == SQLITE_ROW) {
        for (uint32_t i = 0; i < old->n; i++) {
            jr_value v;
            ct__col_value(s, (int)i, &v);
            if (!ct__value_equal(&v, &old->vals[i])) {
                m->pend.old_mismatch++;
                break;
            }
        }
    }
    sqlite3_finalize(s);
    return 0;
}

static int delete_by_key(ct_model *m, const mtable *t, const jr_entry *e,
                         char *why, size_t cap)
{
    sqlite3_str *q = sqlite3_str_new(m->db);
    sqlite3_stmt *s;

    sqlite3_str_appendf(q, "DELETE FROM \"%w\" WHERE ", t->name);
    for (int i = 0; i < t->nkey; i++)
        sqlite3_str_appendf(q, "%s\"%w\" = ?%d", i ? " AND " : "",
                            t->key[i], i + 1);
    if ((s = prep(m, sqlite3_str_finish(q), e, why, cap)) == NULL)
        return -1;
    for (int i = 0; i < t->nkey; i++)
        bind_value(s, i + 1, &e->rec.key.vals[i]);
    if (step_done(m, s, e, why, cap) != 0)
        return -1;
    if (sqlite3_changes(m->db) == 0)
        m->pend.missing++;
    return 0;
}

/* Delete the rows (other than the image's own key) that share all values
** of a unique column list with the new image; NULLs never conflict. */
static int delete_unique_conflicts(ct_model *m, const mtable *t,
                                   const jr_entry *e, char *why, size_t cap)
{
    const jr_row *img = &e->rec.new_row;

    for (int u = 0; u < t->nuniq; u++) {
        sqlite3_str *q;
        sqlite3_stmt *s;
        int skip = 0, n = t->uniq_n[u];

        for (int i = 0; i < n; i++) {
            const jr_value *v = ct_row_get(img, t->uniq[u][i]);
            if (v == NULL)
                return ct__fail(why, cap, "seq %llu (%s on %s): image lacks "
                                "unique column \"%s\"",
                                (unsigned long long)e->seq,
                                jr_kind_name(e->rec.kind), t->name,
                                t->uniq[u][i]);
            if (v->type == JR_NULL)
                skip = 1;
        }
        if (skip)
            continue;
        q = sqlite3_str_new(m->db);
        sqlite3_str_appendf(q, "DELETE FROM \"%w\" WHERE ", t->name);
        for (int i = 0; i < n; i++)
            sqlite3_str_appendf(q, "\"%w\" = ?%d AND ", t->uniq[u][i],
                                i + 1);
        sqlite3_str_appendall(q, "NOT (");
        for (int k = 0; k < t->nkey; k++)
            sqlite3_str_appendf(q, "%s\"%w\" IS ?%d", k ? " AND " : "",
                                t->key[k], n + k + 1);
        sqlite3_str_appendall(q, ")");
        if ((s = prep(m, sqlite3_str_finish(q), e, why, cap)) == NULL)
            return -1;
        for (int i = 0; i < n; i++)
            bind_value(s, i + 1, ct_row_get(img, t->uniq[u][i]));
        for (int k = 0; k < t->nkey; k++) {
            const jr_value *v = ct_row_get(img, t->key[k]);
            if (v == NULL) {
                sqlite3_finalize(s);
                return ct__fail(why, cap, "seq %llu (%s on %s): image "
                                "lacks key column \"%s\"",
                                (unsigned long long)e->seq,
                                jr_kind_name(e->rec.kind), t->name,
                                t->key[k]);
            }
            bind_value(s, n + k + 1, v);
        }
        if (step_done(m, s, e, why, cap) != 0)
            return -1;
        m->pend.unique_deletes += (uint64_t)sqlite3_changes(m->db);
    }
    return 0;
}

static int insert_image(ct_model *m, const mtable *t, const jr_entry *e,
                        char *why, size_t cap)
{
    const jr_row *img = &e->rec.new_row;
    sqlite3_str *q;
    sqlite3_stmt *s;

    if (img->n != (uint32_t)t->ncols)
        return ct__fail(why, cap, "seq %llu (%s on %s): image has %u columns, "
                        "the schema %d", (unsigned long long)e->seq,
                        jr_kind_name(e->rec.kind), t->name, img->n, t->ncols);
    q = sqlite3_str_new(m->db);
    sqlite3_str_appendf(q, "INSERT OR REPLACE INTO \"%w\"(", t->name);
    for (uint32_t i = 0; i < img->n; i++)
        sqlite3_str_appendf(q, "%s\"%w\"", i ? ", " : "", img->names[i]);
    sqlite3_str_appendall(q, ") VALUES (");
    for (uint32_t i = 0; i < img->n; i++)
        sqlite3_str_appendf(q, "%s?%u", i ? ", " : "", i + 1);
    sqlite3_str_appendall(q, ")");
    if ((s = prep(m, sqlite3_str_finish(q), e, why, cap)) == NULL)
        return -1;
    for (uint32_t i = 0; i < img->n; i++)
        bind_value(s, (int)i + 1, &img->vals[i]);
    return step_done(m, s, e, why, cap);
}

static int apply_change(ct_model *m, const jr_entry *e, char *why,
                        size_t cap)
{
    const jr_record *r = &e->rec;
    mtable *t = lookup(m, r->table, why, cap);

    if (t == NULL || check_key_names(t, e, why, cap) != 0)
        return -1;
    if (r->kind == JR_K_INSERT) {
        for (int k = 0; k < t->nkey; k++) {
            const jr_value *v = ct_row_get(&r->new_row, t->key[k]);
            if (v == NULL || !ct__value_equal(v, &r->key.vals[k]))
                m->pend.key_mismatch++;
        }
    } else if (t->keyless && check_old_image(m, t, e, why, cap) != 0) {
        return -1;
    }
    if (r->kind == JR_K_UPDATE || r->kind == JR_K_DELETE)
        if (delete_by_key(m, t, e, why, cap) != 0)
            return -1;
    if (r->kind == JR_K_INSERT || r->kind == JR_K_UPDATE)
        if (delete_unique_conflicts(m, t, e, why, cap) != 0 ||
            insert_image(m, t, e, why, cap) != 0)
            return -1;
    if (m->snap_table[0] == '\0' || strcmp(m->snap_table, r->table) != 0)
        m->pend.changes++;
    return 0;
}

static int apply(ct_model *m, const jr_entry *e, char *why, size_t cap)
{
    switch (e->rec.kind) {
    case JR_K_SCHEMA:
        return apply_schema(m, e, why, cap);
    case JR_K_SNAP_BEGIN:
        snprintf(m->snap_table, sizeof(m->snap_table), "%s", e->rec.table);
        m->pend.snapshots++;
        return apply_empty(m, e, why, cap);
    case JR_K_SNAP_END:
        if (strcmp(m->snap_table, e->rec.table) != 0)
            return ct__fail(why, cap, "seq %llu: SNAP_END of %s without its "
                            "SNAP_BEGIN", (unsigned long long)e->seq,
                            e->rec.table);
        m->snap_table[0] = '\0';
        return 0;
    case JR_K_TRUNCATE:
        return apply_empty(m, e, why, cap);
    case JR_K_DROP:
        return apply_drop(m, e, why, cap);
    case JR_K_INSERT:
    case JR_K_UPDATE:
    case JR_K_DELETE:
        return apply_change(m, e, why, cap);
    default:
        return ct__fail(why, cap, "seq %llu: unexpected record kind %d",
                        (unsigned long long)e->seq, e->rec.kind);
    }
}

/* ---------------------------------------------------------------- */
/* The model                                                        */
/* ---------------------------------------------------------------- */

ct_model *ct_model_new(void)
{
    ct_model *m = calloc(1, sizeof(*m));
    char why[256] = "";

    cr_assert(m != NULL, "out of memory");
    cr_assert_eq(sqlite3_open(":memory:", &m->db), SQLITE_OK,
                 "model: cannot open an in-memory database");
    cr_assert_eq(ct__exec(m->db, "CREATE TABLE _model_schema(name TEXT "
                          "PRIMARY KEY, json TEXT NOT NULL)", why,
                          sizeof(why)), 0, "%s", why);
    m->st.next_seq = 1;
    return m;
}

void ct_model_free(ct_model *m)
{
    if (m == NULL)
        return;
    cache_clear(m);
    sqlite3_close(m->db);
    free(m);
}

const ct_model_stats *ct_model_get_stats(const ct_model *m)
{
    return &m->st;
}

jr_journal *ct_journal_open(const char *dir)
{
    jr_journal_opts o = JR_JOURNAL_OPTS_INIT;
    jr_journal *j = NULL;
    jr_err err = { 0 };

    o.read_only = 1;
    cr_assert_eq(jr_journal_open(&j, dir, &o, &err), JR_OK,
                 "cannot open journal %s: %s", dir, err.msg);
    return j;
}

static void group_rollback(ct_model *m)
{
    sqlite3_exec(m->db, "ROLLBACK", NULL, NULL, NULL);
    cache_clear(m);
    memset(&m->pend, 0, sizeof(m->pend));
    m->snap_table[0] = '\0';
    m->in_group = 0;
}

static void add_stats(ct_model_stats *a, const ct_model_stats *b)
{
    a->records += b->records;
    a->changes += b->changes;
    a->snapshots += b->snapshots;
    a->unique_deletes += b->unique_deletes;
    a->key_mismatch += b->key_mismatch;
    a->old_mismatch += b->old_mismatch;
    a->missing += b->missing;
}

int ct_model_sync(ct_model *m, const char *dir, char *why, size_t cap)
{
    jr_journal_opts o = JR_JOURNAL_OPTS_INIT;
    jr_journal *j = NULL;
    jr_reader *r = NULL;
    jr_err err = { 0 };
    jr_entry e;
    int rc, ret = 0;

    why[0] = '\0';
    o.read_only = 1;
    if ((rc = jr_journal_open(&j, dir, &o, &err)) != JR_OK) {
        ct__fail(why, cap, "cannot open journal %s: %s (%d)", dir,
                 err.msg, rc);
        /* not there yet, or being created right now (see ct_model.h) */
        return rc == JR_ENOTFOUND || rc == JR_ECORRUPT ? -2 : -1;
    }
    if (jr_reader_open(&r, j, m->st.next_seq, &err) != JR_OK) {
        jr_journal_close(j);
        return ct__fail(why, cap, "jr_reader_open: %s", err.msg);
    }
    for (;;) {
        uint64_t want = m->in_group ? 0 : m->st.next_seq;
        rc = jr_reader_next(r, &e, &err);
        if (rc == JR_EAGAIN)
            break;
        if (rc != JR_OK) {
            ret = ct__fail(why, cap, "jr_reader_next after seq %llu: %s (%s)",
                           (unsigned long long)m->st.next_seq,
                           jr_strerror(rc), err.msg);
            break;
        }
        if (!m->in_group) {
            if (e.seq != want || e.group != e.seq) {
                ret = ct__fail(why, cap, "seq %llu (group %llu) where a group "
                               "should start at seq %llu",
                               (unsigned long long)e.seq,
                               (unsigned long long)e.group,
                               (unsigned long long)want);
                break;
            }
            if (ct__exec(m->db, "BEGIN", why, cap) != 0) {
                ret = -1;
                break;
            }
            m->in_group = 1;
            m->group_start = e.seq;
            memset(&m->pend, 0, sizeof(m->pend));
            m->pend.next_seq = e.seq;
        } else if (e.seq != m->pend.next_seq || e.group != m->group_start) {
            ret = ct__fail(why, cap, "seq %llu (group %llu) inside group %llu "
                           "expected seq %llu", (unsigned long long)e.seq,
                           (unsigned long long)e.group,
                           (unsigned long long)m->group_start,
                           (unsigned long long)m->pend.next_seq);
            group_rollback(m);
            break;
        }
        m->pend.next_seq = e.seq + 1;
        if (e.rec.kind == JR_K_ABORT) {
            if (!e.group_end) {
                ret = ct__fail(why, cap, "seq %llu: ABORT without group_end",
                               (unsigned long long)e.seq);
                group_rollback(m);
                break;
            }
            group_rollback(m);
            m->st.aborted++;
            m->st.next_seq = e.seq + 1;
            continue;
        }
        if (apply(m, &e, why, cap) != 0) {
            ret = -1;
            group_rollback(m);
            break;
        }
        m->pend.records++;
        if (e.group_end) {
            if (ct__exec(m->db, "COMMIT", why, cap) != 0) {
                ret = -1;
                group_rollback(m);
                break;
            }
            if (m->snap_table[0] != '\0') {
                ret = ct__fail(why, cap, "group ending at seq %llu leaves the "
                               "snapshot of %s open",
                               (unsigned long long)e.seq, m->snap_table);
                m->snap_table[0] = '\0';
                m->in_group = 0;
                break;
            }
            add_stats(&m->st, &m->pend);
            m->st.groups++;
            m->st.next_seq = e.seq + 1;
            m->in_group = 0;
        }
    }
    if (m->in_group)                 /* incomplete group: read it again */
        group_rollback(m);
    jr_reader_close(r);
    jr_journal_close(j);
    return ret;
}

sqlite3 *ct__model_db(ct_model *m)
{
    return m->db;
}

int ct_model_ntables(ct_model *m)
{
    sqlite3_stmt *s;
    int n = -1;

    if (sqlite3_prepare_v2(ct__model_db(m), "SELECT count(*) FROM "
                           "_model_schema", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return n;
}
