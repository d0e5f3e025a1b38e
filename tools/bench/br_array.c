/*
** br_array.c -- array binding (Connector/C bulk execution) for the C
** loader: one prepared statement, STMT_ATTR_ARRAY_SIZE rows per
** execution, column-wise buffers: fixed-size arrays for numbers, arrays
** of pointers plus lengths for text, an indicator array for NULLs.
** INVARIANTS:
**  (A1) text fields point into the caller's file buffer (unescaped in
**       place): it must outlive every flush of the batch.
**  (A2) a flush executes the pending rows once and empties the batch.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "br.h"

static const int g_txt_col[5] = { 2, 3, 5, 6, 7 };

static MYSQL_STMT *stmt_prep(MYSQL *db, const char *sql)
{
    MYSQL_STMT *st = mysql_stmt_init(db);
    if (st == NULL || mysql_stmt_prepare(st, sql, strlen(sql)) != 0)
        bu_die("prepare: %s (%s)", st ? mysql_stmt_error(st) : "?", sql);
    return st;
}

void br_ab_init(br_abatch *b, MYSQL *db, unsigned cap)
{
    char sql[600];

    memset(b, 0, sizeof(*b));
    b->cap = cap;
    b->id = bu_xmalloc(cap * sizeof(int64_t));
    b->cust = bu_xmalloc(cap * sizeof(int64_t));
    b->did = bu_xmalloc(cap * sizeof(int64_t));
    b->amount = bu_xmalloc(cap * sizeof(double));
    for (int k = 0; k < 5; k++) {
        b->txt[k] = bu_xmalloc(cap * sizeof(char *));
        b->len[k] = bu_xmalloc(cap * sizeof(unsigned long));
        b->ind[k] = bu_xmalloc(cap);
    }
    snprintf(sql, sizeof(sql), "INSERT INTO items (" BR_COL_LIST ") VALUES "
             "(?, ?, ?, ?, ?, ?, ?, ?)%s", br_odku);
    b->put = stmt_prep(db, sql);
    b->del = stmt_prep(db, "DELETE FROM items WHERE id = ?");
}

void br_ab_free(br_abatch *b)
{
    mysql_stmt_close(b->put);
    mysql_stmt_close(b->del);
    free(b->id);
    free(b->cust);
    free(b->did);
    free(b->amount);
    for (int k = 0; k < 5; k++) {
        free(b->txt[k]);
        free(b->len[k]);
        free(b->ind[k]);
    }
}

/* Parse TSV line [line, eol) into row b->n. */
void br_ab_add(br_abatch *b, char *line, char *eol)
{
    char *p = line, *f[BR_NCOLS], *e[BR_NCOLS];
    unsigned r = b->n;

    for (int i = 0; i < BR_NCOLS; i++) {
        e[i] = i < BR_NCOLS - 1 ? memchr(p, '\t', (size_t)(eol - p)) : eol;
        if (e[i] == NULL)
            bu_die("short TSV line: %.80s", line);
        f[i] = p;
        p = e[i] + 1;
    }
    b->id[r] = strtoll(f[0], NULL, 10);
    b->cust[r] = strtoll(f[1], NULL, 10);
    *e[4] = 0;
    b->amount[r] = strtod(f[4], NULL);
    for (int k = 0; k < 5; k++) {
        int i = g_txt_col[k];
        long n = br_tsv_unescape(f[i], e[i]);
        b->txt[k][r] = f[i];
        b->len[k][r] = n < 0 ? 0 : (unsigned long)n;
        b->ind[k][r] = n < 0 ? STMT_INDICATOR_NULL : STMT_INDICATOR_NONE;
    }
    b->n++;
}

/* One execution of st over n rows of the arrays bd points to. */
static void ab_exec(MYSQL_STMT *st, MYSQL_BIND *bd, unsigned n,
                    const char *what, long long *stmts)
{
    if (mysql_stmt_attr_set(st, STMT_ATTR_ARRAY_SIZE, &n) != 0 ||
        mysql_stmt_bind_param(st, bd) != 0 || mysql_stmt_execute(st) != 0)
        bu_die("%s: %s", what, mysql_stmt_error(st));
    (*stmts)++;
}

void br_ab_flush_put(br_abatch *b, long long *stmts)
{
    MYSQL_BIND bd[BR_NCOLS];
    unsigned n = b->n;

    if (n == 0)
        return;
    memset(bd, 0, sizeof(bd));
    bd[0].buffer_type = MYSQL_TYPE_LONGLONG;
    bd[0].buffer = b->id;
    bd[1].buffer_type = MYSQL_TYPE_LONGLONG;
    bd[1].buffer = b->cust;
    bd[4].buffer_type = MYSQL_TYPE_DOUBLE;
    bd[4].buffer = b->amount;
    for (int k = 0; k < 5; k++) {
        MYSQL_BIND *x = &bd[g_txt_col[k]];
        x->buffer_type = MYSQL_TYPE_STRING;
        x->buffer = b->txt[k];
        x->length = b->len[k];
        x->u.indicator = b->ind[k];
    }
    ab_exec(b->put, bd, n, "array upsert", stmts);
    b->n = 0;
}

void br_ab_flush_del(br_abatch *b, long long *stmts)
{
    MYSQL_BIND bd[1];
    unsigned n = b->nd;

    if (n == 0)
        return;
    memset(bd, 0, sizeof(bd));
    bd[0].buffer_type = MYSQL_TYPE_LONGLONG;
    bd[0].buffer = b->did;
    ab_exec(b->del, bd, n, "array delete", stmts);
    b->nd = 0;
}
