/*
** bench_gate.c -- what a second writer does to an ORM-style application,
** with and without capture's gate (capture/cap_gate.c).
**
** The APPLICATION (one connection, busy timeout 1 s) runs transactions that
** BEGIN (deferred), read, think --think-us, write and commit, with
** --gap-us between them, for --secs seconds, counting SQLITE_BUSY and
** SQLITE_BUSY_SNAPSHOT. Beside it a WRITER makes a small commit (an insert
** and a delete in a table of its own, like a trim) every --every-ms:
**   naive   BEGIN IMMEDIATE ... COMMIT, as any second connection would;
**   gate    cap_gate_begin() ... cap_gate_commit(), as capture does.
** Printed: application transactions and errors, the writer's commits and
** deferrals, per mode, in one run. The gate's target is 0 errors.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "cap.h"
#include "sl_clock.h"

typedef struct result {
    long txns, busy, snapshot, other;
    long commits, deferred;
} result;

static int g_secs = 20, g_think_us = 1000, g_gap_us = 0, g_every_ms = 5;

static void app(const char *path, int fd)
{
    sqlite3 *db;
    result r;
    int64_t end = sl_mono_us() + (int64_t)g_secs * 1000000;

    memset(&r, 0, sizeof(r));
    if (sqlite3_open(path, &db) != SQLITE_OK)
        _exit(3);
    sqlite3_busy_timeout(db, 1000);
    while (sl_mono_us() < end) {
        char sql[96];
        int rc = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(db, "SELECT count(*) FROM (SELECT * FROM t "
                              "ORDER BY id DESC LIMIT 5)", NULL, NULL, NULL);
        if (g_think_us)
            usleep((useconds_t)g_think_us);
        snprintf(sql, sizeof(sql), "INSERT INTO t(v) VALUES (%ld)", r.txns);
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
            int x = sqlite3_extended_errcode(db);
            if (x == SQLITE_BUSY_SNAPSHOT)
                r.snapshot++;
            else if ((x & 0xff) == SQLITE_BUSY)
                r.busy++;
            else
                r.other++;
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        }
        r.txns++;
        if (g_gap_us)
            usleep((useconds_t)g_gap_us);
    }
    sqlite3_close(db);
    if (bu_write_full(fd, &r, sizeof(r)) != 0)
        _exit(4);
    _exit(0);
}

static int writes(sqlite3 *db, long i)
{
    char sql[160];
    snprintf(sql, sizeof(sql), "INSERT INTO w VALUES (%ld); DELETE FROM w "
             "WHERE x < %ld", i, i - 100);
    return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static void writer(const char *path, int gate, int fd)
{
    result r;
    cap_src src;
    jr_err err = { 0 };
    int64_t end = sl_mono_us() + (int64_t)g_secs * 1000000;

    memset(&r, 0, sizeof(r));
    if (cap_src_open(&src, path, 1000, &err) != JR_OK ||
        cap_gate_attach(&src, &err) != JR_OK)
        _exit(5);
    sqlite3_busy_timeout(src.db, 0);
    for (long i = 1; sl_mono_us() < end; i++) {
        usleep((useconds_t)g_every_ms * 1000);
        if (!gate) {
            if (sqlite3_exec(src.db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) {
                r.deferred++;
                continue;
            }
            writes(src.db, i);
            if (sqlite3_exec(src.db, "COMMIT", NULL, NULL, NULL) ==
                SQLITE_OK)
                r.commits++;
            else
                cap_rollback(src.db);
            continue;
        }
        if (cap_gate_begin(&src, &err) != JR_OK) {
            jr_err_clear(&err);
            r.deferred++;
            continue;
        }
        writes(src.db, i);
        if (cap_gate_commit(&src, &err) == JR_OK)
            r.commits++;
        else
            r.deferred++;
        jr_err_clear(&err);
    }
    cap_src_close(&src);
    if (bu_write_full(fd, &r, sizeof(r)) != 0)
        _exit(4);
    _exit(0);
}

static result run(const char *dir, int gate)
{
    char path[600];
    int pa[2], pw[2];
    result ra, rw;
    sqlite3 *db;
    pid_t a, w;

    snprintf(path, sizeof(path), "%s/gate.db", dir);
    bu_mkdir_p(dir);
    bu_rm_db(path);
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db, "PRAGMA journal_mode = WAL; CREATE TABLE t(id "
                     "INTEGER PRIMARY KEY, v); CREATE TABLE w(x INTEGER "
                     "PRIMARY KEY)", NULL, NULL, NULL) != SQLITE_OK)
        bu_die("cannot create %s", path);
    sqlite3_close(db);
    if (pipe(pa) != 0 || pipe(pw) != 0)
        bu_die("pipe: %s", strerror(errno));
    if ((a = fork()) == 0)
        app(path, pa[1]);
    if ((w = fork()) == 0)
        writer(path, gate, pw[1]);
    if (bu_read_full(pa[0], &ra, sizeof(ra)) != 0 ||
        bu_read_full(pw[0], &rw, sizeof(rw)) != 0)
        bu_die("a child failed");
    bu_wait(a, -1, NULL, NULL);
    bu_wait(w, -1, NULL, NULL);
    close(pa[0]);
    close(pa[1]);
    close(pw[0]);
    close(pw[1]);
    ra.commits = rw.commits;
    ra.deferred = rw.deferred;
    return ra;
}

int main(int argc, char **argv)
{
    const char *dir = ".bench/gate";
    result r[2];
    int fail;

    bu_prog("bench_gate", 2);
    for (int i = 1; i + 1 < argc; i += 2) {
        long v = strtol(argv[i + 1], NULL, 10);
        if (strcmp(argv[i], "--dir") == 0)
            dir = argv[i + 1];
        else if (strcmp(argv[i], "--secs") == 0)
            g_secs = (int)v;
        else if (strcmp(argv[i], "--think-us") == 0)
            g_think_us = (int)v;
        else if (strcmp(argv[i], "--gap-us") == 0)
            g_gap_us = (int)v;
        else if (strcmp(argv[i], "--every-ms") == 0)
            g_every_ms = (int)v;
        else {
            fprintf(stderr, "usage: sluice-bench-gate [--dir D] [--secs N] "
                    "[--think-us N] [--gap-us N] [--every-ms N]\n");
            return 2;
        }
    }
    r[0] = run(dir, 0);
    r[1] = run(dir, 1);
    printf("\nAn ORM-style application (read, think %d us, write; gap %d "
           "us) beside a writer committing every %d ms, %d s each\n",
           g_think_us, g_gap_us, g_every_ms, g_secs);
    printf("%-8s %10s %8s %14s %8s %14s %10s\n", "writer", "app txns",
           "busy", "busy_snapshot", "other", "writer commits", "deferred");
    for (int i = 0; i < 2; i++)
        printf("%-8s %10ld %8ld %14ld %8ld %14ld %10ld\n",
               i ? "gate" : "naive", r[i].txns, r[i].busy, r[i].snapshot,
               r[i].other, r[i].commits, r[i].deferred);
    fail = r[1].busy + r[1].snapshot + r[1].other != 0;
    printf("  %s the gate caused no application error\n",
           fail ? "FAIL" : "PASS");
    return fail;
}
