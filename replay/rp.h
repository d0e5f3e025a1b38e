/*
** rp.h -- internals of sluice-replay, shared by replay/rp_*.c.
**
**   rp_url.c    target URL parsing (TLS modes, password sources)
**   rp_db.c     connection, TLS, session settings, error classes, SQL
**               helpers
**   rp_meta.c   replay's bookkeeping tables (sqlite_sluice_position,
**               _rejects, _tables) and the migration of older names
**   rp_names.c  which source tables replay applies, under which target
**               name (--tables, --exclude-tables, --map), and the names
**               MariaDB cannot take
**   rp_table.c  target table metadata (information_schema), CREATE/ALTER
**               from the journal's schema records, the documented type map
**   rp_text.c   number, decimal, date and time text (SQLite's forms and
**               MariaDB's), shared with sluice-verify
**   rp_policy.c THE value policy: what one journal value becomes in one
**               target column (MariaDB's own conversions; rounding
**               counted; refusals with a reason) -- replay and verify
**               both use it
**   rp_value.c  writing converted values as SQL literals or LOAD DATA
**               fields; values for messages and reject images
**   rp_apply.c  applying records inside the group's transaction (batched
**               upserts and deletes, the key-merge guard, rejects)
**   rp_stmt.c   one multi-row statement, sized under max_allowed_packet
**   rp_load.c   snapshots through LOAD DATA LOCAL INFILE
**   rp_run.c    the loop: read groups, retry with backoff, acknowledge
**   rp_cluster.c  node choice over the host list, Galera readiness,
**               settling unknown COMMITs, cluster limits (rp_cluster.h)
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
    int strict_values;           /* refuse any value MariaDB would alter */
    const char *tables;          /* only these source tables (comma list) */
    const char *exclude_tables;  /* never these */
    const char *map;             /* SRC=DST,... target table names */
    const char *password_file;
    int unregister;              /* --unregister: drop --replica, exit */
} rp_cfg;

/* ---- target URL ---- */
enum {                           /* ?tls= */
    RP_TLS_DEFAULT = 0,          /* none given: the library's default */
    RP_TLS_DISABLED,             /* never */
    RP_TLS_PREFERRED,            /* when the server offers it, unverified */
    RP_TLS_REQUIRED,             /* must be TLS; certificate chain verified
                                    (tls_ca=, else the system CAs) */
    RP_TLS_VERIFY_FULL           /* required + the host name checked */
};

#define RP_MAX_HOSTS 16
typedef struct rp_host {
    char *host;                  /* points into buf */
    unsigned port;               /* 0: the default (3306) */
} rp_host;

typedef struct rp_url {
    char *user, *password, *host, *database, *socket, *tls_ca;
    unsigned port;               /* host, port: the first of hosts[] */
    rp_host hosts[RP_MAX_HOSTS]; /* HOST[:PORT],HOST[:PORT],... */
    int nhosts;                  /* >= 1 once parsed */
    unsigned timeout_s;          /* ?timeout=: read/write timeout; 0:
                                    default (3600, 60 with several hosts) */
    long long ws_fragment;       /* ?ws_fragment=: Galera fragment size
                                    in bytes; -1 (unset): the default */
    int tls;                     /* RP_TLS_* */
    int password_in_url;         /* the URL itself carried a password */
    char *buf;                   /* owns the strings above */
} rp_url;

/* Parse mariadb://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?socket=P&tls=..
** &tls_ca=PATH] (mysql:// too). Without a password in the URL it comes
** from SLUICE_TARGET_PASSWORD. JR_OK or JR_ERR with a message saying what
** is wrong. */
int rp_url_parse(rp_url *u, const char *url, jr_err *err);
/* The password from the first line of `path` (--password-file); refuses
** a URL that carries one too. JR_OK or JR_ERR. */
int rp_url_password_file(rp_url *u, const char *path, jr_err *err);
void rp_url_free(rp_url *u);
/* Overwrite the password of a URL in place (process list hygiene):
** mariadb://u:secret@h/db -> mariadb://u:xxxxxx@h/db. */
void rp_url_scrub(char *url);

