/*
** bc_snapshot.c -- phase 3 of sluice-bench-capture, SNAPSHOT (described in
** the header of bench_capture.c): `sluice-capture --once` on a table it
** has never captured; its rate and its peak RSS.
** INVARIANTS:
**  (N1) the rate subtracts the startup: the median of three runs of the
**       same command on an empty table.
**  (N2) peak RSS is the child's own ru_maxrss: it runs under the spawner
**       (bc_spawner.c), never as a child of this grown process; VmHWM
**       sampled every 5 ms is the cross-check.
**  (N3) the rows capture logged (its capture.snapshot line) and the
**       journal's head are reported, so a partial snapshot shows.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bc.h"
#include "sl_clock.h"
#include "sluice/journal.h"

/* rows=N from the capture.snapshot line of a capture log; -1 if none. */
static long snapshot_rows_logged(const char *log)
{
    FILE *f = fopen(log, "r");
    char line[1024];
    long rows = -1;

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        char *p = strstr(line, "event=capture.snapshot ");
        if (p != NULL && (p = strstr(p, " rows=")) != NULL)
            rows = strtol(p + 6, NULL, 10);
    }
    fclose(f);
    return rows;
}

void bc_phase_snapshot(bc_snap *S)
{
    char *dbp = bc_path("s.db"), *jd = bc_path("s.journal");
    char *log = bc_path("s.capture.log");
    double idle[3];
    sqlite3 *db;
    bc_writer w;
    int64_t t0;
    bc_sp_res r;

    S->rows = bc_opt.snap_rows;
    bc_load_begin(&S->load);
    /* startup: the same command on an empty table */
    for (int i = 0; i < 3; i++) {
        bu_rm_db(dbp);
        bu_rm_rf(jd);
        db = bc_db_open(dbp);
        bc_db_exec(db, bc_schema);
        sqlite3_close(db);
        t0 = sl_mono_us();
        r = bc_run_capture(log, dbp, jd, "--once", NULL);
        idle[i] = (double)(r.end_us - t0) / 1e6;
    }
    S->startup_s = bu_median(idle, 3);

    bu_rm_db(dbp);
    bu_rm_rf(jd);
    db = bc_db_open(dbp);
    bc_db_exec(db, bc_schema);
    bc_writer_open(&w, db, 0);
    bc_write_rows(&w, 1, S->rows, bc_opt.large_txn);
    bc_writer_close(&w);
    bc_db_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
    sqlite3_close(db);

    S->spawner_kb = bu_proc_status_kb(bc_spawner_pid(), "VmHWM");
    S->hwm_kb = 0;
    t0 = sl_mono_us();
    r = bc_run_capture(log, dbp, jd, "--once", &S->hwm_kb);
    S->wall_s = (double)(r.end_us - t0) / 1e6;
    S->rss_kb = r.maxrss_kb;
    S->cpu_us = r.cpu_us;
    S->logged_rows = snapshot_rows_logged(log);
    {
        jr_journal *j;
        jr_info info;
        jr_err err = { 0 };
        if (jr_journal_open(&j, jd, NULL, &err) != JR_OK ||
            jr_journal_info(j, &info, &err) != JR_OK)
            bu_die("snapshot journal: %s", err.msg);
        S->journaled = info.head_seq;
        jr_journal_close(j);
    }
    fprintf(stderr, "  [snapshot] %ld rows: %.2f s wall, startup %.3f s, "
            "ru_maxrss %ld KiB, VmHWM %ld KiB\n", S->logged_rows, S->wall_s,
            S->startup_s, S->rss_kb, S->hwm_kb);
    S->done = 1;
    bc_load_end(&S->load);
    bu_rm_db(dbp);
    bu_rm_rf(jd);
    free(dbp);
    free(jd);
    free(log);
}
