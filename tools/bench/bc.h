/*
** bc.h -- private header of sluice-bench-capture (bench_capture.c and
** bc_*.c): the options, the application's table and writer, the spawner
** that runs sluice-capture, CPU-load accounting, and one result struct
** per phase, filled by bc_phase_*() and printed by bc_report().
*/
#ifndef SLUICE_BC_H
#define SLUICE_BC_H

#include <stdint.h>
#include <sys/types.h>

#include <sqlite3.h>

#include "bench_util.h"

#define BC_POOL 4096             /* pre-generated rows, see bc_pool.c */
#define BC_MAXREPS 9             /* runs per variant, at most */

/* ---- bench_capture.c: options -------------------------------------- */

typedef struct bc_opts {
    const char *dir;
    const char *capture;       /* sluice-capture binary */
    const char *only;          /* comma list of phases, NULL all */
    long small_txns;
    long large_rows;
    long large_txn;
    long reps;
    long large_reps;
    long drain_rows;
    long snap_rows;
    long lat_rate;
    long lat_seconds;
    int no_binary_drain;
} bc_opts;

extern bc_opts bc_opt;

/* "<--dir>/<name>", malloc'ed. */
char *bc_path(const char *name);

/* ---- bc_load.c: CPU time, ours and the machine's ------------------- */

typedef struct bc_load {
    int64_t t0;
    double busy0, own0;
    double secs;
    double other;          /* CPUs busy with other processes, average */
    int done;
} bc_load;

void bc_load_begin(bc_load *l);
void bc_load_end(bc_load *l);
/* "[N s; other processes kept X of N CPUs busy ...]", if measured. */
void bc_load_print(const bc_load *l);

/* ---- bc_spawner.c: runs sluice-capture ----------------------------- */

typedef struct bc_sp_res {
    int pid;
    int status;              /* wait status; -1 if wait4 failed */
    long maxrss_kb;
    int64_t cpu_us;          /* user + system */
    int64_t end_us;          /* sl_mono_us() when wait4 returned */
} bc_sp_res;

/* Fork the spawner; first thing in main(), while this process is small. */
void bc_spawner_start(void);
pid_t bc_spawner_pid(void);
/* CPU microseconds of every child bc_sp_wait() has reaped. */
int64_t bc_sp_child_cpu_us(void);
/* Start argv[] (NULL-terminated) with stdout/stderr into log. */
pid_t bc_sp_spawn(const char *log, const char *const *argv);
/* Wait for pid; *hwm_kb gets the largest VmHWM seen while waiting. */
bc_sp_res bc_sp_wait(pid_t pid, long *hwm_kb);
int bc_sp_ok(const bc_sp_res *r);
/* Run sluice-capture (bc_opt.capture) on src/jdir with one extra
** argument (--once) to completion; bu_die()s unless it exits 0. */
bc_sp_res bc_run_capture(const char *log, const char *src,
                         const char *jdir, const char *extra,
                         long *hwm_kb);

/* ---- bc_pool.c: the application's rows ----------------------------- */

typedef struct bc_str {
    char *s;
    int n;
} bc_str;

typedef struct bc_orow {         /* a row of orders */
    int64_t cust;
    double amount;
    bc_str status, email, created, meta, note;
} bc_orow;

typedef struct bc_irow {         /* a row of order_items */
    int64_t qty;
    double price;
    bc_str sku, attrs;
} bc_irow;

extern bc_orow *bc_orows;        /* BC_POOL rows each */
extern bc_irow *bc_irows;
extern double bc_obytes, bc_ibytes;   /* average value bytes per row */

void bc_pool_make(void);

/* ---- bc_db.c: SQLite, the tables and the application's writer ------ */

extern const char bc_schema[];   /* CREATE TABLE orders */
extern const char bc_schema2[];  /* CREATE TABLE order_items */

void bc_db_exec(sqlite3 *db, const char *sql);
/* WAL, synchronous=NORMAL, busy timeout 5 s. */
sqlite3 *bc_db_open(const char *path);
sqlite3_stmt *bc_db_prep(sqlite3 *db, const char *sql);
int64_t bc_db_int(sqlite3 *db, const char *sql);
void bc_db_step_done(sqlite3 *db, sqlite3_stmt *s);

