/*
** ct_compare.c -- the comparator (source vs model, row by row, storage
** class and bytes), convergence waits, and the journal scan of the
** capture suites (contract in ct_model.h).
**
** INVARIANTS:
**  (C1) both sides are read in one read transaction each and in the same
**       order: key columns, then every column, all COLLATE BINARY, so
**       equal tables give equal row sequences.
**  (C2) values are compared by storage class first, then integers by
**       value, reals by their 8 bytes (memcmp: -0.0 != 0.0), text and
**       blobs by length and bytes.
**  (C3) the scan hands out only records of groups that ended with a
**       record of their own (not JR_K_ABORT), in seq order.
*/
#include "ct_model.h"
#include "ct_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

#include "tl_proc.h"

/* ---------------------------------------------------------------- */
/* The comparator                                                   */
/* ---------------------------------------------------------------- */

typedef struct names {
    int n;
    char **v;
} names;

static void names_free(names *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static void names_add(names *l, const char *s)
{
    l->v = ct__xrealloc(l->v, (size_t)(l->n + 1) * sizeof(char *));
    l->v[l->n++] = ct__xstrdup(s);
}

static int query_names(sqlite3 *db, const char *sql, const char *arg,
                       names *out, names *pk, char *why, size_t cap)
{
    sqlite3_stmt *s;
    int rc;

    memset(out, 0, sizeof(*out));
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return ct__fail(why, cap, "%s: %s", sql, sqlite3_errmsg(db));
    if (arg != NULL)
        sqlite3_bind_text(s, 1, arg, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        names_add(out, (const char *)sqlite3_column_text(s, 0));
        if (pk != NULL && sqlite3_column_int(s, 1) > 0)
            names_add(pk, (const char *)sqlite3_column_text(s, 0));
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return ct__fail(why, cap, "%s: %s", sql, sqlite3_errmsg(db));
    return 0;
}

static const char *sql_value_str(sqlite3_stmt *s, int i, char *buf,
                                 size_t cap)
{
    jr_value v;

    ct__col_value(s, i, &v);
    return ct_value_str(&v, buf, cap);
}

static char *select_sql(sqlite3 *db, const char *table, const names *cols,
                        const names *key, const char *alias, int model)
{
    sqlite3_str *q = sqlite3_str_new(db);

    sqlite3_str_appendall(q, "SELECT ");
    for (int i = 0; i < cols->n; i++)
        sqlite3_str_appendf(q, "%s\"%w\"", i ? ", " : "", cols->v[i]);
    if (alias != NULL)
        sqlite3_str_appendf(q, model ? ", \"%w\"" : ", %s", alias);
    sqlite3_str_appendf(q, " FROM \"%w\" ORDER BY ", table);
    if (alias != NULL)
        sqlite3_str_appendf(q, model ? "\"%w\"" : "%s", alias);
    for (int i = 0; alias == NULL && i < key->n; i++)
        sqlite3_str_appendf(q, "%s\"%w\" COLLATE BINARY", i ? ", " : "",
                            key->v[i]);
    for (int i = 0; i < cols->n; i++)
        sqlite3_str_appendf(q, ", \"%w\" COLLATE BINARY", cols->v[i]);
    return sqlite3_str_finish(q);
}

static int compare_table(sqlite3 *src, sqlite3 *mdb, const char *table,
                         char *why, size_t cap)
{
    names cols = { 0 }, key = { 0 }, mcols = { 0 };
    const char *alias = NULL;
    sqlite3_stmt *a = NULL, *b = NULL;
    char *sql;
    int ret = -1, rca, rcb, key_col = 0;
    uint64_t row = 0;

    if (query_names(src, "SELECT name, pk FROM pragma_table_xinfo(?1) "
                    "WHERE hidden != 1 ORDER BY cid", table, &cols, &key,
                    why, cap) != 0 ||
        query_names(mdb, "SELECT name FROM pragma_table_info(?1) ORDER BY "
                    "cid", table, &mcols, NULL, why, cap) != 0)
        goto out;
    if (key.n > 0) {
        /* source key in pk order */
        names_free(&key);
        if (query_names(src, "SELECT name FROM pragma_table_xinfo(?1) "
                        "WHERE pk > 0 ORDER BY pk", table, &key, NULL, why,
                        cap) != 0)
            goto out;
    } else {
        alias = ct__rowid_alias(cols.v, cols.n);
    }
    if (mcols.n != cols.n + (alias != NULL)) {
        ct__fail(why, cap, "table %s: source has %d columns%s, model %d",
                 table, cols.n, alias ? " + rowid" : "", mcols.n);
        goto out;
    }
    for (int i = 0; i < mcols.n; i++) {
        const char *want = i < cols.n ? cols.v[i] : alias;
        if (strcmp(mcols.v[i], want) != 0) {
            ct__fail(why, cap, "table %s: column %d is \"%s\" in the source, "
                     "\"%s\" in the model", table, i, want, mcols.v[i]);
            goto out;
        }
    }
    if (alias != NULL) {
        key_col = cols.n;
    } else {
        for (int i = 0; i < cols.n; i++)
            if (strcmp(cols.v[i], key.v[0]) == 0)
                key_col = i;
    }
    sql = select_sql(src, table, &cols, &key, alias, 0);
    rca = sqlite3_prepare_v2(src, sql, -1, &a, NULL);
    sqlite3_free(sql);
    sql = select_sql(mdb, table, &cols, &key, alias, 1);
    rcb = sqlite3_prepare_v2(mdb, sql, -1, &b, NULL);
    sqlite3_free(sql);
    if (rca != SQLITE_OK || rcb != SQLITE_OK) {
        ct__fail(why, cap, "table %s: %s / %s", table, sqlite3_errmsg(src),
                 sqlite3_errmsg(mdb));
        goto out;
    }
    for (;; row++) {
        char x[128], y[128], z[128], w[128];
        rca = sqlite3_step(a);
        rcb = sqlite3_step(b);
        if (rca != SQLITE_ROW && rca != SQLITE_DONE) {
            ct__fail(why, cap, "table %s: source: %s", table,
                     sqlite3_errmsg(src));
            goto out;
        }
        if (rcb != SQLITE_ROW && rcb != SQLITE_DONE) {
            ct__fail(why, cap, "table %s: model: %s", table,
                     sqlite3_errmsg(mdb));
            goto out;
        }
        if (rca == SQLITE_DONE && rcb == SQLITE_DONE)
            break;
        if (rca != rcb) {
            sqlite3_stmt *more = rca == SQLITE_ROW ? a : b;
            ct__fail(why, cap, "table %s: the %s has more rows (%llu in "
                     "common); first extra row starts %s", table,
                     rca == SQLITE_ROW ? "source" : "model",
                     (unsigned long long)row, sql_value_str(more, key_col, x,
                                                        sizeof(x)));
            goto out;
        }
        for (int i = 0; i < mcols.n; i++) {
            jr_value va, vb;
            ct__col_value(a, i, &va);
            ct__col_value(b, i, &vb);
            if (!ct__value_equal(&va, &vb)) {
                ct__fail(why, cap, "table %s row %llu (source key %s, model "
                         "key %s), column \"%s\": source %s, model %s", table,
                         (unsigned long long)row,
                         sql_value_str(a, key_col, x, sizeof(x)),
                         sql_value_str(b, key_col, z, sizeof(z)),
                         mcols.v[i], ct_value_str(&va, y, sizeof(y)),
                         ct_value_str(&vb, w, sizeof(w)));
                goto out;
            }
        }
    }
    ret = 0;
out:
    sqlite3_finalize(a);
    sqlite3_finalize(b);
    names_free(&cols);
    names_free(&key);
    names_free(&mcols);
    return ret;
}

/* Does src hold sluice's registry? Only the objects it records are
** sluice's own: an application table named like one is compared. */
static int sluice_registered(sqlite3 *db)
{
    sqlite3_stmt *s;
    int have = 0;

    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_schema WHERE name = "
                           "'_sluice_tables'", -1, &s, NULL) == SQLITE_OK)
        have = sqlite3_step(s) == SQLITE_ROW;
    sqlite3_finalize(s);
    return have;
}