/* ---- errors ---- */
/* Every failure is one of these. CONN and RETRY are transient (retried
** with backoff, logged once); DATA, CONFIG and FATAL are permanent (one
** clear message; --once exits; a daemon shows sluice_replay_stuck 1 and
** retries slowly, FATAL exits). */
enum {
    RP_E_NONE = 0,
    RP_E_CONN,        /* connection lost/refused: reconnect, retry group */
    RP_E_RETRY,       /* deadlock, lock wait timeout: retry the group */
    RP_E_DATA,        /* a value (or row) the target cannot take */
    RP_E_CONFIG,      /* auth, unknown database, DDL errors, names,
                         anything MariaDB refuses that is not a value */
    RP_E_FATAL        /* journal corruption, bugs */
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
/* Connect and set the session up. With tls required/verify-full a
** session that is not encrypted is refused (CONFIG). */
MYSQL *rp_db_connect(const rp_url *u, rp_error *e);
/* The server's max_allowed_packet (read at connect; 0 if unknown). */
unsigned long rp_db_max_packet(MYSQL *db);
/* Is this MariaDB error number transient? (for tests and logs) */
int rp_db_class(unsigned mysql_errno);
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
    int precision;               /* DECIMAL digits in all (0: unknown) */
    char *collation;             /* text columns: COLLATION_NAME */
    int loose;                   /* text compared case-insensitively or
                                    ignoring trailing spaces (not a
                                    *_nopad_bin collation) */
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
    int class_col;               /* index of sqlite_sluice_class (the key
                                    values' storage classes), or -1 */
    int warned;                  /* collation warning given */
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

/* ---- text forms (rp_text.c) ---- */
/* Strict decimal number: [-+]digits[.digits][(e|E)[-+]digits] or
** [-+].digits..., nothing around it. */
int rp_is_number(const char *p, size_t n);
/* Strict integer [-+]digits within int64. 0 ok, -1 not. */
int rp_parse_i64(const char *p, size_t n, int64_t *out);
/* Decimal text rounded half away from zero to `scale` digits (MariaDB's
** DECIMAL rounding), written canonically ("-12.50", "0.00", "7").
** *dropped (may be NULL) is set when a non-zero digit was rounded away.
** 0 ok, -1 not a number / too long for cap. */
int rp_dec_round(const char *p, size_t n, int scale, char *out, size_t cap,
                 int *dropped);
int rp_dec_norm(const char *p, size_t n, int scale, char *out, size_t cap);
/* Numeric order of two rp_dec_norm() strings of the same scale. */
int rp_dec_cmp(const char *a, size_t an, const char *b, size_t bn);
/* "YYYY-MM-DD[ HH:MM:SS[.f...]]" -> "YYYY-MM-DD HH:MM:SS.ffffff" with
** digits past `frac` zeroed (MariaDB truncates). date_only: keep the
** first 10 characters. 0 ok, -1 not in that form. */
int rp_datetime_norm(const char *p, size_t n, int frac, int date_only,
                     char *out, size_t cap);
/* MariaDB TIME text ([-][D ]H+:MM[:SS[.f...]]) -> "[-]HH:MM:SS.ffffff"
** with digits past `frac` zeroed. 0 ok, -1 not a time. rp_time_round
** also says whether a non-zero digit was dropped and gives the value in
** seconds (both may be NULL). */
int rp_time_norm(const char *p, size_t n, int frac, char *out, size_t cap);
int rp_time_round(const char *p, size_t n, int frac, char *out, size_t cap,
                  int *dropped, double *seconds);
/* Parse SQLite date/time text into "YYYY-MM-DD HH:MM:SS.ffffff" UTC. */
int rp_parse_datetime(const char *p, size_t n, char *out, size_t cap,
                      int *date_only);
/* Microseconds since the epoch as "YYYY-MM-DD HH:MM:SS.ffffff". */
void rp_format_us(char *out, size_t cap, int64_t us);
/* Shortest text that reads back as the same double ("0.1"). */
void rp_shortest(char *b, size_t cap, double r);

/* ---- the value policy (rp_policy.c) ---- */
enum { RP_CV_NULL, RP_CV_NUM, RP_CV_STR, RP_CV_BIN };
enum {
    RP_POL_STRICT = 1,           /* --strict-values: refuse any alteration */
    RP_POL_KEY = 2               /* a key/unique column: never altered (two
                                    source keys would become one) */
};

/* One value as the target column will hold it. */
typedef struct rp_conv {
    int kind;                    /* RP_CV_* */
    const char *p;               /* bytes (STR/BIN) or number text (NUM) */
    size_t n;
    int altered;                 /* fractional digits rounded/truncated
                                    away, as MariaDB does (counted) */
    char buf[96];
} rp_conv;

/* Convert v for column c. 0, or -1 with the reason in why (a value the
** column cannot represent, or an alteration `flags` forbid). cv->p may
** point into v. */
int rp_convert(rp_conv *cv, const rp_col *c, const jr_value *v, int flags,
               char *why, size_t cap);

/* ---- values (rp_value.c) ---- */
/* Append `v` converted for column `c` as an SQL literal. 0, or -1 with
** why. *altered (may be NULL) reports a rounding (see rp_conv). */
int rp_value_sql(rp_str *s, MYSQL *db, const rp_col *c, const jr_value *v,
                 int flags, int *altered, char *why, size_t cap);
/* The same value as one LOAD DATA field (tab-separated, \N for NULL,
** backslash escapes). Binary columns get hex (load them through UNHEX). */
int rp_value_tsv(rp_str *s, const rp_col *c, const jr_value *v, int flags,
                 int *altered, char *why, size_t cap);
/* Human form of a value for messages: valid UTF-8 with control bytes and
** invalid bytes escaped (\xNN), cut at about 80 bytes on a character
** boundary. */
void rp_value_show(char *buf, size_t cap, const jr_value *v);
/* Append text that may hold any bytes as valid UTF-8: control and
** invalid bytes become \xNN, a backslash \\. */
void rp_str_escape(rp_str *s, const void *p, size_t n);
/* A row image as JSON (values typed, non-UTF-8 bytes as hex, each value
** cut at `per_value` bytes), for sluice_rejects. */
void rp_row_json(rp_str *s, const jr_row *r, size_t per_value);

/* ---- roundings (rp_run.c) ---- */
/* Values MariaDB's conversion altered, per table and column: counted for
** sluice_replay_values_rounded_total and logged once per column. Notes
** made while a group is open are pending until it commits. */
typedef struct rp_rounds rp_rounds;
void rp_rounds_note(rp_rounds *r, const char *table, const char *column,
                    uint64_t seq, const jr_value *v);

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
    int *keycol;                 /* row column is a key/unique column */
    int guard;                   /* upsert counts merges in @sluice_merge */
    int exact_del;               /* delete re-checks text keys by bytes */
    rp_str exact;                /* exact_del: the BINARY tuple list */
    size_t tail;                 /* bytes the flush will append */
} rp_stmt;

