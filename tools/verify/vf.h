/*
** vf.h -- internals of sluice-verify, shared by tools/verify/vf_*.c.
**
**   vf_value.c     canonical values: a source value and a target value
**                  become comparable as replay would have written them
**   vf_source.c    the SQLite side: open read-only, list and describe
**                  tables, stream rows
**   vf_target.c    the MariaDB side: connect, describe, stream rows
**                  (mysql_use_result: nothing is buffered client-side)
**   vf_plan.c      matching source and target columns: what is compared,
**                  by which key, in which order
**   vf_merge.c     key-ordered merge of both streams (bounded memory)
**   vf_multiset.c  hash-partitioned multiset comparison (tables with no
**                  usable key on the target, or keys in no common order)
**   vf_report.c    per-table results, key/row display, text and JSON
**                  output
**   vf_run.c       one table from start to result; the retry ladder
**   vf_err.c       vf_fail, vf_fail_target: verify's failures
**   vf_live.c      live mode (--journal): the source snapshot, the waits
**                  for capture and replay, the target snapshot
**   vf_flux.c      live mode: the keys changed between the two snapshots
**                  (read from the journal) and the sets that leave them
**                  out of the comparison
**   main.c         options, exit status
*/
#ifndef SLUICE_VF_H
#define SLUICE_VF_H

#include <mysql.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tg.h"

/* Exit status (sysexits.h numbers). */
enum {
    VF_EX_OK = 0,             /* every table matches */
    VF_EX_DIFF = 1,           /* a difference, or a table not comparable */
    VF_EX_USAGE = 64,
    VF_EX_UNAVAILABLE = 69,   /* cannot open the source / reach the target */
    VF_EX_SOFTWARE = 70,      /* out of memory, bugs */
    VF_EX_TEMPFAIL = 75       /* live mode: capture or replay did not
                                 catch up within --wait-s */
};

typedef struct vf_cfg {
    const char *source;
    const char *target;
    const char *tables;          /* comma list or NULL (all) */
    const char *exclude_tables;  /* comma list or NULL */
    const char *password_file;   /* --password-file or NULL */
    const char *log_level;
    int json;
    long long show;              /* differing keys shown per table */
    long long hash_rows;         /* multiset: rows per side per pass */
    const char *journal;         /* live mode: the journal directory */
    const char *replica;         /* live mode: replay's --replica */
    long long wait_s;            /* live mode: how long to wait */
} vf_cfg;

/* Errors are sluice's one type, jr_err (first failure wins, set through
** jr_err_set). In verify, err->cls says whether another table can still
** be checked: 0 yes; VF_FATAL_IO the connection or the file is gone
** (exit 69), VF_FATAL_SW out of memory (exit 70), VF_FATAL_WAIT live
** mode waited --wait-s in vain (exit 75). */
enum { VF_FATAL_IO = 1, VF_FATAL_SW = 2, VF_FATAL_WAIT = 3 };

