/*
** br_load.c -- sluice-bench-replay's baselines for a full load: load-data
** (A: LOAD DATA LOCAL INFILE, plain, in replay's shape, or with bulk
** checks off) and upsert (B: the plain C loader, multi-row INSERT ... ON
** DUPLICATE KEY UPDATE, or the same rows through array binding).
** INVARIANTS:
**  (L1) timed from the first statement to the return of the last COMMIT;
**       upsert reads its file into memory before the clock starts.
**  (L2) each prints one "rows=N seconds=S rows_per_s=R ..." line.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "br.h"

/* Baseline A, plain: LOAD DATA ... INTO TABLE in autocommit mode.
** --as-replay 1: the statement shape sluice-replay uses for a snapshot
**   (one transaction: DELETE FROM, LOAD DATA ... REPLACE INTO, COMMIT).
** --bulk 1: SET unique_checks = 0, foreign_key_checks = 0 first, which
**   lets InnoDB (10.6+) load an empty table with table-level undo
**   logging (MDEV-24818). */
int br_cmd_load_data(void)
{
    const char *file = br_req("file");
    int as_replay = br_opt_ll("as-replay", 0) != 0;
    int bulk = br_opt_ll("bulk", 0) != 0;
    MYSQL *db = br_connect(!as_replay);
    br_buf sql = { 0 };
    double t0, t;
    my_ulonglong n;

    if (bulk)
        br_db_exec(db, "SET unique_checks = 0, foreign_key_checks = 0", 46);
    br_buf_adds(&sql, "LOAD DATA LOCAL INFILE '");
    br_buf_need(&sql, 2 * strlen(file));
    sql.len += mysql_real_escape_string(db, sql.p + sql.len, file,
                                        (unsigned long)strlen(file));
    br_buf_adds(&sql, as_replay ? "' REPLACE INTO TABLE" : "' INTO TABLE");
    br_buf_adds(&sql, " items CHARACTER SET utf8mb4 FIELDS "
                      "TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES "
                      "TERMINATED BY '\\n' (" BR_COL_LIST ")");
    t0 = bu_now_s();
    if (as_replay)
        br_db_exec(db, "DELETE FROM items", 17);
    br_db_exec(db, sql.p, sql.len);
    n = mysql_affected_rows(db);
    if (as_replay)
        br_db_commit(db);
    t = bu_now_s() - t0;
    printf("rows=%llu seconds=%.3f rows_per_s=%.0f warnings=%u "
           "client_cpu_s=%.2f\n", (unsigned long long)n, t, (double)n / t,
           mysql_warning_count(db), bu_self_cpu_s());
    mysql_close(db);
    free(sql.p);
    return 0;
}

/* upsert --array 1 */
static int upsert_array(char *data, size_t len, long long stmt_rows,
                        long long txn_rows)
{
    char *p = data, *end = data + len;
    MYSQL *db = br_connect(0);
    br_abatch b;
    long long n = 0, stmts = 0, commits = 0;
    double t0 = bu_now_s(), t;

    br_ab_init(&b, db, (unsigned)stmt_rows);
    while (p < end) {
        char *eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL)
            eol = end;
        br_ab_add(&b, p, eol);
        n++;
        p = eol + 1;
        if (b.n == (unsigned)stmt_rows || p >= end)
            br_ab_flush_put(&b, &stmts);
        if (n % txn_rows == 0 || p >= end) {
            br_db_commit(db);
            commits++;
        }
    }
    t = bu_now_s() - t0;
    printf("rows=%lld seconds=%.3f rows_per_s=%.0f statements=%lld "
           "commits=%lld array=1 client_cpu_s=%.2f\n", n, t, (double)n / t,
           stmts, commits, bu_self_cpu_s());
    br_ab_free(&b);
    mysql_close(db);
    return 0;
}

int br_cmd_upsert(void)
{
    size_t len;
    char *data = br_read_file(br_req("file"), &len), *p = data;
    char *end = data + len;
    long long stmt_rows = br_opt_ll("stmt-rows", 1000),
              txn_rows = br_opt_ll("txn-rows", 10000);
    MYSQL *db;
    br_buf sql = { 0 };
    long long n = 0, in_stmt = 0, stmts = 0, commits = 0;
    double t0, t;

    if (br_opt_ll("array", 0)) {
        upsert_array(data, len, stmt_rows, txn_rows);
        free(data);
        return 0;
    }
    db = br_connect(0);
    t0 = bu_now_s();
    while (p < end) {
        char *eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL)
            eol = end;
        if (in_stmt == 0)
            br_buf_adds(&sql, "INSERT INTO items (" BR_COL_LIST ") VALUES ");
        else
            br_buf_adds(&sql, ", ");
        br_sql_tuple(&sql, db, p, eol);
        in_stmt++;
        n++;
        p = eol + 1;
        if (in_stmt == stmt_rows || p >= end) {
            br_buf_adds(&sql, br_odku);
            br_db_exec(db, sql.p, sql.len);
            sql.len = 0;
            in_stmt = 0;
            stmts++;
        }
        if (n % txn_rows == 0 || p >= end) {
            br_db_commit(db);
            commits++;
        }
    }
    t = bu_now_s() - t0;
    printf("rows=%lld seconds=%.3f rows_per_s=%.0f statements=%lld "
           "commits=%lld client_cpu_s=%.2f\n", n, t, (double)n / t, stmts,
           commits, bu_self_cpu_s());
    mysql_close(db);
    free(data);
    free(sql.p);
    return 0;
}
