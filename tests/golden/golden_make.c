/*
** golden_make.c -- writes the golden journal of format v1:
**   golden_make OUTDIR      (OUTDIR: tests/golden/journal-v1)
** OUTDIR/data.mdb (a compacted copy of a journal written with this
** build's writer) and OUTDIR/expected.txt (its golden_dump). The journal
** holds every record kind and every value type, raw and zstd batches, a
** group spanning commits, a group a "crashed" writer left open (closed by
** an ABORT record), two replicas, a bound source and a source position.
**
** Run it only to make a deliberate format change (then also bump the
** version in journal/FORMAT.md and keep reading v1); test_golden reads
** the committed files back in every ctest run. Refuses an OUTDIR that
** already holds data.mdb.
*/
#include <lmdb.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "golden.h"
#include "sluice/journal.h"

#define T0 1767225600000000LL          /* 2026-01-01T00:00:00Z */

static void die(const char *what, const jr_err *e)
{
    fprintf(stderr, "golden_make: %s: %s\n", what, e ? e->msg : "");
    exit(1);
}

typedef struct rec {
    jr_record r;
    const char *names[3][8];
    jr_value vals[3][8];
} rec;

static void col(rec *x, int row, const char *name, jr_value v)
{
    jr_row *rw = row == 0 ? &x->r.key : row == 1 ? &x->r.new_row
                                                 : &x->r.old_row;
    x->names[row][rw->n] = name;
    x->vals[row][rw->n] = v;
    rw->n++;
    rw->names = x->names[row];
    rw->vals = x->vals[row];
}

static jr_value vi(int64_t i)
{
    jr_value v = { .type = JR_INT };
    v.u.i = i;
    return v;
}

static jr_value vr(uint64_t bits)
{
    jr_value v = { .type = JR_REAL };
    memcpy(&v.u.r, &bits, 8);
    return v;
}

static jr_value vt(int type, const char *p, size_t n)
{
    jr_value v = { .type = type };
    v.u.b.p = p;
    v.u.b.n = n;
    return v;
}

static void put(jr_writer *w, rec *x, int end)
{
    jr_err e = { 0 };

    if (jr_writer_append(w, &x->r, end, NULL, &e) != JR_OK)
        die("append", &e);
}

static rec *mk(rec *x, int kind, const char *table, int64_t dt)
{
    memset(x, 0, sizeof(*x));
    x->r.kind = kind;
    x->r.table = table;
    x->r.time_us = T0 + dt;
    return x;
}

static void commit(jr_writer *w, const char *pos)
{
    jr_err e = { 0 };

    if (jr_writer_commit(w, pos, pos ? strlen(pos) : 0, &e) != JR_OK)
        die("commit", &e);
}

static jr_writer *writer(jr_journal *j, int level)
{
    jr_writer_opts o = JR_WRITER_OPTS_INIT;
    jr_writer *w;
    jr_err e = { 0 };

    o.batch_records = 4;
    o.zstd_level = level;
    if (jr_writer_open(&w, j, &o, &e) != JR_OK)
        die("writer", &e);
    return w;
}

static const char g_schema_t[] =
    "{\"table\":\"t\",\"columns\":[{\"name\":\"id\",\"type\":\"INTEGER\","
    "\"notnull\":false,\"pk\":1,\"generated\":false},{\"name\":\"v\","
    "\"type\":\"TEXT\",\"notnull\":false,\"pk\":0,\"generated\":false},"
    "{\"name\":\"r\",\"type\":\"REAL\",\"notnull\":false,\"pk\":0,"
    "\"generated\":false},{\"name\":\"b\",\"type\":\"BLOB\",\"notnull\":"
    "false,\"pk\":0,\"generated\":false}],\"key\":[\"id\"],\"rowid_key\":"
    "false,\"rowid_name\":null,\"unique\":[[\"v\"]],\"without_rowid\":false,"
    "\"strict\":false,\"sql\":\"CREATE TABLE t(id INTEGER PRIMARY KEY, v "
    "TEXT UNIQUE, r REAL, b BLOB)\"}";
