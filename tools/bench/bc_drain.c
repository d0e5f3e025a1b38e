/*
** bc_drain.c -- phase 2 of sluice-bench-capture, DRAIN RATE (described in
** the header of bench_capture.c): how fast capture moves a backlog of
** committed change-log rows into the durable journal, driven in this
** process through the sluice_capture library (cap_open, cap_step until
** JR_EAGAIN, cap_housekeep(force)), and cross-checked with the binary
** (`sluice-capture --once` on a copy of the same backlog).
** INVARIANTS:
**  (R1) the backlog is written and checkpointed before any clock starts;
**       cap_open, the drain and the trim are timed separately.
**  (R2) the journal is read back (every insert, ids in order) and the
**       log counted after the trim: a drain that loses or reorders
**       changes fails its verdict whatever its rate.
**  (R3) the binary's figure subtracts an idle --once on the drained copy
**       (its startup), measured the same way.
*/
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bc.h"
#include "cap.h"
#include "sl_clock.h"
#include "sluice/journal.h"

static void copy_file(const char *from, const char *to)
{
    char buf[1 << 16];
    int in = open(from, O_RDONLY), out;
    ssize_t n;

    if (in < 0)
        bu_die("cannot open %s: %s", from, strerror(errno));
    out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0)
        bu_die("cannot create %s: %s", to, strerror(errno));
    while ((n = read(in, buf, sizeof(buf))) > 0)
        if (bu_write_full(out, buf, (size_t)n) != 0)
            bu_die("cannot write %s: %s", to, strerror(errno));
    if (n < 0)
        bu_die("cannot read %s: %s", from, strerror(errno));
    close(in);
    close(out);
}

/* Copy a flat directory (a journal) file by file. */
static void copy_dir(const char *from, const char *to)
{
    DIR *d = opendir(from);
    struct dirent *e;
    char a[1024], b[1024];

    if (d == NULL)
        bu_die("cannot open %s: %s", from, strerror(errno));
    if (mkdir(to, 0755) != 0)
        bu_die("cannot create %s: %s", to, strerror(errno));
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(a, sizeof(a), "%s/%s", from, e->d_name);
        snprintf(b, sizeof(b), "%s/%s", to, e->d_name);
        copy_file(a, b);
    }
    closedir(d);
}

/* The library's settings for one --once pass over src into jdir. */
static void cap_defaults(cap_cfg *c, const char *src, const char *jdir)
{
    memset(c, 0, sizeof(*c));
    c->source = src;
    c->journal = jdir;
    c->once = 1;
    c->poll_ms = 5;
    c->busy_ms = 5000;
    c->batch = 10000;
    c->map_max_mb = 65536;
    c->retention_s = 7 * 86400;
    c->trim_rows = 10000;
    c->trim_age_s = 300;
}

/* Read the journal back: `n` inserts into orders, ids 1..n in order. */
static int readback(const char *jdir, long n)
{
    jr_journal *j;
    jr_reader *r;
    jr_entry e;
    jr_err err = { 0 };
    int64_t next = 1;
    int rc;

    if (jr_journal_open(&j, jdir, NULL, &err) != JR_OK)
        bu_die("cannot open journal %s: %s", jdir, err.msg);
    if (jr_reader_open(&r, j, 1, &err) != JR_OK)
        bu_die("jr_reader_open: %s", err.msg);
    while ((rc = jr_reader_next(r, &e, &err)) == JR_OK) {
        if (e.rec.kind != JR_K_INSERT || strcmp(e.rec.table, "orders"))
            continue;
        if (e.rec.key.n != 1 || e.rec.key.vals[0].type != JR_INT ||
            e.rec.key.vals[0].u.i != next || e.rec.new_row.n != 8)
            break;
        next++;
    }
    if (rc != JR_OK && rc != JR_EAGAIN)
        fprintf(stderr, "  [drain] read back: %s\n", err.msg);
    jr_reader_close(r);
    jr_journal_close(j);
    return next - 1 == n;
}

