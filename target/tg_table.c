/*
** tg_table.c -- what the target tables look like, and making them.
**
** Metadata comes from information_schema (columns, their types and
** collations, unique indexes) and is cached per table until a
** SCHEMA/DROP record or a reconnect. Tables sluice creates are recorded
** in sqlite_sluice_tables; a SCHEMA record for such a table whose columns
** changed recreates it (the re-snapshot that always follows refills it).
** Tables the user created are never dropped or recreated -- not even when
** the source drops or renames its table: sluice only adds missing columns
** and maps the source's columns onto theirs by name.
**
** TYPE MAP (SQLite declared type -> MariaDB), by SQLite's affinity rules:
**   contains INT                       BIGINT
**   BOOL / BOOLEAN                     TINYINT(1)
**   contains CHAR, CLOB or TEXT        LONGTEXT (key column: VARCHAR(n))
**   contains BLOB, ANY, or no type     LONGBLOB (key column: VARBINARY(n)
**                                      + sqlite_sluice_class in the key)
**   contains REAL, FLOA or DOUB        DOUBLE
**   DATETIME, TIMESTAMP                DATETIME(6) (key/unique: as text)
**   DATE                               DATE (key/unique: as text)
**   TIME                               TIME(6) (key/unique: as text)
**   JSON                               JSON (key/unique: as text)
**   DECIMAL(p,s), NUMERIC(p,s)         DECIMAL(p,s)
**   other NUMERIC affinity             DOUBLE (an integer a double cannot
**                                      hold exactly is refused)
** Text is utf8mb4 with the binary NO PAD collation (byte-exact keys, as
** in SQLite: 'a' and 'a ' stay two keys). Key columns of text/blob type
** become VARCHAR or VARBINARY sized so the whole key fits InnoDB's
** 3072-byte limit. UNIQUE constraints are carried over (long ones as hash
** uniques). A table keyed by rowid gets that rowid as a BIGINT primary
** key column.
**
** DISTINCT KEYS STAY DISTINCT. Two SQLite keys must never become one row.
** So key and unique columns get types that keep every SQLite value apart:
** a date-typed key stays text ('2024-01-01' and '2024-01-01 00:00:00' are
** two SQLite keys, one DATETIME), and an untyped key column -- where 1,
** '1' and x'31' are three SQLite keys with the same bytes -- is paired
** with sqlite_sluice_class, the storage classes of the key's values
** (i, r, t, b; one letter per key column), which is part of the primary
** key; a UNIQUE set over an untyped column likewise gets
** sqlite_sluice_class_N in its unique index. Key values are never rounded
** (tg_policy.c TG_POL_KEY). A user's table cannot be given such types:
** when a key or source-UNIQUE column of it can make distinct SQLite values
** one (key_exact), it gets the invisible sqlite_sluice_key (and _N)
** columns recording the source values that wrote each row (rp_aug.c).
**
** NAMES MariaDB cannot take (over 64 characters, trailing spaces,
** characters beyond U+FFFF, two columns equal to MariaDB, more than 1017
** columns) stop replay for that table with a message naming the way out
** (--exclude-tables, --map).
**
** INVARIANT: identifiers are always backtick-quoted with backticks
** doubled (tg_str_ident), and values bound as escaped literals: a name can
** never inject SQL.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mysqld_error.h>

#include "tg.h"
#include "sl_json.h"
#include "sl_log.h"
#include "sl_utf8.h"

void tg_table_free1(tg_table *t);

void tg_table_free1(tg_table *t)
{
    for (int i = 0; i < t->ncols; i++) {
        free(t->cols[i].name);
        free(t->cols[i].data_type);
        free(t->cols[i].collation);
    }
    for (int i = 0; i < t->nuniq; i++)
        free(t->uniq_sql[i]);
    free(t->uniq_sql);
    for (int i = 0; i < t->nuclass + t->nuledger; i++) {
        struct tg_uclass *u = i < t->nuclass ? &t->uclass[i]
                                              : &t->uledger[i - t->nuclass];
        for (int k = 0; k < u->n; k++)
            free(u->names[k]);
        free(u->names);
        free(u->set);
    }
    free(t->uclass);
    free(t->uledger);
    free(t->cols);
    free(t->name);
    free(t);
}

void tg_tables_clear(tg_tables *ts)
{
    while (ts->head) {
        tg_table *n = ts->head->next;
        tg_table_free1(ts->head);
        ts->head = n;
    }
}

void tg_table_forget(tg_tables *ts, const char *name)
{
    for (tg_table **pp = &ts->head; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->name, name) == 0) {
            tg_table *t = *pp;
            *pp = t->next;
            tg_table_free1(t);
            return;
        }
}

int tg_table_col(const tg_table *t, const char *name)
{
    for (int i = 0; i < t->ncols; i++)
        if (strcasecmp(t->cols[i].name, name) == 0)
            return i;
    return -1;
}

static int kind_of(const char *dt, const char *ct)
{
    static const struct { const char *n; int k; } map[] = {
        { "tinyint", TG_T_INT }, { "smallint", TG_T_INT },
        { "mediumint", TG_T_INT }, { "int", TG_T_INT },
        { "bigint", TG_T_INT }, { "float", TG_T_FLOAT },
        { "double", TG_T_FLOAT }, { "decimal", TG_T_DECIMAL },
        { "datetime", TG_T_DATETIME }, { "timestamp", TG_T_DATETIME },
        { "date", TG_T_DATE }, { "time", TG_T_TIME }, { "year", TG_T_YEAR },
        { "char", TG_T_TEXT }, { "varchar", TG_T_TEXT },
        { "tinytext", TG_T_TEXT }, { "text", TG_T_TEXT },
        { "mediumtext", TG_T_TEXT }, { "longtext", TG_T_TEXT },
        { "json", TG_T_JSON }, { "binary", TG_T_BINARY },
        { "varbinary", TG_T_BINARY }, { "tinyblob", TG_T_BINARY },
        { "blob", TG_T_BINARY }, { "mediumblob", TG_T_BINARY },
        { "longblob", TG_T_BINARY }, { "bit", TG_T_BIT },
    };
    if (strcasecmp(dt, "tinyint") == 0 && strncasecmp(ct, "tinyint(1)", 10)
        == 0)
        return TG_T_BOOL;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcasecmp(dt, map[i].n) == 0) {
            if (map[i].k == TG_T_INT && strstr(ct, "unsigned"))
                return TG_T_UINT;
            return map[i].k;
        }
    return TG_T_OTHER;
}

/* Run a query with one string parameter spliced in as a literal. */
static MYSQL_RES *query1(MYSQL *db, const char *pre, const char *arg,
                         const char *post, jr_err *e)
{
    tg_str s = { 0 };
    MYSQL_RES *r = NULL;

    tg_str_adds(&s, pre);
    tg_str_quote(&s, db, arg, strlen(arg));
    tg_str_adds(&s, post);
    if (s.oom)
        tg_fail(e, TG_E_FATAL, 0, "out of memory");
    else if (mysql_real_query(db, s.p, (unsigned long)s.len) != 0 ||
             (r = mysql_store_result(db)) == NULL)
        tg_fail_mysql(e, db, "reading information_schema");
    tg_str_free(&s);
    return r;
}