static const char g_schema_kl[] =
    "{\"table\":\"kl\",\"columns\":[{\"name\":\"a\",\"type\":\"\",\"notnull\":"
    "false,\"pk\":0,\"generated\":false}],\"key\":[],\"rowid_key\":true,"
    "\"rowid_name\":\"rowid\",\"unique\":[],\"without_rowid\":false,"
    "\"strict\":false,\"sql\":\"CREATE TABLE kl(a)\"}";

static void write_journal(const char *dir)
{
    jr_journal_opts o = JR_JOURNAL_OPTS_INIT;
    jr_journal *j;
    jr_writer *w;
    jr_err e = { 0 };
    rec x;

    o.create = 1;
    if (jr_journal_open(&j, dir, &o, &e) != JR_OK)
        die("open", &e);
    if (jr_journal_bind_source(j, "0b7c6d1e-2f3a-4b5c-8d9e-0f1a2b3c4d5e",
                               &e) != JR_OK)
        die("bind", &e);

    /* group 1 (zstd): schema, snapshot of two rows */
    w = writer(j, 3);
    mk(&x, JR_K_SCHEMA, "t", 0)->r.aux = g_schema_t;
    x.r.aux_len = sizeof(g_schema_t) - 1;
    put(w, &x, 0);
    put(w, mk(&x, JR_K_SNAP_BEGIN, "t", 1), 0);
    for (int i = 1; i <= 2; i++) {
        mk(&x, JR_K_INSERT, "t", 2);
        col(&x, 0, "id", vi(i));
        col(&x, 1, "id", vi(i));
        col(&x, 1, "v", vt(JR_TEXT, i == 1 ? "one" : "two", 3));
        col(&x, 1, "r", vr(0x3fb999999999999aull));          /* 0.1 */
        col(&x, 1, "b", vt(JR_BLOB, "\x00\x01\xff", 3));
        put(w, &x, 0);
    }
    put(w, mk(&x, JR_K_SNAP_END, "t", 3), 1);
    commit(w, "10");

    /* group 2 (zstd): every value type in one insert, an update with a
    ** key change, a delete; spans two commits */
    mk(&x, JR_K_INSERT, "t", 1000);
    col(&x, 0, "id", vi(INT64_MIN));
    col(&x, 1, "id", vi(INT64_MIN));
    col(&x, 1, "v", vt(JR_TEXT, "caf\xc3\xa9 \"q\"\\\n\0end", 15));
    col(&x, 1, "r", vr(0x8000000000000000ull));             /* -0.0 */
    col(&x, 1, "b", vt(JR_BLOB, "", 0));
    col(&x, 1, "e", vt(JR_TEXT, "", 0));
    col(&x, 1, "n", (jr_value){ .type = JR_NULL });
    col(&x, 1, "big", vi(INT64_MAX));
    put(w, &x, 0);
    mk(&x, JR_K_INSERT, "t", 1001);
    col(&x, 0, "id", vi(-1));
    col(&x, 1, "id", vi(-1));
    col(&x, 1, "r", vr(0x7ff8000000000123ull));             /* NaN */
    col(&x, 1, "inf", vr(0xfff0000000000000ull));           /* -inf */
    col(&x, 1, "den", vr(0x0000000000000001ull));           /* 5e-324 */
    put(w, &x, 0);
    commit(w, "11");                     /* group 2 still open */
    mk(&x, JR_K_UPDATE, "t", 1002);
    col(&x, 0, "id", vi(1));
    col(&x, 1, "id", vi(100));
    col(&x, 1, "v", vt(JR_TEXT, "one", 3));
    put(w, &x, 0);
    mk(&x, JR_K_DELETE, "t", 1003);
    col(&x, 0, "id", vi(2));
    put(w, &x, 1);
    commit(w, "12");
    jr_writer_close(w);

    /* group 3 (raw): keyless table schema and changes with old images */
    w = writer(j, -1);
    mk(&x, JR_K_SCHEMA, "kl", 2000)->r.aux = g_schema_kl;
    x.r.aux_len = sizeof(g_schema_kl) - 1;
    put(w, &x, 0);
    mk(&x, JR_K_INSERT, "kl", 2001);
    col(&x, 0, "rowid", vi(1));
    col(&x, 1, "a", vi(7));
    put(w, &x, 0);
    mk(&x, JR_K_UPDATE, "kl", 2002);
    col(&x, 0, "rowid", vi(1));
    col(&x, 1, "a", vt(JR_TEXT, "seven", 5));
    col(&x, 2, "a", vi(7));
    put(w, &x, 0);
    mk(&x, JR_K_DELETE, "kl", 2003);
    col(&x, 0, "rowid", vi(1));
    col(&x, 2, "a", vt(JR_TEXT, "seven", 5));
    put(w, &x, 1);
    commit(w, "13");

    /* group 4: left open by a "crash" (closed without its end) */
    mk(&x, JR_K_INSERT, "kl", 3000);
    col(&x, 0, "rowid", vi(2));
    col(&x, 1, "a", vi(8));
    put(w, &x, 0);
    commit(w, NULL);
    jr_writer_close(w);

    /* the next writer closes it with an ABORT, then: truncate, drop */
    w = writer(j, 3);
    put(w, mk(&x, JR_K_TRUNCATE, "kl", 4000), 1);
    put(w, mk(&x, JR_K_DROP, "kl", 4001), 1);
    commit(w, "15");
    jr_writer_close(w);

    if (jr_replica_register(j, "r1", &e) != JR_OK ||
        jr_replica_ack(j, "r1", 12, &e) != JR_OK ||
        jr_replica_register(j, "r2", &e) != JR_OK)
        die("replicas", &e);
    jr_journal_close(j);
}

