/*
** vf_target.c -- the MariaDB side: connect, describe a table, stream its
** rows.
**
** The connection is replay's (tg_url_parse, tg_db_connect: strict mode,
** time_zone '+00:00' so TIMESTAMP reads back in UTC, utf8mb4), made
** READ ONLY. Column kinds come from replay's own metadata reader
** (tg_table_get), so verify sees each column the way replay converted
** values into it; NUMERIC_SCALE and the collation are read beside it.
**
** Ordering: ORDER BY the key columns. Integer, decimal, float and date
** columns sort as verify compares them. A text column sorts by its
** collation: utf8mb4/utf8mb3 *_bin collations sort by code point, which
** is SQLite's BINARY byte order -- except that MariaDB's *_bin (unlike
** *_nopad_bin) pads with spaces, so 'a\n' sorts before 'a'. The merge
** detects such a disorder and asks again with force_binary, which sorts
** text keys by CAST(CONVERT(k USING utf8mb4) AS BINARY): pure byte order,
** at the price of a filesort. Other collations get that form at once.
**
** INVARIANTS:
**  (G1) nothing is ever written: the session is READ ONLY and only
**       SELECTs are sent.
**  (G2) rows are streamed with mysql_use_result: client memory does not
**       grow with the table.
**  (G3) identifiers are backtick-quoted by tg_str_ident, values bound as
**       escaped literals.
*/
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sl_opts.h"
#include "vf.h"

int vf_tgt_open(MYSQL **out, const char *url, const char *password_file,
                jr_err *e)
{
    tg_url u;
    jr_err je = { 0 };
    jr_err re = { 0 };
    MYSQL *db;

    *out = NULL;
    if (tg_url_parse(&u, url, &je) != JR_OK)
        return vf_fail(e, VF_FATAL_IO, "target URL: %s", je.msg);
    if (password_file != NULL &&
        tg_url_password_file(&u, password_file, &je) != JR_OK) {
        tg_url_free(&u);
        return vf_fail(e, VF_FATAL_IO, "%s", je.msg);
    }
    db = tg_db_connect(&u, &re);
    tg_url_free(&u);
    if (db == NULL)
        return vf_fail(e, VF_FATAL_IO, "%s", re.msg);
    if (mysql_query(db, "SET SESSION TRANSACTION READ ONLY") != 0) {
        tg_fail_mysql(&re, db, "setting the session read-only");
        mysql_close(db);
        return vf_fail(e, VF_FATAL_IO, "%s", re.msg);
    }
    *out = db;
    return 0;
}

static int tfail(jr_err *e, MYSQL *db, const char *what)
{
    jr_err re = { 0 };
    tg_fail_mysql(&re, db, what);
    return vf_fail_target(e, &re);
}

void vf_tgtcols_free(vf_tgtcol *x, int n)
{
    if (x == NULL)
        return;
    for (int i = 0; i < n; i++) {
        free(x[i].charset);
        free(x[i].collation);
    }
    free(x);
}

int vf_tgt_describe(MYSQL *db, tg_tables *ts, const char *name,
                    tg_table **t, vf_tgtcol **extra, jr_err *e)
{
    jr_err re = { 0 };
    tg_str s = { 0 };
    MYSQL_RES *r;
    MYSQL_ROW row;
    vf_tgtcol *x;

    *extra = NULL;
    *t = tg_table_get(ts, db, name, &re);
    if (*t == NULL)
        return re.cls == TG_E_NONE ? 0 : vf_fail_target(e, &re);
    x = calloc((size_t)(*t)->ncols + 1, sizeof(*x));
    if (x == NULL)
        return vf_fail(e, VF_FATAL_SW, "out of memory");
    tg_str_adds(&s, "SELECT COLUMN_NAME, COALESCE(NUMERIC_SCALE, 0), "
                    "CHARACTER_SET_NAME, COLLATION_NAME FROM "
                    "information_schema.COLUMNS WHERE TABLE_SCHEMA = "
                    "DATABASE() AND TABLE_NAME = ");
    tg_str_quote(&s, db, name, strlen(name));
    if (s.oom) {
        free(x);
        return vf_fail(e, VF_FATAL_SW, "out of memory");
    }
    if (mysql_real_query(db, s.p, (unsigned long)s.len) != 0 ||
        (r = mysql_store_result(db)) == NULL) {
        tg_str_free(&s);
        free(x);
        return tfail(e, db, "reading information_schema");
    }
    tg_str_free(&s);
    while ((row = mysql_fetch_row(r)) != NULL) {
        int c = tg_table_col(*t, row[0]);
        long long scale = 0;
        if (c < 0)
            continue;
        if (sl_parse_ll(row[1], 0, 100, &scale) == 0)
            x[c].scale = (int)scale;
        x[c].charset = row[2] ? strdup(row[2]) : NULL;
        x[c].collation = row[3] ? strdup(row[3]) : NULL;
    }
    mysql_free_result(r);
    *extra = x;
    return 0;
}