typedef struct bc_writer {
    sqlite3 *db;
    sqlite3_stmt *ins, *ins2, *begin, *commit;
} bc_writer;

/* Prepared INSERTs into orders (and order_items when two), BEGIN and
** COMMIT on db. */
void bc_writer_open(bc_writer *w, sqlite3 *db, int two);
void bc_writer_close(bc_writer *w);
/* INSERT pool row id % BC_POOL into orders as id. */
void bc_put_order(bc_writer *w, int64_t id);
/* Insert ids first..first+n-1 in transactions of per_txn; seconds. */
double bc_write_rows(bc_writer *w, int64_t first, long n, long per_txn);

/* Rows in every log table (mlog*, mhdr excluded, _sluice_log_*), -1 if
** there is none. */
int64_t bc_count_log_rows(sqlite3 *db);
/* Wait until sluice's insert trigger exists on `table` (10 s). */
void bc_wait_triggers(sqlite3 *db, const char *table);

/* ---- the phases (bc_write.c, bc_drain.c, bc_snapshot.c,
** bc_latency.c) ------------------------------------------------------ */

enum {
    BC_V_NONE, BC_V_MIN, BC_V_MIN_JD, BC_V_MIN_LAYOUT, BC_V_MIN_AUTOINC,
    BC_V_MIN_INDEX, BC_V_MIN_HDR, BC_V_MIN_JSON, BC_V_MIN_PERTABLE,
    BC_V_SLUICE, BC_V_SLUICE_LIVE, BC_NVAR
};

enum { BC_S_SMALL, BC_S_LARGE, BC_S_TWO, BC_NSHAPE };

extern const char *const bc_vname[BC_NVAR];
extern const char *const bc_sname[BC_NSHAPE];
/* the variants of each shape, ending with -1 */
extern const int bc_shape_vars[BC_NSHAPE][BC_NVAR + 1];

typedef struct bc_writes {
    double rate[BC_NSHAPE][BC_NVAR][BC_MAXREPS];   /* rows / wall s */
    double cpur[BC_NSHAPE][BC_NVAR][BC_MAXREPS];   /* rows / our CPU s */
    int nrate[BC_NSHAPE][BC_NVAR];
    bc_load load;
} bc_writes;

typedef struct bc_wstat {
    double best, med, spread;     /* wall rows/s: max, median, (max-min)/med */
    double cpu;                   /* best rows per CPU-second */
} bc_wstat;

typedef struct bc_drain {
    int done;
    long rows;
    double fill_rate;          /* app rows/s while filling (sluice trig) */
    double open_s, drain_s, trim_s;
    uint64_t changes, journaled;
    int64_t left_rows;
    int readback_ok;
    double bin_s, bin_idle_s;
    int bin_done;
    long bin_rss_kb;
    bc_load load;
} bc_drain;

typedef struct bc_snap {
    int done;
    long rows;
    double wall_s, startup_s;
    long rss_kb, hwm_kb, spawner_kb;
    int64_t cpu_us;
    long logged_rows;
    uint64_t journaled;
    bc_load load;
} bc_snap;

typedef struct bc_lat {
    int done;
    long n, received;
    double rate;               /* achieved commits/s */
    long late;                 /* commits started > 1 ms after schedule */
    long races;                /* version ahead of readable data */
    int64_t p50, p99, max;     /* via rec.time_us, us */
    int64_t c50, c99, cmax;    /* via the writer's commit return, us */
    long capture_rss_kb;
    double capture_cpu;        /* fraction of one core */
    bc_load load;
} bc_lat;

void bc_phase_write(bc_writes *W);
bc_wstat bc_wstats(const bc_writes *W, int shape, int v);
void bc_phase_drain(bc_drain *D);
void bc_phase_snapshot(bc_snap *S);
void bc_phase_latency(bc_lat *L);

/* ---- bc_report.c ---------------------------------------------------- */

/* Print the tables and a PASS/FAIL line per target; 1 if one failed. */
int bc_report(const bc_writes *W, const bc_drain *D, const bc_snap *S,
              const bc_lat *L);

#endif /* SLUICE_BC_H */
