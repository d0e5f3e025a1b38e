/*
** br_gen.c -- sluice-bench-replay's SQLite side: gen (a new table of N
** rows), changes (an application making N changes, optionally waiting
** for capture to journal each transaction) and export (the table as
** LOAD DATA input). See the header of bench_replay.c for the options.
** INVARIANTS:
**  (G1) gen is data preparation, not a measured writer (synchronous=OFF,
**       one transaction).
**  (G2) changes writes its ops file in commit order, "C" after each
**       source transaction, so the C loaders replay the same stream.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "br.h"
#include "sluice/journal.h"

int br_cmd_gen(void)
{
    const char *path = br_req("db");
    long long n = br_opt_ll("rows", 1000000);
    uint64_t seed = (uint64_t)br_opt_ll("seed", 1);
    sqlite3 *db;
    sqlite3_stmt *st;
    double t0 = bu_now_s();
    br_row r;

    if (access(path, F_OK) == 0)
        bu_die("%s exists; gen makes a new database", path);
    db = br_sq_open(path, 1);
    br_sq_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF");
    br_sq_exec(db, br_create);
    br_sq_exec(db, "BEGIN");
    st = br_sq_prep(db, "INSERT INTO items (" BR_COL_LIST ") VALUES "
                        "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    for (long long id = 1; id <= n; id++) {
        br_make_row(&r, seed, id, 0);
        sqlite3_bind_int64(st, 1, id);
        br_bind_row(st, &r, 2);
        if (sqlite3_step(st) != SQLITE_DONE)
            bu_die("insert: %s", sqlite3_errmsg(db));
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    br_sq_exec(db, "COMMIT");
    sqlite3_close(db);
    printf("rows=%lld seconds=%.3f\n", n, bu_now_s() - t0);
    return 0;
}

int br_cmd_changes(void)
{
    const char *path = br_req("db"), *ops_path = br_opt("ops", NULL);
    const char *mix = br_opt("mix", "25,50,25");
    const char *jdir = br_opt("wait-journal", NULL);
    jr_journal *jn = NULL;
    jr_info info;
    jr_err jerr = { 0 };
    uint64_t jbase = 0;
    double waited = 0;
    long long n = br_opt_ll("changes", 1000000);
    long long tmin = br_opt_ll("txn-min", 100);
    long long tmax = br_opt_ll("txn-max", 1000);
    uint64_t seed = (uint64_t)br_opt_ll("seed", 2), s;
    int wi, wu, wd;
    sqlite3 *db;
    sqlite3_stmt *sel, *ins, *upd, *del;
    int64_t *live = NULL, maxid = 0;
    size_t nlive = 0, caplive = 0;
    long long done = 0, nins = 0, nupd = 0, ndel = 0, ntx = 0;
    FILE *ops = NULL;
    br_buf line = { 0 };
    double t0 = bu_now_s();
    br_row r;

    if (sscanf(mix, "%d,%d,%d", &wi, &wu, &wd) != 3 || wi < 0 || wu < 0 ||
        wd < 0 || wi + wu + wd <= 0)
        bu_die("--mix I,U,D: three non-negative weights");
    if (tmin < 1 || tmax < tmin)
        bu_die("--txn-min/--txn-max");
    s = seed;
    db = br_sq_open(path, 0);
    br_sq_exec(db, "PRAGMA synchronous = OFF");
    sel = br_sq_prep(db, "SELECT id FROM items ORDER BY id");
    while (sqlite3_step(sel) == SQLITE_ROW) {
        if (nlive == caplive) {
            caplive = caplive ? caplive * 2 : 1 << 20;
            live = bu_xrealloc(live, caplive * sizeof(*live));
        }
        live[nlive++] = sqlite3_column_int64(sel, 0);
    }
    sqlite3_finalize(sel);
    if (nlive)
        maxid = live[nlive - 1];
    if (ops_path != NULL && (ops = fopen(ops_path, "w")) == NULL)
        bu_die("%s: %s", ops_path, strerror(errno));
    if (jdir != NULL) {
        jr_journal_opts jo = JR_JOURNAL_OPTS_INIT;
        jo.read_only = 1;
        if (jr_journal_open(&jn, jdir, &jo, &jerr) != JR_OK ||
            jr_journal_info(jn, &info, &jerr) != JR_OK)
            bu_die("journal %s: %s", jdir, jerr.msg);
        jbase = info.complete_seq;
    }
    ins = br_sq_prep(db, "INSERT INTO items (" BR_COL_LIST ") VALUES "
                         "(?9, ?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    upd = br_sq_prep(db, "UPDATE items SET customer_id = ?1, status = ?2, "
                         "email = ?3, amount = ?4, meta = ?5, note = ?6, "
                         "created_at = ?7 WHERE id = ?9");
    del = br_sq_prep(db, "DELETE FROM items WHERE id = ?1");
    while (done < n) {
        long long tx = tmin + (long long)(bu_rng(&s) %
                                          (uint64_t)(tmax - tmin + 1));
        if (tx > n - done)
            tx = n - done;
        br_sq_exec(db, "BEGIN IMMEDIATE");
        for (long long k = 0; k < tx; k++) {
            int w = (int)(bu_rng(&s) % (uint64_t)(wi + wu + wd));
            sqlite3_stmt *st;
            size_t pick = 0;
            int64_t id;

            if (nlive == 0 || w < wi) {                 /* insert */
                id = ++maxid;
                br_make_row(&r, seed, id, 0);
                st = ins;
                br_bind_row(st, &r, 1);
                sqlite3_bind_int64(st, 9, id);
                if (nlive == caplive) {
                    caplive = caplive ? caplive * 2 : 1 << 20;
                    live = bu_xrealloc(live, caplive * sizeof(*live));
                }
                live[nlive++] = id;
                nins++;
            } else {
                pick = (size_t)(bu_rng(&s) % nlive);
                id = live[pick];
                if (w < wi + wu) {                      /* update */
                    br_make_row(&r, seed, id, (uint64_t)done + 1);
                    st = upd;
                    br_bind_row(st, &r, 1);
                    sqlite3_bind_int64(st, 9, id);
                    nupd++;
                } else {                                /* delete */
                    st = del;
                    sqlite3_bind_int64(st, 1, id);
                    live[pick] = live[--nlive];
                    ndel++;
                }
            }
            if (sqlite3_step(st) != SQLITE_DONE)
                bu_die("change: %s", sqlite3_errmsg(db));
            if (st == upd && sqlite3_changes(db) != 1)
                bu_die("update of id %lld changed no row", (long long)id);
            sqlite3_reset(st);
            if (ops != NULL) {
                line.len = 0;
                if (st == del)
                    br_buf_addf(&line, "D\t%lld\n", (long long)id);
                else {
                    br_buf_adds(&line, "P\t");
                    br_row_tsv(&line, &r);
                    br_buf_adds(&line, "\n");
                }
                fwrite(line.p, 1, line.len, ops);
            }
            done++;
        }
        br_sq_exec(db, "COMMIT");
        ntx++;
        if (ops != NULL)
            fputs("C\n", ops);
        if (jn != NULL) {
            double w0 = bu_now_s();
            for (;;) {
                if (jr_journal_info(jn, &info, &jerr) != JR_OK)
                    bu_die("journal %s: %s", jdir, jerr.msg);
                if (info.complete_seq >= jbase + (uint64_t)done)
                    break;
                if (bu_now_s() - w0 > 60)
                    bu_die("sluice-capture did not journal transaction "
                           "%lld within 60 s (complete_seq %llu, want %llu)",
                           ntx, (unsigned long long)info.complete_seq,
                           (unsigned long long)(jbase + (uint64_t)done));
                usleep(500);
            }
            waited += bu_now_s() - w0;
        }
    }
    jr_journal_close(jn);
    sqlite3_finalize(ins);
    sqlite3_finalize(upd);
    sqlite3_finalize(del);
    sqlite3_close(db);
    if (ops != NULL && fclose(ops) != 0)
        bu_die("%s: write failed", ops_path);
    free(live);
    free(line.p);
    printf("changes=%lld inserts=%lld updates=%lld deletes=%lld "
           "transactions=%lld rows_after=%zu seconds=%.3f "
           "waited_for_capture_s=%.1f\n", done, nins, nupd, ndel, ntx, nlive,
           bu_now_s() - t0, waited);
    return 0;
}

