/*
** golden_dump.c -- see golden.h. The raw part reads LMDB directly (the
** bytes FORMAT.md pins); the API part reads through journal.h (what
** replay and inspect see). Everything is printed escaped, one item per
** line, so a diff of two dumps shows exactly what changed.
*/
#include "golden.h"

#include <inttypes.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sluice/journal.h"

static void esc(FILE *f, const void *vp, size_t n)
{
    const unsigned char *p = vp;

    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '"' || p[i] == '\\')
            fprintf(f, "\\%c", p[i]);
        else if (p[i] >= 0x20 && p[i] < 0x7f)
            fputc(p[i], f);
        else
            fprintf(f, "\\x%02x", p[i]);
    }
    fputc('"', f);
}

static void hex(FILE *f, const void *vp, size_t n)
{
    const unsigned char *p = vp;

    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", p[i]);
}

static uint64_t le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static int raw_dump(FILE *f, const char *dir, char *why, size_t cap)
{
    static const char *const dbs[] = { "meta", "log", "replicas", "tables" };
    MDB_env *env;
    MDB_txn *txn;
    int rc;

    if ((rc = mdb_env_create(&env)) != 0 ||
        (rc = mdb_env_set_maxdbs(env, 8)) != 0 ||
        (rc = mdb_env_open(env, dir, MDB_RDONLY, 0644)) != 0 ||
        (rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) != 0) {
        snprintf(why, cap, "lmdb %s: %s", dir, mdb_strerror(rc));
        mdb_env_close(env);
        return -1;
    }
    for (int d = 0; d < 4; d++) {
        MDB_dbi dbi;
        MDB_cursor *c;
        MDB_val k, v;

        if ((rc = mdb_dbi_open(txn, dbs[d], 0, &dbi)) != 0 ||
            (rc = mdb_cursor_open(txn, dbi, &c)) != 0) {
            snprintf(why, cap, "lmdb database %s: %s", dbs[d],
                     mdb_strerror(rc));
            mdb_txn_abort(txn);
            mdb_env_close(env);
            return -1;
        }
        fprintf(f, "[lmdb %s]\n", dbs[d]);
        for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            const unsigned char *h = v.mv_data;
            if (d == 1) {                        /* a batch */
                fprintf(f, "key ");
                hex(f, k.mv_data, k.mv_size);
                fprintf(f, " size %zu", v.mv_size);
                if (v.mv_size >= 40)
                    fprintf(f, " magic %.4s version %u codec %u count %"
                            PRIu64 " first_seq %" PRIu64 " raw_len %" PRIu64
                            " stored_len %" PRIu64 " time_us %" PRId64
                            " crc32c %08" PRIx64 " pad %" PRIu64,
                            (const char *)h, h[4], h[5], le(h + 6, 2),
                            le(h + 8, 8), le(h + 16, 4), le(h + 20, 4),
                            (int64_t)le(h + 24, 8), le(h + 32, 4),
                            le(h + 36, 4));
                fputc('\n', f);
                continue;
            }
            esc(f, k.mv_data, k.mv_size);
            fputs(" = ", f);
            if (d == 3)
                esc(f, v.mv_data, v.mv_size);
            else
                hex(f, v.mv_data, v.mv_size);
            fputc('\n', f);
        }
        mdb_cursor_close(c);
    }
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return 0;
}

static void row(FILE *f, const char *what, const jr_row *r)
{
    for (uint32_t i = 0; i < r->n; i++) {
        const jr_value *v = &r->vals[i];
        uint64_t bits;

        fprintf(f, "  %s ", what);
        esc(f, r->names[i], strlen(r->names[i]));
        switch (v->type) {
        case JR_NULL:
            fputs(" null", f);
            break;
        case JR_INT:
            fprintf(f, " int %" PRId64, v->u.i);
            break;
        case JR_REAL:
            memcpy(&bits, &v->u.r, 8);
            fprintf(f, " real %016" PRIx64 " (%.17g)", bits, v->u.r);
            break;
        default:
            fprintf(f, " %s %zu ", v->type == JR_TEXT ? "text" : "blob",
                    v->u.b.n);
            esc(f, v->u.b.p, v->u.b.n);
        }
        fputc('\n', f);
    }
}

