/*
** bc_write.c -- phase 1 of sluice-bench-capture, APPLICATION WRITE
** THROUGHPUT (described in the header of bench_capture.c): what capture's
** triggers cost the application, against no trigger and hand-made
** minimal triggers, in three transaction shapes.
** INVARIANTS:
**  (W1) every run starts from a fresh database file with the variant's
**       triggers and a TRUNCATE checkpoint; only bc_write_rows() is timed.
**  (W2) variants run interleaved, rep by rep, and their order rotates
**       from rep to rep: no variant always runs right after the same
**       neighbour.
**  (W3) a variant with a log (all but none and sluice+live) must have
**       logged exactly the rows written, or the run bu_die()s.
*/
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bc.h"

const char *const bc_vname[BC_NVAR] = {
    "none (no trigger)",
    "min: NEW into mlog(c0..c7)",
    "min + t = julianday('now')",
    "min as sluice's (id,op,t,k0,c..)",
    "min + AUTOINCREMENT id",
    "min + index on mlog(c0)",
    "min + 2nd table mhdr(id,tbl,op,t)",
    "min as json_array(NEW..) (lossy)",
    "min, one log per table",
    "sluice (capture stopped)",
    "sluice + capture running",
};

const char *const bc_sname[BC_NSHAPE] = { "1-row txns", "10k-row txns",
                                          "2-table txns" };

const int bc_shape_vars[BC_NSHAPE][BC_NVAR + 1] = {
    { BC_V_NONE, BC_V_MIN, BC_V_MIN_JD, BC_V_MIN_LAYOUT, BC_V_MIN_AUTOINC,
      BC_V_MIN_INDEX, BC_V_MIN_HDR, BC_V_MIN_JSON, BC_V_SLUICE,
      BC_V_SLUICE_LIVE, -1 },
    { BC_V_NONE, BC_V_MIN, BC_V_MIN_JD, BC_V_MIN_LAYOUT, BC_V_MIN_AUTOINC,
      BC_V_MIN_INDEX, BC_V_MIN_HDR, BC_V_SLUICE, BC_V_SLUICE_LIVE,
      -1 },                                      /* json: 1-row only */
    { BC_V_NONE, BC_V_MIN, BC_V_MIN_PERTABLE, BC_V_SLUICE, -1 },
};

static const char *const g_ocols[] = { "id", "customer_id", "status",
    "email", "created_at", "amount", "meta", "note" };
static const char *const g_icols[] = { "id", "order_id", "sku", "qty",
    "price", "attrs" };

/* Hand-made log + trigger for table t (cols) in variant v. */
static void install_min(sqlite3 *db, int v, const char *t,
                        const char *const *cols, int n)
{
    sqlite3_str *s = sqlite3_str_new(db);
    char log[64], *sql;

    snprintf(log, sizeof(log), v == BC_V_MIN_PERTABLE ? "mlog_%s" : "mlog",
             t);
    sqlite3_str_appendf(s, "CREATE TABLE IF NOT EXISTS %s(", log);
    switch (v) {
    case BC_V_MIN_JD:
        sqlite3_str_appendall(s, "t, ");
        break;
    case BC_V_MIN_LAYOUT:
        sqlite3_str_appendall(s, "id INTEGER PRIMARY KEY, op INT, t REAL, "
                              "k0, ");
        break;
    case BC_V_MIN_AUTOINC:
        sqlite3_str_appendall(s, "id INTEGER PRIMARY KEY AUTOINCREMENT, ");
        break;
    case BC_V_MIN_HDR:
        sqlite3_str_appendall(s, "id INTEGER PRIMARY KEY, ");
        break;
    default:
        break;
    }
    if (v == BC_V_MIN_JSON)
        sqlite3_str_appendall(s, "j");
    else
        for (int i = 0; i < 8; i++)        /* widest table: 8 columns */
            sqlite3_str_appendf(s, "%sc%d", i ? ", " : "", i);
    sqlite3_str_appendall(s, ");\n");
    if (v == BC_V_MIN_INDEX)
        sqlite3_str_appendf(s, "CREATE INDEX IF NOT EXISTS %s_c0 ON "
                            "%s(c0);\n", log, log);
    if (v == BC_V_MIN_HDR)
        sqlite3_str_appendall(s, "CREATE TABLE IF NOT EXISTS mhdr(id "
                              "INTEGER PRIMARY KEY, tbl TEXT, op INT, "
                              "t REAL);\n");
    sqlite3_str_appendf(s, "CREATE TRIGGER m_%s AFTER INSERT ON %s BEGIN ",
                        t, t);
    if (v == BC_V_MIN_HDR)
        sqlite3_str_appendf(s, "INSERT INTO mhdr(tbl, op, t) VALUES ('%s', "
                            "1, julianday('now')); ", t);
    sqlite3_str_appendf(s, "INSERT INTO %s(", log);
    if (v == BC_V_MIN_JSON) {
        sqlite3_str_appendall(s, "j) VALUES (json_array(");
        for (int i = 0; i < n; i++)
            sqlite3_str_appendf(s, "%sNEW.%s", i ? ", " : "", cols[i]);
        sqlite3_str_appendall(s, ")); END;");
    } else {
        if (v == BC_V_MIN_JD)
            sqlite3_str_appendall(s, "t, ");
        if (v == BC_V_MIN_LAYOUT)
            sqlite3_str_appendall(s, "op, t, ");
        if (v == BC_V_MIN_HDR)
            sqlite3_str_appendall(s, "id, ");
        for (int i = 0; i < n; i++)
            sqlite3_str_appendf(s, "%sc%d", i ? ", " : "", i);
        sqlite3_str_appendall(s, ") VALUES (");
        if (v == BC_V_MIN_JD)
            sqlite3_str_appendall(s, "julianday('now'), ");
        if (v == BC_V_MIN_LAYOUT)
            sqlite3_str_appendall(s, "1, julianday('now'), ");
        if (v == BC_V_MIN_HDR)
            sqlite3_str_appendall(s, "last_insert_rowid(), ");
        for (int i = 0; i < n; i++)
            sqlite3_str_appendf(s, "%sNEW.%s", i ? ", " : "", cols[i]);
        sqlite3_str_appendall(s, "); END;");
    }
    sql = sqlite3_str_finish(s);
    if (sql == NULL)
        bu_die("out of memory");
    bc_db_exec(db, sql);
    sqlite3_free(sql);
}

