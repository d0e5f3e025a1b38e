/*
** test_golden.c -- the journal format, pinned (label golden): the files
** under tests/golden/journal-v1/ were written once by golden_make with the
** v1 writer and are committed. Every run:
**   - reads them back through LMDB and the journal API and compares the
**     dump with the committed expected.txt byte for byte (a reader that
**     changes what v1 bytes mean fails here);
**   - re-encodes every stored record with today's encoder and compares
**     the bytes with the stored ones, batch by batch (a writer that
**     changes what it writes fails here).
** A format change is then a decision: bump the version in FORMAT.md, keep
** reading v1, add journal-v2 with golden_make.
*/
#include <criterion/criterion.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden.h"
#include "jr_internal.h"
#include "testlib.h"

#ifndef GOLDEN_DIR
#error GOLDEN_DIR must name tests/golden/journal-v1
#endif

static char g_tmp[512];

static void up(void)
{
    char cmd[2048];

    cr_assert_eq(tl_tmpdir_make(g_tmp, sizeof(g_tmp)), 0);
    /* read-only LMDB still wants to create lock.mdb: use a copy */
    snprintf(cmd, sizeof(cmd), "cp '%s/data.mdb' '%s/'", GOLDEN_DIR, g_tmp);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
}

static void down(void)
{
    tl_rm_rf(g_tmp);
}

TestSuite(golden_journal_v1, .init = up, .fini = down);

Test(golden_journal_v1, reads_back_exactly_as_recorded)
{
    char *got = NULL, *want, why[512];
    size_t ng = 0, nw, line = 1, i;
    FILE *f = open_memstream(&got, &ng);

    cr_assert_eq(golden_dump(f, g_tmp, why, sizeof(why)), 0, "%s", why);
    fclose(f);
    want = tl_slurp(GOLDEN_DIR "/expected.txt", &nw);
    cr_assert_not_null(want, "cannot read " GOLDEN_DIR "/expected.txt");
    for (i = 0; i < ng && i < nw && got[i] == want[i]; i++)
        if (got[i] == '\n')
            line++;
    if (i < ng || i < nw) {
        const char *a = got + i, *b = want + i;
        while (a > got && a[-1] != '\n')
            a--;
        while (b > want && b[-1] != '\n')
            b--;
        cr_assert_fail("the golden journal reads back differently from "
                       "expected.txt at line %zu:\n  expected: %.*s\n  "
                       "got:      %.*s", line, (int)strcspn(b, "\n"), b,
                       (int)strcspn(a, "\n"), a);
    }
    cr_assert_gt(ng, 1000, "the dump is suspiciously short");
    free(got);
    free(want);
}

Test(golden_journal_v1, todays_encoder_writes_the_same_record_bytes)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *c;
    MDB_val k, v;
    jr__buf payload = { 0 }, re = { 0 };
    jr__dec d = { 0 };
    void *dctx = NULL;
    int rc, batches = 0, records = 0, zstd = 0, raw = 0;

    cr_assert_eq(mdb_env_create(&env), 0);
    cr_assert_eq(mdb_env_set_maxdbs(env, 8), 0);
    cr_assert_eq(mdb_env_open(env, g_tmp, MDB_RDONLY, 0644), 0);
    cr_assert_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    cr_assert_eq(mdb_dbi_open(txn, "log", 0, &dbi), 0);
    cr_assert_eq(mdb_cursor_open(txn, dbi, &c), 0);
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        jr__batch_hdr h;
        uint64_t key = jr__get_be64(k.mv_data);
        const unsigned char *p, *end;
        jr_err err = { 0 };

        cr_assert_eq(jr__batch_verify(v.mv_data, v.mv_size, key, &h, &err),
                     JR_OK, "batch %llu: %s", (unsigned long long)key,
                     err.msg);
        cr_assert_eq(jr__batch_payload(v.mv_data, &h, &payload, &dctx, key,
                                       &err), JR_OK, "%s", err.msg);
        zstd += h.codec == JR_CODEC_ZSTD;
        raw += h.codec == JR_CODEC_RAW;
        p = payload.p;
        end = payload.p + payload.len;
        for (unsigned i = 0; i < h.count; i++) {
            const unsigned char *start = p;
            jr_entry e;

            memset(&e, 0, sizeof(e));
            e.seq = key + i;
            cr_assert_eq(jr__rec_decode(&d, &p, end, &e, &err), JR_OK,
                         "seq %llu: %s", (unsigned long long)e.seq, err.msg);
            re.len = 0;
            cr_assert_eq(jr__rec_encode(&re, &e.rec, e.seq - e.group,
                                        e.group_end, &err), JR_OK, "%s",
                         err.msg);
            cr_assert_eq(re.len, (size_t)(p - start), "seq %llu: %zu bytes "
                         "re-encoded, %zu stored", (unsigned long long)e.seq,
                         re.len, (size_t)(p - start));
            cr_assert_eq(memcmp(re.p, start, re.len), 0, "seq %llu: "
                         "re-encoded bytes differ from the stored ones",
                         (unsigned long long)e.seq);
            records++;
        }
        cr_assert_eq(p, end, "batch %llu: bytes after its last record",
                     (unsigned long long)key);
        batches++;
    }
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    jr__buf_free(&payload);
    jr__buf_free(&re);
    jr__dec_free(&d);
    jr__dctx_free(dctx);
    cr_assert_gt(zstd, 0, "no zstd batch in the golden journal");
    cr_assert_gt(raw, 0, "no raw batch in the golden journal");
    cr_assert_eq(records, 17, "%d records", records);
    cr_log_info("%d batches, %d records re-encoded", batches, records);
}
