/*
** reader.c -- sequential cursor over the journal, from any seq.
**
** A reader copies (decompresses) one batch at a time into its own buffer
** inside a short read transaction, then serves records from that buffer;
** it holds no LMDB transaction between calls (journal.c, J2).
**
** INVARIANTS (R1 and the states checked with SL_CHECK in SLUICE_DEBUG
** builds):
**  (R1) records are returned in seq order with no gap: the batch holding
**       `seq` is found as the last key <= seq; if it does not reach seq
**       while a later batch exists, the journal has a hole: JR_ECORRUPT.
**  (R2) nothing is returned from a batch that failed verification.
**  (R3) only committed data is visible (LMDB read transaction).
** STATES: EMPTY (no batch loaded) <-> LOADED [bfirst, bfirst + bcount)
*/
#include <stdlib.h>
#include <string.h>

#include "jr_internal.h"

struct jr_reader {
    jr_journal *j;
    uint64_t seq;                 /* next seq to return */
    jr__buf payload;              /* decompressed records of the batch */
    uint64_t bfirst;              /* first seq of the loaded batch, 0 none */
    unsigned bcount;
    const unsigned char *p;       /* record of seq `pseq` in payload */
    uint64_t pseq;
    void *dctx;
    jr__dec dec;
    SL_DEBUG_ONLY(uint64_t dbg_next;)   /* R1: the seq next() must return */
};

int jr_reader_open(jr_reader **out, jr_journal *j, uint64_t from_seq,
                   jr_err *err)
{
    jr_reader *r = calloc(1, sizeof(*r));

    *out = NULL;
    if (r == NULL)
        return jr__err_oom(err);
    r->j = j;
    r->seq = from_seq ? from_seq : 1;
    SL_DEBUG_ONLY(r->dbg_next = r->seq;)
    *out = r;
    return JR_OK;
}

void jr_reader_close(jr_reader *r)
{
    if (r == NULL)
        return;
    jr__buf_free(&r->payload);
    jr__dctx_free(r->dctx);
    jr__dec_free(&r->dec);
    free(r);
}

void jr_reader_seek(jr_reader *r, uint64_t seq)
{
    r->seq = seq ? seq : 1;
    SL_DEBUG_ONLY(r->dbg_next = r->seq;)
}

/* Find and decompress the batch holding r->seq. */
static int load(jr_reader *r, jr_err *err)
{
    MDB_txn *txn;
    MDB_cursor *c;
    MDB_val k, v;
    unsigned char kb[8];
    uint64_t nk = 0, pk = 0, head = 0;
    jr__batch_hdr h;
    int ret, rc;

    r->bfirst = 0;
    if ((ret = jr__txn_begin(r->j, MDB_RDONLY, &txn, err)) != JR_OK)
        return ret;
    if ((rc = mdb_cursor_open(txn, r->j->dbi_log, &c)) != 0) {
        mdb_txn_abort(txn);
        return jr__err_mdb(err, rc, "mdb_cursor_open");
    }
    jr__put_be64(kb, r->seq);
    k.mv_size = 8;
    k.mv_data = kb;
    rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    if (rc == 0)
        nk = jr__get_be64(k.mv_data);
    if (rc == 0 && nk == r->seq) {
        pk = nk;
    } else if (rc == 0 || rc == MDB_NOTFOUND) {
        rc = mdb_cursor_get(c, &k, &v, rc == 0 ? MDB_PREV : MDB_LAST);
        if (rc == 0)
            pk = jr__get_be64(k.mv_data);
        else if (rc != MDB_NOTFOUND)
            goto mdb_fail;
    } else {
        goto mdb_fail;
    }
    if (pk == 0) {                       /* nothing at or before seq */
        if (nk != 0)
            ret = JR_ENOTFOUND;          /* pruned */
        else if ((ret = jr__meta_u64(txn, r->j, JR_META_HEAD, &head,
                                     err)) == JR_OK)
            ret = head >= r->seq ? JR_ENOTFOUND : JR_EAGAIN;
        goto out;
    }
    if ((ret = jr__batch_verify(v.mv_data, v.mv_size, pk, &h, err)))
        goto out;
    if (pk + h.count <= r->seq) {        /* batch ends before seq */
        if (nk == 0 && (ret = jr__meta_u64(txn, r->j, JR_META_HEAD, &head,
                                           err)) != JR_OK)
            goto out;
        if (nk == 0 && head >= r->seq)
            ret = jr_err_set(err, JR_ECORRUPT, 0, JR_D_NONE, 0,
                             "jr_reader_next",
                             "seq %llu: missing from the journal (committed "
                             "head is %llu, the last stored batch ends at "
                             "%llu)", (unsigned long long)r->seq,
                             (unsigned long long)head,
                             (unsigned long long)(pk + h.count - 1));
        else if (nk != 0)
            ret = jr_err_set(err, JR_ECORRUPT, 0, JR_D_NONE, 0,
                             "jr_reader_next",
                             "seq %llu: missing from the journal (batch at "
                             "%llu holds %u records, next batch starts at "
                             "%llu)", (unsigned long long)r->seq,
                             (unsigned long long)pk, h.count,
                             (unsigned long long)nk);
        else
            ret = JR_EAGAIN;
        goto out;
    }
    ret = jr__batch_payload(v.mv_data, &h, &r->payload, &r->dctx, pk, err);
    jr__note_read(r->j, v.mv_data, v.mv_size);
    if (ret == JR_OK) {
        r->bfirst = pk;
        r->bcount = h.count;
        r->p = r->payload.p;
        r->pseq = pk;
    }
    goto out;
mdb_fail:
    ret = jr__err_mdb(err, rc, "mdb_cursor_get");
out:
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    return ret;
}