int main(int argc, char **argv)
{
    char work[4096], path[4096], why[512];
    MDB_env *env;
    FILE *f;
    int rc;

    if (argc != 2) {
        fprintf(stderr, "usage: golden_make OUTDIR\n");
        return 64;
    }
    snprintf(path, sizeof(path), "%.3000s/data.mdb", argv[1]);
    if (access(path, F_OK) == 0) {
        fprintf(stderr, "golden_make: %s exists: the golden files are not "
                "rewritten by accident; remove it first\n", path);
        return 1;
    }
    snprintf(work, sizeof(work), "%.3000s/work.tmp", argv[1]);
    mkdir(argv[1], 0755);
    write_journal(work);
    if ((rc = mdb_env_create(&env)) != 0 ||
        (rc = mdb_env_open(env, work, MDB_RDONLY, 0644)) != 0 ||
        (rc = mdb_env_copy2(env, argv[1], MDB_CP_COMPACT)) != 0) {
        fprintf(stderr, "golden_make: copy: %s\n", mdb_strerror(rc));
        return 1;
    }
    mdb_env_close(env);
    snprintf(path, sizeof(path), "%.3000s/expected.txt", argv[1]);
    f = fopen(path, "w");
    if (f == NULL || golden_dump(f, argv[1], why, sizeof(why)) != 0) {
        fprintf(stderr, "golden_make: dump: %s\n", why);
        return 1;
    }
    fclose(f);
    /* leave only data.mdb and expected.txt */
    {
        static const char *const junk[] = { "data.mdb", "lock.mdb",
                                            "writer.lock" };
        for (int i = 0; i < 3; i++) {
            snprintf(path, sizeof(path), "%.3000s/%s", work, junk[i]);
            unlink(path);
        }
        rmdir(work);
        snprintf(path, sizeof(path), "%.3000s/lock.mdb", argv[1]);
        unlink(path);
    }
    return 0;
}