/* *own = 1 when `name` is recorded in sqlite_sluice_tables (a missing
** bookkeeping table -- a target replay never wrote, as verify may see --
** means no). 0 or -1. */
static int owned_table(MYSQL *db, const char *name, int *own, jr_err *e)
{
    tg_str s = { 0 };
    MYSQL_RES *r;

    *own = 0;
    tg_str_adds(&s, "SELECT 1 FROM " TG_TABLES_TABLE " WHERE table_name = ");
    tg_str_quote(&s, db, name, strlen(name));
    if (s.oom) {
        tg_str_free(&s);
        return tg_fail(e, TG_E_FATAL, 0, "out of memory");
    }
    if (mysql_real_query(db, s.p, (unsigned long)s.len) != 0) {
        tg_str_free(&s);
        if (mysql_errno(db) == ER_NO_SUCH_TABLE)
            return 0;
        return tg_fail_mysql(e, db, "reading " TG_TABLES_TABLE);
    }
    tg_str_free(&s);
    if ((r = mysql_store_result(db)) == NULL)
        return tg_fail_mysql(e, db, "reading " TG_TABLES_TABLE);
    *own = mysql_num_rows(r) > 0;
    mysql_free_result(r);
    return 0;
}

/* Record sqlite_sluice_key_N (column col) with the set its comment
** names; a comment that is not such a list leaves it unused. 0 or -1. */
static int add_uledger(tg_table *t, int col, const char *comment)
{
    sl_json *js = comment ? sl_json_parse(comment, strlen(comment), NULL, 0)
                          : NULL;
    struct tg_uclass *u;
    int ret = 0;

    if (js == NULL || js->type != SL_JARR || sl_json_len(js) == 0) {
        sl_json_free(js);
        return 0;
    }
    u = realloc(t->uledger, (size_t)(t->nuledger + 1) * sizeof(*u));
    if (u == NULL) {
        sl_json_free(js);
        return -1;
    }
    t->uledger = u;
    u = &t->uledger[t->nuledger++];
    memset(u, 0, sizeof(*u));
    u->col = col;
    u->names = calloc(sl_json_len(js), sizeof(char *));
    if (u->names == NULL)
        ret = -1;
    for (const sl_json *k = js->child; ret == 0 && k; k = k->next)
        if (k->type == SL_JSTR && (u->names[u->n] = strdup(k->str)) != NULL)
            u->n++;
    sl_json_free(js);
    if (ret == 0) {
        tg_str set = { 0 };
        tg_set_text(&set, (const char *const *)u->names, u->n);
        if ((u->set = set.p ? set.p : strdup("")) == NULL || set.oom)
            ret = -1;
    }
    return ret;
}

void tg_set_text(tg_str *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++) {
        if (i)
            tg_str_adds(s, ",");
        for (const char *q = names[i]; *q; q++) {
            char ch = (char)(*q >= 'A' && *q <= 'Z' ? *q + 32 : *q);
            tg_str_add(s, &ch, 1);       /* ASCII only: whatever locale */
        }
    }
}

static int is_uclass(const char *name)
{
    return strncmp(name, TG_UCLASS_PREFIX, strlen(TG_UCLASS_PREFIX)) == 0;
}

/* One unique index read (its column names, in order): its set "a,b"
** lowercased into t->uniq_sql -- without a sqlite_sluice_class_N column,
** which is recorded in t->uclass with the index's other columns, so the
** set compares equal to the source's. Takes the names. 0 or -1. */
static int end_index(tg_table *t, tg_str *set, int *uniq, char ***names,
                     int *nnames)
{
    char **p = realloc(t->uniq_sql, (size_t)(*uniq + 1) * sizeof(char *));
    char **v = *names, *klass_name = NULL;
    int klass = -1, ret = 0, n = 0;

    if (p == NULL)
        ret = -1;
    else
        t->uniq_sql = p;
    for (int i = 0; i < *nnames; i++)   /* the class column goes last */
        if (is_uclass(v[i]) && klass_name == NULL)
            klass_name = v[i];
        else
            v[n++] = v[i];
    if (klass_name != NULL) {
        v[n] = klass_name;
        klass = tg_table_col(t, klass_name);
    }
    set->len = 0;
    tg_set_text(set, (const char *const *)v, n);
    if (ret == 0) {
        p[(*uniq)++] = set->p ? set->p : strdup("");
        set->p = NULL;
        set->len = set->cap = 0;
    }
    if (ret == 0 && klass >= 0) {
        struct tg_uclass *u = realloc(t->uclass, (size_t)(t->nuclass + 1) *
                                                     sizeof(*u));
        if (u == NULL || (u[t->nuclass].names = calloc((size_t)n + 1,
                                                      sizeof(char *))) == NULL) {
            if (u != NULL)
                t->uclass = u;
            ret = -1;
        } else {
            t->uclass = u;
            u = &t->uclass[t->nuclass++];
            u->col = klass;
            u->set = NULL;
            for (u->n = 0; u->n < n; u->n++) {    /* the names move over */
                u->names[u->n] = v[u->n];
                v[u->n] = NULL;
            }
        }
    }
    for (int i = 0; i < *nnames; i++)
        free(v[i]);
    *nnames = 0;
    tg_str_free(set);
    return ret;
}