int vf_tgt_begin(MYSQL *db, jr_err *e)
{
    if (mysql_query(db, "START TRANSACTION WITH CONSISTENT SNAPSHOT, "
                        "READ ONLY") != 0)
        return tfail(e, db, "starting a snapshot");
    return 0;
}

void vf_tgt_end(MYSQL *db)
{
    if (mysql_query(db, "ROLLBACK") != 0) {
        /* the next table's begin reports a broken connection */
    }
}

static int is_text_key(const vf_col *c)
{
    return c->kind == VF_K_BYTES && c->text;
}

int vf_tgt_select(MYSQL *db, const vf_table *t, int ordered,
                  int force_binary, MYSQL_RES **out, jr_err *e)
{
    tg_str s = { 0 };

    *out = NULL;
    tg_str_adds(&s, "SELECT ");
    for (int i = 0; i < t->ncols; i++) {
        const vf_col *c = &t->cols[i];
        if (i)
            tg_str_adds(&s, ", ");
        if (c->kind == VF_K_FLOAT) {
            /* FLOAT prints 6 digits; as DOUBLE it is exact */
            tg_str_adds(&s, "CAST(");
            tg_str_ident(&s, c->tname);
            tg_str_adds(&s, " AS DOUBLE)");
        } else {
            tg_str_ident(&s, c->tname);
        }
    }
    tg_str_adds(&s, " FROM ");
    tg_str_ident(&s, t->name);
    if (ordered && t->nkey > 0) {
        tg_str_adds(&s, " ORDER BY ");
        for (int i = 0; i < t->nkey; i++) {
            const vf_col *c = &t->cols[t->key[i]];
            if (i)
                tg_str_adds(&s, ", ");
            if (is_text_key(c) && (force_binary || !c->natural_order)) {
                tg_str_adds(&s, "CAST(CONVERT(");
                tg_str_ident(&s, c->tname);
                tg_str_adds(&s, " USING utf8mb4) AS BINARY)");
            } else {
                tg_str_ident(&s, c->tname);
            }
        }
    }
    if (s.oom)
        return vf_fail(e, VF_FATAL_SW, "out of memory");
    if (mysql_real_query(db, s.p, (unsigned long)s.len) != 0) {
        tg_str_free(&s);
        return tfail(e, db, "SELECT");
    }
    tg_str_free(&s);
    if ((*out = mysql_use_result(db)) == NULL)
        return tfail(e, db, "SELECT");
    return 0;
}

int vf_tgt_next(MYSQL *db, MYSQL_RES *r, MYSQL_ROW *row,
                unsigned long **lens, jr_err *e)
{
    *row = mysql_fetch_row(r);
    if (*row == NULL) {
        if (mysql_errno(db) != 0)
            return tfail(e, db, "reading rows");
        return 0;
    }
    *lens = mysql_fetch_lengths(r);
    return 1;
}

int vf_tgt_count(MYSQL *db, const char *table, uint64_t *n, jr_err *e)
{
    tg_str s = { 0 };
    MYSQL_RES *r;
    MYSQL_ROW row;
    long long v = -1;

    tg_str_adds(&s, "SELECT COUNT(*) FROM ");
    tg_str_ident(&s, table);
    if (s.oom)
        return vf_fail(e, VF_FATAL_SW, "out of memory");
    if (mysql_real_query(db, s.p, (unsigned long)s.len) != 0 ||
        (r = mysql_store_result(db)) == NULL) {
        tg_str_free(&s);
        return tfail(e, db, "counting rows");
    }
    tg_str_free(&s);
    row = mysql_fetch_row(r);
    if (row == NULL || row[0] == NULL ||
        sl_parse_ll(row[0], 0, INT64_MAX, &v) != 0) {
        mysql_free_result(r);
        return vf_fail(e, 0, "target: COUNT(*) of %s gave no number", table);
    }
    mysql_free_result(r);
    *n = (uint64_t)v;
    return 0;
}