void rp_stmt_reset(rp_stmt *s);
void rp_stmt_free(rp_stmt *s);
/* Can a row (op, table, names, replace) join this open statement? */
int rp_stmt_fits(const rp_stmt *s, int op, const char *table,
                 const jr_row *r, int replace);
int rp_stmt_begin(rp_stmt *s, int op, rp_table *t, const jr_row *r,
                  const jr_row *key, int replace, const jr_entry *ent,
                  int single);
/* Append r's values; remember `key` (may be NULL). Returns 0, RP_STMT_FULL
** (nothing added: the statement would outgrow `limit` bytes -- flush it
** and add again) or -1 (e filled; a single row over `limit` is a DATA
** error naming max_allowed_packet). */
#define RP_STMT_FULL 1
int rp_stmt_add(rp_stmt *s, MYSQL *db, rp_table *t, const jr_row *r,
                const jr_entry *ent, const char *key, int flags,
                rp_rounds *rounds, size_t limit, rp_error *e);
int rp_stmt_has_key(const rp_stmt *s, const char *key);
/* Send it (no-op if empty) and reset. */
int rp_stmt_flush(rp_stmt *s, MYSQL *db, rp_error *e);
void rp_key_text(char *buf, size_t cap, const jr_row *k);
int rp_bad_value(const jr_entry *ent, const char *col, const jr_value *v,
                 const char *why, rp_error *e);

/* ---- applying (rp_apply.c) ---- */
typedef struct rp_apply rp_apply;

rp_apply *rp_apply_new(MYSQL *db, rp_tables *ts, jr_journal *j,
                       const rp_cfg *cfg, const char *journal_uuid,
                       rp_rounds *rounds, unsigned long max_packet);
/* Flags for the value policy (RP_POL_STRICT with --strict-values). */
int rp_apply_flags(const rp_apply *a);
rp_rounds *rp_apply_rounds(rp_apply *a);
/* Largest statement to send (max_allowed_packet less a margin). */
size_t rp_apply_limit(const rp_apply *a);