static tg_table *load(MYSQL *db, const char *name, jr_err *e)
{
    MYSQL_RES *r;
    MYSQL_ROW row;
    tg_table *t;
    char *cur = NULL, **names = NULL;
    tg_str set = { 0 };
    int uniq = 0, nnames = 0;

    r = query1(db, "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, EXTRA, "
               "COALESCE(DATETIME_PRECISION, 0), COALESCE(NUMERIC_SCALE, 0), "
               "COALESCE(NUMERIC_PRECISION, 0), COLLATION_NAME, "
               "COLUMN_COMMENT "
               "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "
               "DATABASE() AND TABLE_NAME = ", name,
               " ORDER BY ORDINAL_POSITION", e);
    if (r == NULL)
        return NULL;
    if (mysql_num_rows(r) == 0) {
        mysql_free_result(r);
        return NULL;                       /* no such table; e untouched */
    }
    t = calloc(1, sizeof(*t));
    if (t != NULL)
        t->class_col = t->ledger_col = -1;
    if (t == NULL || (t->name = strdup(name)) == NULL ||
        (t->cols = calloc(mysql_num_rows(r), sizeof(tg_col))) == NULL) {
        mysql_free_result(r);
        if (t)
            tg_table_free1(t);
        tg_fail(e, TG_E_FATAL, 0, "out of memory");
        return NULL;
    }
    while ((row = mysql_fetch_row(r)) != NULL) {
        tg_col *c = &t->cols[t->ncols++];
        c->name = strdup(row[0]);
        c->data_type = strdup(row[1]);
        c->kind = kind_of(row[1], row[2]);
        c->generated = row[3] && strstr(row[3], "GENERATED") != NULL;
        c->frac = (int)strtol(row[4], NULL, 10);
        c->scale = (int)strtol(row[5], NULL, 10);
        c->precision = c->kind == TG_T_DECIMAL
                           ? (int)strtol(row[6], NULL, 10) : 0;
        c->collation = row[7] ? strdup(row[7]) : NULL;
        /* only *_nopad_bin tells every string apart ('a' = 'a ' under
        ** PAD SPACE, 'a' = 'A' under *_ci) */
        c->loose = c->collation != NULL &&
                   !(strlen(c->collation) > 10 &&
                     strcmp(c->collation + strlen(c->collation) - 10,
                            "_nopad_bin") == 0);
        if (strcmp(c->name, TG_CLASS_COL) == 0) {
            t->class_col = t->ncols - 1;
            c->loose = 0;          /* letters only: nothing to confuse */
        }
        if (strcmp(c->name, TG_LEDGER_COL) == 0)
            t->ledger_col = t->ncols - 1;
        if (strncmp(c->name, TG_LEDGER_PREFIX, strlen(TG_LEDGER_PREFIX))
            == 0 && add_uledger(t, t->ncols - 1, row[8]) != 0) {
            mysql_free_result(r);
            tg_table_free1(t);
            tg_fail(e, TG_E_FATAL, 0, "out of memory");
            return NULL;
        }
    }
    mysql_free_result(r);
    if (owned_table(db, name, &t->user_created, e) != 0) {
        tg_table_free1(t);
        return NULL;
    }
    t->user_created = !t->user_created;
    /* unique indexes, each as "col1,col2" lowercased, in index order */
    r = query1(db, "SELECT INDEX_NAME, COLUMN_NAME FROM information_schema."
               "STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND NON_UNIQUE "
               "= 0 AND TABLE_NAME = ", name,
               " ORDER BY INDEX_NAME, SEQ_IN_INDEX", e);
    if (r == NULL) {
        tg_table_free1(t);
        return NULL;
    }
    for (;;) {
        row = mysql_fetch_row(r);
        if (cur != NULL && (row == NULL || strcmp(cur, row[0]) != 0)) {
            if (end_index(t, &set, &uniq, &names, &nnames) != 0) {
                mysql_free_result(r);
                free(cur);
                free(names);
                t->nuniq = uniq;
                tg_table_free1(t);
                tg_fail(e, TG_E_FATAL, 0, "out of memory");
                return NULL;
            }
            free(cur);
            cur = NULL;
        }
        if (row == NULL)
            break;
        if (cur == NULL)
            cur = strdup(row[0]);
        {
            char **nn = realloc(names, (size_t)(nnames + 1) *
                                           sizeof(char *));
            if (nn != NULL) {
                names = nn;
                if ((names[nnames] = strdup(row[1])) != NULL)
                    nnames++;
            }
        }
    }
    free(names);
    t->nuniq = uniq;
    mysql_free_result(r);
    return t;
}

tg_table *tg_table_get(tg_tables *ts, MYSQL *db, const char *name,
                       jr_err *e)
{
    tg_table *t;

    for (t = ts->head; t; t = t->next)
        if (strcmp(t->name, name) == 0)
            return t;
    t = load(db, name, e);
    if (t != NULL) {
        t->next = ts->head;
        ts->head = t;
    }
    return t;
}

/* ---- creating ---- */

static int has_word(const char *decl, const char *w)
{
    size_t n = strlen(w);
    for (const char *p = decl; *p; p++)
        if (strncasecmp(p, w, n) == 0)
            return 1;
    return 0;
}

