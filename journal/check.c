/*
** check.c -- full integrity walk of a journal (sluice-inspect check).
**
** Verifies, in one read transaction: every batch's header and checksum,
** that it decompresses to exactly raw_len bytes and decodes to exactly
** `count` records, that batches are contiguous (density), that group ids
** are consistent (a record's group is its own seq or the open group's),
** and that the metadata agrees (head_seq, complete_seq).
**
** INVARIANT: the first problem found is reported with the first seq of
** the batch that holds it (or the seq where density breaks).
*/
#include <stdio.h>
#include <string.h>

#include "jr_internal.h"

static int bad(jr_check_report *rep, uint64_t seq, jr_err *err,
               const char *fmt, const char *detail)
{
    rep->bad_seq = seq;
    if (snprintf(rep->problem, sizeof(rep->problem), fmt, detail) < 0)
        rep->problem[0] = 0;
    return jr_err_set(err, JR_ECORRUPT, 0, JR_D_NONE, 0, "jr_journal_check",
                      "seq %llu: %s", (unsigned long long)seq, rep->problem);
}

int jr_journal_check(jr_journal *j, jr_check_report *rep, jr_err *err)
{
    MDB_txn *txn;
    MDB_cursor *c = NULL;
    MDB_val k, v;
    jr__buf payload = { 0 };
    jr__dec dec = { 0 };
    void *dctx = NULL;
    uint64_t expect = 0, head, complete, open_group = 0, last_end = 0;
    jr_err e2 = { 0 };
    int ret, rc;

    memset(rep, 0, sizeof(*rep));
    if ((ret = jr__txn_begin(j, MDB_RDONLY, &txn, err)) != JR_OK)
        return ret;
    if ((ret = jr__meta_u64(txn, j, JR_META_HEAD, &head, err)) ||
        (ret = jr__meta_u64(txn, j, JR_META_COMPLETE, &complete, err)))
        goto out;
    if ((rc = mdb_cursor_open(txn, j->dbi_log, &c)) != 0) {
        ret = jr__err_mdb(err, rc, "mdb_cursor_open");
        goto out;
    }
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        jr__batch_hdr h;
        const unsigned char *p, *end;
        uint64_t key;

        if (k.mv_size != 8) {
            ret = bad(rep, expect, err, "%s", "log key is not 8 bytes");
            goto out;
        }
        key = jr__get_be64(k.mv_data);
        if (expect != 0 && key != expect) {
            char d[96];
            snprintf(d, sizeof(d), "batch starts at %llu, expected %llu",
                     (unsigned long long)key, (unsigned long long)expect);
            ret = bad(rep, expect < key ? expect : key, err,
                      "density broken: %s", d);
            goto out;
        }
        if (expect == 0)
            rep->first_seq = key;
        jr_err_clear(&e2);
        if (jr__batch_verify(v.mv_data, v.mv_size, key, &h, &e2) ||
            jr__batch_payload(v.mv_data, &h, &payload, &dctx, key, &e2)) {
            ret = bad(rep, key, err, "%s", e2.msg);
            goto out;
        }
        p = payload.p;
        end = payload.p + payload.len;
        for (unsigned i = 0; i < h.count; i++) {
            jr_entry e;
            memset(&e, 0, sizeof(e));
            e.seq = key + i;
            if (jr__rec_decode(&dec, &p, end, &e, &e2) != JR_OK) {
                ret = bad(rep, key, err, "%s", e2.msg);
                goto out;
            }
            if (e.group != e.seq && open_group != 0 &&
                e.group != open_group) {
                ret = bad(rep, key, err, "%s",
                          "record names a group other than the open one");
                goto out;
            }
            open_group = e.group_end ? 0 : e.group;
            if (e.group_end)
                last_end = e.seq;
            rep->records++;
        }
        if (p != end) {
            ret = bad(rep, key, err, "%s",
                      "batch holds bytes after its last record");
            goto out;
        }
        rep->batches++;
        rep->last_seq = key + h.count - 1;
        expect = key + h.count;
    }
    if (rc != MDB_NOTFOUND) {
        ret = jr__err_mdb(err, rc, "mdb_cursor_get");
        goto out;
    }
    if (rep->batches > 0 && rep->last_seq != head) {
        char d[96];
        snprintf(d, sizeof(d), "last stored seq %llu, metadata head %llu",
                 (unsigned long long)rep->last_seq,
                 (unsigned long long)head);
        ret = bad(rep, rep->last_seq + 1, err, "head mismatch: %s", d);
        goto out;
    }
    if (last_end != 0 && last_end != complete) {
        char d[96];
        snprintf(d, sizeof(d), "last group end %llu, metadata says %llu",
                 (unsigned long long)last_end,
                 (unsigned long long)complete);
        ret = bad(rep, last_end, err, "complete seq mismatch: %s", d);
        goto out;
    }
out:
    if (c != NULL)
        mdb_cursor_close(c);
    mdb_txn_abort(txn);
    jr__buf_free(&payload);
    jr__dctx_free(dctx);
    jr__dec_free(&dec);
    return ret;
}
