/*
** cap.h -- internals of sluice-capture, shared by capture/cap_*.c.
**
** Objects sluice adds to the source database -- exactly these, recorded
** in the registry, and nothing else (cap_install.c):
**   _sluice_meta(key PRIMARY KEY, value)      source_id, journal_uuid,
**                                             paused, next_id, format
**   _sluice_tables(id INTEGER PRIMARY KEY, name, state, cols, keycols,
**                  keyless, schema)           one row per installation
**   _sluice_log_<id>(id INTEGER PRIMARY KEY, op, t, k0.., r, c0.., o0..)
**                                             the change log of one
**                                             installation of one table
**   triggers _sluice_<id>_ins/_upd/_del on the captured table.
** See cap_install.c for the log layout and why it is per table.
**
** NAMES (libgit2's tiers, as in the journal): cap_x is what main.c, the
** tests and the benchmarks call (the engine, the gate, the source
** connection, admin commands); cap__x is private to capture's own files
** and may change with them.
*/
#ifndef SLUICE_CAP_H
#define SLUICE_CAP_H

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "cap_pos.h"
#include "sluice/journal.h"

/* ---- configuration (main.c fills it) ---- */
typedef struct cap_cfg {
    const char *source;
    const char *journal;
    const char *tables;          /* comma list or NULL (all) */
    const char *exclude_tables;  /* comma list or NULL */
    int once;
    long long poll_ms;
    long long busy_ms;           /* how long a read waits for a lock; how
                                    long --once/admin wait for a quiet
                                    moment to write */
    long long batch;             /* records per LMDB commit */
    int keep_journal_mode;
    int pause, resume, uninstall;
    const char *log_level;
    long long map_max_mb;
    long long retention_s;       /* keep applied records this long */
    long long trim_rows;         /* trim a log once it holds this many
                                    journaled rows */
    long long trim_age_s;        /* ... or its oldest one is this old */
    const char *metrics;         /* HOST:PORT or NULL */
} cap_cfg;