/* MariaDB type for a declared SQLite type; key_chars > 0 for key columns
** of text/blob affinity. */
static void map_type(tg_str *s, const char *decl, int key_chars)
{
    const char *paren = strchr(decl, '(');

    if (has_word(decl, "INT")) {
        tg_str_adds(s, "BIGINT");
    } else if (strcasecmp(decl, "BOOL") == 0 ||
               strcasecmp(decl, "BOOLEAN") == 0) {
        tg_str_adds(s, "TINYINT(1)");
    } else if (has_word(decl, "CHAR") || has_word(decl, "CLOB") ||
               has_word(decl, "TEXT")) {
        if (key_chars)
            tg_str_addf(s, "VARCHAR(%d)", key_chars);
        else
            tg_str_adds(s, "LONGTEXT");
    } else if (decl[0] == 0 || has_word(decl, "BLOB") ||
               strcasecmp(decl, "ANY") == 0) {
        if (key_chars)
            tg_str_addf(s, "VARBINARY(%d)", key_chars * 4);
        else
            tg_str_adds(s, "LONGBLOB");
    } else if (has_word(decl, "REAL") || has_word(decl, "FLOA") ||
               has_word(decl, "DOUB")) {
        tg_str_adds(s, "DOUBLE");
    } else if (strncasecmp(decl, "DATETIME", 8) == 0 ||
               strncasecmp(decl, "TIMESTAMP", 9) == 0) {
        tg_str_adds(s, "DATETIME(6)");
    } else if (strcasecmp(decl, "DATE") == 0) {
        tg_str_adds(s, "DATE");
    } else if (strcasecmp(decl, "TIME") == 0) {
        tg_str_adds(s, "TIME(6)");
    } else if (strcasecmp(decl, "JSON") == 0) {
        tg_str_adds(s, "JSON");
    } else if (strncasecmp(decl, "DECIMAL", 7) == 0 ||
               strncasecmp(decl, "NUMERIC", 7) == 0) {
        int p = 0, sc = 0;
        if (paren != NULL && sscanf(paren, "(%d,%d)", &p, &sc) >= 1 &&
            p > 0 && p <= 65 && sc >= 0 && sc <= 30 && sc <= p)
            tg_str_addf(s, "DECIMAL(%d,%d)", p, sc);
        else      /* reals exactly; integers beyond 2^53 are refused */
            tg_str_adds(s, "DOUBLE");
    } else {
        tg_str_adds(s, "DOUBLE");
    }
}

/* Date, time and JSON columns keep their SQLite text in keys: as
** DATETIME, '2024-01-01' and '2024-01-01 00:00:00' would be one key. */
static const char *key_decl(const char *decl, int keyish)
{
    if (keyish && (strncasecmp(decl, "DATETIME", 8) == 0 ||
                   strncasecmp(decl, "TIMESTAMP", 9) == 0 ||
                   strcasecmp(decl, "DATE") == 0 ||
                   strcasecmp(decl, "TIME") == 0 ||
                   strcasecmp(decl, "JSON") == 0))
        return "TEXT";
    return decl;
}

/* BLOB affinity: any storage class, so 1, '1' and x'31' may all be keys */
static int is_untyped(const char *decl)
{
    return !has_word(decl, "INT") && strcasecmp(decl, "BOOL") != 0 &&
           strcasecmp(decl, "BOOLEAN") != 0 && !has_word(decl, "CHAR") &&
           !has_word(decl, "CLOB") && !has_word(decl, "TEXT") &&
           (decl[0] == 0 || has_word(decl, "BLOB") ||
            strcasecmp(decl, "ANY") == 0);
}

static int is_texty(const char *decl)
{
    return !has_word(decl, "INT") &&
           (has_word(decl, "CHAR") || has_word(decl, "CLOB") ||
            has_word(decl, "TEXT") || has_word(decl, "BLOB") ||
            decl[0] == 0 || strcasecmp(decl, "ANY") == 0);
}

static const sl_json *find_col(const sl_json *cols, const char *name)
{
    for (const sl_json *c = cols ? cols->child : NULL; c; c = c->next) {
        const char *n = sl_json_str(c, "name");
        if (n && strcasecmp(n, name) == 0)
            return c;
    }
    return NULL;
}

static int in_key(const sl_json *key, const char *name)
{
    for (const sl_json *k = key ? key->child : NULL; k; k = k->next)
        if (k->type == SL_JSTR && strcasecmp(k->str, name) == 0)
            return 1;
    return 0;
}

/* A JSON array of strings, each naming a column of cols. */
static int names_ok(const sl_json *list, const sl_json *cols)
{
    if (list->type != SL_JARR)
        return 0;
    for (const sl_json *k = list->child; k; k = k->next)
        if (k->type != SL_JSTR || find_col(cols, k->str) == NULL)
            return 0;
    return 1;
}

/* Is js a SCHEMA record as journal/FORMAT.md describes it? An object;
** "columns" an array of objects with a string "name" (and a string or
** null "type"); "key" an array of strings naming columns; "unique" an
** array of arrays of such strings; "rowid_name" a string or null. The
** rest of replay relies on that shape; 0 and why if it does not hold. */
static int schema_shape_ok(const sl_json *js, char *why, size_t cap)
{
    const sl_json *cols = sl_json_get(js, "columns");
    const sl_json *key = sl_json_get(js, "key");
    const sl_json *uniq = sl_json_get(js, "unique");
    const sl_json *rn = sl_json_get(js, "rowid_name");

    if (js->type != SL_JOBJ || cols == NULL || cols->type != SL_JARR) {
        snprintf(why, cap, "no \"columns\" array");
        return 0;
    }
    for (const sl_json *c = cols->child; c; c = c->next) {
        const sl_json *ty = sl_json_get(c, "type");
        if (c->type != SL_JOBJ || sl_json_str(c, "name") == NULL ||
            (ty != NULL && ty->type != SL_JSTR && ty->type != SL_JNULL)) {
            snprintf(why, cap, "a column without a name or with a "
                     "non-text type");
            return 0;
        }
    }
    if ((key != NULL && key->type != SL_JARR) ||
        (uniq != NULL && uniq->type != SL_JARR) ||
        (rn != NULL && rn->type != SL_JSTR && rn->type != SL_JNULL)) {
        snprintf(why, cap, "\"key\", \"unique\" or \"rowid_name\" has "
                 "the wrong type");
        return 0;
    }
    if (key != NULL && !names_ok(key, cols)) {
        snprintf(why, cap, "a key column that is not one of the table's "
                 "columns");
        return 0;
    }
    for (const sl_json *u = uniq ? uniq->child : NULL; u; u = u->next)
        if (!names_ok(u, cols)) {
            snprintf(why, cap, "a unique constraint that is not a list of "
                     "the table's columns");
            return 0;
        }
    return 1;
}

