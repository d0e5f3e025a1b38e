/*
** replica.c -- named acknowledgement positions and retention.
**
** DBI "replicas": name -> 16 bytes (u64 applied seq, i64 time of the report in µs).
**
** INVARIANTS:
**  (P1) an ack never moves backwards.
**  (P2) prune deletes only whole batches whose last seq is <= the minimum
**       applied seq over ALL registered replicas, oldest first, so the log
**       stays a dense range [first_seq, head_seq]. No replica: no prune.
**  (P3) prune works in bounded transactions (BATCHES_PER_TXN), so it never
**       grows an LMDB transaction without bound.
*/
#include <string.h>

#include "jr_internal.h"

#define BATCHES_PER_TXN 4096

static int check_name(const char *name, jr_err *err)
{
    size_t n = strlen(name);

    if (n == 0 || n > 63 || strspn(name, "abcdefghijklmnopqrstuvwxyz"
                                          "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                          "0123456789_.-") != n)
        return jr_err_set(err, JR_ERR, 0, JR_D_NONE, 0, "replica",
                          "invalid replica name '%s': use 1-63 characters "
                          "of A-Z a-z 0-9 _ . -", name);
    return JR_OK;
}

/* Shared body of register and ack: set (name -> seq) unless it would move
** an existing ack backwards (or, with only_new, if it exists at all). */
static int put_ack(jr_journal *j, const char *name, uint64_t seq,
                   int only_new, jr_err *err)
{
    MDB_txn *txn;
    MDB_val k = { strlen(name), (void *)name }, v;
    unsigned char b[16];
    int ret, rc;

    if ((ret = check_name(name, err)) != JR_OK ||
        (ret = jr__txn_begin(j, 0, &txn, err)) != JR_OK)
        return ret;
    rc = mdb_get(txn, j->dbi_replicas, &k, &v);
    if (rc == 0 && (only_new || (v.mv_size == 16 &&
                                 jr__get_le64(v.mv_data) >= seq))) {
        mdb_txn_abort(txn);
        return JR_OK;
    }
    if (rc != 0 && rc != MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return jr__err_mdb(err, rc, "mdb_get");
    }
    jr__put_le64(b, seq);
    jr__put_le64(b + 8, (uint64_t)sl_now_us());
    v.mv_size = 16;
    v.mv_data = b;
    if ((rc = mdb_put(txn, j->dbi_replicas, &k, &v, 0)) != 0) {
        mdb_txn_abort(txn);
        return jr__err_mdb(err, rc, "mdb_put");
    }
    rc = mdb_txn_commit(txn);
    return rc ? jr__err_mdb(err, rc, "mdb_txn_commit") : JR_OK;
}

int jr_replica_register(jr_journal *j, const char *name, jr_err *err)
{
    return put_ack(j, name, 0, 1, err);
}

int jr_replica_ack(jr_journal *j, const char *name, uint64_t seq,
                   jr_err *err)
{
    return put_ack(j, name, seq, 0, err);
}

int jr_replica_unregister(jr_journal *j, const char *name, jr_err *err)
{
    MDB_txn *txn;
    MDB_val k = { strlen(name), (void *)name };
    int ret, rc;

    if (name[0] == 0)
        return JR_ENOTFOUND;
    if ((ret = jr__txn_begin(j, 0, &txn, err)) != JR_OK)
        return ret;
    rc = mdb_del(txn, j->dbi_replicas, &k, NULL);
    if (rc == MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return JR_ENOTFOUND;
    }
    if (rc != 0) {
        mdb_txn_abort(txn);
        return jr__err_mdb(err, rc, "mdb_del");
    }
    rc = mdb_txn_commit(txn);
    return rc ? jr__err_mdb(err, rc, "mdb_txn_commit") : JR_OK;
}

/* Walk the replicas of txn; fill out[] (up to cap) and the minimum ack. */
static int scan(jr_journal *j, MDB_txn *txn, jr_replica *out, uint32_t cap,
                uint32_t *n, uint64_t *min_ack, jr_err *err)
{
    MDB_cursor *c;
    MDB_val k, v;
    int rc = mdb_cursor_open(txn, j->dbi_replicas, &c);
    uint32_t cnt = 0;

    *min_ack = UINT64_MAX;
    if (rc != 0)
        return jr__err_mdb(err, rc, "mdb_cursor_open");
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        uint64_t seq = v.mv_size == 16 ? jr__get_le64(v.mv_data) : 0;
        if (seq < *min_ack)
            *min_ack = seq;
        if (out != NULL && cnt < cap) {
            size_t l = k.mv_size < 63 ? k.mv_size : 63;
            memcpy(out[cnt].name, k.mv_data, l);
            out[cnt].name[l] = 0;
            out[cnt].applied_seq = seq;
            out[cnt].applied_time_us = v.mv_size == 16
                ? (int64_t)jr__get_le64((unsigned char *)v.mv_data + 8) : 0;
        }
        cnt++;
    }
    mdb_cursor_close(c);
    if (n != NULL)
        *n = cnt;
    if (rc != MDB_NOTFOUND)
        return jr__err_mdb(err, rc, "mdb_cursor_get");
    return JR_OK;
}

int jr_replica_list(jr_journal *j, jr_replica *out, uint32_t cap,
                    uint32_t *n, jr_err *err)
{
    MDB_txn *txn;
    uint64_t min_ack;
    int ret;

    if ((ret = jr__txn_begin(j, MDB_RDONLY, &txn, err)) != JR_OK)
        return ret;
    ret = scan(j, txn, out, cap, n, &min_ack, err);
    mdb_txn_abort(txn);
    return ret;
}

/* Delete up to BATCHES_PER_TXN prunable batches; *more says whether the
** limit stopped it. */
static int prune_some(jr_journal *j, int64_t cutoff_us, uint64_t *pruned,
                      int *more, jr_err *err)
{
    MDB_txn *txn;
    MDB_cursor *c = NULL;
    MDB_val k, v;
    uint64_t min_ack, stored, freed = 0;
    uint32_t nrep, nb = 0;
    int ret, rc;

    *more = 0;
    if ((ret = jr__txn_begin(j, 0, &txn, err)) != JR_OK)
        return ret;
    if ((ret = scan(j, txn, NULL, 0, &nrep, &min_ack, err)) != JR_OK ||
        (ret = jr__meta_u64(txn, j, "stored_bytes", &stored, err)))
        goto out;
    if (nrep == 0)
        goto out;
    if ((rc = mdb_cursor_open(txn, j->dbi_log, &c)) != 0) {
        ret = jr__err_mdb(err, rc, "mdb_cursor_open");
        goto out;
    }
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_FIRST)) {
        const unsigned char *h = v.mv_data;
        uint64_t first = jr__get_be64(k.mv_data);
        unsigned count;

        if (v.mv_size < JR_BATCH_HDR)
            break;                      /* check reports it; never delete */
        count = (unsigned)h[6] | (unsigned)h[7] << 8;
        if (first + count - 1 > min_ack ||
            (int64_t)jr__get_le64(h + 24) > cutoff_us)
            break;
        if (nb == BATCHES_PER_TXN) {
            *more = 1;
            break;
        }
        freed += v.mv_size;
        if ((rc = mdb_cursor_del(c, 0)) != 0)
            break;
        *pruned += count;
        nb++;
    }
    if (rc != 0 && rc != MDB_NOTFOUND) {
        ret = jr__err_mdb(err, rc, "mdb_cursor_del");
        goto out;
    }
    mdb_cursor_close(c);
    c = NULL;
    if (nb == 0)
        goto out;
    if ((ret = jr__meta_put_u64(txn, j, "stored_bytes",
                                stored > freed ? stored - freed : 0, err)))
        goto out;
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc != 0)
        ret = jr__err_mdb(err, rc, "mdb_txn_commit");
