/*
** rp.h -- internals of sluice-replay, shared by replay/rp_*.c.
**
**   rp_url.c    target URL parsing
**   rp_db.c     connection, session settings, error classes, SQL helpers
**   rp_table.c  target table metadata (information_schema), CREATE/ALTER
**               from the journal's schema records, the documented type map
**   rp_value.c  converting one journal value into an SQL literal for one
**               target column (dates, booleans, blobs, ...)
**   rp_apply.c  applying records inside the group's transaction (batched
**               upserts and deletes, snapshots, position row, rejects)
**   rp_run.c    the loop: read groups, retry with backoff, acknowledge
*/
#ifndef SLUICE_RP_H
#define SLUICE_RP_H

#include <mysql.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice/journal.h"

/* ---- configuration ---- */
typedef struct rp_cfg {
    const char *journal;
    const char *target;
    const char *replica;
    int once;
    const char *on_error;        /* "stop" (default) or "skip" */
    const char *log_level;
    long long batch_rows;        /* rows per multi-row statement */
    long long retry_max_ms;      /* cap of the reconnect backoff */
    long long once_timeout_s;    /* --once: give up connecting after */
    long long poll_ms;
    const char *metrics;         /* HOST:PORT or NULL */
} rp_cfg;

/* ---- target URL ---- */
typedef struct rp_url {
    char *user, *password, *host, *database, *socket;
    unsigned port;
    int tls;                     /* 0 default, 1 required, -1 disabled */
    char *buf;                   /* owns the strings above */
} rp_url;

/* Parse mariadb://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?socket=P&tls=..]
** (mysql:// too). The password may come from SLUICE_TARGET_PASSWORD.
** JR_OK or JR_ERR with a message saying what is wrong. */
int rp_url_parse(rp_url *u, const char *url, jr_err *err);
void rp_url_free(rp_url *u);

/* ---- errors ---- */
enum {
    RP_E_NONE = 0,
    RP_E_CONN,        /* connection lost/refused: reconnect, retry group */
    RP_E_RETRY,       /* deadlock, lock wait timeout: retry the group */
    RP_E_DATA,        /* a value the target cannot take */
    RP_E_CONFIG,      /* auth, unknown database, conflicting table */
    RP_E_FATAL        /* journal problems, bugs */
};

typedef struct rp_error {
    int cls;                     /* RP_E_* */
    unsigned mysql_errno;
    char msg[512];
} rp_error;