static int in_unique(const sl_json *uniq, const char *name)
{
    for (const sl_json *u = uniq ? uniq->child : NULL; u; u = u->next)
        if (in_key(u, name))
            return 1;
    return 0;
}

/* The declared type as the type map reads it for column c. */
static const char *decl_of(const sl_json *c, const sl_json *key,
                           const sl_json *uniq)
{
    const char *n = sl_json_str(c, "name"), *ty = sl_json_str(c, "type");
    if (ty == NULL)
        ty = "";
    return key_decl(ty, n && (in_key(key, n) || in_unique(uniq, n)));
}

/* Does column list u (the key, or a unique set) hold an untyped column
** (then it is paired with sqlite_sluice_class or sqlite_sluice_class_N: 1
** and '1' are two values to SQLite)? */
static int set_untyped(const sl_json *u, const sl_json *cols)
{
    for (const sl_json *k = u ? u->child : NULL; k; k = k->next) {
        const sl_json *c = k->type == SL_JSTR ? find_col(cols, k->str)
                                              : NULL;
        const char *ty = c ? sl_json_str(c, "type") : NULL;
        if (c != NULL && is_untyped(ty ? ty : ""))
            return 1;
    }
    return 0;
}

/* Does the table need sqlite_sluice_class (an untyped key column)? */
static int needs_class(const sl_json *js)
{
    return !sl_json_bool(js, "rowid_key") &&
           set_untyped(sl_json_get(js, "key"), sl_json_get(js, "columns"));
}

static void create_sql(tg_str *s, const char *table, const sl_json *js)
{
    const sl_json *cols = sl_json_get(js, "columns");
    const sl_json *key = sl_json_get(js, "key");
    const sl_json *uniq = sl_json_get(js, "unique");
    int rowid_key = sl_json_bool(js, "rowid_key"), ntext = 0, first = 1;
    int key_chars, klass = needs_class(js), n;

    for (const sl_json *k = key ? key->child : NULL; k; k = k->next) {
        const sl_json *c = k->type == SL_JSTR ? find_col(cols, k->str)
                                              : NULL;
        if (c && is_texty(decl_of(c, key, uniq)))
            ntext++;
    }
    /* InnoDB keys hold 3072 bytes: other key columns take up to 16 each
    ** (BIGINT, DOUBLE, DATETIME(6), DECIMAL, the class column), the rest
    ** is shared by the text/blob ones at 4 bytes a utf8mb4 character */
    if (ntext > 0) {
        int nother = (int)sl_json_len(key) - ntext + klass;
        key_chars = (3072 - 16 * nother) / ntext / 4 - 1;
        if (key_chars < 16)
            key_chars = 16;
    } else {
        key_chars = 0;
    }
    tg_str_adds(s, "CREATE TABLE IF NOT EXISTS ");
    tg_str_ident(s, table);
    tg_str_adds(s, " (");
    for (const sl_json *c = cols ? cols->child : NULL; c; c = c->next) {
        const char *n = sl_json_str(c, "name"), *ty = decl_of(c, key, uniq);
        int k = n && in_key(key, n);
        if (n == NULL)
            continue;
        if (!first)
            tg_str_adds(s, ", ");
        first = 0;
        tg_str_ident(s, n);
        tg_str_adds(s, " ");
        map_type(s, ty, k && is_texty(ty) ? key_chars : 0);
        if (k)
            tg_str_adds(s, " NOT NULL");
    }
    if (klass)
        tg_str_adds(s, ", `" TG_CLASS_COL "` VARCHAR(16) CHARACTER SET "
                       "ascii COLLATE ascii_bin NOT NULL DEFAULT ''");
    n = 0;
    for (const sl_json *u = uniq ? uniq->child : NULL; u; u = u->next)
        if (n++, set_untyped(u, cols))
            tg_str_addf(s, ", `" TG_UCLASS_PREFIX "%d` VARCHAR(32) "
                        "CHARACTER SET ascii COLLATE ascii_bin NOT NULL "
                        "DEFAULT ''", n);
    if (rowid_key) {
        tg_str_adds(s, ", ");
        tg_str_ident(s, sl_json_str(js, "rowid_name") ?
                     sl_json_str(js, "rowid_name") : "rowid");
        tg_str_adds(s, " BIGINT NOT NULL PRIMARY KEY");
    } else if (key && key->child) {
        tg_str_adds(s, ", PRIMARY KEY (");
        for (const sl_json *k = key->child; k; k = k->next) {
            tg_str_ident(s, k->str);
            if (k->next)
                tg_str_adds(s, ", ");
        }
        tg_str_adds(s, klass ? ", `" TG_CLASS_COL "`)" : ")");
    }
    n = 0;
    for (const sl_json *u = uniq ? uniq->child : NULL; u; u = u->next) {
        int texty = 0;
        for (const sl_json *k = u->child; k; k = k->next) {
            const sl_json *c = k->type == SL_JSTR ? find_col(cols, k->str)
                                                  : NULL;
            if (c && is_texty(decl_of(c, key, uniq)))
                texty = 1;
        }
        tg_str_adds(s, ", UNIQUE (");
        for (const sl_json *k = u->child; k; k = k->next) {
            tg_str_ident(s, k->str);
            if (k->next)
                tg_str_adds(s, ", ");
        }
        n++;
        if (set_untyped(u, cols))
            tg_str_addf(s, ", `" TG_UCLASS_PREFIX "%d`", n);
        tg_str_adds(s, texty ? ") USING HASH" : ")");
    }
    tg_str_adds(s, ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 "
                   "COLLATE=utf8mb4_nopad_bin");
}

