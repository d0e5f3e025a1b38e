/*
** br.h -- private header of sluice-bench-replay (bench_replay.c and
** br_*.c): the options, a growing byte buffer with LOAD DATA's TSV
** escapes, the MariaDB and SQLite sessions, the rows of `items`, the C
** loader's statements, and one br_cmd_*() per subcommand.
*/
#ifndef SLUICE_BR_H
#define SLUICE_BR_H

#include <stddef.h>
#include <stdint.h>

#include <mysql.h>
#include <sqlite3.h>

#include "bench_util.h"

#define BR_NCOLS 8          /* the columns of `items`, BR_COL_LIST */
#define BR_COL_LIST "id, customer_id, status, email, amount, meta, note, " \
                    "created_at"

/* ---- bench_replay.c: options "--name value" after the subcommand --- */

extern int br_argc;
extern char **br_argv;

/* The value of --name, def when absent. */
const char *br_opt(const char *name, const char *def);
/* The value of --name; bu_die()s when absent. */
const char *br_req(const char *name);
/* --name as an integer, def when absent; bu_die()s if not one. */
long long br_opt_ll(const char *name, long long def);

/* ---- br_buf.c: growing byte buffer, always NUL-terminated ---------- */

typedef struct br_buf {
    char *p;
    size_t len, cap;
} br_buf;

/* Room for n more bytes (and the NUL). */
void br_buf_need(br_buf *b, size_t n);
void br_buf_add(br_buf *b, const void *p, size_t n);
void br_buf_adds(br_buf *b, const char *s);
void br_buf_addf(br_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* TSV field: backslash escapes for \, tab, newline, NUL (LOAD DATA's). */
void br_buf_tsv(br_buf *b, const char *p, size_t n);
/* Unescape TSV field [p, end) in place; returns its length, -1 for \N. */
long br_tsv_unescape(char *p, char *end);

/* ---- br_db.c: sessions ---------------------------------------------- */

/* sluice-replay's own session (tg_db_connect) from --socket, --user,
** --database and SLUICE_TARGET_PASSWORD; autocommit on if asked. */
MYSQL *br_connect(int autocommit);
void br_db_exec(MYSQL *db, const char *sql, size_t len);
void br_db_commit(MYSQL *db);
/* The last column of the first row of sql's result (0 if none; *found
** says whether there was a non-NULL one). */
long long br_db_scalar(MYSQL *db, const char *sql, int *found);

/* SQLite, busy timeout 30 s; create: the file may be new. */
sqlite3 *br_sq_open(const char *path, int create);
void br_sq_exec(sqlite3 *db, const char *sql);
sqlite3_stmt *br_sq_prep(sqlite3 *db, const char *sql);

/* ---- br_data.c: the rows of `items` --------------------------------- */

extern const char br_create[];   /* CREATE TABLE items (SQLite) */

typedef struct br_row {
    int64_t id, customer_id;
    const char *status;
    double amount;
    int meta_null, note_null;
    char email[64];
    char meta[200];
    char note[200];
    char created[80];            /* SQLite/ORM text, with offset */
    char created_utc[48];        /* "YYYY-MM-DD HH:MM:SS.mmm" UTC */
} br_row;

/* Row `id`, version `ver`: everything derived from (seed, id, ver). */
void br_make_row(br_row *r, uint64_t seed, int64_t id, uint64_t ver);
/* Bind the 7 columns after id as ?first .. ?first+6. */
void br_bind_row(sqlite3_stmt *st, const br_row *r, int first);
/* The row as one TSV line (dates in MariaDB form), no newline. */
void br_row_tsv(br_buf *b, const br_row *r);

/* ---- br_sql.c: the C loader's statement text ------------------------ */

/* " ON DUPLICATE KEY UPDATE col = VALUES(col), ..." for every non-key
** column. */
extern const char br_odku[];

/* The whole file, malloc'ed and NUL-terminated; its length in *len. */
char *br_read_file(const char *path, size_t *len);
/* One TSV line [line, eol) -> "(v0, ..., v7)" appended to b (the fields
** are unescaped in place). */
void br_sql_tuple(br_buf *b, MYSQL *db, char *line, char *eol);

/* ---- br_array.c: array binding (Connector/C bulk execution) -------- */

typedef struct br_abatch {
    MYSQL_STMT *put, *del;
    unsigned cap, n, nd;
    int64_t *id, *cust, *did;
    double *amount;
    char **txt[5];               /* status, email, meta, note, created_at */
    unsigned long *len[5];
    char *ind[5];
} br_abatch;

/* Buffers for cap rows, the prepared upsert and delete. */
void br_ab_init(br_abatch *b, MYSQL *db, unsigned cap);
void br_ab_free(br_abatch *b);
/* Parse TSV line [line, eol) into row b->n (unescaped in place). */
void br_ab_add(br_abatch *b, char *line, char *eol);
/* Execute the pending upserts / deletes (b->did[0..nd)), if any, as one
** array-bound execution; (*stmts)++. */
void br_ab_flush_put(br_abatch *b, long long *stmts);
void br_ab_flush_del(br_abatch *b, long long *stmts);

/* ---- the subcommands ------------------------------------------------ */

int br_cmd_gen(void);            /* br_gen.c */
int br_cmd_changes(void);
int br_cmd_export(void);
int br_cmd_load_data(void);      /* br_load.c */
int br_cmd_upsert(void);
int br_cmd_apply_ops(void);      /* br_apply.c */
int br_cmd_status(void);         /* br_server.c */
int br_cmd_settle(void);
int br_cmd_run(void);            /* br_run.c */

#endif /* SLUICE_BR_H */
