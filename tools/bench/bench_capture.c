/*
** bench_capture.c -- sluice-bench-capture: what capture costs the
** application, and how fast it moves changes into the journal. Every
** figure is measured in one run, on one disk, against baselines measured
** in the same run. Run it through bench_capture.sh (Release build).
**
** THE TABLE
**   orders(id INTEGER PRIMARY KEY, customer_id INTEGER, status TEXT,
**          email TEXT, created_at TEXT '2026-04-16 22:41:27.490 +00:00',
**          amount REAL, meta TEXT (a ~100-byte JSON object), note TEXT)
**   ~230 bytes of values a row, from a pool of 4096 pre-generated rows
**   (generated before any clock starts); ids ascend. No secondary index,
**   so the ratios against "no trigger" are as strict as they get. The
**   2-table shape adds order_items(id INTEGER PRIMARY KEY, order_id,
**   sku, qty, price, attrs).
**
** 1. APPLICATION WRITE THROUGHPUT (WAL, synchronous=NORMAL, busy_timeout
**    5 s, default cache). Each run gets a fresh database file, the
**    variant's triggers, a TRUNCATE checkpoint, and then times from the
**    first BEGIN to the return of the last COMMIT (prepared statements,
**    values bound SQLITE_STATIC). Shapes:
**      1-row     N transactions of one INSERT each
**      10k-row   M rows in transactions of 10,000 INSERTs
**      2-table   N transactions of one INSERT into orders and one into
**                order_items (rows/s counts both rows)
**    Variants (the "min*" logs are hand-made; untyped columns c0..c7):
**      none            no trigger
**      min             AFTER INSERT trigger copying NEW into one plain
**                      table mlog(c0..c7): the floor of trigger capture
**                      (2-table shape: both tables into the one mlog)
**      min+jd          mlog(t, c0..): t = julianday('now')
**      min as sluice's sluice's log layout by hand: mlog(id INTEGER
**                      PRIMARY KEY, op INT, t REAL, k0, c0..)
**      min+autoinc     mlog(id INTEGER PRIMARY KEY AUTOINCREMENT, c0..)
**      min+index       mlog(c0..) plus an index on c0
**      min+2nd table   mhdr(id, tbl, op, t) + mlog(id, c0..)
**      min as json     mlog(j) = json_array(NEW...) (type-losing design)
**      one log/table   (2-table shape) one plain log per table
**      sluice          the triggers sluice-capture installs (it is run
**                      once with --once, then exits; nothing runs while
**                      the application writes)
**      sluice+live     the same with sluice-capture running (default
**                      poll) during the writes: drains and trims compete
**                      for the 2 cores and the write lock
**    (min as json runs in the 1-row shape only.) Runs are interleaved,
**    rep by rep, and the variant order rotates from rep to rep. The
**    machine may be shared: other processes only ever slow a run down,
**    so the table leads with the best run of each variant (and its
**    ratios), then the median and spread, then the best rows per
**    CPU-second of the writing process (getrusage), which time stolen by
**    other processes does not touch (cache interference still does).
**    /proc/stat tells how busy other processes kept the CPUs. The
**    PASS/FAIL uses the best wall-clock runs. After each run the log rows
**    are counted (must equal the rows written).
**
** 2. DRAIN RATE. A database with sluice's triggers (installed by
**    sluice-capture --once) receives --drain-rows inserts in 10,000-row
**    transactions; then, in this process, cap_open() (timed separately),
**    cap_step() until JR_EAGAIN (timed: committed log rows -> durable
**    journal), cap_trim(force) (timed separately). The journal is read
**    back: every insert, ids in order. Cross-check: the same backlog (a
**    copy made before the drain) drained by the binary,
**    `sluice-capture --once`, wall time minus the wall time of an idle
**    --once on the drained copy (startup).
**
** 3. SNAPSHOT. `sluice-capture --once` on a never-captured database with
**    --snap-rows rows: wall time minus the median wall time of the same
**    command on an empty table (startup, install, commit); peak RSS is
**    the child's ru_maxrss (wait4). The binary is started by a small
**    spawner process forked at the top of main(), before this program
**    allocates anything: Linux carries a parent's peak RSS into a forked
**    child's ru_maxrss, so children of the bench itself would inherit
**    its row pool. /proc/PID/status VmHWM, sampled every 5 ms, is shown
**    as a cross-check.
**
** 4. LATENCY. sluice-capture runs with its default poll interval; a
**    writer commits 1-row transactions at a steady --lat-rate per second
**    (absolute-deadline sleeps) for --lat-seconds; a reader process
**    polls jr_journal_version() every 100 us and reads with
**    jr_reader_next(), retrying every 0.5 ms even when the version has
**    not moved (see reader_child() in bc_latency.c). Per record: now -
**    rec.time_us (the change time julianday('now') in the trigger;
**    SQLite's 'now' has millisecond resolution, truncated, so this reads
**    up to 1 ms high), and, as a cross-check, now - the time the writer's
**    COMMIT returned (shared memory).
**
** FILES: this file holds the options and main(); bc.h the private
** interface; bc_write.c, bc_drain.c, bc_snapshot.c and bc_latency.c the
** phases (each fills its own result struct); bc_report.c the tables and
** verdicts; bc_pool.c the rows, bc_db.c SQLite and the writer,
** bc_spawner.c how sluice-capture is run, bc_load.c the CPU accounting;
** bench_util.h what every sluice-bench-* program shares.
**
** Exit: 0 when every target passes, 1 when one fails, 2 on usage or
** setup errors.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "bc.h"
#include "sl_log.h"

bc_opts bc_opt;

char *bc_path(const char *name)
{
    size_t n = strlen(bc_opt.dir) + strlen(name) + 2;
    char *p = bu_xmalloc(n);

    snprintf(p, n, "%s/%s", bc_opt.dir, name);
    return p;
}

static int phase_on(const char *name)
{
    const char *p = bc_opt.only;
    size_t n = strlen(name);

    if (p == NULL)
        return 1;
    while (*p) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return 1;
        if (c == NULL)
            break;
        p = c + 1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* main                                                               */