char *tg_table_create_sql(const char *table, const char *json, size_t len,
                          char *err, size_t cap)
{
    sl_json *js = sl_json_parse(json, len, err, cap);
    tg_str s = { 0 };

    if (js == NULL)
        return NULL;
    if (!schema_shape_ok(js, err, cap)) {
        sl_json_free(js);
        return NULL;
    }
    create_sql(&s, table, js);
    sl_json_free(js);
    if (s.oom) {
        tg_str_free(&s);
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    return s.p;
}

static int owned(MYSQL *db, const char *table, char **schema, jr_err *e)
{
    MYSQL_RES *r = query1(db, "SELECT schema_json FROM " TG_TABLES_TABLE " "
                          "WHERE table_name = ", table, "", e);
    MYSQL_ROW row;
    int found = 0;

    *schema = NULL;
    if (r == NULL)
        return -1;
    if ((row = mysql_fetch_row(r)) != NULL) {
        found = 1;
        *schema = strdup(row[0] ? row[0] : "");
    }
    mysql_free_result(r);
    return found;
}

static int record_owned(MYSQL *db, const char *table, const char *json,
                        size_t len, jr_err *e)
{
    tg_str s = { 0 };
    int ret;

    tg_str_adds(&s, "REPLACE INTO " TG_TABLES_TABLE "(table_name, schema_json) "
                    "VALUES (");
    tg_str_quote(&s, db, table, strlen(table));
    tg_str_adds(&s, ", ");
    tg_str_quote(&s, db, json, len);
    tg_str_adds(&s, ")");
    ret = s.oom ? tg_fail(e, TG_E_FATAL, 0, "out of memory")
                : tg_exec(db, s.p, s.len, e);
    if (ret == 0 && mysql_commit(db) != 0)
        ret = tg_fail_mysql(e, db, "recording table ownership");
    tg_str_free(&s);
    return ret;
}

/* SQLite's affinity of a declared type, by its rules in their order:
** I(nteger), T(ext), B(lob: any class; STRICT's ANY too), R(eal),
** N(umeric). */
static char affinity(const char *decl)
{
    if (has_word(decl, "INT"))
        return 'I';
    if (has_word(decl, "CHAR") || has_word(decl, "CLOB") ||
        has_word(decl, "TEXT"))
        return 'T';
    if (decl[0] == 0 || has_word(decl, "BLOB") ||
        strcasecmp(decl, "ANY") == 0)
        return 'B';
    if (has_word(decl, "REAL") || has_word(decl, "FLOA") ||
        has_word(decl, "DOUB"))
        return 'R';
    return 'N';
}

/* Does target column c keep every SQLite key value of affinity aff
** distinct? Key values are never rounded (TG_POL_KEY) and a loose
** collation is caught by the merge guard's byte comparison (rp_stmt.c),
** so what is left is a column that makes distinct forms one value: a
** DATETIME ('2024-01-01' = '2024-01-01 00:00:00'), a number column fed
** text ('1' = 1), a binary column fed any class (1 = '1' = x'31'), CHAR
** (drops trailing spaces). */
static int key_exact(char aff, const tg_col *c)
{
    switch (aff) {
    case 'I':            /* integers (and text that is not a number;
                            as text, a real Inf would be the text 'Inf') */
        return c->kind == TG_T_INT || c->kind == TG_T_UINT ||
               c->kind == TG_T_DECIMAL;
    case 'N':            /* numbers as integers or reals, other text */
        return c->kind == TG_T_INT || c->kind == TG_T_UINT ||
               c->kind == TG_T_DECIMAL;
    case 'T':            /* text only (a blob in a text key is refused) */
        return (c->kind == TG_T_TEXT && strcasecmp(c->data_type, "char")) ||
               c->kind == TG_T_JSON;
    case 'R':
        return c->kind == TG_T_FLOAT && !strcasecmp(c->data_type, "double");
    default:
        return 0;
    }
}

/* The first key column of user table t that may merge source keys (see
** key_exact), or NULL: then t needs sqlite_sluice_key. */
static const char *loose_key_col(const tg_table *t, const sl_json *js)
{
    const sl_json *cols = sl_json_get(js, "columns");
    const sl_json *key = sl_json_get(js, "key");

    if (sl_json_bool(js, "rowid_key")) {
        const char *rn = sl_json_str(js, "rowid_name");
        int c = tg_table_col(t, rn ? rn : "rowid");
        return c >= 0 && !key_exact('I', &t->cols[c]) ? t->cols[c].name
                                                        : NULL;
    }
    for (const sl_json *k = key ? key->child : NULL; k; k = k->next) {
        const sl_json *sc = k->type == SL_JSTR ? find_col(cols, k->str)
                                               : NULL;
        const char *ty = sc ? sl_json_str(sc, "type") : NULL;
        int c = sc ? tg_table_col(t, k->str) : -1;
        if (c >= 0 && !key_exact(affinity(ty ? ty : ""), &t->cols[c]))
            return t->cols[c].name;
    }
    return NULL;
}

/* The names of unique set u as a JSON array (sqlite_sluice_key_N's
** comment). */
static void set_json(tg_str *s, const sl_json *u)
{
    tg_str_adds(s, "[");
    for (const sl_json *k = u->child; k; k = k->next) {
        if (k->type != SL_JSTR)
            continue;
        tg_str_adds(s, k == u->child ? "\"" : ",\"");
        for (const unsigned char *q = (const unsigned char *)k->str; *q; q++)
            if (*q == '"' || *q == '\\')
                tg_str_addf(s, "\\%c", *q);
            else if (*q < 0x20)
                tg_str_addf(s, "\\u%04x", *q);
            else
                tg_str_add(s, (const char *)q, 1);
        tg_str_adds(s, "\"");
    }
    tg_str_adds(s, "]");
}

int tg_table_uledger(const tg_table *t, const char *set)
{
    for (int i = 0; i < t->nuledger; i++)
        if (strcmp(t->uledger[i].set, set) == 0)
            return t->uledger[i].col;
    return -1;
}

/* A sqlite_sluice_key_N for each source UNIQUE set that holds a column
** making distinct values one (key_exact) and has none yet -- found by the
** set its COMMENT names, never by N (a new unique index can take another
** set's place in the schema): the next free N. Existing columns are never
** changed; one whose set is gone is left alone, unused. */
static void set_ledgers(tg_str *s, int *n, MYSQL *db, const tg_table *t,
                        const sl_json *js, const char *table)
{
    const sl_json *cols = sl_json_get(js, "columns");
    const sl_json *uniq = sl_json_get(js, "unique");
    int next = 1;

    for (const sl_json *u = uniq ? uniq->child : NULL; u; u = u->next) {
        const char *loose = NULL, *names[64];
        char name[64];
        tg_str want = { 0 }, set = { 0 };
        int nn = 0;
        for (const sl_json *k = u->child; k; k = k->next) {
            const sl_json *sc = k->type == SL_JSTR ? find_col(cols, k->str)
                                                   : NULL;
            const char *ty = sc ? sl_json_str(sc, "type") : NULL;
            int c = sc ? tg_table_col(t, k->str) : -1;
            if (nn < 64 && k->type == SL_JSTR)
                names[nn++] = k->str;
            if (!loose && c >= 0 &&
                !key_exact(affinity(ty ? ty : ""), &t->cols[c]))
                loose = t->cols[c].name;
        }
        tg_set_text(&set, names, nn);
        if (loose != NULL && set.p != NULL && tg_table_uledger(t, set.p) < 0) {
            do
                snprintf(name, sizeof(name), TG_LEDGER_PREFIX "%d", next++);
            while (tg_table_col(t, name) >= 0);
            set_json(&want, u);
            tg_str_adds(s, (*n)++ ? ", " : " ");
            tg_str_adds(s, "ADD COLUMN IF NOT EXISTS ");
            tg_str_ident(s, name);
            tg_str_adds(s, " BLOB NULL INVISIBLE COMMENT ");
            tg_str_quote(s, db, want.p ? want.p : "", want.len);
            SL_LOG(SL_INFO, "replay.key_ledger", "table=%s column=%s "
                   "unique=%s hint=\"this unique column can make distinct "
                   "source values one; replay records the source values in "
                   "the invisible column %s so that only the rows SQLite "
                   "replaced are replaced\"", table, loose,
                   want.p ? want.p : "", name);
        }
        tg_str_free(&want);
        tg_str_free(&set);
    }
}

/* Columns of the schema that the target lacks: ALTER TABLE ADD. */
static int add_missing(tg_tables *ts, MYSQL *db, const char *table,
                       const sl_json *js, jr_err *e)
{
    tg_table *t = tg_table_get(ts, db, table, e);
    const sl_json *cols = sl_json_get(js, "columns");
    tg_str s = { 0 };
    const char *loose;
    int n = 0, ret = 0;

    if (t == NULL)
        return e->cls ? -1 : 0;
    tg_str_adds(&s, "ALTER TABLE ");
    tg_str_ident(&s, table);
    for (const sl_json *c = cols ? cols->child : NULL; c; c = c->next) {
        const char *name = sl_json_str(c, "name");
        const char *ty = sl_json_str(c, "type");
        if (name == NULL || tg_table_col(t, name) >= 0)
            continue;
        tg_str_adds(&s, n++ ? ", ADD COLUMN IF NOT EXISTS "
                            : " ADD COLUMN IF NOT EXISTS ");
        tg_str_ident(&s, name);
        tg_str_adds(&s, " ");
        map_type(&s, ty ? ty : "", 0);
    }
    if (t->ledger_col < 0 && (loose = loose_key_col(t, js)) != NULL) {
        /* invisible: the application's SELECT * and INSERTs without a
        ** column list never see it */
        tg_str_adds(&s, n++ ? ", " : " ");
        tg_str_adds(&s, "ADD COLUMN IF NOT EXISTS `" TG_LEDGER_COL "` BLOB "
                        "NULL INVISIBLE");
        SL_LOG(SL_INFO, "replay.key_ledger", "table=%s column=%s "
               "hint=\"this key column can make distinct source keys one "
               "value; replay records each row's source key in the "
               "invisible column " TG_LEDGER_COL " and refuses a change "
               "that would land on another key's row\"", table, loose);
    }
    set_ledgers(&s, &n, db, t, js, table);
    if (n > 0) {
        ret = s.oom ? tg_fail(e, TG_E_FATAL, 0, "out of memory")
                    : tg_exec(db, s.p, s.len, e);
        tg_table_forget(ts, table);
    }
    tg_str_free(&s);
    return ret;
}

/* Names of the table and its columns that MariaDB cannot take: a
** permanent error for this table, naming the way out. */
static int check_table_name(const char *table, jr_err *e)
{
    char why[200];

    if (tg_name_check(table, why, sizeof(why)) != 0)
        return tg_fail(e, TG_E_CONFIG, 0, "table %s: MariaDB cannot take "
                       "this table name: %s; replay it under another name "
                       "with --map '%s=NEW_NAME', or leave it out with "
                       "--exclude-tables", table, why, table);
    return 0;
}

/* The column names (the table's own name was checked before its JSON,
** which holds it, was read). */
static int check_names(const char *table, const sl_json *js, jr_err *e)
{
    const sl_json *cols = sl_json_get(js, "columns");
    char why[200];
    size_t n = 0;

    for (const sl_json *c = cols ? cols->child : NULL; c; c = c->next) {
        const char *name = sl_json_str(c, "name");
        if (name == NULL)
            continue;
        n++;
        if (tg_name_check(name, why, sizeof(why)) != 0 ||
            tg_name_reserved(name))
            return tg_fail(e, TG_E_CONFIG, 0, "table %s: MariaDB cannot "
                           "take column name %s: %s; rename the column in "
                           "SQLite, or leave the table out with "
                           "--exclude-tables '%s'", table, name,
                           tg_name_reserved(name) ? "it is in replay's own "
                           "sqlite_sluice namespace" : why, table);
        for (const sl_json *d = cols->child; d != c; d = d->next) {
            const char *other = sl_json_str(d, "name");
            if (other != NULL && strcasecmp(other, name) == 0)
                return tg_fail(e, TG_E_CONFIG, 0, "table %s: columns %s "
                               "and %s are one name to MariaDB (column "
                               "names ignore case); rename one in SQLite, "
                               "or leave the table out with "
                               "--exclude-tables '%s'", table, other, name,
                               table);
        }
    }
    if (n + 2 > 1017)
        return tg_fail(e, TG_E_CONFIG, 0, "table %s has %zu columns; an "
                       "InnoDB table holds at most 1017: leave it out with "
                       "--exclude-tables '%s'", table, n, table);
    return 0;
}

/* A DDL statement MariaDB refused: permanent, with the way out. */
static int ddl_failed(jr_err *e, const char *what, const char *table)
{
    size_t o = strlen(e->msg);

    if (tg_class_transient(e->cls))
        return -1;
    e->cls = TG_E_CONFIG;
    snprintf(e->msg + o, sizeof(e->msg) - o, " (%s table %s; if MariaDB "
             "cannot hold this table, leave it out with --exclude-tables "
             "'%s' or map it with --map)", what, table, table);
    return -1;
}

int tg_table_schema(tg_tables *ts, MYSQL *db, const char *table,
                    const char *json, size_t len, jr_err *e)
{
    char errbuf[128];
    sl_json *js;
    char *prev = NULL;
    tg_table *t;
    tg_str s = { 0 };
    int ret = 0, own;

    if (check_table_name(table, e) != 0)  /* before its JSON, which holds it */
        return -1;
    if (!sl_utf8_valid(json, len, 0))   /* capture copies names as they are */
        return tg_fail(e, TG_E_CONFIG, 0, "table %s has a column name that "
                       "is not UTF-8, which MariaDB cannot hold: rename it "
                       "in the source or leave the table out with "
                       "sluice-capture --exclude-tables", table);
    js = sl_json_parse(json, len, errbuf, sizeof(errbuf));
    if (js == NULL)
        return tg_fail(e, TG_E_FATAL, 0, "schema record of table %s is not "
                       "valid JSON: %s", table, errbuf);
    if (!schema_shape_ok(js, errbuf, sizeof(errbuf))) {
        sl_json_free(js);
        return tg_fail(e, TG_E_FATAL, 0, "schema record of table %s is "
                       "malformed: %s", table, errbuf);
    }
    if (check_names(table, js, e) != 0) {
        sl_json_free(js);
        return -1;
    }
    t = tg_table_get(ts, db, table, e);
    if (t == NULL && e->cls != TG_E_NONE)
        goto out;
    own = t ? owned(db, table, &prev, e) : 0;
    if (own < 0) {
        ret = -1;
        goto out;
    }
    if (t != NULL && own && (prev == NULL || strlen(prev) != len ||
                             memcmp(prev, json, len) != 0)) {
        /* sluice's own table, new definition: rebuild it (the snapshot
        ** that follows this record refills it) */
        tg_str_adds(&s, "DROP TABLE IF EXISTS ");
        tg_str_ident(&s, table);
        if ((ret = tg_exec(db, s.p, s.len, e)) != 0) {
            ddl_failed(e, "dropping", table);
            goto out;
        }
        tg_table_forget(ts, table);
        t = NULL;
        s.len = 0;
    }
    if (t == NULL) {
        create_sql(&s, table, js);
        if (s.oom) {
            ret = tg_fail(e, TG_E_FATAL, 0, "out of memory");
            goto out;
        }
        if ((ret = tg_exec(db, s.p, s.len, e)) != 0) {
            ddl_failed(e, "creating", table);
            goto out;
        }
        tg_table_forget(ts, table);
        ret = record_owned(db, table, json, len, e);
    } else if (!own) {
        if ((ret = add_missing(ts, db, table, js, e)) != 0)
            ddl_failed(e, "adding columns to", table);
    }
out:
    tg_str_free(&s);
    free(prev);
    sl_json_free(js);
    return ret;
}

int tg_table_drop(tg_tables *ts, MYSQL *db, const char *table, jr_err *e)
{
    tg_str s = { 0 };
    char *prev = NULL;
    int own = owned(db, table, &prev, e), ret;

    free(prev);
    if (own < 0)
        return -1;
    tg_table_forget(ts, table);
    if (!own) {
        /* not replay's: the user made it, the user decides (a source
        ** DROP or RENAME never takes their table, data or indexes) */
        if (tg_table_get(ts, db, table, e) != NULL)
            SL_LOG(SL_WARN, "replay.table_kept", "table=%s reason=\"the "
                   "source dropped or renamed it, but replay did not create "
                   "the target table: it stays as it is\"", table);
        tg_table_forget(ts, table);
        return e->cls != TG_E_NONE ? -1 : 0;
    }
    tg_str_adds(&s, "DROP TABLE IF EXISTS ");
    tg_str_ident(&s, table);
    ret = tg_exec(db, s.p, s.len, e);
    tg_str_free(&s);
    if (ret == 0) {
        tg_str_adds(&s, "DELETE FROM " TG_TABLES_TABLE " WHERE table_name = ");
        tg_str_quote(&s, db, table, strlen(table));
        ret = tg_exec(db, s.p, s.len, e);
        tg_str_free(&s);
        if (ret == 0 && mysql_commit(db) != 0)
            ret = tg_fail_mysql(e, db, "dropping table");
    } else {
        ddl_failed(e, "dropping", table);
    }
    return ret;
}