void bc_phase_drain(bc_drain *D)
{
    char *dbp = bc_path("d.db"), *jd = bc_path("d.journal");
    char *db2 = bc_path("d2.db"), *jd2 = bc_path("d2.journal");
    char *log = bc_path("d.capture.log");
    cap_state *st;
    cap_cfg cfg;
    jr_err err = { 0 };
    volatile int stop = 0;
    sqlite3 *db;
    bc_writer w;
    int64_t t0, t1, t2, t3;
    uint64_t seq0;
    int rc;

    D->rows = bc_opt.drain_rows;
    bc_load_begin(&D->load);
    bu_rm_db(dbp);
    bu_rm_rf(jd);
    bu_rm_db(db2);
    bu_rm_rf(jd2);
    db = bc_db_open(dbp);
    bc_db_exec(db, bc_schema);
    sqlite3_close(db);
    bc_run_capture(log, dbp, jd, "--once", NULL);     /* install triggers */
    db = bc_db_open(dbp);
    bc_writer_open(&w, db, 0);
    D->fill_rate = (double)D->rows / bc_write_rows(&w, 1, D->rows,
                                                   bc_opt.large_txn);
    bc_writer_close(&w);
    bc_db_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
    if (bc_count_log_rows(db) != D->rows)
        bu_die("drain: log does not hold %ld rows", D->rows);
    sqlite3_close(db);
    if (!bc_opt.no_binary_drain) {     /* the same backlog for the binary */
        copy_file(dbp, db2);
        copy_dir(jd, jd2);
    }

    cap_defaults(&cfg, dbp, jd);
    t0 = sl_mono_us();
    if (cap_open(&st, &cfg, &stop, &err) != JR_OK)
        bu_die("cap_open: %s", err.msg);
    t1 = sl_mono_us();
    {
        jr_info info;
        if (jr_journal_info(cap_journal(st), &info, &err) != JR_OK)
            bu_die("jr_journal_info: %s", err.msg);
        seq0 = info.head_seq;
    }
    while ((rc = cap_step(st, &stop, &err)) == JR_OK)
        ;
    t2 = sl_mono_us();
    if (rc != JR_EAGAIN)
        bu_die("cap_step: %s", err.msg);
    if (cap_housekeep(st, 1, &err) != JR_OK)
        bu_die("cap_housekeep: %s", err.msg);
    t3 = sl_mono_us();
    D->changes = cap_get_stats(st)->changes;
    {
        jr_info info;
        if (jr_journal_info(cap_journal(st), &info, &err) != JR_OK)
            bu_die("jr_journal_info: %s", err.msg);
        D->journaled = info.head_seq - seq0;
    }
    cap_close(st);
    D->open_s = (double)(t1 - t0) / 1e6;
    D->drain_s = (double)(t2 - t1) / 1e6;
    D->trim_s = (double)(t3 - t2) / 1e6;
    db = bc_db_open(dbp);
    D->left_rows = bc_count_log_rows(db);
    sqlite3_close(db);
    D->readback_ok = readback(jd, D->rows);
    fprintf(stderr, "  [drain] %llu changes in %.2f s (open %.3f s, trim "
            "%.2f s), read back %s\n", (unsigned long long)D->changes,
            D->drain_s, D->open_s, D->trim_s,
            D->readback_ok ? "ok" : "FAILED");

    if (!bc_opt.no_binary_drain) {
        int64_t s0 = sl_mono_us();
        bc_sp_res r = bc_run_capture(log, db2, jd2, "--once", NULL);
        int64_t s1;
        D->bin_s = (double)(r.end_us - s0) / 1e6;
        D->bin_rss_kb = r.maxrss_kb;
        s1 = sl_mono_us();
        r = bc_run_capture(log, db2, jd2, "--once", NULL);
        D->bin_idle_s = (double)(r.end_us - s1) / 1e6;
        D->bin_done = 1;
        fprintf(stderr, "  [drain] binary --once: %.2f s, idle --once "
                "%.3f s\n", D->bin_s, D->bin_idle_s);
    }
    D->done = 1;
    bc_load_end(&D->load);
    bu_rm_db(dbp);
    bu_rm_rf(jd);
    bu_rm_db(db2);
    bu_rm_rf(jd2);
    free(dbp);
    free(jd);
    free(db2);
    free(jd2);
    free(log);
}