int rp_fail(rp_error *e, int cls, unsigned no, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Classify the connection's last error, prefixed with `what`. */
int rp_fail_mysql(rp_error *e, MYSQL *db, const char *what);

/* ---- connection (rp_db.c) ---- */
MYSQL *rp_db_connect(const rp_url *u, rp_error *e);
int rp_exec(MYSQL *db, const char *sql, size_t len, rp_error *e);
/* Escaped, quoted literal appended to a growing string. */
typedef struct rp_str {
    char *p;
    size_t len, cap;
    int oom;
} rp_str;
void rp_str_add(rp_str *s, const char *p, size_t n);
void rp_str_adds(rp_str *s, const char *z);
void rp_str_addf(rp_str *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void rp_str_quote(rp_str *s, MYSQL *db, const void *p, size_t n);
void rp_str_ident(rp_str *s, const char *name);     /* `name` escaped */
void rp_str_free(rp_str *s);

/* ---- target tables (rp_table.c) ---- */
enum {                           /* target column kinds for conversion */
    RP_T_INT, RP_T_UINT, RP_T_FLOAT, RP_T_DECIMAL, RP_T_BOOL,
    RP_T_DATETIME, RP_T_DATE, RP_T_TIME, RP_T_YEAR, RP_T_TEXT,
    RP_T_BINARY, RP_T_JSON, RP_T_BIT, RP_T_OTHER
};

typedef struct rp_col {
    char *name;
    int kind;                    /* RP_T_* */
    char *data_type;             /* information_schema DATA_TYPE */
    int generated;               /* never written */
    int frac;                    /* DATETIME/TIME fractional digits */
    int scale;                   /* DECIMAL digits after the point */
} rp_col;

typedef struct rp_table {
    char *name;
    int ncols;
    rp_col *cols;
    int nkey;                    /* target columns matching the key */
    int key_is_unique;           /* a PK/unique index covers the key */
    int has_unique_sets;         /* source declared UNIQUE sets */
    int replace_ok;              /* target has all those unique sets */
    char **uniq_sql;             /* per source unique set: column list */
    int nuniq;
    int user_created;            /* existed before sluice saw it */
    struct rp_table *next;
} rp_table;

typedef struct rp_tables {
    rp_table *head;
} rp_tables;

void rp_tables_clear(rp_tables *t);
/* Metadata of `name` (cached). JR_ENOTFOUND-like: returns NULL with
** e->cls == RP_E_NONE when the table does not exist. */
rp_table *rp_table_get(rp_tables *ts, MYSQL *db, const char *name,
                       rp_error *e);
void rp_table_forget(rp_tables *ts, const char *name);
/* The CREATE TABLE statement a SCHEMA record's JSON (json[0..len)) makes
** for `table` (what rp_table_schema runs for a new table; tests/fuzz
** drive it). malloc'd, or NULL with the reason in err. */
char *rp_table_create_sql(const char *table, const char *json, size_t len,
                          char *err, size_t cap);
/* Apply a SCHEMA record: create the table or add missing columns. */
int rp_table_schema(rp_tables *ts, MYSQL *db, const char *table,
                    const char *json, size_t len, rp_error *e);
int rp_table_drop(rp_tables *ts, MYSQL *db, const char *table,
                  rp_error *e);
/* Index of target column `name` (case-insensitive), or -1. */
int rp_table_col(const rp_table *t, const char *name);

/* ---- values (rp_value.c) ---- */
/* Append `v` as a literal fit for column `c`. Returns 0, or -1 with a
** reason in why (the value cannot be taken by that column). */
int rp_value_sql(rp_str *s, MYSQL *db, const rp_col *c, const jr_value *v,
                 char *why, size_t cap);
/* The same value as one LOAD DATA field (tab-separated, \N for NULL,
** backslash escapes). Binary columns get hex (load them through UNHEX). */
int rp_value_tsv(rp_str *s, const rp_col *c, const jr_value *v, char *why,
                 size_t cap);
/* Parse SQLite date/time text into "YYYY-MM-DD HH:MM:SS.ffffff" UTC. */
int rp_parse_datetime(const char *p, size_t n, char *out, size_t cap,
                      int *date_only);
/* Human form of a value for error messages (cut at ~80 bytes). */
void rp_value_show(char *buf, size_t cap, const jr_value *v);

/* ---- one multi-row statement (rp_stmt.c) ---- */
enum { RP_OP_NONE, RP_OP_PUT, RP_OP_DEL };

typedef struct rp_stmt {
    rp_str sql;
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
    rp_str first_vals;           /* "name\0value\0" pairs */
} rp_stmt;

void rp_stmt_reset(rp_stmt *s);
void rp_stmt_free(rp_stmt *s);
/* Can a row (op, table, names, replace) join this open statement? */
int rp_stmt_fits(const rp_stmt *s, int op, const char *table,
                 const jr_row *r, int replace);
int rp_stmt_begin(rp_stmt *s, int op, rp_table *t, const jr_row *r,
                  int replace, const jr_entry *ent, int single);
/* Append r's values; remember `key` (may be NULL). */
int rp_stmt_add(rp_stmt *s, MYSQL *db, rp_table *t, const jr_row *r,
                const jr_entry *ent, const char *key, rp_error *e);
int rp_stmt_has_key(const rp_stmt *s, const char *key);
/* Send it (no-op if empty) and reset. */
int rp_stmt_flush(rp_stmt *s, MYSQL *db, rp_error *e);
void rp_key_text(char *buf, size_t cap, const jr_row *k);
int rp_bad_value(const jr_entry *ent, const char *col, const jr_value *v,
                 const char *why, rp_error *e);

/* ---- applying (rp_apply.c) ---- */
typedef struct rp_apply rp_apply;

rp_apply *rp_apply_new(MYSQL *db, rp_tables *ts, jr_journal *j,
                       const rp_cfg *cfg, const char *journal_uuid);
/* One row per statement (to pin a failing value on one seq). */
void rp_apply_set_single(rp_apply *a, int single);
/* Drop cached plans/metadata of a table (after DDL). */
void rp_apply_forget(rp_apply *a, const char *table);
void rp_apply_free(rp_apply *a);
/* Apply one record of the open transaction (buffers; may flush). */
int rp_apply_record(rp_apply *a, const jr_entry *e, rp_error *err);
/* Would a row change of ent's table be applicable (target key matches the
** source key)? 0, or -1 with a configuration error. */
int rp_apply_check(rp_apply *a, const jr_entry *ent, rp_error *err);
/* Flush buffered rows. */
int rp_apply_flush(rp_apply *a, rp_error *err);
/* Number of rows rejected under --on-error=skip in this group. */
uint64_t rp_apply_rejected(const rp_apply *a);
void rp_apply_reset(rp_apply *a);

/* Pull the next journal record (0, or -1 with e filled). */
typedef int (*rp_next_fn)(void *ctx, jr_entry *e, rp_error *err);
/* Load a snapshot whose first row is `first` (the record after
** SNAP_BEGIN) with LOAD DATA LOCAL INFILE, pulling records through next()
** up to and including SNAP_END, returned in *end (rp_load.c). */
int rp_load_snapshot(rp_apply *a, MYSQL *db, rp_table *t,
                     const jr_entry *first, rp_next_fn next, void *nctx,
                     jr_entry *end, uint64_t *rows, rp_error *e);

/* sluice_position / sluice_rejects */
int rp_position_init(MYSQL *db, rp_error *e);
/* Applied seq of `replica` (0 if none). Refuses a row written for another
** journal. */
int rp_position_get(MYSQL *db, const char *replica, const char *uuid,
                    uint64_t *seq, rp_error *e);
int rp_position_set(MYSQL *db, const char *replica, const char *uuid,
                    uint64_t seq, rp_error *e);

#endif