/* Advance r->p over one record without decoding it. */
static int skip_one(jr_reader *r, jr_err *err)
{
    const unsigned char *p = r->p, *end = r->payload.p + r->payload.len;
    uint64_t body;

    if (end - p < 4)
        return jr_err_set(err, JR_ECORRUPT, 0, JR_D_NONE, 0, "jr_reader_next",
                          "seq %llu: truncated record",
                          (unsigned long long)r->pseq);
    body = jr__get_le32(p);
    p += 4;
    if (body > (uint64_t)(end - p))
        return jr_err_set(err, JR_ECORRUPT, 0, JR_D_NONE, 0, "jr_reader_next",
                          "seq %llu: malformed record length",
                          (unsigned long long)r->pseq);
    r->p = p + body;
    r->pseq++;
    return JR_OK;
}

int jr_reader_next(jr_reader *r, jr_entry *e, jr_err *err)
{
    int ret;

    SL_CHECK(r->seq == r->dbg_next);              /* R1: no skip */
    if (r->bfirst == 0 || r->seq < r->bfirst ||
        r->seq >= r->bfirst + r->bcount) {
        if ((ret = load(r, err)) != JR_OK)
            return ret;
    }
    /* LOADED: the batch holds seq (R1), its payload is there (R2) */
    SL_CHECK(r->bfirst != 0 && r->bfirst <= r->seq &&
             r->seq < r->bfirst + r->bcount && r->payload.len > 0);
    if (r->pseq > r->seq) {              /* seek backwards in the batch */
        r->p = r->payload.p;
        r->pseq = r->bfirst;
    }
    while (r->pseq < r->seq)
        if ((ret = skip_one(r, err)) != JR_OK)
            return ret;
    SL_CHECK(r->pseq == r->seq && r->p >= r->payload.p &&
             r->p <= r->payload.p + r->payload.len);
    memset(e, 0, sizeof(*e));
    e->seq = r->seq;
    ret = jr__rec_decode(&r->dec, &r->p, r->payload.p + r->payload.len, e,
                         err);
    if (ret != JR_OK) {
        r->bfirst = 0;
        return ret;
    }
    SL_CHECK(e->seq == r->seq && e->group >= 1 && e->group <= e->seq);
    r->pseq++;
    r->seq++;
    SL_DEBUG_ONLY(r->dbg_next = r->seq;)
    return JR_OK;
}
