/*
** cap.h -- internals of sluice-capture, shared by capture/cap_*.c.
**
** Objects sluice adds to the source database (all named _sluice*):
**   _sluice_meta(key PRIMARY KEY, value)      source_id, paused, version
**   _sluice_tables(id INTEGER PRIMARY KEY, name, cols, nkey, schema,
**                  state)                     one row per installation
**   _sluice_log_<id>(id INTEGER PRIMARY KEY, op, t, k0.., c0.., o0..)
**                                             the change log of one
**                                             installation of one table
**   triggers _sluice_<id>_ins/_upd/_del on the captured table.
** See cap_install.c for the log layout and why it is per table.
*/
#ifndef SLUICE_CAP_H
#define SLUICE_CAP_H

#include <sqlite3.h>
#include <stdint.h>

#include "sluice/journal.h"

#define CAP_MAX_POS_TEXT (1 << 20)

/* ---- configuration (main.c fills it) ---- */
typedef struct cap_cfg {
    const char *source;
    const char *journal;
    const char *tables;          /* comma list or NULL (all) */
    const char *exclude_tables;  /* comma list or NULL */
    int once;
    long long poll_ms;
    long long busy_ms;           /* busy timeout for our own statements */
    long long batch;             /* records per LMDB commit */
    int keep_journal_mode;
    int pause, resume, uninstall;
    const char *log_level;
    long long map_max_mb;
    long long retention_s;       /* keep acked records this long */
    const char *metrics;         /* HOST:PORT or NULL */
} cap_cfg;

/* ---- errors: capture reuses the journal's jr_err ---- */
int cap_fail(jr_err *err, const char *op, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int cap_sqlite_fail(jr_err *err, sqlite3 *db, const char *what);

/* ---- identifiers ---- */
/* "name" with embedded quotes doubled, into a fresh sqlite3_malloc'd
** string (free with sqlite3_free). */
char *cap_quote(const char *name);

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

void cap_table_free(cap_table *t);

/* Describe table `name`. Returns JR_OK, JR_ENOTFOUND, or JR_ERR when the
** table cannot be captured (err says why). */
int cap_table_load(sqlite3 *db, const char *name, cap_table **out,
                   jr_err *err);

/* Names of the tables to capture, per cfg filters; virtual tables and
** their shadow tables are left out (*nskipped counts them and a warning
** is logged once per name by the caller through skipped[]). */
typedef struct cap_namelist {
    int n;
    char **names;
} cap_namelist;
void cap_namelist_free(cap_namelist *l);
int cap_namelist_add(cap_namelist *l, const char *s);
int cap_list_tables(sqlite3 *db, const cap_cfg *cfg, cap_namelist *out,
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
} cap_inst;

typedef struct cap_registry {
    int n;
    cap_inst *v;
} cap_registry;

void cap_registry_free(cap_registry *r);
int cap_registry_load(sqlite3 *db, cap_registry *r, jr_err *err);

/* Create the _sluice_meta/_sluice_tables tables if missing, return the
** source identity (creating it). Runs in the caller's write txn. */
int cap_meta_init(sqlite3 *db, char *source_id, size_t cap, jr_err *err);
int cap_meta_get(sqlite3 *db, const char *key, char *buf, size_t cap,
                 jr_err *err);
int cap_meta_set(sqlite3 *db, const char *key, const char *value,
                 jr_err *err);

/* Install a new capture generation for table t: log table + triggers +
** registry row. *id receives the new installation id. */
int cap_install(sqlite3 *db, const cap_table *t, int64_t *id, jr_err *err);
/* Remove the triggers of installation id and set its state. */
int cap_retire(sqlite3 *db, int64_t id, int state, jr_err *err);
/* Drop the log table and registry row of a retired installation. */
int cap_forget(sqlite3 *db, int64_t id, jr_err *err);
/* Remove every object sluice added. */
int cap_uninstall_all(sqlite3 *db, jr_err *err);
/* Drop every capture trigger (pause). */
int cap_drop_all_triggers(sqlite3 *db, jr_err *err);

/* Name of the table the triggers of installation id are attached to now
** (a RENAME TABLE moves them), or NULL if they are gone. sqlite3_free. */
char *cap_trigger_table(sqlite3 *db, int64_t id);

/* ---- positions (cap_pos.c) ----
** What is journaled, per installation: the last drained log id, whether
** the initial snapshot is journaled, whether its DROP is journaled.
** Committed as the journal's source position, atomically with records. */
typedef struct cap_posent {
    int64_t id;
    int64_t log_id;
    int snapshotted;
    int drop_done;
} cap_posent;

typedef struct cap_pos {
    int n, cap;
    cap_posent *v;
} cap_pos;

void cap_pos_free(cap_pos *p);
cap_posent *cap_pos_find(cap_pos *p, int64_t id);
cap_posent *cap_pos_get(cap_pos *p, int64_t id);    /* adds if missing */
void cap_pos_remove(cap_pos *p, int64_t id);
int cap_pos_encode(const cap_pos *p, char **out, size_t *len);
int cap_pos_decode(cap_pos *p, const char *s, size_t len, jr_err *err);
int cap_pos_copy(cap_pos *dst, const cap_pos *src);

/* ---- the capture engine (cap_run.c) ---- */
typedef struct cap_state cap_state;

typedef struct cap_stats {
    uint64_t changes;          /* change records journaled */
    uint64_t snapshot_rows;
    uint64_t groups;
    uint64_t head_seq;
    int64_t last_change_us;
} cap_stats;

int cap_open(cap_state **out, const cap_cfg *cfg, jr_err *err);
/* One pass: reconcile schema if it moved, drain committed changes into
** one group. JR_OK if something was journaled, JR_EAGAIN if idle,
** JR_EFULL on back-pressure, else an error. */
int cap_step(cap_state *st, volatile int *stop, jr_err *err);
/* Wait up to poll_ms for the source to change (PRAGMA data_version). */
void cap_wait(cap_state *st, volatile int *stop);
/* Delete drained log rows (short write transactions). */
int cap_trim(cap_state *st, int force, jr_err *err);
void cap_close(cap_state *st);
const cap_stats *cap_get_stats(cap_state *st);
/* The journal capture writes (for metrics). */
jr_journal *cap_journal(cap_state *st);
/* 1 while paused, 1 while waiting on a full journal. */
int cap_paused(cap_state *st);

/* ---- one-shot admin commands (cap_admin.c) ---- */
int cap_admin(const cap_cfg *cfg, jr_err *err);

/* ---- SQLite helpers (cap_source.c) ---- */
int cap_db_open(sqlite3 **out, const char *path, int busy_ms, jr_err *err);
int cap_exec(sqlite3 *db, const char *sql, jr_err *err);
/* BEGIN IMMEDIATE with retries on SQLITE_BUSY up to busy_ms. */
int cap_begin_write(sqlite3 *db, jr_err *err);
int cap_commit(sqlite3 *db, jr_err *err);
void cap_rollback(sqlite3 *db);

#endif