int ct_compare(const char *src, ct_model *m, const char *const *tables,
               char *why, size_t cap)
{
    sqlite3 *db = NULL;
    names st = { 0 }, mt = { 0 };
    int ret = -1;

    why[0] = '\0';
    if (sqlite3_open_v2(src, &db, SQLITE_OPEN_READWRITE, NULL) !=
        SQLITE_OK) {
        ct__fail(why, cap, "cannot open source %s: %s (errno %d)", src,
                 db ? sqlite3_errmsg(db) : "out of memory",
                 db ? sqlite3_system_errno(db) : 0);
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, 5000);
    if (ct__exec(db, "BEGIN", why, cap) != 0 ||
        ct__exec(db, "SELECT count(*) FROM sqlite_schema", why, cap) != 0)
        goto out;
    if (tables != NULL) {
        for (int i = 0; tables[i] != NULL; i++) {
            names_add(&st, tables[i]);
            names_add(&mt, tables[i]);
        }
    } else if (query_names(db, sluice_registered(db)
                           ? "SELECT name FROM pragma_table_list WHERE "
                           "schema = 'main' AND type = 'table' AND name NOT "
                           "LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT IN "
                           "('_sluice_meta', '_sluice_tables') AND name NOT "
                           "IN (SELECT '_sluice_log_' || id FROM "
                           "_sluice_tables) ORDER BY name"
                           : "SELECT name FROM pragma_table_list WHERE "
                           "schema = 'main' AND type = 'table' AND name NOT "
                           "LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name", NULL,
                           &st, NULL, why, cap) != 0 ||
               query_names(ct__model_db(m), "SELECT name FROM "
                           "_model_schema ORDER BY name", NULL, &mt, NULL,
                           why, cap) != 0) {
        goto out;
    }
    for (int i = 0; i < st.n || i < mt.n; i++) {
        if (i >= st.n || i >= mt.n || strcmp(st.v[i], mt.v[i]) != 0) {
            ct__fail(why, cap, "tables differ: source has \"%s\", model has "
                     "\"%s\" (source %d tables, model %d)",
                     i < st.n ? st.v[i] : "", i < mt.n ? mt.v[i] : "", st.n,
                     mt.n);
            goto out;
        }
    }
    for (int i = 0; i < st.n; i++)
        if (compare_table(db, ct__model_db(m), st.v[i], why, cap) != 0)
            goto out;
    ret = 0;
out:
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(db);
    names_free(&st);
    names_free(&mt);
    return ret;
}

