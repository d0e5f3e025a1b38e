/*
** bench_capture_scale.c -- sluice-capture under sustained writes and with
** many tables, driving the real binary (tools/bench/bench_capture_scale.sh).
**
** 1. SCALE, for each table count N (default 1, 100, 1000): a database of
**    N tables with one row each.
**      install   first start until every snapshot is journaled (once per
**                table in a source's life)
**      restart   capture stopped, one row committed, capture started: time
**                until that row is journaled (what an operator waits for)
**      settle    install done until capture has measured every change log
**                (is it one page? cap_install.c): start-up work that runs
**                a few milliseconds a second (debug line
**                capture.logs_measured)
**      idle CPU  then capture's CPU time over --idle-s seconds with
**                nothing to do, as % of one core (/proc/PID/stat)
**      latency   --commits 1-row commits to random tables, one every 20 ms:
**                commit returned -> journal head moved, p50/p99/max
**    Ratios against the N=1 row of the same run.
** 2. SUSTAINED: an application commits 1-row transactions as fast as it
**    can into one table for --sustain-s seconds (WAL, synchronous=NORMAL as
**    such applications run); this process follows the journal with a
**    reader and times each insert from its commit (the application records
**    its commit times in shared memory) to the moment the reader saw it:
**    p50/p99/max, and the longest time the journal head stood still.
** Timings are taken on one machine in one run; compare ratios, not
** absolute figures from another day.
*/
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sqlite3.h>

#include "bench_util.h"
#include "sl_clock.h"
#include "sluice/journal.h"

static const char *g_dir = ".bench/capture-scale";
static const char *g_capture = "build-bench/capture/sluice-capture";
static int g_idle_s = 10, g_commits = 200, g_sustain_s = 60;
static int g_counts[8] = { 1, 100, 1000 }, g_ncounts = 3;

static void db_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        bu_die("sqlite: %s", msg ? msg : "?");
}

/* sluice-capture on src/jdir, its output appended to log. */
static pid_t start_capture(const char *src, const char *jdir,
                           const char *log)
{
    char *argv[] = { (char *)g_capture, "--source", (char *)src,
                     "--journal", (char *)jdir, "--log-level", "debug",
                     NULL };

    return bu_spawn(log, 1, argv);
}

static void stop_capture(pid_t pid)
{
    if (!bu_exited_ok(bu_stop(pid, 60000, NULL)))
        bu_die("sluice-capture did not exit cleanly (see its log)");
}

/* The journal, opened read-only as soon as it exists. */
static jr_journal *journal_wait(const char *jdir, int64_t timeout_us)
{
    int64_t end = sl_mono_us() + timeout_us;

    for (;;) {
        jr_journal_opts o = JR_JOURNAL_OPTS_INIT;
        jr_journal *j;
        jr_info info;
        o.read_only = 1;
        if (jr_journal_open(&j, jdir, &o, NULL) == JR_OK) {
            if (jr_journal_info(j, &info, NULL) == JR_OK &&
                info.journal_uuid[0])
                return j;
            jr_journal_close(j);
        }
        if (sl_mono_us() > end)
            bu_die("no journal appeared in %s", jdir);
        usleep(1000);
    }
}

static uint64_t complete_seq(jr_journal *j)
{
    jr_info info;
    return jr_journal_info(j, &info, NULL) == JR_OK ? info.complete_seq : 0;
}

/* Wait until complete_seq > after; returns the time it happened. */
static int64_t wait_complete(jr_journal *j, uint64_t after,
                             int64_t timeout_us)
{
    int64_t end = sl_mono_us() + timeout_us;
    uint64_t v = 0;

    for (;;) {
        uint64_t nv = jr_journal_version(j);
        if (nv != v) {
            v = nv;
            if (complete_seq(j) > after)
                return sl_mono_us();
        }
        if (sl_mono_us() > end)
            return -1;
        usleep(100);
    }
}

static double cpu_s(pid_t pid)
{
    double s = bu_proc_cpu_s(pid);

    if (s < 0)
        bu_die("cannot read /proc/%d/stat", (int)pid);
    return s;
}

/* Percentile p (0..100) of sorted v in ms (nearest position). */
static double pct_ms(const int64_t *v, long n, double p)
{
    return (double)bu_pct_nearest(v, (size_t)n, p) / 1000.0;
}

typedef struct scale_row {
    int n;
    double install_s, settle_s, restart_s, idle_pct, p50, p99, max;
} scale_row;

