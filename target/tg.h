/*
** tg.h -- the MariaDB side of sluice (library sluice_target, target/):
** everything about a MariaDB target that sluice-replay, sluice-verify and
** the replay benchmark share, so it exists once.
**
**   tg_url.c     target URL parsing (TLS modes, password sources)
**   tg_db.c      connection, TLS, session settings, error classes, SQL
**                string building
**   tg_name.c    the names MariaDB cannot take; sluice's own namespace
**   tg_table.c   target table metadata (information_schema), CREATE/ALTER
**                from the journal's schema records, the documented type map
**   tg_text.c    number, decimal, date and time text (SQLite's forms and
**                MariaDB's)
**   tg_policy.c  THE value policy: what one journal value becomes in one
**                target column (MariaDB's own conversions; rounding
**                counted; refusals with a reason)
**   tg_value.c   writing converted values as SQL literals or LOAD DATA
**                fields; values for messages and reject images
**
** Depends on the journal's value types (sluice/journal.h), the runtime
** and MariaDB Connector/C; never on SQLite, capture or replay.
*/
#ifndef SLUICE_TG_H
#define SLUICE_TG_H

#include <mysql.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice/journal.h"

/* ---- target URL ---- */
enum {                           /* ?tls= */
    TG_TLS_DEFAULT = 0,          /* none given: the library's default */
    TG_TLS_DISABLED,             /* never */
    TG_TLS_PREFERRED,            /* when the server offers it, unverified */
    TG_TLS_REQUIRED,             /* must be TLS; certificate chain verified
                                    (tls_ca=, else the system CAs) */
    TG_TLS_VERIFY_FULL           /* required + the host name checked */
};

#define TG_MAX_HOSTS 16
typedef struct tg_host {
    char *host;                  /* points into buf */
    unsigned port;               /* 0: the default (3306) */
} tg_host;

typedef struct tg_url {
    char *user, *password, *host, *database, *socket, *tls_ca;
    unsigned port;               /* host, port: the first of hosts[] */
    tg_host hosts[TG_MAX_HOSTS]; /* HOST[:PORT],HOST[:PORT],... */
    int nhosts;                  /* >= 1 once parsed */
    unsigned timeout_s;          /* ?timeout=: read/write timeout; 0:
                                    default (3600, 60 with several hosts) */
    long long ws_fragment;       /* ?ws_fragment=: Galera fragment size
                                    in bytes; -1 (unset): the default */
    int tls;                     /* TG_TLS_* */
    int password_in_url;         /* the URL itself carried a password */
    char *buf;                   /* owns the strings above */
} tg_url;

/* Parse mariadb://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?socket=P&tls=..
** &tls_ca=PATH] (mysql:// too). Without a password in the URL it comes
** from SLUICE_TARGET_PASSWORD. JR_OK or JR_ERR with a message saying what
** is wrong. */
int tg_url_parse(tg_url *u, const char *url, jr_err *err);
/* The password from the first line of `path` (--password-file); refuses
** a URL that carries one too. JR_OK or JR_ERR. */
int tg_url_password_file(tg_url *u, const char *path, jr_err *err);
void tg_url_free(tg_url *u);
/* Overwrite the password of a URL in place (process list hygiene):
** mariadb://u:secret@h/db -> mariadb://u:xxxxxx@h/db. */
void tg_url_scrub(char *url);

/* ---- errors ----
** Failures are recorded in sluice's one error type, jr_err (journal.h;
** first failure wins), with one of these classes in err->cls and, for an
** error MariaDB reported, its error number in err->cause (domain
** JR_D_MARIADB). A failed call leaves err->code == JR_ERR and returns -1.
** CONN and RETRY are transient (retried with backoff, logged once); DATA,
** CONFIG and FATAL are permanent (one clear message; --once exits; a
** daemon shows sluice_replay_stuck 1 and retries slowly, FATAL exits). */
enum {
    TG_E_NONE = 0,
    TG_E_CONN,        /* connection lost/refused: reconnect, retry group */
    TG_E_RETRY,       /* deadlock, lock wait timeout: retry the group */
    TG_E_DATA,        /* a value (or row) the target cannot take */
    TG_E_CONFIG,      /* auth, unknown database, DDL errors, names,
                         anything MariaDB refuses that is not a value */
    TG_E_FATAL        /* journal corruption, bugs */
};