int ct_converge(ct_model *m, const char *dir, const char *src,
                int timeout_ms, char *why, size_t cap)
{
    int64_t deadline;

    /* a limit for reporting a failure, never an expectation */
    if (timeout_ms > 0 && timeout_ms < 120000)
        timeout_ms = 120000;
    deadline = tl_now_ms() + timeout_ms;
    for (;;) {
        int rc = ct_model_sync(m, dir, why, cap);
        if (rc == -1)
            return -1;
        if (rc == 0 && ct_compare(src, m, NULL, why, cap) == 0)
            return 0;
        if (tl_now_ms() > deadline)
            return -1;
        tl_sleep_ms(20);
    }
}

void ct_assert_model_equals_source(const char *dir, const char *src)
{
    ct_model *m = ct_model_new();
    char why[1024];
    int rc = ct_model_sync(m, dir, why, sizeof(why));

    if (rc != 0) {
        ct_model_free(m);
        cr_assert_fail("model cannot apply the journal: %s", why);
    }
    rc = ct_compare(src, m, NULL, why, sizeof(why));
    ct_model_free(m);
    cr_assert_eq(rc, 0, "model differs from source: %s", why);
}

/* ---------------------------------------------------------------- */
/* Scan                                                             */
/* ---------------------------------------------------------------- */

typedef struct u64set {
    size_t n, cap;
    uint64_t *v;           /* increasing */
} u64set;

static void set_add(u64set *s, uint64_t x)
{
    if (s->n > 0 && s->v[s->n - 1] == x)
        return;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->v = ct__xrealloc(s->v, s->cap * sizeof(uint64_t));
    }
    s->v[s->n++] = x;
}

static int set_has(const u64set *s, uint64_t x)
{
    size_t lo = 0, hi = s->n;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->v[mid] == x)
            return 1;
        if (s->v[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

int ct_scan(const char *dir, ct_scan_cb cb, void *ctx)
{
    jr_journal *j = ct_journal_open(dir);
    jr_reader *r = NULL;
    jr_err err = { 0 };
    u64set complete = { 0, 0, NULL };
    jr_entry e;
    int rc, ret = 0;

    /* pass 1: which groups ended with a real record (not ABORT) */
    cr_assert_eq(jr_reader_open(&r, j, 1, &err), JR_OK, "%s", err.msg);
    while ((rc = jr_reader_next(r, &e, &err)) == JR_OK)
        if (e.group_end && e.rec.kind != JR_K_ABORT)
            set_add(&complete, e.group);
    cr_assert_eq(rc, JR_EAGAIN, "reading journal: %s (%s)",
                 jr_strerror(rc), err.msg);
    /* pass 2 */
    jr_reader_seek(r, 1);
    while (ret == 0 && (rc = jr_reader_next(r, &e, &err)) == JR_OK)
        if (e.rec.kind != JR_K_ABORT && set_has(&complete, e.group))
            ret = cb(&e, ctx);
    jr_reader_close(r);
    jr_journal_close(j);
    free(complete.v);
    return ret;
}

void ct_assert_journal_clean(const char *dir)
{
    jr_journal *j = ct_journal_open(dir);
    jr_check_report rep;
    jr_err err = { 0 };
    int rc;

    memset(&rep, 0, sizeof(rep));
    rc = jr_journal_check(j, &rep, &err);
    jr_journal_close(j);
    cr_assert_eq(rc, JR_OK, "journal check failed (%s): bad seq %llu: %s "
                 "%s", jr_strerror(rc), (unsigned long long)rep.bad_seq,
                 rep.problem, err.msg);
}