/* Wait until `log` holds `what`; seconds waited. */
static double wait_log(const char *log, const char *what, int timeout_s)
{
    int64_t t0 = sl_mono_us(), end = t0 + (int64_t)timeout_s * 1000000;

    for (;;) {
        FILE *f = fopen(log, "r");
        char line[1024];
        int found = 0;
        while (f != NULL && !found && fgets(line, sizeof(line), f) != NULL)
            found = strstr(line, what) != NULL;
        if (f != NULL)
            fclose(f);
        if (found)
            return (double)(sl_mono_us() - t0) / 1e6;
        if (sl_mono_us() > end)
            bu_die("capture never finished its start-up work (no %s "
                "within the time limit)", log);
        usleep(100000);
    }
}

static void scale(int n, scale_row *r)
{
    char src[512], jdir[512], log[512];
    sqlite3 *db;
    jr_journal *j;
    pid_t pid;
    int64_t t0, *lat;
    double c0;
    unsigned seed = 42;

    snprintf(src, sizeof(src), "%s/scale-%d.db", g_dir, n);
    snprintf(jdir, sizeof(jdir), "%s/scale-%d.journal", g_dir, n);
    snprintf(log, sizeof(log), "%s/scale-%d.log", g_dir, n);
    bu_rm_db(src);
    bu_rm_rf(jdir);
    bu_rm_rf(log);
    if (sqlite3_open(src, &db) != SQLITE_OK)
        bu_die("cannot create %s", src);
    sqlite3_busy_timeout(db, 5000);
    db_exec(db, "BEGIN");
    for (int i = 0; i < n; i++) {
        char sql[200];
        snprintf(sql, sizeof(sql), "CREATE TABLE t%d(id INTEGER PRIMARY KEY,"
                 " a TEXT, b INT, c REAL); INSERT INTO t%d VALUES (1, 'x', 2,"
                 " 3.5);", i, i);
        db_exec(db, sql);
    }
    db_exec(db, "COMMIT");
    memset(r, 0, sizeof(*r));
    r->n = n;

    t0 = sl_mono_us();
    pid = start_capture(src, jdir, log);
    j = journal_wait(jdir, 60000000);
    /* SCHEMA + SNAP_BEGIN + 1 row + SNAP_END per table */
    if (wait_complete(j, (uint64_t)4 * n - 1, 600000000) < 0)
        bu_die("install did not finish (%s)", log);
    r->install_s = (double)(sl_mono_us() - t0) / 1e6;
    r->settle_s = wait_log(log, "event=capture.logs_measured", 300);
    usleep(1500000);                    /* trims, housekeeping */

    c0 = cpu_s(pid);
    sleep((unsigned)g_idle_s);
    r->idle_pct = 100.0 * (cpu_s(pid) - c0) / g_idle_s;

    lat = bu_xmalloc((size_t)g_commits * sizeof(*lat));
    for (int i = 0; i < g_commits; i++) {
        char sql[120];
        uint64_t before = complete_seq(j);
        int64_t tc, ts;
        snprintf(sql, sizeof(sql), "INSERT INTO t%d(a) VALUES ('v')",
                 (int)(rand_r(&seed) % (unsigned)n));
        db_exec(db, sql);
        tc = sl_mono_us();
        if ((ts = wait_complete(j, before, 10000000)) < 0)
            bu_die("a commit never reached the journal (%s)", log);
        lat[i] = ts - tc;
        usleep(20000);
    }
    bu_sort_i64(lat, (size_t)g_commits);
    r->p50 = pct_ms(lat, g_commits, 50);
    r->p99 = pct_ms(lat, g_commits, 99);
    r->max = (double)lat[g_commits - 1] / 1000.0;
    free(lat);

    stop_capture(pid);
    {
        uint64_t before = complete_seq(j);
        db_exec(db, "INSERT INTO t0(a) VALUES ('while down')");
        t0 = sl_mono_us();
        pid = start_capture(src, jdir, log);
        if (wait_complete(j, before, 60000000) < 0)
            bu_die("restart did not journal the change (%s)", log);
        r->restart_s = (double)(sl_mono_us() - t0) / 1e6;
        stop_capture(pid);
    }
    jr_journal_close(j);
    sqlite3_close(db);
    fprintf(stderr, "  [scale] %d tables done\n", n);
}

/* ---- sustained ---- */

