/*
** br_apply.c -- apply-ops: the plain C loader applying a change stream
** (the ops file of `changes`) to MariaDB, in order or coalesced, by
** text statements or array binding. See the header of bench_replay.c for
** the options.
** INVARIANTS:
**  (O1) in order: a statement ends whenever the operation changes, so
**       the statements apply the stream exactly as written.
**  (O2) coalesced: the pending upsert and delete statements have
**       disjoint key sets (a put of a key pending for delete first
**       flushes the deletes, and the other way round), so executing them
**       in either order gives the stream's state -- for a table whose
**       only unique key is the primary key.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "br.h"

/* key set for --coalesce: open addressing over int64 ids */
typedef struct idset {
    int64_t *k;
    size_t cap, n;
} idset;

static size_t ids_slot(const idset *s, int64_t id)
{
    size_t h = (size_t)((uint64_t)id * 0x9E3779B97F4A7C15ull) & (s->cap - 1);
    while (s->k[h] != INT64_MIN && s->k[h] != id)
        h = (h + 1) & (s->cap - 1);
    return h;
}

static int ids_has(const idset *s, int64_t id)
{
    return s->k[ids_slot(s, id)] == id;
}

static void ids_add(idset *s, int64_t id)
{
    size_t h = ids_slot(s, id);
    if (s->k[h] != id) {
        s->k[h] = id;
        s->n++;
    }
}

static void ids_clear(idset *s)
{
    for (size_t i = 0; i < s->cap; i++)
        s->k[i] = INT64_MIN;
    s->n = 0;
}

/* An empty key set with room for twice stmt_rows keys (a power of 2). */
static void ids_init(idset *s, long long stmt_rows)
{
    s->cap = 4096;
    while (s->cap < 2 * (size_t)stmt_rows)
        s->cap *= 2;
    s->k = bu_xmalloc(s->cap * sizeof(int64_t));
    ids_clear(s);
}

typedef struct pend {            /* one pending multi-row statement */
    br_buf sql;
    long long rows;
    idset keys;
} pend;

static void pend_flush(MYSQL *db, pend *p, char op, long long *stmts)
{
    if (p->rows == 0)
        return;
    br_buf_adds(&p->sql, op == 'P' ? br_odku : ")");
    br_db_exec(db, p->sql.p, p->sql.len);
    p->sql.len = 0;
    p->rows = 0;
    ids_clear(&p->keys);
    (*stmts)++;
}

/* End of a transaction, text statements: the pending deletes, then the
** pending upserts, then COMMIT. */
static void pend_commit(MYSQL *db, pend *pp, pend *pd, long long *stmts)
{
    pend_flush(db, pd, 'D', stmts);
    pend_flush(db, pp, 'P', stmts);
    br_db_commit(db);
}

/* End of a transaction, array binding: the same, and both key sets
** emptied. */
static void array_commit(MYSQL *db, br_abatch *b, idset *kp, idset *kd,
                         long long *stmts)
{
    br_ab_flush_del(b, stmts);
    br_ab_flush_put(b, stmts);
    ids_clear(kd);
    ids_clear(kp);
    br_db_commit(db);
}

/* apply-ops --array 1: coalesced as --coalesce 1, each pending batch
** sent as one array-bound execution of a prepared statement. */
static int apply_ops_array(char *data, size_t len, long long stmt_rows,
                           long long txn_rows)
{
    char *p = data, *end = data + len;
    MYSQL *db = br_connect(0);
    br_abatch b;
    idset kp, kd;
    long long n = 0, stmts = 0, commits = 0;
    double t0, t;

    br_ab_init(&b, db, (unsigned)stmt_rows);
    ids_init(&kp, stmt_rows);
    ids_init(&kd, stmt_rows);
    t0 = bu_now_s();
    while (p < end) {
        char *eol = memchr(p, '\n', (size_t)(end - p));
        char o = *p;
        int64_t id;

        if (eol == NULL)
            eol = end;
        if (o == 'C') {
            p = eol + 1;
            if (txn_rows == 0) {
                array_commit(db, &b, &kp, &kd, &stmts);
                commits++;
            }
            continue;
        }
        if (eol - p < 3 || p[1] != '\t' || (o != 'P' && o != 'D'))
            bu_die("bad ops line: %.60s", p);
        id = strtoll(p + 2, NULL, 10);
        if (o == 'P') {
            if (b.nd && ids_has(&kd, id)) {
                br_ab_flush_del(&b, &stmts);
                ids_clear(&kd);
            }
            br_ab_add(&b, p + 2, eol);
            ids_add(&kp, id);
            if (b.n == (unsigned)stmt_rows) {
                br_ab_flush_put(&b, &stmts);
                ids_clear(&kp);
            }
        } else {
            if (b.n && ids_has(&kp, id)) {
                br_ab_flush_put(&b, &stmts);
                ids_clear(&kp);
            }
            b.did[b.nd++] = id;
            ids_add(&kd, id);
            if (b.nd == (unsigned)stmt_rows) {
                br_ab_flush_del(&b, &stmts);
                ids_clear(&kd);
            }
        }
        n++;
        p = eol + 1;
        if (txn_rows > 0 && n % txn_rows == 0) {
            array_commit(db, &b, &kp, &kd, &stmts);
            commits++;
        }
    }
    array_commit(db, &b, &kp, &kd, &stmts);
    t = bu_now_s() - t0;
    printf("rows=%lld seconds=%.3f rows_per_s=%.0f statements=%lld "
           "commits=%lld coalesce=1 array=1 client_cpu_s=%.2f\n", n, t,
           (double)n / t, stmts, commits, bu_self_cpu_s());
    br_ab_free(&b);
    free(kp.k);
    free(kd.k);
    mysql_close(db);
    return 0;
}