/* ---- errors: sluice's one error type, jr_err, set through jr_err_set
** (first failure wins). These two only fill in capture's usual domain:
** cap_fail a failure of capture's own (JR_D_NONE), cap__sqlite_fail the
** connection's last SQLite error (JR_D_SQLITE, extended code). Both
** return JR_ERR. ---- */
int cap_fail(jr_err *err, const char *op, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int cap__sqlite_fail(jr_err *err, sqlite3 *db, const char *what);

/* ---- the source's write-ahead log (cap_wal.c) ---- */
typedef struct cap_walmark {
    int valid;
    uint32_t mx;                 /* last valid frame */
    uint32_t szpage;
    unsigned char salt[8];
    unsigned char hdr[48];       /* the whole wal-index header */
} cap_walmark;

typedef struct cap_pageset {
    uint32_t n, cap;
    uint32_t *v;                 /* sorted page numbers */
} cap_pageset;

/* ---- the source (cap_source.c, cap_gate.c) ---- */
typedef struct cap_src {
    sqlite3 *db;
    char *path;
    int busy_ms;
    dev_t dev;                   /* the file opened (S3) */
    ino_t ino;
    int db_fd;                   /* our descriptor of the database file */
    int shm_fd;                  /* ... of its -shm (WAL mode), else -1 */
    int wal_fd;                  /* ... of its -wal, read-only, or -1 */
    int ino_fd, ino_wd;          /* inotify watch of the -wal, or -1 */
    int autovacuum;              /* PRAGMA auto_vacuum != NONE */
    const volatile unsigned char *shm_map;   /* first 136 bytes of -shm */
    sqlite3_stmt *dv_stmt;       /* PRAGMA data_version */
    int64_t dv_last, dv_changed_us;  /* last value; when it last moved */
    int dv_stmt_sampled;
    int in_write;                /* between gate begin and commit */
    long busy_pid;               /* a process seen holding a lock */
    uint64_t commits;            /* commits made through the gate */
} cap_src;

/* Open an existing SQLite database (S1 in cap_source.c). JR_OK or JR_ERR
** (err says what is wrong with the file). */
int cap_src_open(cap_src *s, const char *path, int busy_ms, jr_err *err);
void cap_src_close(cap_src *s);            /* NULL-safe, idempotent */
/* JR_OK while --source still names the file opened, else JR_ERR. */
int cap__src_check(cap_src *s, jr_err *err);
/* Switch to WAL mode (unless keep), waiting up to wait_ms (-1: until
** *stop) for a moment no application transaction is open; then attach
** the gate. JR_OK or JR_ERR. */
int cap__src_set_wal(cap_src *s, int keep, int wait_ms, volatile int *stop,
                     jr_err *err);

/* The write gate (cap_gate.c): every commit capture makes to the source.
**   cap_gate_begin   JR_OK: a write transaction is open and no other
**                    process has a transaction open; JR_EAGAIN: not now
**                    (nothing held); JR_ERR.
**   cap_gate_commit  JR_OK committed; JR_EAGAIN rolled back, a reader
**                    appeared: redo it later; JR_ERR (rolled back). */
int cap_gate_attach(cap_src *s, jr_err *err);
void cap_gate_detach(cap_src *s);
int cap_gate_begin(cap_src *s, jr_err *err);
/* Did a write inside the gate fail only because the source was busy (an
** SQLite BUSY/LOCKED in err)? Then roll back and treat it as JR_EAGAIN. */
int cap_gate_busy(const jr_err *err);
int cap_gate_commit(cap_src *s, jr_err *err);
void cap_gate_rollback(cap_src *s);
/* No other process holds a lock on the database file (rollback mode). */
int cap_gate_rollback_quiet(cap_src *s);
/* Wait up to max_us for a moment no other process is in a transaction
** (polling the lock bytes); 1 if one came. */
int cap_gate_wait_quiet(cap_src *s, int max_us);

/* A consistent mark of the wal-index header: 1, or 0 if none (not WAL,
** or a writer kept changing it). */
int cap__wal_mark(cap_src *s, cap_walmark *m);
/* Has the header changed since m (a commit, a checkpoint)? 1 if unsure. */
int cap__wal_moved(cap_src *s, const cap_walmark *m);
/* Pages written in frames (a.mx, b.mx] into out (sorted): 1, or 0 when
** that cannot be known (the WAL restarted, too many frames, ...). */
int cap__wal_pages(cap_src *s, const cap_walmark *a, const cap_walmark *b,
                   cap_pageset *out);
int cap__pageset_has(const cap_pageset *p, uint32_t page);
/* Wait up to timeout_ms for a commit (the header moving from *seen):
** 1 if one came, 0 on timeout or *stop. */
int cap__wal_wait(cap_src *s, const cap_walmark *seen, int timeout_ms,
                  volatile int *stop);
void cap__wal_unwatch(cap_src *s);

/* SQLite helpers. */
int cap__exec(sqlite3 *db, const char *sql, jr_err *err);
void cap_rollback(sqlite3 *db);
int cap__is_busy(int rc);                   /* SQLITE_BUSY or _LOCKED */
/* A change log's t (julianday) as us since the epoch (cap_drain.c). */
int64_t cap__jd_to_us(double jd);

/* ---- table descriptions (cap_schema.c) ---- */
typedef struct cap_col {
    char *name;
    char *decl;           /* declared type, "" if none */
    int notnull;
    int pk;               /* 1-based position in the primary key, 0 none */
    int hidden;           /* 2 virtual generated, 3 stored generated */
} cap_col;

typedef struct cap_table {
    char *name;
    int ncols;
    cap_col *cols;
    int nkey;             /* primary key columns; 0: keyed by rowid */
    int *key;             /* column indexes in key order */
    char *rowid_name;     /* rowid alias usable in SQL (keyless tables) */
    int without_rowid;
    int strict;
    char *schema_json;    /* what the SCHEMA record carries */
} cap_table;

void cap__table_free(cap_table *t);

/* Every table of the source (sqlite_* aside), read in one pass, sorted
** by name: per-table lookups in SQLite's own lists cost a scan each. */
typedef struct cap_catent {
    char *name;
    int is_table;         /* else virtual or shadow */
    int without_rowid, strict;
    char *sql;            /* CREATE statement, or NULL */
} cap_catent;

typedef struct cap_catalog {
    int n;
    cap_catent *v;
} cap_catalog;

int cap__catalog_load(sqlite3 *db, cap_catalog *c, jr_err *err);
void cap__catalog_free(cap_catalog *c);
const cap_catent *cap__catalog_find(const cap_catalog *c, const char *name);

/* Describe table e. Returns JR_OK, JR_ENOTFOUND, or JR_ERR when the
** table cannot be captured (err says why). */
int cap__table_load(sqlite3 *db, const cap_catent *e, cap_table **out,
                    jr_err *err);

typedef struct cap_namelist {
    int n;
    char **names;
} cap_namelist;
void cap__namelist_free(cap_namelist *l);
int cap__namelist_add(cap_namelist *l, const char *s);
int cap__namelist_has(const cap_namelist *l, const char *name);

/* Is `name` one of sluice's own objects in this registry (the two fixed
** tables, or a change log or trigger of a registered installation)? */
struct cap_registry;
int cap__is_ours(const struct cap_registry *r, const char *name);

/* Names of the tables to capture, per cfg filters (compared without
** regard to ASCII case, as SQLite compares names); sluice's own objects
** are left out, virtual tables and their shadow tables go to skipped. */
int cap__list_tables(const cap_catalog *cat, const cap_cfg *cfg,
                     const struct cap_registry *reg, cap_namelist *out,
                     cap_namelist *skipped, jr_err *err);

/* ---- installations (cap_install.c) ---- */
enum { CAP_ACTIVE = 0, CAP_RETIRED = 1, CAP_DROPPED = 2 };

typedef struct cap_inst {
    int64_t id;
    char *name;           /* table name when installed */
    int state;
    int ncols;            /* images are c0..c(ncols-1) */
    char **cols;
    int nkey;             /* k0..k(nkey-1): old key (update/delete) */
    char **keycols;       /* key column names ("rowid" when keyless) */
    int keyless;          /* old image o0..o(ncols-1) is logged too */
    char *schema_json;
    /* runtime, not stored */
    sqlite3_stmt *drain;  /* cached drain statement (cap_drain.c) */
    int superseded;       /* retired log counted drained to its end */
    uint32_t root;        /* the log's root page (0: unknown) */
    int small;            /* the log is that one page (cap_wal.c) */
    int64_t room;         /* ... and rows this large fit in it still */
    int recheck;          /* its size may have changed: look again */
} cap_inst;

typedef struct cap_registry {
    int n;
    cap_inst *v;
} cap_registry;

void cap__registry_free(cap_registry *r);
int cap__registry_load(sqlite3 *db, cap_registry *r, jr_err *err);
/* Root page of every log, and whether it is one page (cap_wal.c). */
int cap__registry_pages(sqlite3 *db, cap_registry *r, jr_err *err);
/* Measure the logs marked recheck (is each one page, with how much room)
** for about budget_us; returns how many were measured, *left how many
** still wait. */
int cap__registry_measure(sqlite3 *db, cap_registry *r, int budget_us,
                          int *left);
/* After a reload: a log found in `old` on the same root page keeps its
** measure (a schema change re-measures only new logs). */
void cap__registry_keep_measures(cap_registry *r, const cap_registry *old);
cap_inst *cap__registry_find(cap_registry *r, int64_t id);

/* Does the source hold sluice's metadata tables? */
int cap__meta_exists(sqlite3 *db);
/* Create the _sluice_meta/_sluice_tables tables if missing, and the
** source identity. Runs in the caller's write transaction. */
int cap__meta_init(sqlite3 *db, jr_err *err);
/* The keys of _sluice_meta, and nothing else. */
#define CAP_META_SOURCE_ID    "source_id"     /* the source's identity */
#define CAP_META_JOURNAL_UUID "journal_uuid"  /* the journal that owns it */
#define CAP_META_PAUSED       "paused"        /* "1" during --pause */
#define CAP_META_NEXT_ID      "next_id"       /* next installation id */
#define CAP_META_FORMAT       "format"        /* "1" */
int cap__meta_get(sqlite3 *db, const char *key, char *buf, size_t cap,
                  jr_err *err);
int cap__meta_set(sqlite3 *db, const char *key, const char *value,
                  jr_err *err);

/* Names of every schema object that starts like sluice's, lower-cased and
** sorted (what cap__install must not collide with). */
int cap__taken_names(sqlite3 *db, cap_namelist *out, jr_err *err);
/* Install a new capture generation for table t: log table + triggers +
** registry row, under an id none of whose names is in `taken`. *id
** receives the new installation id. */
int cap__install(sqlite3 *db, const cap_table *t, const cap_namelist *taken,
                 int64_t *id, jr_err *err);
/* Remove the triggers of installation id and set its state. */
int cap__retire(sqlite3 *db, int64_t id, int state, jr_err *err);
/* Drop the log table and registry row of a retired installation. */
int cap__forget(sqlite3 *db, int64_t id, jr_err *err);
/* Remove every object the registry records, then the registry. */
int cap__uninstall_all(sqlite3 *db, jr_err *err);
/* Drop the triggers of every registered installation (pause). */
int cap__drop_all_triggers(sqlite3 *db, jr_err *err);

/* Where the triggers of each installation are attached now (a RENAME
** TABLE moves them): one scan of sqlite_schema. tables[i] receives the
** table of r->v[i]'s insert trigger (sqlite3_malloc'd), or NULL. */
int cap__trigger_tables(sqlite3 *db, const cap_registry *r, char **tables,
                        jr_err *err);

/* ---- positions: cap_pos.h (its own library, sluice_cappos) ---- */

/* ---- the capture engine (cap_run.c) ---- */
typedef struct cap_state cap_state;

typedef struct cap_stats {
    uint64_t changes;          /* change records journaled */
    uint64_t snapshot_rows;
    uint64_t groups;
    uint64_t head_seq;
    int64_t last_change_us;
    uint64_t gaps;             /* change-log gaps re-snapshotted */
    uint64_t logs_read;        /* change logs read by drain passes */
    uint64_t logs_skipped;     /* ... not read: no page of theirs changed */
    uint64_t trimmed;          /* log rows deleted */
    uint64_t source_commits;   /* commits capture made to the source */
    uint64_t writes_deferred;  /* write attempts put off (readers) */
    int64_t waiting_since_us;  /* a needed source write waits, or 0 */
    int backpressure;          /* waiting for space in a full journal */
} cap_stats;

int cap_open(cap_state **out, const cap_cfg *cfg, volatile int *stop,
             jr_err *err);
/* One pass: reconcile schema if it moved, drain committed changes into
** one group. JR_OK if something was journaled, JR_EAGAIN if idle,
** JR_EFULL on back-pressure, else an error. */
int cap_step(cap_state *st, volatile int *stop, jr_err *err);
/* Wait up to poll_ms for the source to change (PRAGMA data_version). */
void cap_wait(cap_state *st, volatile int *stop);
/* Housekeeping: trims due, retired logs, journal pruning, source file
** identity. force: trim everything journaled now (exit, --once).
** JR_OK or JR_ERR (only for what must stop capture). */
int cap_housekeep(cap_state *st, int force, jr_err *err);
void cap_close(cap_state *st);
const cap_stats *cap_get_stats(cap_state *st);
/* The journal capture writes (for metrics). */
jr_journal *cap_journal(cap_state *st);
/* 1 while paused. */
int cap_paused(cap_state *st);
/* 1 while a schema change waits for the gate (cap_gate.c). */
int cap_pending(cap_state *st);
/* Changes in the change logs not journaled yet, and the source change
** time (us since the epoch) of the oldest, 0 if none (cap_backlog.c). One
** read transaction; call between steps. JR_OK, JR_EAGAIN (source busy:
** nothing filled in) or JR_ERR. */
int cap__backlog(cap_state *st, uint64_t *changes, int64_t *oldest_us,
                 jr_err *err);
/* Called (if set) while a step waits for journal space, so /metrics
** stays fresh while capture is held back. */
void cap_set_tick(cap_state *st, void (*fn)(void *), void *ctx);
/* What capture's /metrics adds to the journal's metrics and its counters
** (cap_metrics.c): heartbeat, backlog, end-to-end lag per replica,
** process_*. Main loop only, between steps. */
void cap_metrics_write(FILE *f, cap_state *st, const char *db);

/* ---- one-shot admin commands (cap_admin.c) ---- */
int cap_admin(const cap_cfg *cfg, jr_err *err);

/* Run fn(db, arg, err) inside a gated write transaction, retrying until
** it commits, *stop is set, or wait_ms passes (-1: no limit). JR_OK,
** JR_EAGAIN (gave up waiting; err says so), or what fn returned. */
int cap__write(cap_src *s, int (*fn)(sqlite3 *, void *, jr_err *),
               void *arg, int wait_ms, volatile int *stop, jr_err *err);

#endif
