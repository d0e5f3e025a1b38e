/*
** bc_db.c -- sluice-bench-capture's side of SQLite: the application's
** tables, a bc_writer that inserts pool rows with prepared statements
** (values bound SQLITE_STATIC, so binding copies nothing), and the
** checks of what capture installed and logged.
** INVARIANTS:
**  (D1) every connection is WAL, synchronous=NORMAL, busy timeout 5 s:
**       how the applications capture serves run.
**  (D2) bc_write_rows() times from the first BEGIN to the return of the
**       last COMMIT and nothing else (no prepare, no checkpoint).
**  (D3) any SQLite error bu_die()s: a failed write must not pass for a
**       fast one.
*/
#include <stdio.h>
#include <string.h>

#include "bc.h"
#include "sl_clock.h"

const char bc_schema[] =
    "CREATE TABLE orders(id INTEGER PRIMARY KEY, customer_id INTEGER NOT "
    "NULL, status TEXT NOT NULL, email TEXT, created_at TEXT NOT NULL, "
    "amount REAL, meta TEXT, note TEXT);";
const char bc_schema2[] =
    "CREATE TABLE order_items(id INTEGER PRIMARY KEY, order_id INTEGER "
    "NOT NULL, sku TEXT NOT NULL, qty INTEGER NOT NULL, price REAL NOT "
    "NULL, attrs TEXT);";

void bc_db_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        bu_die("SQLite: %s (in: %.120s)", msg ? msg : "?", sql);
}

sqlite3 *bc_db_open(const char *path)
{
    sqlite3 *db;

    if (sqlite3_open(path, &db) != SQLITE_OK)
        bu_die("cannot open %s: %s", path, sqlite3_errmsg(db));
    sqlite3_busy_timeout(db, 5000);
    bc_db_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
    return db;
}

sqlite3_stmt *bc_db_prep(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s;

    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        bu_die("SQLite: %s (in: %.120s)", sqlite3_errmsg(db), sql);
    return s;
}

int64_t bc_db_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s = bc_db_prep(db, sql);
    int64_t v;

    if (sqlite3_step(s) != SQLITE_ROW)
        bu_die("SQLite: %s (in: %.120s)", sqlite3_errmsg(db), sql);
    v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

void bc_db_step_done(sqlite3 *db, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);

    if (rc != SQLITE_DONE)
        bu_die("SQLite write failed: %s (%d)", sqlite3_errmsg(db), rc);
    sqlite3_reset(s);
}

void bc_writer_open(bc_writer *w, sqlite3 *db, int two)
{
    memset(w, 0, sizeof(*w));
    w->db = db;
    w->ins = bc_db_prep(db, "INSERT INTO orders(id, customer_id, status, "
                        "email, created_at, amount, meta, note) VALUES "
                        "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    if (two)
        w->ins2 = bc_db_prep(db, "INSERT INTO order_items(id, order_id, "
                             "sku, qty, price, attrs) VALUES (?1, ?2, ?3, "
                             "?4, ?5, ?6)");
    w->begin = bc_db_prep(db, "BEGIN");
    w->commit = bc_db_prep(db, "COMMIT");
}

void bc_writer_close(bc_writer *w)
{
    sqlite3_finalize(w->ins);
    sqlite3_finalize(w->ins2);
    sqlite3_finalize(w->begin);
    sqlite3_finalize(w->commit);
}

static void bind_s(sqlite3_stmt *s, int i, const bc_str *v)
{
    sqlite3_bind_text(s, i, v->s, v->n, SQLITE_STATIC);
}

void bc_put_order(bc_writer *w, int64_t id)
{
    const bc_orow *o = &bc_orows[(uint64_t)id % BC_POOL];

    sqlite3_bind_int64(w->ins, 1, id);
    sqlite3_bind_int64(w->ins, 2, o->cust);
    bind_s(w->ins, 3, &o->status);
    bind_s(w->ins, 4, &o->email);
    bind_s(w->ins, 5, &o->created);
    sqlite3_bind_double(w->ins, 6, o->amount);
    bind_s(w->ins, 7, &o->meta);
    bind_s(w->ins, 8, &o->note);
    bc_db_step_done(w->db, w->ins);
}

static void put_item(bc_writer *w, int64_t id)
{
    const bc_irow *it = &bc_irows[(uint64_t)id % BC_POOL];

    sqlite3_bind_int64(w->ins2, 1, id);
    sqlite3_bind_int64(w->ins2, 2, id);
    bind_s(w->ins2, 3, &it->sku);
    sqlite3_bind_int64(w->ins2, 4, it->qty);
    sqlite3_bind_double(w->ins2, 5, it->price);
    bind_s(w->ins2, 6, &it->attrs);
    bc_db_step_done(w->db, w->ins2);
}

double bc_write_rows(bc_writer *w, int64_t first, long n, long per_txn)
{
    double t0 = bu_now_s();

    for (long i = 0; i < n;) {
        bc_db_step_done(w->db, w->begin);
        for (long k = 0; k < per_txn && i < n; k++, i++) {
            bc_put_order(w, first + i);
            if (w->ins2 != NULL)
                put_item(w, first + i);
        }
        bc_db_step_done(w->db, w->commit);
    }
    return bu_now_s() - t0;
}

int64_t bc_count_log_rows(sqlite3 *db)
{
    sqlite3_stmt *s = bc_db_prep(db, "SELECT name FROM sqlite_schema "
                                 "WHERE type = 'table' AND (name LIKE "
                                 "'mlog%' OR name LIKE "
                                 "'\\_sluice\\_log\\_%' ESCAPE '\\')");
    int64_t total = 0;
    char *names[16];
    int n = 0;

    while (sqlite3_step(s) == SQLITE_ROW && n < 16)
        names[n++] = sqlite3_mprintf("%s", sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    for (int i = 0; i < n; i++) {
        char *q = sqlite3_mprintf("SELECT count(*) FROM \"%w\"", names[i]);
        total += bc_db_int(db, q);
        sqlite3_free(q);
        sqlite3_free(names[i]);
    }
    return n ? total : -1;
}

void bc_wait_triggers(sqlite3 *db, const char *table)
{
    char *q = sqlite3_mprintf("SELECT count(*) FROM sqlite_schema WHERE "
                              "type = 'trigger' AND tbl_name = '%q' AND "
                              "name LIKE '\\_sluice\\_%%\\_ins' ESCAPE "
                              "'\\'", table);
    int64_t until = sl_mono_us() + 10 * (int64_t)1000000;

    while (bc_db_int(db, q) == 0) {
        if (sl_mono_us() > until)
            bu_die("sluice-capture did not install its triggers in 10 s");
        bu_sleep_us(2000);
    }
    sqlite3_free(q);
    bu_sleep_us(20000);            /* let it journal the (empty) snapshot */
}