/* ------------------------------------------------------------------ */

static void usage(void)
{
    fprintf(stderr,
        "usage: sluice-bench-capture --dir DIR --capture PATH [options]\n"
        "  --only LIST         write,drain,snapshot,latency (default all)\n"
        "  --small-txns N      1-row transactions per run (20000)\n"
        "  --large-rows N      rows of the 10k-row shape (1000000; 0 skips)\n"
        "  --large-txn N       rows per large transaction (10000)\n"
        "  --reps N            runs per variant, small shapes (5)\n"
        "  --large-reps N      runs per variant, large shape (4)\n"
        "  --drain-rows N      backlog for the drain (1000000)\n"
        "  --snap-rows N       rows for the snapshot (1000000)\n"
        "  --lat-rate N        commits/s for the latency run (1000)\n"
        "  --lat-seconds N     duration of the latency run (10)\n"
        "  --no-binary-drain   skip the sluice-capture --once drain check\n");
    exit(2);
}

static long num_arg(const char *name, const char *v, long lo, long hi)
{
    char *end;
    long x;

    if (v == NULL)
        usage();
    errno = 0;
    x = strtol(v, &end, 10);
    if (errno || *end || x < lo || x > hi) {
        fprintf(stderr, "sluice-bench-capture: %s must be %ld..%ld\n", name,
                lo, hi);
        exit(2);
    }
    return x;
}

int main(int argc, char **argv)
{
    static bc_writes W;
    static bc_drain D;
    static bc_snap S;
    static bc_lat L;
    struct stat sb;

    bu_prog("sluice-bench-capture", 2);
    bc_spawner_start();           /* first, while we are small */
    bc_opt.small_txns = 20000;
    bc_opt.large_rows = 1000000;
    bc_opt.large_txn = 10000;
    bc_opt.reps = 5;
    bc_opt.large_reps = 4;
    bc_opt.drain_rows = 1000000;
    bc_opt.snap_rows = 1000000;
    bc_opt.lat_rate = 1000;
    bc_opt.lat_seconds = 10;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--dir") == 0 && v)
            bc_opt.dir = argv[++i];
        else if (strcmp(a, "--capture") == 0 && v)
            bc_opt.capture = argv[++i];
        else if (strcmp(a, "--only") == 0 && v)
            bc_opt.only = argv[++i];
        else if (strcmp(a, "--small-txns") == 0)
            bc_opt.small_txns = num_arg(a, argv[++i], 1, 100000000);
        else if (strcmp(a, "--large-rows") == 0)
            bc_opt.large_rows = num_arg(a, argv[++i], 0, 100000000);
        else if (strcmp(a, "--large-txn") == 0)
            bc_opt.large_txn = num_arg(a, argv[++i], 1, 10000000);
        else if (strcmp(a, "--reps") == 0)
            bc_opt.reps = num_arg(a, argv[++i], 1, BC_MAXREPS);
        else if (strcmp(a, "--large-reps") == 0)
            bc_opt.large_reps = num_arg(a, argv[++i], 1, BC_MAXREPS);
        else if (strcmp(a, "--drain-rows") == 0)
            bc_opt.drain_rows = num_arg(a, argv[++i], 1, 100000000);
        else if (strcmp(a, "--snap-rows") == 0)
            bc_opt.snap_rows = num_arg(a, argv[++i], 1, 100000000);
        else if (strcmp(a, "--lat-rate") == 0)
            bc_opt.lat_rate = num_arg(a, argv[++i], 1, 100000);
        else if (strcmp(a, "--lat-seconds") == 0)
            bc_opt.lat_seconds = num_arg(a, argv[++i], 1, 3600);
        else if (strcmp(a, "--no-binary-drain") == 0)
            bc_opt.no_binary_drain = 1;
        else
            usage();
    }
    if (bc_opt.dir == NULL || bc_opt.capture == NULL)
        usage();
    if (stat(bc_opt.dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        bu_die("--dir %s is not a directory", bc_opt.dir);
    if (access(bc_opt.capture, X_OK) != 0)
        bu_die("--capture %s is not executable", bc_opt.capture);
    sl_log_init("sluice-bench-capture");
    sl_log_level = SL_WARN;
    bc_pool_make();
    printf("sluice-bench-capture: SQLite %s, row pool %d, orders ~%.0f "
           "bytes of values/row\n", sqlite3_libversion(), BC_POOL, bc_obytes);
    fflush(stdout);

    if (phase_on("write"))
        bc_phase_write(&W);
    if (phase_on("drain"))
        bc_phase_drain(&D);
    if (phase_on("snapshot"))
        bc_phase_snapshot(&S);
    if (phase_on("latency"))
        bc_phase_latency(&L);
    return bc_report(&W, &D, &S, &L) ? 1 : 0;
}