/* A class's name as logs and metrics show it ("none", "connection",
** "retry", "value", "config", "fatal"; "?" for no class), and whether it
** is transient (CONN, RETRY: retried) rather than permanent. */
const char *tg_class_name(int cls);
int tg_class_transient(int cls);

/* jr_err_set with the target's usual fields: class `cls`, MariaDB error
** number `no` (0: none). Returns -1. */
int tg_fail(jr_err *e, int cls, unsigned no, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Classify the connection's last error, prefixed with `what`. */
int tg_fail_mysql(jr_err *e, MYSQL *db, const char *what);

/* ---- connection (tg_db.c) ---- */
/* Connect and set the session up. With tls required/verify-full a
** session that is not encrypted is refused (CONFIG). */
MYSQL *tg_db_connect(const tg_url *u, jr_err *e);
/* The server's max_allowed_packet (read at connect; 0 if unknown). */
unsigned long tg_db_max_packet(MYSQL *db);
/* Is this MariaDB error number transient? (for tests and logs) */
int tg_db_class(unsigned mysql_errno);
int tg_exec(MYSQL *db, const char *sql, size_t len, jr_err *e);
/* Escaped, quoted literal appended to a growing string. */
typedef struct tg_str {
    char *p;
    size_t len, cap;
    int oom;
} tg_str;
void tg_str_add(tg_str *s, const char *p, size_t n);
void tg_str_adds(tg_str *s, const char *z);
void tg_str_addf(tg_str *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void tg_str_quote(tg_str *s, MYSQL *db, const void *p, size_t n);
void tg_str_ident(tg_str *s, const char *name);     /* `name` escaped */
void tg_str_free(tg_str *s);

/* ---- names (tg_name.c) ----
** sluice's objects in a target are named sqlite_sluice_*: SQLite reserves
** the sqlite_ prefix, so no source table can ever be called that (and
** --map refuses such targets). */
#define TG_POSITION_TABLE "sqlite_sluice_position"
#define TG_REJECTS_TABLE  "sqlite_sluice_rejects"
#define TG_TABLES_TABLE   "sqlite_sluice_tables"
/* Column of created tables with an untyped key: the storage classes of
** the key values (tg_table.c). */
#define TG_CLASS_COL      "sqlite_sluice_class"
/* Column of created tables with a UNIQUE set over an untyped column: the
** storage classes of that set's values, part of its unique index. N is
** the set's place (1-based) in the SCHEMA record's "unique" array. */
#define TG_UCLASS_PREFIX  "sqlite_sluice_class_"
/* Invisible column replay adds to a user's table whose key type can make
** distinct source keys one value ('2024-01-01' and '2024-01-01 00:00:00'
** in a DATETIME): the source key that wrote the row (rp_ledger.c). */
#define TG_LEDGER_COL     "sqlite_sluice_key"
/* ... and per source UNIQUE set over such a column, the source values
** of the set that wrote the row (its COMMENT names the set's columns as a
** JSON array; N only tells the columns apart), so that an INSERT OR
** REPLACE removes only the rows SQLite removed. */
#define TG_LEDGER_PREFIX  "sqlite_sluice_key_"
/* Is `name` in sluice's namespace (sqlite_sluice*, any case)? */
int tg_name_reserved(const char *name);
/* Read replica's row of TG_POSITION_TABLE in the current transaction
** (nothing is committed): *found 1 with its journal UUID (NUL-terminated,
** truncated to cap) and seq, 0 when there is no row, -1 when there is no
** such table.
** 0, or -1 with e set (tg_fail_mysql). The one reader of that row:
** replay's start and verify's live mode. */
int tg_position_read(MYSQL *db, const char *replica, char *uuid,
                     size_t cap, uint64_t *seq, int *found, jr_err *e);
/* Can MariaDB take this table/column name? 0, or -1 with the reason. */
int tg_name_check(const char *name, char *why, size_t cap);
/* UTF-8 characters in name. */
size_t tg_name_chars(const char *name);

/* ---- target tables (tg_table.c) ---- */
enum {                           /* target column kinds for conversion */
    TG_T_INT, TG_T_UINT, TG_T_FLOAT, TG_T_DECIMAL, TG_T_BOOL,
    TG_T_DATETIME, TG_T_DATE, TG_T_TIME, TG_T_YEAR, TG_T_TEXT,
    TG_T_BINARY, TG_T_JSON, TG_T_BIT, TG_T_OTHER
};

typedef struct tg_col {
    char *name;
    int kind;                    /* TG_T_* */
    char *data_type;             /* information_schema DATA_TYPE */
    int generated;               /* never written */
    int frac;                    /* DATETIME/TIME fractional digits */
    int scale;                   /* DECIMAL digits after the point */
    int precision;               /* DECIMAL digits in all (0: unknown) */
    char *collation;             /* text columns: COLLATION_NAME */
    int loose;                   /* text compared case-insensitively or
                                    ignoring trailing spaces (not a
                                    *_nopad_bin collation) */
} tg_col;

typedef struct tg_table {
    char *name;
    int ncols;
    tg_col *cols;
    int nkey;                    /* target columns matching the key */
    int key_is_unique;           /* a PK/unique index covers the key */
    int has_unique_sets;         /* source declared UNIQUE sets */
    int replace_ok;              /* target has all those unique sets */
    char **uniq_sql;             /* per source unique set: column list */
    int nuniq;
    int user_created;            /* existed before sluice saw it */
    int class_col;               /* index of sqlite_sluice_class (the key
                                    values' storage classes), or -1 */
    int ledger_col;              /* index of sqlite_sluice_key, or -1 */
    int nuclass;                 /* sqlite_sluice_class_N columns: */
    struct tg_uclass {
        int col;                 /* its index in cols */
        char **names;            /* the other columns of its unique index
                                    (sqlite_sluice_key_N: of its COMMENT) */
        int n;
        char *set;               /* sqlite_sluice_key_N: names as
                                    tg_set_text spells them */
    } *uclass;
    int nuledger;                /* sqlite_sluice_key_N columns */
    struct tg_uclass *uledger;
    int warned;                  /* collation warning given */
    struct tg_table *next;
} tg_table;

typedef struct tg_tables {
    tg_table *head;
} tg_tables;

void tg_tables_clear(tg_tables *t);
/* Metadata of `name` (cached). JR_ENOTFOUND-like: returns NULL with
** e->cls == TG_E_NONE when the table does not exist. */
tg_table *tg_table_get(tg_tables *ts, MYSQL *db, const char *name,
                       jr_err *e);
void tg_table_forget(tg_tables *ts, const char *name);
/* The CREATE TABLE statement a SCHEMA record's JSON (json[0..len)) makes
** for `table` (what tg_table_schema runs for a new table; tests/fuzz
** drive it). malloc'd, or NULL with the reason in err. */
char *tg_table_create_sql(const char *table, const char *json, size_t len,
                          char *err, size_t cap);
/* Apply a SCHEMA record: create the table or add missing columns. */
int tg_table_schema(tg_tables *ts, MYSQL *db, const char *table,
                    const char *json, size_t len, jr_err *e);
int tg_table_drop(tg_tables *ts, MYSQL *db, const char *table,
                  jr_err *e);
/* names[0..n) as "a,b" lowercased: how plans and uniq_sql spell a set of
** columns (MariaDB column names ignore case). */
void tg_set_text(tg_str *s, const char *const *names, int n);
/* Column index of the sqlite_sluice_key_N recording source unique set
** `set` ("a,b" lowercased), or -1. */
int tg_table_uledger(const tg_table *t, const char *set);
/* Index of target column `name` (case-insensitive), or -1. */
int tg_table_col(const tg_table *t, const char *name);

/* ---- text forms (tg_text.c) ---- */
/* Strict decimal number: [-+]digits[.digits][(e|E)[-+]digits] or
** [-+].digits..., nothing around it. */
int tg_is_number(const char *p, size_t n);
/* Strict integer [-+]digits within int64. 0 ok, -1 not. */
int tg_parse_i64(const char *p, size_t n, int64_t *out);
/* Decimal text rounded half away from zero to `scale` digits (MariaDB's
** DECIMAL rounding), written canonically ("-12.50", "0.00", "7").
** *dropped (may be NULL) is set when a non-zero digit was rounded away.
** 0 ok, -1 not a number / too long for cap. */
int tg_dec_round(const char *p, size_t n, int scale, char *out, size_t cap,
                 int *dropped);
int tg_dec_norm(const char *p, size_t n, int scale, char *out, size_t cap);
/* Numeric order of two tg_dec_norm() strings of the same scale. */
int tg_dec_cmp(const char *a, size_t an, const char *b, size_t bn);
/* "YYYY-MM-DD[ HH:MM:SS[.f...]]" -> "YYYY-MM-DD HH:MM:SS.ffffff" with
** digits past `frac` zeroed (MariaDB truncates). date_only: keep the
** first 10 characters. 0 ok, -1 not in that form. */
int tg_datetime_norm(const char *p, size_t n, int frac, int date_only,
                     char *out, size_t cap);
/* MariaDB TIME text ([-][D ]H+:MM[:SS[.f...]]) -> "[-]HH:MM:SS.ffffff"
** with digits past `frac` zeroed. 0 ok, -1 not a time. tg_time_round
** also says whether a non-zero digit was dropped and gives the value in
** seconds (both may be NULL). */
int tg_time_norm(const char *p, size_t n, int frac, char *out, size_t cap);
int tg_time_round(const char *p, size_t n, int frac, char *out, size_t cap,
                  int *dropped, double *seconds);
/* Parse SQLite date/time text into "YYYY-MM-DD HH:MM:SS.ffffff" UTC. */
int tg_parse_datetime(const char *p, size_t n, char *out, size_t cap,
                      int *date_only);
/* Microseconds since the epoch as "YYYY-MM-DD HH:MM:SS.ffffff". */
void tg_format_us(char *out, size_t cap, int64_t us);
/* Shortest text that reads back as the same double ("0.1"). */
void tg_shortest(char *b, size_t cap, double r);

/* ---- the value policy (tg_policy.c) ---- */
enum { TG_CV_NULL, TG_CV_NUM, TG_CV_STR, TG_CV_BIN };
enum {
    TG_POL_STRICT = 1,           /* --strict-values: refuse any alteration */
    TG_POL_KEY = 2               /* a key/unique column: never altered (two
                                    source keys would become one) */
};

/* One value as the target column will hold it. */
typedef struct tg_conv {
    int kind;                    /* TG_CV_* */
    const char *p;               /* bytes (STR/BIN) or number text (NUM) */
    size_t n;
    int altered;                 /* fractional digits rounded/truncated
                                    away, as MariaDB does (counted) */
    char buf[96];
} tg_conv;

/* Convert v for column c. 0, or -1 with the reason in why (a value the
** column cannot represent, or an alteration `flags` forbid). cv->p may
** point into v. */
int tg_convert(tg_conv *cv, const tg_col *c, const jr_value *v, int flags,
               char *why, size_t cap);

/* ---- values (tg_value.c) ---- */
/* Append `v` converted for column `c` as an SQL literal. 0, or -1 with
** why. *altered (may be NULL) reports a rounding (see tg_conv). */
int tg_value_sql(tg_str *s, MYSQL *db, const tg_col *c, const jr_value *v,
                 int flags, int *altered, char *why, size_t cap);
/* The same value as one LOAD DATA field (tab-separated, \N for NULL,
** backslash escapes). Binary columns get hex (load them through UNHEX). */
int tg_value_tsv(tg_str *s, const tg_col *c, const jr_value *v, int flags,
                 int *altered, char *why, size_t cap);
/* Human form of a value for messages: valid UTF-8 with control bytes and
** invalid bytes escaped (\xNN), cut at about 80 bytes on a character
** boundary. */
void tg_value_show(char *buf, size_t cap, const jr_value *v);
/* Append text that may hold any bytes as valid UTF-8: control and
** invalid bytes become \xNN, a backslash \\. */
void tg_str_escape(tg_str *s, const void *p, size_t n);
/* A row image as JSON (values typed, non-UTF-8 bytes as hex, each value
** cut at `per_value` bytes), for sluice_rejects. */
void tg_row_json(tg_str *s, const jr_row *r, size_t per_value);

#endif /* SLUICE_TG_H */