/* The plain loader on a change stream. In order (default): a statement
** ends whenever the operation changes. --coalesce 1: one pending upsert
** and one pending delete statement; their key sets stay disjoint (a put
** of a key pending for delete first flushes the deletes, and the other
** way round), so executing them in either order gives the same state as
** the stream -- for a table whose only unique key is the primary key. */
int br_cmd_apply_ops(void)
{
    size_t len;
    char *data = br_read_file(br_req("file"), &len), *p = data;
    char *end = data + len;
    long long stmt_rows = br_opt_ll("stmt-rows", 1000),
              txn_rows = br_opt_ll("txn-rows", 10000);
    int coalesce = br_opt_ll("coalesce", 0) != 0;
    MYSQL *db;
    pend pp = { 0 }, pd = { 0 };
    long long n = 0, stmts = 0, commits = 0;
    double t0, t;

    if (br_opt_ll("array", 0)) {
        apply_ops_array(data, len, stmt_rows, txn_rows);
        free(data);
        return 0;
    }
    db = br_connect(0);
    ids_init(&pp.keys, stmt_rows);
    ids_init(&pd.keys, stmt_rows);
    t0 = bu_now_s();
    while (p < end) {
        char *eol = memchr(p, '\n', (size_t)(end - p));
        char o = *p;
        int64_t id;
        pend *me, *other;

        if (eol == NULL)
            eol = end;
        if (o == 'C') {                 /* end of a source transaction */
            p = eol + 1;
            if (txn_rows == 0) {
                pend_commit(db, &pp, &pd, &stmts);
                commits++;
            }
            continue;
        }
        if (eol - p < 3 || p[1] != '\t' || (o != 'P' && o != 'D'))
            bu_die("bad ops line: %.60s", p);
        id = strtoll(p + 2, NULL, 10);
        me = o == 'P' ? &pp : &pd;
        other = o == 'P' ? &pd : &pp;
        if (other->rows && (!coalesce || ids_has(&other->keys, id)))
            pend_flush(db, other, o == 'P' ? 'D' : 'P', &stmts);
        if (o == 'P') {
            br_buf_adds(&me->sql, me->rows ? ", " : "INSERT INTO items ("
                                                    BR_COL_LIST ") VALUES ");
            br_sql_tuple(&me->sql, db, p + 2, eol);
        } else {
            br_buf_adds(&me->sql, me->rows ? ", " : "DELETE FROM items "
                                                    "WHERE id IN (");
            br_buf_add(&me->sql, p + 2, (size_t)(eol - p - 2));
        }
        ids_add(&me->keys, id);
        me->rows++;
        n++;
        p = eol + 1;
        if (me->rows == stmt_rows)
            pend_flush(db, me, o, &stmts);
        if ((txn_rows > 0 && n % txn_rows == 0) || p >= end) {
            pend_commit(db, &pp, &pd, &stmts);
            commits++;
        }
    }
    pend_commit(db, &pp, &pd, &stmts);         /* a stream without "C" */
    t = bu_now_s() - t0;
    printf("rows=%lld seconds=%.3f rows_per_s=%.0f statements=%lld "
           "commits=%lld coalesce=%d client_cpu_s=%.2f\n", n, t,
           (double)n / t, stmts, commits, coalesce, bu_self_cpu_s());
    mysql_close(db);
    free(data);
    free(pp.sql.p);
    free(pd.sql.p);
    free(pp.keys.k);
    free(pd.keys.k);
    return 0;
}