/* One row per statement (to pin a failing value on one seq). */
void rp_apply_set_single(rp_apply *a, int single);
/* Drop cached plans/metadata of a table (after DDL). */
void rp_apply_forget(rp_apply *a, const char *table);
void rp_apply_free(rp_apply *a);
/* Apply one record of the open transaction (buffers; may flush), to
** target table `target` (the record's table, or its --map name). */
int rp_apply_record(rp_apply *a, const jr_entry *e, const char *target,
                    rp_error *err);
/* The storage classes of key's values in row ("it": integer, text), the
** value of sqlite_sluice_class. */
void rp_key_class(const jr_row *row, const jr_row *key, char *out,
                  size_t cap);
/* Would a row change of ent's table be applicable (target key matches the
** source key)? 0, or -1 with a configuration error. */
int rp_apply_check(rp_apply *a, const jr_entry *ent, const char *target,
                   rp_error *err);
/* Flush buffered rows. */
int rp_apply_flush(rp_apply *a, rp_error *err);
/* Number of rows rejected under --on-error=skip in this group. */
uint64_t rp_apply_rejected(const rp_apply *a);
void rp_apply_reset(rp_apply *a);

/* Pull the next journal record (0, or -1 with e filled). */
typedef int (*rp_next_fn)(void *ctx, jr_entry *e, rp_error *err);
/* Load a snapshot of source table `src` into t whose first row is
** `first` (the record after SNAP_BEGIN) with LOAD DATA LOCAL INFILE,
** pulling records through next() up to and including SNAP_END, returned
** in *end (rp_load.c). Returns 0, -1 (e filled), or RP_LOAD_ABORTED: the
** snapshot ends in an ABORT record (*end), its group is to be discarded. */
#define RP_LOAD_ABORTED 1
int rp_load_snapshot(rp_apply *a, MYSQL *db, rp_table *t, const char *src,
                     const jr_entry *first, rp_next_fn next, void *nctx,
                     jr_entry *end, uint64_t *rows, rp_error *e);

/* ---- bookkeeping tables (rp_meta.c) ----
** Named sqlite_sluice_*: SQLite reserves the sqlite_ prefix, so no source
** table can ever be called that (and --map refuses such targets). */
#define RP_POSITION_TABLE "sqlite_sluice_position"
#define RP_REJECTS_TABLE  "sqlite_sluice_rejects"
#define RP_TABLES_TABLE   "sqlite_sluice_tables"
/* Column of created tables with an untyped key: the storage classes of
** the key values (rp_table.c). */
#define RP_CLASS_COL      "sqlite_sluice_class"
/* Is `name` in replay's namespace? */
int rp_meta_reserved(const char *name);
/* Create the tables (migrating sluice_position, sluice_rejects and
** sluice_tables of older versions when they are exactly ours). */
int rp_position_init(MYSQL *db, rp_error *e);
/* Applied seq of `replica` (0 if none). Refuses a row written for another
** journal. */
int rp_position_get(MYSQL *db, const char *replica, const char *uuid,
                    uint64_t *seq, rp_error *e);
/* Move the position from `expected` to `seq` (compare-and-set), only
** when no upsert of the group merged two source keys (@sluice_merge = 0,
** else a DATA error: single-row mode then names them); a position that
** moved meanwhile is a CONN error (reconnect, re-read it). */
int rp_position_set(MYSQL *db, const char *replica, const char *uuid,
                    uint64_t expected, uint64_t seq, rp_error *e);
/* Record a rejected change (inside the group's transaction). */
int rp_reject_record(MYSQL *db, const char *replica, const jr_entry *ent,
                     const char *table, const char *why, size_t limit,
                     rp_error *e);

/* ---- names (rp_names.c) ---- */
typedef struct rp_names rp_names;
/* From --tables, --exclude-tables and --map; NULL with a usage message
** in err when they are malformed. */
rp_names *rp_names_new(const char *tables, const char *exclude,
                       const char *map, char *err, size_t cap);
void rp_names_free(rp_names *n);
/* Target name of source table `src`, or NULL when replay leaves it out. */
const char *rp_names_target(const rp_names *n, const char *src);
/* Another source table --map sends to src's target name, or NULL. */
const char *rp_names_clash(const rp_names *n, const char *src);
/* Can MariaDB take this table/column name? 0, or -1 with the reason. */
int rp_name_check(const char *name, char *why, size_t cap);
/* UTF-8 characters in name. */
size_t rp_name_chars(const char *name);

#endif
