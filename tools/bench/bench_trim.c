/*
** bench_trim.c -- how long one trim transaction holds the source.
**
** The real sluice-capture installs its triggers on a table `orders`
** (trims off: --trim-rows/--trim-age-s at their maximum) and is SIGKILLed
** once --rows inserts and --rows/2 updates sit in the change log (SIGTERM
** would trim at exit). Then the log is trimmed exactly as cap_trim.c does
** it: one gated transaction (cap_gate_begin, DELETE ... WHERE id >= a AND
** id < b, cap_gate_commit) per --chunk rows. Printed per chunk size: the
** time from cap_gate_begin to the end of cap_gate_commit, which bounds how
** long the gate's barrier (and SQLite's write lock) is held; the source
** is otherwise idle, so this is the cost of the trim itself.
**
** usage: sluice-bench-trim --capture BIN [--dir D] [--rows N] [--chunk N]
*/
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "cap.h"
#include "sl_clock.h"
#include "sl_sig.h"

static void die(const char *what, sqlite3 *db)
    __attribute__((noreturn));

static void die(const char *what, sqlite3 *db)
{
    bu_die("%s: %s", what, db ? sqlite3_errmsg(db) : "failed");
}

static int64_t one_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s;
    int64_t v = -1;

    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        die(sql, db);
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

int main(int argc, char **argv)
{
    const char *dir = ".bench/trim", *bin = NULL;
    long rows = 40000, chunk = 2000;
    char path[600], jdir[600], clog[620], sql[300], log[48];
    int64_t *t, t0, from, below, id, total, wall;
    sqlite3 *db;
    cap_src src;
    jr_err err = { 0 };
    pid_t cap;
    int n = 0, deferred = 0;

    bu_prog("bench_trim", 2);
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--dir") == 0)
            dir = argv[i + 1];
        else if (strcmp(argv[i], "--capture") == 0)
            bin = argv[i + 1];
        else if (strcmp(argv[i], "--rows") == 0)
            rows = strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--chunk") == 0)
            chunk = strtol(argv[i + 1], NULL, 10);
        else {
            bin = NULL;                 /* unknown option: usage */
            break;
        }
    }
    if (bin == NULL || rows < 1 || chunk < 1) {
        fprintf(stderr, "usage: sluice-bench-trim --capture BIN [--dir D] "
                "[--rows N] [--chunk N]\n");
        return 2;
    }
    snprintf(path, sizeof(path), "%s/src.db", dir);
    snprintf(jdir, sizeof(jdir), "%s/journal", dir);
    snprintf(clog, sizeof(clog), "%s/capture.log", dir);
    bu_rm_rf(dir);
    bu_mkdir_p(dir);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die("create", NULL);
    if (sqlite3_exec(db, "CREATE TABLE orders(id INTEGER PRIMARY KEY, "
                     "customer INT, qty INT, price DECIMAL(10,2), at "
                     "DATETIME, note TEXT)", NULL, NULL, NULL) != SQLITE_OK)
        die("schema", db);
    sqlite3_busy_timeout(db, 5000);
    {
        char *argv[] = { (char *)bin, "--source", path, "--journal", jdir,
                         "--trim-rows", "1099511627776", "--trim-age-s",
                         "3153600000", NULL };
        cap = bu_spawn(clog, 0, argv);
    }
    for (t0 = sl_mono_us(); one_int(db, "SELECT count(*) FROM "
                                    "sqlite_master WHERE name LIKE "
                                    "'\\_sluice\\_log\\_%' ESCAPE '\\'")
                            < 1; sl_sleep_ms(20))
        if (sl_mono_us() - t0 > 30000000)
            die("capture installed nothing in 30 s", NULL);
    id = one_int(db, "SELECT CAST(substr(name, 13) AS INT) FROM "
                 "sqlite_master WHERE name LIKE '\\_sluice\\_log\\_%' "
                 "ESCAPE '\\' AND type = 'table'");
    snprintf(log, sizeof(log), "_sluice_log_%lld", (long long)id);
    snprintf(sql, sizeof(sql), "WITH RECURSIVE s(x) AS (SELECT 1 UNION "
             "ALL SELECT x + 1 FROM s WHERE x < %ld) INSERT INTO orders("
             "customer, qty, price, at, note) SELECT x %% 500, x %% 7, "
             "x * 1.25, '2026-04-16 22:41:27.490 +00:00', 'note ' || x "
             "FROM s", rows);
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, "UPDATE orders SET qty = qty + 1 WHERE id % 2 = 0",
                     NULL, NULL, NULL) != SQLITE_OK)
        die("writes", db);
    sl_sleep_ms(2000);                  /* let capture journal them */
    kill(cap, SIGKILL);
    bu_wait(cap, -1, NULL, NULL);
    sqlite3_close(db);

    if (cap_src_open(&src, path, 1000, &err) != JR_OK ||
        cap_gate_attach(&src, &err) != JR_OK)
        die(err.msg, NULL);
    snprintf(sql, sizeof(sql), "SELECT min(id) FROM \"%s\"", log);
    from = one_int(src.db, sql);
    snprintf(sql, sizeof(sql), "SELECT max(id) + 1 FROM \"%s\"", log);
    below = one_int(src.db, sql);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM \"%s\"", log);
    total = one_int(src.db, sql);
    wall = sl_mono_us();
    t = bu_xmalloc((size_t)((below - from) / chunk + 2) * sizeof(*t));
    while (from < below && deferred < 100000) {
        int64_t to = from + chunk < below ? from + chunk : below;
        t0 = sl_mono_us();
        if (cap_gate_begin(&src, &err) != JR_OK) {
            jr_err_clear(&err);
            deferred++;
            sl_sleep_ms(1);             /* as cap__write backs off */
            continue;
        }
        snprintf(sql, sizeof(sql), "DELETE FROM \"%s\" WHERE id >= %lld "
                 "AND id < %lld", log, (long long)from, (long long)to);
        if (cap__exec(src.db, sql, &err) != JR_OK) {
            cap_gate_rollback(&src);
            die(err.msg, NULL);
        }
        if (cap_gate_commit(&src, &err) != JR_OK) {
            jr_err_clear(&err);
            deferred++;
            sl_sleep_ms(1);             /* as cap__write backs off */
            continue;
        }
        t[n++] = sl_mono_us() - t0;
        from = to;
    }
    wall = sl_mono_us() - wall;
    cap_src_close(&src);
    bu_sort_i64(t, (size_t)n);
    printf("trim of %lld change-log rows (%ld inserts + %ld updates of "
           "orders) in %d gated transactions of %ld rows (%d put off), "
           "%.0f ms in all\n",
           (long long)total,
           rows, rows / 2, n, chunk, deferred, wall / 1000.0);
    if (n > 0)
        printf("held the source per transaction: min %.2f ms, median %.2f "
               "ms, p90 %.2f ms, max %.2f ms\n", t[0] / 1000.0,
               t[n / 2] / 1000.0, t[n * 9 / 10] / 1000.0, t[n - 1] / 1000.0);
    free(t);
    return 0;
}