/* One run of variant v in shape; rows/s, and rows per CPU-second of
** this process in *cpu_rate. */
static double run_write(int shape, int v, double *cpu_rate)
{
    char *dbp = bc_path("w.db"), *jd = bc_path("w.journal");
    char *log = bc_path("w.capture.log");
    long rows = shape == BC_S_LARGE ? bc_opt.large_rows
                                    : bc_opt.small_txns;
    long per = shape == BC_S_LARGE ? bc_opt.large_txn : 1;
    int two = shape == BC_S_TWO;
    pid_t live = 0;
    sqlite3 *db;
    bc_writer w;
    double secs, cpu;
    int64_t logged;

    bu_rm_db(dbp);
    bu_rm_rf(jd);
    db = bc_db_open(dbp);
    bc_db_exec(db, bc_schema);
    if (two)
        bc_db_exec(db, bc_schema2);
    if (v != BC_V_NONE && v != BC_V_SLUICE && v != BC_V_SLUICE_LIVE) {
        install_min(db, v, "orders", g_ocols, 8);
        if (two)
            install_min(db, v, "order_items", g_icols, 6);
    }
    if (v == BC_V_SLUICE) {
        sqlite3_close(db);
        bc_run_capture(log, dbp, jd, "--once", NULL);
        db = bc_db_open(dbp);
    }
    if (v == BC_V_SLUICE_LIVE) {
        const char *argv[] = { bc_opt.capture, "--source", dbp,
                               "--journal", jd, "--log-level", "info",
                               NULL };
        live = bc_sp_spawn(log, argv);
        bc_wait_triggers(db, "orders");
    }
    bc_db_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
    bc_writer_open(&w, db, two);
    cpu = bu_self_cpu_s();
    secs = bc_write_rows(&w, 1, rows, per);
    cpu = bu_self_cpu_s() - cpu;
    bc_writer_close(&w);
    if (live) {
        bc_sp_res r;
        kill(live, SIGTERM);
        r = bc_sp_wait(live, NULL);
        if (!bc_sp_ok(&r))
            bu_die("live sluice-capture failed (status 0x%x); see %s",
                   r.status, log);
    } else if (v != BC_V_NONE) {
        logged = bc_count_log_rows(db);
        if (logged != rows * (two ? 2 : 1))
            bu_die("variant '%s': %lld log rows for %ld rows written",
                   bc_vname[v], (long long)logged, rows * (two ? 2 : 1));
    }
    sqlite3_close(db);
    bu_rm_db(dbp);
    bu_rm_rf(jd);
    free(dbp);
    free(jd);
    free(log);
    *cpu_rate = (double)rows * (two ? 2 : 1) / cpu;
    return (double)rows * (two ? 2 : 1) / secs;
}

bc_wstat bc_wstats(const bc_writes *W, int shape, int v)
{
    const double *rate = W->rate[shape][v], *cpur = W->cpur[shape][v];
    int n = W->nrate[shape][v];
    double lo = 0;
    bc_wstat w;

    memset(&w, 0, sizeof(w));
    w.med = bu_median(rate, (size_t)n);
    for (int i = 0; i < n; i++) {
        if (rate[i] > w.best)
            w.best = rate[i];
        if (i == 0 || rate[i] < lo)
            lo = rate[i];
        if (cpur[i] > w.cpu)
            w.cpu = cpur[i];
    }
    w.spread = w.med > 0 ? (w.best - lo) / w.med : 0;
    return w;
}

void bc_phase_write(bc_writes *W)
{
    long reps = bc_opt.reps > bc_opt.large_reps ? bc_opt.reps
                                                : bc_opt.large_reps;

    bc_load_begin(&W->load);
    for (long rep = 0; rep < reps; rep++) {
        for (int sh = 0; sh < BC_NSHAPE; sh++) {
            if (rep >= (sh == BC_S_LARGE ? bc_opt.large_reps : bc_opt.reps))
                continue;
            if (sh == BC_S_LARGE && bc_opt.large_rows <= 0)
                continue;
            int nv = 0;
            while (bc_shape_vars[sh][nv] >= 0)
                nv++;
            for (int i = 0; i < nv; i++) {
                /* rotate the order rep by rep: no variant always runs
                ** right after the same neighbour */
                int v = bc_shape_vars[sh][(i + rep) % nv];
                double c, r = run_write(sh, v, &c);
                W->rate[sh][v][W->nrate[sh][v]] = r;
                W->cpur[sh][v][W->nrate[sh][v]++] = c;
                fprintf(stderr, "  [write] rep %ld %-12s %-38s %10.0f "
                        "rows/s %10.0f rows/CPU-s\n", rep + 1, bc_sname[sh],
                        bc_vname[v], r, c);
            }
        }
    }
    bc_load_end(&W->load);
}