static int api_dump(FILE *f, const char *dir, char *why, size_t cap)
{
    jr_journal_opts o = JR_JOURNAL_OPTS_INIT;
    jr_journal *j;
    jr_info in;
    jr_check_report rep;
    jr_replica reps[8];
    jr_reader *r;
    jr_entry e;
    jr_err err = { 0 };
    unsigned char pos[256];
    size_t plen = 0;
    uint32_t nrep = 0;
    int rc;

    o.read_only = 1;
    if ((rc = jr_journal_open(&j, dir, &o, &err)) != JR_OK ||
        (rc = jr_journal_info(j, &in, &err)) != JR_OK ||
        (rc = jr_replica_list(j, reps, 8, &nrep, &err)) != JR_OK) {
        snprintf(why, cap, "journal %s: %d %s", dir, rc, err.msg);
        jr_journal_close(j);
        return -1;
    }
    fprintf(f, "[api info]\njournal_uuid %s\nsource_id ", in.journal_uuid);
    esc(f, in.source_id, strlen(in.source_id));
    fprintf(f, "\nfirst_seq %" PRIu64 "\nhead_seq %" PRIu64
            "\ncomplete_seq %" PRIu64 "\nhead_time_us %" PRId64
            "\nnbatches %" PRIu64 "\nstored_bytes %" PRIu64
            "\nnreplicas %u\n", in.first_seq, in.head_seq, in.complete_seq,
            in.head_time_us, in.nbatches, in.stored_bytes, in.nreplicas);
    rc = jr_journal_source_pos(j, pos, sizeof(pos), &plen, &err);
    fprintf(f, "source_pos ");
    if (rc == JR_OK)
        esc(f, pos, plen < sizeof(pos) ? plen : sizeof(pos));
    else
        fprintf(f, "(rc %d)", rc);
    fputc('\n', f);
    for (uint32_t i = 0; i < nrep && i < 8; i++)
        fprintf(f, "replica %s applied %" PRIu64 " at %" PRId64 "\n",
                reps[i].name, reps[i].applied_seq, reps[i].applied_time_us);
    for (const char *const *t = (const char *const[]){ "t", "kl", "gone",
                                                      NULL }; *t; t++) {
        char buf[4096];
        size_t n = 0;
        rc = jr_journal_table_schema(j, *t, buf, sizeof(buf), &n, &err);
        fprintf(f, "table_schema %s ", *t);
        if (rc == JR_OK)
            esc(f, buf, n < sizeof(buf) ? n : sizeof(buf));
        else
            fprintf(f, "(rc %d)", rc);
        fputc('\n', f);
    }
    memset(&rep, 0, sizeof(rep));
    rc = jr_journal_check(j, &rep, &err);
    fprintf(f, "check rc %d records %" PRIu64 " batches %" PRIu64
            " first %" PRIu64 " last %" PRIu64 " bad %" PRIu64 "\n", rc,
            rep.records, rep.batches, rep.first_seq, rep.last_seq,
            rep.bad_seq);
    fprintf(f, "[api records]\n");
    if ((rc = jr_reader_open(&r, j, 1, &err)) != JR_OK) {
        snprintf(why, cap, "reader: %d %s", rc, err.msg);
        jr_journal_close(j);
        return -1;
    }
    while ((rc = jr_reader_next(r, &e, &err)) == JR_OK) {
        fprintf(f, "seq %" PRIu64 " group %" PRIu64 " end %d %s table ",
                e.seq, e.group, e.group_end, jr_kind_name(e.rec.kind));
        esc(f, e.rec.table, strlen(e.rec.table));
        fprintf(f, " time_us %" PRId64 "\n", e.rec.time_us);
        row(f, "key", &e.rec.key);
        row(f, "new", &e.rec.new_row);
        row(f, "old", &e.rec.old_row);
        if (e.rec.aux_len) {
            fprintf(f, "  aux %zu ", e.rec.aux_len);
            esc(f, e.rec.aux, e.rec.aux_len);
            fputc('\n', f);
        }
    }
    fprintf(f, "end rc %d\n", rc);
    jr_reader_close(r);
    jr_journal_close(j);
    return rc == JR_EAGAIN ? 0 : (snprintf(why, cap, "reading stopped with "
                                           "%d: %s", rc, err.msg), -1);
}

int golden_dump(FILE *f, const char *dir, char *why, size_t cap)
{
    if (raw_dump(f, dir, why, cap) != 0)
        return -1;
    return api_dump(f, dir, why, cap);
}
