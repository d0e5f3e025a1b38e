/*
** rp.h -- internals of sluice-replay, shared by replay/rp_*.c.
**
** The MariaDB side that replay shares with sluice-verify and the replay
** benchmark (URL, connection, error classes, type map, value policy) is
** the target library, target/tg.h.
**
**   rp_meta.c   replay's bookkeeping tables (sqlite_sluice_position,
**               _rejects, _tables) and the migration of older names
**   rp_names.c  which source tables replay applies, under which target
**               name (--tables, --exclude-tables, --map)
**   rp_apply.c  applying records inside the group's transaction (batched
**               upserts and deletes, the key-merge guard, rejects)
**   rp_stmt.c   one multi-row statement, sized under max_allowed_packet
**   rp_load.c   snapshots through LOAD DATA LOCAL INFILE
**   rp_run.c    the loop: read groups, retry with backoff, acknowledge
**   rp_cluster.c  node choice over the host list, Galera readiness,
**               settling unknown COMMITs, cluster limits (rp_cluster.h)
**
** NAMES (libgit2's tiers, as in the journal): rp_x is the engine main.c
** and the tests drive (rp_run.h) and the types; rp__x is private to
** replay's own files and may change with them.
*/
#ifndef SLUICE_RP_H
#define SLUICE_RP_H

#include <mysql.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice/journal.h"
#include "tg.h"

/* ---- configuration ---- */
typedef struct rp_cfg {
    const char *journal;
    const char *target;
    const char *replica;
    int once;
    const char *on_error;        /* "stop" (default) or "skip" */
    const char *log_level;
    long long batch_rows;        /* rows per multi-row statement */
    long long txn_groups;        /* waiting groups per transaction */
    long long retry_max_ms;      /* cap of the reconnect backoff */
    long long once_timeout_s;    /* --once: give up connecting after */
    long long poll_ms;
    const char *metrics;         /* HOST:PORT or NULL */
    int strict_values;           /* refuse any value MariaDB would alter */
    const char *tables;          /* only these source tables (comma list) */
    const char *exclude_tables;  /* never these */
    const char *map;             /* SRC=DST,... target table names */
    const char *password_file;
    int unregister;              /* --unregister: drop --replica, exit */
} rp_cfg;

/* ---- roundings (rp_run.c) ---- */
/* Values MariaDB's conversion altered, per table and column: counted for
** sluice_replay_values_rounded_total and logged once per column. Notes
** made while a group is open are pending until it commits. */
typedef struct rp_rounds rp_rounds;
void rp__rounds_note(rp_rounds *r, const char *table, const char *column,
                     uint64_t seq, const jr_value *v);

/* ---- one multi-row statement (rp_stmt.c) ---- */
enum { RP_OP_NONE, RP_OP_PUT, RP_OP_DEL };

typedef struct rp_stmt {
    tg_str sql;
    int op;                      /* RP_OP_* */
    int replace;                 /* PUT as REPLACE INTO */
    char *table;
    uint32_t ncols;              /* columns written (not generated) */
    const char **colnames;
    uint32_t rown;               /* columns of the rows batched */
    char **rownames;
    int *rowmap;                 /* row column -> target column, -2 skip */
    uint64_t nrows, first_seq;
    char **keys;                 /* key literals held (hash set) */
    size_t kn, kcap;
    char first_key[300];         /* single mode: for error lines */
    tg_str first_vals;           /* "name\0value\0" pairs */
    int *keycol;                 /* row column is a key/unique column */
    int guard;                   /* upsert counts merges in @sluice_merge */
    int exact_del;               /* delete re-checks text keys by bytes */
    tg_str exact;                /* exact_del: the BINARY tuple list */
    int ledger_del;              /* delete checks sqlite_sluice_key */
    tg_str lexact;               /* ledger_del: its list of values */
    size_t tail;                 /* bytes the flush will append */
} rp_stmt;

void rp__stmt_reset(rp_stmt *s);
void rp__stmt_free(rp_stmt *s);
/* Can a row (op, table, names, replace) join this open statement? */
int rp__stmt_fits(const rp_stmt *s, int op, const char *table,
                  const jr_row *r, int replace);
int rp__stmt_begin(rp_stmt *s, int op, tg_table *t, const jr_row *r,
                   const jr_row *key, int replace, const jr_entry *ent,
                   int single);
/* Append r's values; remember `key` (may be NULL). Returns 0, RP_STMT_FULL
** (nothing added: the statement would outgrow `limit` bytes -- flush it
** and add again) or -1 (e filled; a single row over `limit` is a DATA
** error naming max_allowed_packet). */
#define RP_STMT_FULL 1
int rp__stmt_add(rp_stmt *s, MYSQL *db, tg_table *t, const jr_row *r,
                 const jr_entry *ent, const char *key, int flags,
                 rp_rounds *rounds, size_t limit, jr_err *e);
int rp__stmt_has_key(const rp_stmt *s, const char *key);
/* Send it (no-op if empty) and reset. */
int rp__stmt_flush(rp_stmt *s, MYSQL *db, jr_err *e);
void rp__key_text(char *buf, size_t cap, const jr_row *k);
int rp__bad_value(const jr_entry *ent, const char *col, const jr_value *v,
                  const char *why, jr_err *e);