/* SQLite side of the comparison (and of the export): dates to UTC. */
static const char g_sq_select[] =
    "SELECT id, customer_id, status, email, amount, meta, note, "
    "strftime('%Y-%m-%d %H:%M:%f', created_at) FROM items ORDER BY id";

static void sq_field(br_buf *b, sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        br_buf_adds(b, "\\N");
    else if (i == 4)
        br_buf_addf(b, "%.17g", sqlite3_column_double(st, i));
    else
        br_buf_tsv(b, (const char *)sqlite3_column_text(st, i),
                   (size_t)sqlite3_column_bytes(st, i));
}

int br_cmd_export(void)
{
    const char *path = br_req("db"), *out = br_req("out");
    sqlite3 *db = br_sq_open(path, 0);
    sqlite3_stmt *st = br_sq_prep(db, g_sq_select);
    FILE *f = fopen(out, "w");
    br_buf b = { 0 };
    long long n = 0;
    double t0 = bu_now_s();

    if (f == NULL)
        bu_die("%s: %s", out, strerror(errno));
    while (sqlite3_step(st) == SQLITE_ROW) {
        for (int i = 0; i < BR_NCOLS; i++) {
            if (i)
                br_buf_adds(&b, "\t");
            sq_field(&b, st, i);
        }
        br_buf_adds(&b, "\n");
        if (b.len > (1u << 20)) {
            fwrite(b.p, 1, b.len, f);
            b.len = 0;
        }
        n++;
    }
    fwrite(b.p, 1, b.len, f);
    if (fclose(f) != 0)
        bu_die("%s: write failed", out);
    sqlite3_finalize(st);
    sqlite3_close(db);
    free(b.p);
    printf("rows=%lld seconds=%.3f\n", n, bu_now_s() - t0);
    return 0;
}