static void sustained_writer(const char *src, int64_t *times, long cap,
                             volatile long *count, int secs)
{
    sqlite3 *db;
    sqlite3_stmt *ins;
    int64_t end = sl_mono_us() + (int64_t)secs * 1000000;

    if (sqlite3_open(src, &db) != SQLITE_OK)
        _exit(3);
    sqlite3_busy_timeout(db, 1000);
    sqlite3_exec(db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
    if (sqlite3_prepare_v2(db, "INSERT INTO s(id, v) VALUES (?1, 'x')", -1,
                           &ins, NULL) != SQLITE_OK)
        _exit(4);
    for (long k = 1; k < cap && sl_mono_us() < end; k++) {
        sqlite3_bind_int64(ins, 1, k);
        if (sqlite3_step(ins) != SQLITE_DONE)
            _exit(5);
        sqlite3_reset(ins);
        times[k] = sl_mono_us();            /* committed (autocommit) */
        __atomic_store_n(count, k, __ATOMIC_RELEASE);
    }
    sqlite3_finalize(ins);
    sqlite3_close(db);
    _exit(0);
}

typedef struct sus_row {
    long commits;
    double rate, p50, p99, max, stall;
} sus_row;

static void sustained(sus_row *out)
{
    char src[512], jdir[512], log[512];
    const long cap = 4000000;
    int64_t *times, *lat, last_move, stall = 0;
    volatile long *count;
    sqlite3 *db;
    jr_journal *j;
    jr_reader *rd;
    pid_t cap_pid, app;
    long seen = 0, nlat = 0;
    uint64_t v = 0;
    int st;

    snprintf(src, sizeof(src), "%s/sustained.db", g_dir);
    snprintf(jdir, sizeof(jdir), "%s/sustained.journal", g_dir);
    snprintf(log, sizeof(log), "%s/sustained.log", g_dir);
    bu_rm_db(src);
    bu_rm_rf(jdir);
    bu_rm_rf(log);
    if (sqlite3_open(src, &db) != SQLITE_OK)
        bu_die("cannot create %s", src);
    db_exec(db, "PRAGMA journal_mode = WAL; CREATE TABLE s(id INTEGER "
            "PRIMARY KEY, v TEXT)");
    sqlite3_close(db);
    times = mmap(NULL, (size_t)cap * sizeof(int64_t) + 64,
                 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (times == MAP_FAILED)
        bu_die("mmap: %s", strerror(errno));
    count = (volatile long *)(times + cap);
    lat = bu_xmalloc((size_t)cap * sizeof(*lat));
    cap_pid = start_capture(src, jdir, log);
    j = journal_wait(jdir, 60000000);
    if (wait_complete(j, 0, 60000000) < 0)     /* the empty snapshot */
        bu_die("capture did not start (%s)", log);
    if (jr_reader_open(&rd, j, complete_seq(j) + 1, NULL) != JR_OK)
        bu_die("reader: %s", jdir);
    app = fork();
    if (app == 0)
        sustained_writer(src, times, cap, count, g_sustain_s);
    last_move = sl_mono_us();
    for (;;) {
        jr_entry e;
        int rc = jr_reader_next(rd, &e, NULL);
        if (rc == JR_OK) {
            int64_t t = sl_mono_us();
            if (e.rec.kind == JR_K_INSERT && e.rec.key.n == 1 &&
                e.rec.key.vals[0].type == JR_INT) {
                long k = (long)e.rec.key.vals[0].u.i;
                if (k > 0 && k < cap && times[k] != 0)
                    lat[nlat++] = t - times[k];
                seen = k > seen ? k : seen;
            }
            if (t - last_move > stall)
                stall = t - last_move;
            last_move = t;
            continue;
        }
        if (rc != JR_EAGAIN)
            bu_die("reading the journal failed (%s)", jdir);
        if (app > 0 && bu_wait(app, 0, &st, NULL) == 0)
            app = -1;                    /* the application is done */
        if (app < 0 && seen >= __atomic_load_n(count, __ATOMIC_ACQUIRE))
            break;
        for (int w = 0; w < 1000 && jr_journal_version(j) == v; w++)
            usleep(100);
        v = jr_journal_version(j);
    }
    if (app > 0)
        bu_wait(app, -1, &st, NULL);
    out->commits = __atomic_load_n(count, __ATOMIC_ACQUIRE);
    out->rate = (double)out->commits / g_sustain_s;
    bu_sort_i64(lat, (size_t)nlat);
    out->p50 = pct_ms(lat, nlat, 50);
    out->p99 = pct_ms(lat, nlat, 99);
    out->max = nlat ? (double)lat[nlat - 1] / 1000.0 : 0;
    out->stall = (double)stall / 1000.0;
    jr_reader_close(rd);
    jr_journal_close(j);
    stop_capture(cap_pid);
    free(lat);
    fprintf(stderr, "  [sustained] %ld commits followed\n", out->commits);
}

static void usage(void)
{
    fprintf(stderr, "usage: sluice-bench-capture-scale --dir DIR --capture "
            "BIN [--tables 1,100,1000] [--idle-s N] [--commits N] "
            "[--sustain-s N] [--only scale|sustained]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *only = NULL;
    scale_row rows[8];
    sus_row sus;
    int fail = 0;

    bu_prog("bench_capture_scale", 2);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL)
            usage();
        if (strcmp(a, "--dir") == 0)
            g_dir = v;
        else if (strcmp(a, "--capture") == 0)
            g_capture = v;
        else if (strcmp(a, "--idle-s") == 0)
            g_idle_s = (int)strtol(v, NULL, 10);
        else if (strcmp(a, "--commits") == 0)
            g_commits = (int)strtol(v, NULL, 10);
        else if (strcmp(a, "--sustain-s") == 0)
            g_sustain_s = (int)strtol(v, NULL, 10);
        else if (strcmp(a, "--only") == 0)
            only = v;
        else if (strcmp(a, "--tables") == 0) {
            char *end;
            const char *p = v;
            g_ncounts = 0;
            while (*p && g_ncounts < 8) {
                g_counts[g_ncounts++] = (int)strtol(p, &end, 10);
                p = *end == ',' ? end + 1 : end;
                if (end == p && *p)
                    usage();
            }
        } else
            usage();
        i++;
    }
    if (g_idle_s < 1 || g_commits < 10 || g_sustain_s < 1 || g_ncounts < 1)
        usage();
    bu_mkdir_p(g_dir);
    if (only == NULL || strcmp(only, "scale") == 0) {
        for (int i = 0; i < g_ncounts; i++)
            scale(g_counts[i], &rows[i]);
        printf("\nSCALE (commit->journal latency at 50 commits/s to random "
               "tables; ratios against %d table%s)\n", rows[0].n,
               rows[0].n == 1 ? "" : "s");
        printf("%7s %10s %9s %10s %9s %9s %9s %9s %11s\n", "tables",
               "install s", "settle s", "restart s", "idle CPU", "p50 ms",
               "p99 ms", "max ms", "p50 ratio");
        for (int i = 0; i < g_ncounts; i++) {
            double ratio = rows[0].p50 > 0 ? rows[i].p50 / rows[0].p50 : 0;
            printf("%7d %10.2f %9.2f %10.2f %8.2f%% %9.2f %9.2f %9.2f "
                   "%10.2fx\n", rows[i].n, rows[i].install_s,
                   rows[i].settle_s, rows[i].restart_s,
                   rows[i].idle_pct, rows[i].p50, rows[i].p99, rows[i].max,
                   ratio);
            if (rows[i].n >= 1000) {
                int ok_lat = ratio <= 2.0, ok_cpu = rows[i].idle_pct < 1.0,
                    ok_start = rows[i].restart_s < 1.0;
                printf("  %s p50 within 2x of %d table (%.2fx)\n",
                       ok_lat ? "PASS" : "FAIL", rows[0].n, ratio);
                printf("  %s idle CPU < 1%% of a core (%.2f%%)\n",
                       ok_cpu ? "PASS" : "FAIL", rows[i].idle_pct);
                printf("  %s restart-to-journal < 1 s (%.2f s)\n",
                       ok_start ? "PASS" : "FAIL", rows[i].restart_s);
                fail |= !ok_lat || !ok_cpu || !ok_start;
            }
        }
    }
    if (only == NULL || strcmp(only, "sustained") == 0) {
        sustained(&sus);
        printf("\nSUSTAINED (one table, 1-row commits as fast as the "
               "application goes, %d s)\n", g_sustain_s);
        printf("%10s %12s %9s %9s %9s %16s\n", "commits", "commits/s",
               "p50 ms", "p99 ms", "max ms", "longest stall ms");
        printf("%10ld %12.0f %9.2f %9.2f %9.2f %16.2f\n", sus.commits,
               sus.rate, sus.p50, sus.p99, sus.max, sus.stall);
        printf("  %s commit->journal p99 in milliseconds (< 50 ms: %.2f)\n",
               sus.p99 < 50 ? "PASS" : "FAIL", sus.p99);
        fail |= sus.p99 >= 50;
    }
    return fail;
}