out:
    if (c != NULL)
        mdb_cursor_close(c);
    if (txn != NULL)
        mdb_txn_abort(txn);
    return ret;
}

/* One more (tiny) write transaction: LMDB hands pages freed by
** transaction N out again only from transaction N + 2, so without it the
** writer's next commit after a prune could still find the map full. */
static int touch(jr_journal *j, jr_err *err)
{
    MDB_txn *txn;
    uint64_t v;
    int ret, rc;

    if ((ret = jr__txn_begin(j, 0, &txn, err)) != JR_OK)
        return ret;
    if ((ret = jr__meta_u64(txn, j, "stored_bytes", &v, err)) != JR_OK ||
        (ret = jr__meta_put_u64(txn, j, "stored_bytes", v, err)) != JR_OK) {
        mdb_txn_abort(txn);
        return ret;
    }
    rc = mdb_txn_commit(txn);
    return rc ? jr__err_mdb(err, rc, "mdb_txn_commit") : JR_OK;
}

int jr_journal_prune(jr_journal *j, int64_t retention_s, uint64_t *pruned,
                     jr_err *err)
{
    int64_t cutoff = sl_now_us() - (retention_s > 0 ? retention_s : 0) *
                                    1000000;
    uint64_t total = 0;
    int more = 1, ret = JR_OK;

    if (j->read_only)
        return jr_err_set(err, JR_ERR, 0, JR_D_NONE, 0, "jr_journal_prune",
                          "journal %s was opened read-only", j->dir);
    while (more && ret == JR_OK)
        ret = prune_some(j, cutoff, &total, &more, err);
    if (ret == JR_OK && total > 0)
        ret = touch(j, err);
    if (pruned != NULL)
        *pruned = total;
    return ret;
}