/* ---- applying (rp_apply.c) ---- */
typedef struct rp_apply rp_apply;

rp_apply *rp__apply_new(MYSQL *db, tg_tables *ts, jr_journal *j,
                        const rp_cfg *cfg, const char *journal_uuid,
                        rp_rounds *rounds, unsigned long max_packet);
/* Flags for the value policy (TG_POL_STRICT with --strict-values). */
int rp__apply_flags(const rp_apply *a);
rp_rounds *rp__apply_rounds(rp_apply *a);
/* Largest statement to send (max_allowed_packet less a margin). */
size_t rp__apply_limit(const rp_apply *a);

/* One row per statement (to pin a failing value on one seq). */
void rp__apply_set_single(rp_apply *a, int single);
/* Drop cached plans/metadata of a table (after DDL). */
void rp__apply_forget(rp_apply *a, const char *table);
void rp__apply_free(rp_apply *a);
/* Apply one record of the open transaction (buffers; may flush), to
** target table `target` (the record's table, or its --map name). */
int rp__apply_record(rp_apply *a, const jr_entry *e, const char *target,
                     jr_err *err);
/* ---- added columns (rp_aug.c) ---- */
/* The storage classes of key's values in row ("it": integer, text), the
** value of sqlite_sluice_class. */
void rp__key_class(const jr_row *row, const jr_row *key, char *out,
                   size_t cap);
/* The value of sqlite_sluice_key for row's values of key's columns. */
void rp__ledger(tg_str *s, const jr_row *row, const jr_row *key);
/* "name=value, ..." of a sqlite_sluice_key value (key names the columns). */
void rp__ledger_show(char *out, size_t cap, const jr_row *key,
                     const char *p, size_t n);
typedef struct rp_aug {
    const char **names;
    jr_value *vals;
    uint32_t cap;
    tg_str buf;
} rp_aug;
/* r plus the columns table t adds (class, with `sets` the class_N ones,
** ledger), computed from `from`'s values of key's columns; *out points
** into g until its next use. 0, or -1 out of memory. */
int rp__augment(rp_aug *g, const tg_table *t, const jr_row *r,
                const jr_row *from, const jr_row *key, int sets,
                jr_row *out);
void rp__aug_free(rp_aug *g);
/* Would a row change of ent's table be applicable (target key matches the
** source key)? 0, or -1 with a configuration error. */
int rp__apply_check(rp_apply *a, const jr_entry *ent, const char *target,
                    jr_err *err);
/* Flush buffered rows. */
int rp__apply_flush(rp_apply *a, jr_err *err);
/* Number of rows rejected under --on-error=skip in this group. */
uint64_t rp__apply_rejected(const rp_apply *a);
void rp__apply_reset(rp_apply *a);

/* Pull the next journal record (0, or -1 with e filled). */
typedef int (*rp_next_fn)(void *ctx, jr_entry *e, jr_err *err);
/* Load a snapshot of source table `src` into t whose first row is
** `first` (the record after SNAP_BEGIN) with LOAD DATA LOCAL INFILE,
** pulling records through next() up to and including SNAP_END, returned
** in *end (rp_load.c). Returns 0, -1 (e filled), or RP_LOAD_ABORTED: the
** snapshot ends in an ABORT record (*end), its group is to be discarded. */
#define RP_LOAD_ABORTED 1
int rp__load_snapshot(rp_apply *a, MYSQL *db, tg_table *t, const char *src,
                      const jr_entry *first, rp_next_fn next, void *nctx,
                      jr_entry *end, uint64_t *rows, jr_err *e);

/* ---- bookkeeping tables (rp_meta.c; their names are in tg.h) ---- */
/* Create the tables (migrating sluice_position, sluice_rejects and
** sluice_tables of older versions when they are exactly ours). */
int rp__position_init(MYSQL *db, jr_err *e);
/* Applied seq of `replica` (0 if none). Refuses a row written for another
** journal. */
int rp__position_get(MYSQL *db, const char *replica, const char *uuid,
                     uint64_t *seq, jr_err *e);
/* Move the position from `expected` to `seq` (compare-and-set), only
** when no upsert of the group merged two source keys (@sluice_merge = 0,
** else a DATA error: single-row mode then names them); a position that
** moved meanwhile is a CONN error (reconnect, re-read it). */
int rp__position_set(MYSQL *db, const char *replica, const char *uuid,
                     uint64_t expected, uint64_t seq, jr_err *e);
/* Record a rejected change (inside the group's transaction). */
int rp__reject_record(MYSQL *db, const char *replica, const jr_entry *ent,
                      const char *table, const char *why, size_t limit,
                      jr_err *e);

/* ---- names (rp_names.c) ---- */
typedef struct rp_names rp_names;
/* From --tables, --exclude-tables and --map; NULL with a usage message
** in err when they are malformed. */
rp_names *rp__names_new(const char *tables, const char *exclude,
                        const char *map, char *err, size_t cap);
void rp__names_free(rp_names *n);
/* Target name of source table `src`, or NULL when replay leaves it out. */
const char *rp__names_target(const rp_names *n, const char *src);
/* Another source table --map sends to src's target name, or NULL. */
const char *rp__names_clash(const rp_names *n, const char *src);

#endif