/* Record a failure of class `fatal` (0, VF_FATAL_*); returns -1. */
int vf_fail(jr_err *e, int fatal, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A target-library error (classes TG_E_*) as verify's: a connection
** error is fatal (VF_FATAL_IO), any other one ends only its table. */
int vf_fail_target(jr_err *e, const jr_err *re);

/* ---- columns and tables (vf_plan.c) ---- */

enum {                      /* how values of a column are compared */
    VF_K_INT,               /* integers exactly (INT types, YEAR) */
    VF_K_BOOL,              /* TINYINT(1): integers, 'true'/'false' */
    VF_K_BIT,               /* BIT(n): integers */
    VF_K_DOUBLE,            /* bit-exact doubles (-0 = +0) */
    VF_K_FLOAT,             /* as floats */
    VF_K_DECIMAL,           /* numerically at the column's scale */
    VF_K_DATETIME,          /* UTC 'YYYY-MM-DD HH:MM:SS.ffffff' */
    VF_K_DATE,
    VF_K_TIME,
    VF_K_BYTES              /* text, JSON, binary, anything else */
};

typedef struct vf_col {
    char *sname;             /* source column (or rowid alias) */
    char *tname;             /* target column */
    int kind;                /* VF_K_* */
    int scale;               /* VF_K_DECIMAL */
    int frac;                /* VF_K_DATETIME / VF_K_TIME digits */
    int text;                /* target text type: order by collation */
    int natural_order;       /* text key whose collation orders like
                                SQLite's BINARY (utf8mb4/utf8mb3 *_bin) */
    tg_col rc;               /* replay's view, for its conversions */
} vf_col;

typedef struct vf_table {
    char *name;
    int ncols;
    vf_col *cols;            /* compared columns, in SELECT order */
    int nkey;
    int *key;                /* indexes into cols, key order */
    int rowid_key;           /* the key is the source's rowid */
    int multiset;            /* no key usable on the target */
    int nstruct;             /* structural differences (notes) */
    char note[512];          /* what the notes say */
    struct vf_keyset *flux;  /* live mode: keys left out, or NULL */
} vf_table;

void vf_table_free(vf_table *t);

/* ---- source (vf_source.c) ---- */

typedef struct vf_srccol {
    char *name;
    int pk;                  /* 1-based position in the primary key, 0 */
} vf_srccol;

typedef struct vf_srctable {
    char *name;
    int ncols;
    vf_srccol *cols;
    int nkey;
    char *rowid_alias;       /* keyless tables: rowid, oid or _rowid_ */
} vf_srctable;

/* Open read-only (never creates the file), busy timeout 5 s. */
int vf_src_open(sqlite3 **out, const char *path, jr_err *e);
/* Tables to compare, as capture chooses them (sqlite_* and _sluice*
** left out). With `only`, exactly those names in that order. (*bad)[i] is
** NULL, or why names[i] is no table at all; (*skip)[i] is NULL, or why
** capture deliberately skips it (virtual or shadow table, too wide, rowid
** hidden): reported as skipped, never compared. Caller frees all three
** (vf_strv_free). */
int vf_src_tables(sqlite3 *db, const char *only, const char *exclude,
                  char ***names, char ***bad, char ***skip, int *n,
                  jr_err *e);
void vf_strv_free(char **v, int n);
/* 0, or 1 when there is no such table, or -1. */
int vf_src_describe(sqlite3 *db, const char *name, vf_srctable *out,
                    jr_err *e);
void vf_srctable_free(vf_srctable *t);
/* SELECT the compared columns, in key order when `ordered`. */
int vf_src_select(sqlite3 *db, const vf_table *t, int ordered,
                  sqlite3_stmt **out, jr_err *e);
int vf_src_count(sqlite3 *db, const char *table, uint64_t *n, jr_err *e);
int vf_src_begin(sqlite3 *db, jr_err *e);
void vf_src_end(sqlite3 *db);

/* ---- target (vf_target.c) ---- */

typedef struct vf_tgtcol {
    int scale;               /* NUMERIC_SCALE (DECIMAL), else 0 */
    char *charset;           /* CHARACTER_SET_NAME or NULL */
    char *collation;         /* COLLATION_NAME or NULL */
} vf_tgtcol;

/* Connect (read-only session, UTC, utf8mb4); the password from the URL,
** else password_file (may be NULL), else SLUICE_TARGET_PASSWORD. */
int vf_tgt_open(MYSQL **out, const char *url, const char *password_file,
                jr_err *e);
/* Columns of `name` as replay sees them, plus per-column extras
** (parallel to t->cols). *t NULL when there is no such table. */
int vf_tgt_describe(MYSQL *db, tg_tables *ts, const char *name,
                    tg_table **t, vf_tgtcol **extra, jr_err *e);
void vf_tgtcols_free(vf_tgtcol *x, int n);
/* Start streaming the compared columns (mysql_use_result). ordered: ORDER
** BY the key; force_binary: text key columns ordered by their UTF-8
** bytes whatever their collation. */
int vf_tgt_select(MYSQL *db, const vf_table *t, int ordered,
                  int force_binary, MYSQL_RES **out, jr_err *e);
/* Next row: 1 row, 0 end, -1 error (fatal when the connection broke). */
int vf_tgt_next(MYSQL *db, MYSQL_RES *r, MYSQL_ROW *row,
                unsigned long **lens, jr_err *e);
int vf_tgt_count(MYSQL *db, const char *table, uint64_t *n, jr_err *e);
/* A consistent snapshot for the duration of one table. */
int vf_tgt_begin(MYSQL *db, jr_err *e);
void vf_tgt_end(MYSQL *db);

/* ---- canonical values (vf_value.c) ---- */

enum { VF_NULL, VF_NUM, VF_DEC, VF_BYTES, VF_BAD };

#define VF_VALBUF 136

/* A value as the target column would hold it. p points into the row
** (valid until the side advances) or into buf. */
typedef struct vf_val {
    int cls;                 /* VF_NULL ... VF_BAD (a source value the
                                column cannot hold: never equal) */
    int isint;               /* VF_NUM: i, else r */
    int64_t i;
    double r;
    const char *p;
    size_t n;
    char buf[VF_VALBUF];
} vf_val;

void vf_canon_src(const vf_col *c, sqlite3_stmt *st, int i, vf_val *v);
void vf_canon_tgt(const vf_col *c, const char *p, unsigned long n,
                  vf_val *v);
/* A source value held as a jr_value (vf_canon_src is this one). */
void vf_canon_jr(const vf_col *c, const jr_value *jv, vf_val *v);
/* Total order; 0 exactly when the values are equal. */
int vf_val_cmp(const vf_val *a, const vf_val *b);
/* Append a self-delimiting encoding of v (equal values, equal bytes). */
int vf_val_encode(tg_str *s, const vf_val *v);
/* Human forms, cut to a few dozen bytes: NULL, 12, 1.5, 'text', x'0a'. */
void vf_show_src(char *buf, size_t cap, sqlite3_stmt *st, int i);
void vf_show_tgt(char *buf, size_t cap, const vf_col *c, const char *p,
                 unsigned long n);

/* Copies of key values that outlive the row (the previous key of a
** stream, to check the stream's order). */
typedef struct vf_keycopy {
    int n;
    vf_val *v;
    char *arena;
    size_t cap;
} vf_keycopy;

int vf_keycopy_set(vf_keycopy *k, const vf_table *t, const vf_val *vals);
void vf_keycopy_free(vf_keycopy *k);
/* Compare the key of row `vals` with a saved key. */
int vf_key_cmp_saved(const vf_table *t, const vf_val *vals,
                     const vf_keycopy *k);
int vf_key_cmp(const vf_table *t, const vf_val *a, const vf_val *b);

/* ---- results (vf_report.c) ---- */

enum { VF_ST_OK, VF_ST_DIFF, VF_ST_ERROR, VF_ST_SKIPPED };
enum { VF_IT_MISSING, VF_IT_EXTRA, VF_IT_DIFFERING };

#define VF_MAX_ITEM_COLS 8

typedef struct vf_itemcol {
    char *column, *src, *tgt;
} vf_itemcol;

typedef struct vf_item {
    int what;                /* VF_IT_* */
    int row;                 /* key is a whole row image (multiset) */
    char *key;
    uint64_t count;          /* multiset: times the row is missing/extra */
    int ncols;
    int nmore;               /* differing columns beyond cols[] */
    vf_itemcol cols[VF_MAX_ITEM_COLS];
} vf_item;

typedef struct vf_result {
    char *table;
    uint64_t src_rows, tgt_rows, missing, extra, differing;
    int status;              /* VF_ST_* */
    const char *mode;        /* "key" or "multiset" */
    int live;                /* live mode: in_flux is shown */
    uint64_t in_flux;        /* live mode: keys changed between the two
                                snapshots, left out on both sides */
    int nstruct;             /* structural differences (in note) */
    char note[768];
    int max_items;
    int nitems;
    vf_item *items;
} vf_result;

int vf_result_init(vf_result *r, const char *table, int max_items);
/* Forget counts and items (a comparison starts over). */
void vf_result_reset(vf_result *r);
void vf_result_free(vf_result *r);
void vf_result_note(vf_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Room for another item? */
int vf_result_room(const vf_result *r);
/* Add an item; NULL when full or out of memory. */
vf_item *vf_result_item(vf_result *r, int what, int row, const char *key);
void vf_item_col(vf_item *it, const char *column, const char *src,
                 const char *tgt);
void vf_result_finish(vf_result *r);

typedef struct vf_report {
    FILE *f;
    int json;
    int ntables, nok, ndiff, nerror, nskipped;
    int live;                /* live mode: the summary says where */
    uint64_t in_flux;        /* sum over the tables */
    uint64_t from_seq;       /* window of in-flux records (from, to] */
    uint64_t applied_seq;
} vf_report;

void vf_report_begin(vf_report *rep, FILE *f, int json);
void vf_report_table(vf_report *rep, const vf_result *r);
/* The summary; returns the exit status it stands for (no table compared
** at all is an error: there was nothing to vouch for). */
int vf_report_end(vf_report *rep);

/* ---- comparing (vf_merge.c, vf_multiset.c, vf_run.c) ---- */

/* ---- live mode (vf_flux.c, vf_live.c) ---- */

/* Per table, the key images of the changes journaled between the two
** snapshots (or why the table cannot be compared live). */
typedef struct vf_fluxtab {
    char *name;
    char *skip;              /* why it is skipped, or NULL */
    uint64_t nimg;
    tg_str img;              /* key images back to back (vf_flux.c) */
} vf_fluxtab;

typedef struct vf_flux {
    int n, cap;
    vf_fluxtab *v;           /* sorted by name, without regard to case */
} vf_flux;

void vf_flux_free(vf_flux *f);
/* Account for one journal record (a change, a schema, a snapshot ...).
** 0, or -1 out of memory. */
int vf_flux_add(vf_flux *f, const jr_entry *en, jr_err *e);
/* The table's entry, or NULL when nothing touched it. */
const vf_fluxtab *vf_flux_find(const vf_flux *f, const char *name);

/* A set of canonical keys (vf_val_encode of the key columns, in key
** order): exact membership, no hash-only matches. */
typedef struct vf_keyset {
    size_t cap, n;
    struct vf_keyslot *slot;
    tg_str arena;
    tg_str scratch;
} vf_keyset;

/* Fill ks with the keys of ft's images as table t's key columns hold
** them. 0; 1 when an image lacks a key column of t (why in buf); -1. */
int vf_keyset_build(vf_keyset *ks, const vf_table *t, const vf_fluxtab *ft,
                    char *why, size_t cap, jr_err *e);
/* Is the key of the row whose canonical values are vals in ks? */
int vf_keyset_has(vf_keyset *ks, const vf_table *t, const vf_val *vals);
void vf_keyset_free(vf_keyset *ks);

typedef struct vf_live {
    struct jr_journal *j;
    sqlite3 *probe;          /* the source outside P (schema version) */
    char journal_uuid[37];
    uint64_t from_seq;       /* journal head before the source snapshot */
    uint64_t cover_seq;      /* head once capture covered the snapshot */
    uint64_t applied_seq;    /* replay's seq in the target snapshot */
    int64_t sv;              /* source schema version in the snapshot */
    int n;
    struct vf_inst *inst;    /* active installations and their marks */
    vf_flux flux;
} vf_live;

typedef struct vf_ctx {
    const vf_cfg *cfg;
    sqlite3 *sdb;
    MYSQL *tdb;
    tg_tables ts;
    vf_live *live;           /* live mode, else NULL: both snapshots are
                                held for the whole run */
} vf_ctx;

/* Live mode: open the source snapshot, wait for capture to journal it
** and replay to apply it, open the target snapshot, read the in-flux
** window (vf_live.c). 0, or -1 with e (class VF_FATAL_*). */
int vf_live_begin(vf_ctx *x, vf_live *L, jr_err *e);
/* End both snapshots, close the journal. NULL-safe. */
void vf_live_end(vf_ctx *x, vf_live *L);

enum {
    VF_MERGE_OK = 0,
    VF_MERGE_ERR = -1,
    VF_MERGE_SRC_ORDER = 1,  /* the source stream is not in key order */
    VF_MERGE_TGT_ORDER = 2   /* the target stream is not in key order */
};

int vf_merge(vf_ctx *x, const vf_table *t, int force_binary,
             vf_result *r, jr_err *e);
int vf_multiset(vf_ctx *x, const vf_table *t, vf_result *r, jr_err *e);

/* Build the comparison plan of one table. 0, 1 when the target has no
** such table, -1 on error. */
int vf_plan(vf_ctx *x, const vf_srctable *s, vf_table *t, jr_err *e);

/* Compare one table; fills r. -1 only for fatal errors (e). */
int vf_run_table(vf_ctx *x, const char *name, vf_result *r, jr_err *e);

/* Display of the key (or the whole row when t->multiset) of the current
** row of a side, "a=1,b='x'". */
void vf_key_show_src(char *buf, size_t cap, const vf_table *t,
                     sqlite3_stmt *st, int whole_row);
void vf_key_show_tgt(char *buf, size_t cap, const vf_table *t,
                     MYSQL_ROW row, unsigned long *lens, int whole_row);

#endif
