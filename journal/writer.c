/*
** writer.c -- append side of the journal.
**
** Records are encoded into a raw batch buffer as they are appended; a full
** batch is sealed (compressed, checksummed) and kept in memory until
** jr_writer_commit() writes every sealed batch, the metadata and the
** source position in ONE LMDB write transaction. Nothing touches LMDB
** before commit, so a commit that hits the map size can be retried after
** growing the map (or, at the cap, after pruning) without losing anything.
** The last appended record always stays in the raw (unsealed) buffer, so
** jr_writer_end_group() can still flag it.
**
** INVARIANTS (checked by writer_check() in SLUICE_DEBUG builds, at the
** entry and exit of every public function; W1's batch contiguity also by
** an SL_ASSERT before each mdb_put, in every build):
**  (W1) seqs are dense and strictly increasing: next_seq == head + 1 +
**       pending, the sealed batches and the raw buffer holding exactly
**       head+1 .. next_seq-1 in order; a commit verifies that the stored
**       head is still the one this writer started from.
**  (W2) a batch is complete and checksummed before mdb_put(); readers see
**       it only after mdb_txn_commit() returns 0 (durable: no MDB_NOSYNC).
**  (W3) the source position is written in the SAME transaction as the
**       records it accounts for.
**  (W4) after a failed commit other than JR_EFULL, state == POISONED
**       (sticky) until jr_writer_close().
**  (W5) only one writer per journal: DIR/writer.lock is flock()ed.
**  (W6) meta complete_seq is the last committed seq that ends a group;
**       open_group is the first seq of a group left open by the last
**       commit (0 if none). A writer that finds an open group at start
**       closes it with a JR_K_ABORT record.
** STATES: OPEN -> POISONED -> (close). Only jr_writer_commit() poisons;
**       nothing leaves POISONED but jr_writer_close().
*/
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "jr_internal.h"

#define META_OPEN_GROUP "open_group"
#define META_STORED     "stored_bytes"

enum { WR_OPEN, WR_POISONED };

typedef struct schema_op {
    char *table;
    void *aux;           /* NULL with drop */
    size_t len;
    int drop;
} schema_op;

struct jr_writer {
    jr_journal *j;
    int lock_fd;
    int state;
    int cap_recorded;         /* JR_META_MAP_MAX written by this writer */
    uint64_t over_cap;        /* may grow this far past the cap (ABORT) */
    jr_writer_opts o;

    uint64_t head;            /* last committed seq */
    uint64_t complete;        /* last committed seq ending a group */
    uint64_t open_group;      /* committed open group start, 0 if none */
    uint64_t next_seq;
    uint64_t group_start;     /* current group's first seq, 0 if none */
    uint64_t pend_complete;   /* last pending seq ending a group, or 0 */

    jr__buf raw;              /* unsealed records */
    unsigned raw_count;
    uint64_t raw_first;
    size_t last_off;          /* offset of last record in raw */

    jr__buf *sealed;          /* sealed batches awaiting commit */
    size_t nsealed, sealed_cap;
    uint64_t sealed_bytes;

    schema_op *ops;
    size_t nops, ops_cap;

    void *cctx;
};

#ifdef SLUICE_DEBUG
/* W1, W6 and the state machine, from the writer's own fields. */
static void writer_check(const jr_writer *w)
{
    uint64_t next = w->head + 1;

    SL_CHECK(w->state == WR_OPEN || w->state == WR_POISONED);
    SL_CHECK(w->complete <= w->head);                           /* W6 */
    SL_CHECK((w->open_group == 0) == (w->complete == w->head)); /* W6 */
    SL_CHECK(w->open_group == 0 || (w->open_group > w->complete &&
                                    w->open_group <= w->head));
    for (size_t i = 0; i < w->nsealed; i++) {                   /* W1 */
        const unsigned char *h = w->sealed[i].p;
        SL_CHECK(w->sealed[i].len >= JR_BATCH_HDR);
        SL_CHECK(jr__get_le64(h + 8) == next);
        next += (unsigned)h[6] | (unsigned)h[7] << 8;
    }
    SL_CHECK(w->raw_count == 0 ? w->raw.len == 0 : w->raw_first == next);
    next += w->raw_count;
    SL_CHECK(next == w->next_seq);                              /* W1 */
    SL_CHECK(w->group_start == 0 || (w->group_start > w->complete &&
                                     w->group_start < w->next_seq));
    SL_CHECK(w->pend_complete == 0 || (w->pend_complete > w->head &&
                                       w->pend_complete < w->next_seq));
    SL_CHECK(w->nops == 0 || w->next_seq > w->head + 1);
}
#define WRITER_CHECK(w) writer_check(w)
#else
#define WRITER_CHECK(w) ((void)0)
#endif

static void free_pending(jr_writer *w)
{
    for (size_t i = 0; i < w->nsealed; i++)
        jr__buf_free(&w->sealed[i]);
    w->nsealed = 0;
    w->sealed_bytes = 0;
    w->raw.len = 0;
    w->raw_count = 0;
    for (size_t i = 0; i < w->nops; i++) {
        free(w->ops[i].table);
        free(w->ops[i].aux);
    }
    w->nops = 0;
    w->pend_complete = 0;
}

void jr_writer_rollback(jr_writer *w)
{
    free_pending(w);
    w->next_seq = w->head + 1;
    w->group_start = w->open_group;
    WRITER_CHECK(w);
}

void jr_writer_close(jr_writer *w)
{
    if (w == NULL)
        return;
    free_pending(w);
    jr__buf_free(&w->raw);
    free(w->sealed);
    free(w->ops);
    jr__cctx_free(w->cctx);
    if (w->lock_fd >= 0)
        close(w->lock_fd);              /* releases the flock */
    if (w->j != NULL)
        w->j->writer = NULL;
    free(w);
}

uint64_t jr_writer_next_seq(const jr_writer *w)
{
    return w->next_seq;
}

uint32_t jr_writer_pending(const jr_writer *w)
{
    return (uint32_t)(w->next_seq - w->head - 1);
}

uint64_t jr_writer_pending_bytes(const jr_writer *w)
{
    return w->sealed_bytes + w->raw.len;
}

static int take_lock(jr_writer *w, jr_err *err)
{
    char path[4096], pid[32];
    int n;

    snprintf(path, sizeof(path), "%s/writer.lock", w->j->dir);
    w->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (w->lock_fd < 0)
        return jr_err_set(err, JR_ERR, 0, JR_D_ERRNO, errno, "open",
                          "cannot open %s: %s", path, strerror(errno));
    if (flock(w->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char holder[32] = "?";
        ssize_t r = pread(w->lock_fd, holder, sizeof(holder) - 1, 0);
        if (r > 0) {
            holder[r] = 0;
            holder[strcspn(holder, "\n")] = 0;
        }
        if (e == EWOULDBLOCK)
            return jr_err_set(err, JR_EBUSY, 0, JR_D_ERRNO, e, "flock",
                              "journal %s is already being written by "
                              "process %s; run one writer per journal",
                              w->j->dir, holder);
        return jr_err_set(err, JR_ERR, 0, JR_D_ERRNO, e, "flock",
                          "cannot lock %s: %s",
                          path, strerror(e));
    }
    n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(w->lock_fd, 0) != 0 || pwrite(w->lock_fd, pid, n, 0) < 0)
        return jr_err_set(err, JR_ERR, 0, JR_D_ERRNO, errno, "pwrite",
                          "cannot write %s: %s", path, strerror(errno));
    return JR_OK;
}

static int load_state(jr_writer *w, jr_err *err)
{
    MDB_txn *txn;
    int ret;

    if ((ret = jr__txn_begin(w->j, MDB_RDONLY, &txn, err)) != JR_OK)
        return ret;
    if ((ret = jr__meta_u64(txn, w->j, JR_META_HEAD, &w->head, err)) ||
        (ret = jr__meta_u64(txn, w->j, JR_META_COMPLETE, &w->complete,
                            err)) ||
        (ret = jr__meta_u64(txn, w->j, META_OPEN_GROUP, &w->open_group,
                            err))) {
        mdb_txn_abort(txn);
        return ret;
    }
    mdb_txn_abort(txn);
    if (w->open_group == 0 && w->head != w->complete)
        return jr_err_set(err, JR_ECORRUPT, 0, JR_D_NONE, 0, "jr_writer_open",
                          "journal %s: head seq %llu but last complete group "
                          "ends at %llu with no open group recorded",
                          w->j->dir, (unsigned long long)w->head,
                          (unsigned long long)w->complete);
    if (w->complete > w->head ||
        (w->open_group != 0 && (w->open_group <= w->complete ||
                                w->open_group > w->head)))
        return jr_err_set(err, JR_ECORRUPT, 0, JR_D_NONE, 0, "jr_writer_open",
                          "journal %s: open group %llu does not lie between "
                          "the last complete group (%llu) and the head (%llu)",
                          w->j->dir, (unsigned long long)w->open_group,
                          (unsigned long long)w->complete,
                          (unsigned long long)w->head);
    w->next_seq = w->head + 1;
    w->group_start = w->open_group;
    return JR_OK;
}

int jr_writer_open(jr_writer **out, jr_journal *j,
                   const jr_writer_opts *o, jr_err *err)
{
    jr_writer_opts def = JR_WRITER_OPTS_INIT;
    jr_writer *w;
    int ret;

    *out = NULL;
    if (j->read_only)
        return jr_err_set(err, JR_ERR, 0, JR_D_NONE, 0, "jr_writer_open",
                          "journal %s was opened read-only", j->dir);
    if (j->writer != NULL)
        return jr_err_set(err, JR_EBUSY, 0, JR_D_NONE, 0, "jr_writer_open",
                          "this process already writes journal %s", j->dir);
    w = calloc(1, sizeof(*w));
    if (w == NULL)
        return jr__err_oom(err);
    w->j = j;
    w->lock_fd = -1;
    w->o = o ? *o : def;
    if (w->o.batch_records == 0)
        w->o.batch_records = 256;
    if (w->o.batch_records > 65535)
        w->o.batch_records = 65535;
    if (w->o.batch_bytes == 0)
        w->o.batch_bytes = 256 * 1024;
    if ((ret = take_lock(w, err)) != JR_OK ||
        (ret = load_state(w, err)) != JR_OK)
        goto fail;
    j->writer = w;
    j->writer_close = jr_writer_close;
    WRITER_CHECK(w);
    if (w->open_group != 0) {
        /* a previous writer died inside a group: close it as aborted */
        jr_record abort_rec;
        memset(&abort_rec, 0, sizeof(abort_rec));
        abort_rec.kind = JR_K_ABORT;
        abort_rec.table = "";
        abort_rec.time_us = sl_now_us();
        if ((ret = jr_writer_append(w, &abort_rec, 1, NULL, err)) != 0)
            goto fail;
        ret = jr_writer_commit(w, NULL, 0, err);
        if (ret == JR_EFULL) {
            /* the group died because the journal was full: a few pages
            ** past the cap close it, or nothing could ever follow it */
            jr_err_clear(err);
            w->over_cap = 4ull << 20;
            ret = jr_writer_commit(w, NULL, 0, err);
            w->over_cap = 0;
        }
        if (ret != JR_OK)
            goto fail;
    }
    WRITER_CHECK(w);
    *out = w;
    return JR_OK;
fail:
    jr_writer_close(w);
    return ret;
}

static int seal(jr_writer *w, jr_err *err)
{
    jr__buf b = { 0 };
    int ret;

    if (w->raw_count == 0)
        return JR_OK;
    if (w->nsealed == w->sealed_cap) {
        size_t cap = w->sealed_cap ? w->sealed_cap * 2 : 16;
        jr__buf *p = realloc(w->sealed, cap * sizeof(*p));
        if (p == NULL)
            return jr__err_oom(err);
        w->sealed = p;
        w->sealed_cap = cap;
    }
    ret = jr__batch_build(&b, w->raw.p, w->raw.len, w->raw_count,
                          w->raw_first, sl_now_us(),
                          w->o.zstd_level < 0 ? -1 : w->o.zstd_level,
                          &w->cctx, err);
    if (ret != JR_OK) {
        jr__buf_free(&b);
        return ret;
    }
    w->sealed_bytes += b.len;
    w->sealed[w->nsealed++] = b;
    w->raw.len = 0;
    w->raw_count = 0;
    return JR_OK;
}

static int remember_schema(jr_writer *w, const jr_record *rec, jr_err *err)
{
    schema_op *op;

    if (rec->kind != JR_K_SCHEMA && rec->kind != JR_K_DROP)
        return JR_OK;
    if (rec->table == NULL || rec->table[0] == 0)
        return jr_err_set(err, JR_ERR, 0, JR_D_NONE, 0, "jr_writer_append",
                          "%s record without a table name",
                          jr_kind_name(rec->kind));
    if (w->nops == w->ops_cap) {
        size_t cap = w->ops_cap ? w->ops_cap * 2 : 8;
        schema_op *p = realloc(w->ops, cap * sizeof(*p));
        if (p == NULL)
            return jr__err_oom(err);
        w->ops = p;
        w->ops_cap = cap;
    }
    op = &w->ops[w->nops];
    memset(op, 0, sizeof(*op));
    op->drop = rec->kind == JR_K_DROP;
    op->table = strdup(rec->table);
    if (!op->drop) {
        op->len = rec->aux_len;
        op->aux = malloc(rec->aux_len ? rec->aux_len : 1);
        if (op->aux != NULL && rec->aux_len)
            memcpy(op->aux, rec->aux, rec->aux_len);
    }
    if (op->table == NULL || (!op->drop && op->aux == NULL)) {
        free(op->table);
        free(op->aux);
        return jr__err_oom(err);
    }
    w->nops++;
    return JR_OK;
}

int jr_writer_append(jr_writer *w, const jr_record *rec, int group_end,
                     uint64_t *seq, jr_err *err)
{
    uint64_t s = w->next_seq, gs;
    size_t off;
    int ret;

    if (w->state == WR_POISONED)
        return jr_err_set(err, JR_EPOISONED, 0, JR_D_NONE, 0,
                          "jr_writer_append",
                          "journal writer is poisoned by an earlier failure; "
                          "close and reopen it");
    WRITER_CHECK(w);
    if (w->raw_count >= w->o.batch_records ||
        w->raw.len >= w->o.batch_bytes) {
        if ((ret = seal(w, err)) != JR_OK)
            return ret;
    }
    gs = w->group_start ? w->group_start : s;
    off = w->raw.len;
    ret = jr__rec_encode(&w->raw, rec, s - gs, group_end, err);
    if (ret != JR_OK) {
        w->raw.len = off;
        return ret;
    }
    if ((ret = remember_schema(w, rec, err)) != JR_OK) {
        w->raw.len = off;
        return ret;
    }
    if (w->raw_count++ == 0)
        w->raw_first = s;
    w->last_off = off;
    w->next_seq = s + 1;
    if (group_end) {
        w->group_start = 0;
        w->pend_complete = s;
    } else {
        w->group_start = gs;
    }
    if (seq != NULL)
        *seq = s;
    WRITER_CHECK(w);
    return JR_OK;
}

int jr_writer_end_group(jr_writer *w, jr_err *err)
{
    unsigned char *p;

    if (w->state == WR_POISONED)
        return jr_err_set(err, JR_EPOISONED, 0, JR_D_NONE, 0,
                          "jr_writer_end_group",
                          "journal writer is poisoned");
    if (w->raw_count == 0)
        return JR_ENOTFOUND;
    p = w->raw.p + w->last_off + 4;     /* past the u32 body length */
    p[1] |= JR_REC_F_GROUP_END;         /* kind, then flags */
    w->group_start = 0;
    w->pend_complete = w->next_seq - 1;
    WRITER_CHECK(w);
    return JR_OK;
}

static int grow_map(jr_writer *w, jr_err *err)
{
    MDB_envinfo ei;
    uint64_t cur, want;
    int rc;

    mdb_env_info(w->j->env, &ei);
    cur = ei.me_mapsize;
    if (cur >= w->j->map_max + w->over_cap)
        return jr_err_set(err, JR_EFULL, 0, JR_D_LMDB, MDB_MAP_FULL, "mdb_put",
                          "journal %s is full (map cap %llu bytes reached): "
                          "waiting for replicas to acknowledge so old "
                          "records can be pruned", w->j->dir,
                          (unsigned long long)w->j->map_max);
    want = cur * 2;
    if (want - cur > 1024ull * 1024 * 1024)
        want = cur + 1024ull * 1024 * 1024;
    if (want < cur + 2 * w->sealed_bytes)
        want = cur + 2 * w->sealed_bytes;
    if (want > w->j->map_max + w->over_cap)
        want = w->j->map_max + w->over_cap;
    rc = mdb_env_set_mapsize(w->j->env, want);
    return rc ? jr__err_mdb(err, rc, "mdb_env_set_mapsize") : JR_OK;
}

static int put_schema_ops(jr_writer *w, MDB_txn *txn)
{
    for (size_t i = 0; i < w->nops; i++) {
        MDB_val k = { strlen(w->ops[i].table), w->ops[i].table };
        MDB_val v = { w->ops[i].len, w->ops[i].aux };
        int rc = w->ops[i].drop ? mdb_del(txn, w->j->dbi_tables, &k, NULL)
                                : mdb_put(txn, w->j->dbi_tables, &k, &v, 0);
        if (rc != 0 && rc != MDB_NOTFOUND)
            return rc;
    }
    return 0;
}

static int put_u64(MDB_txn *txn, jr_journal *j, const char *key,
                   uint64_t val)
{
    unsigned char b[8];
    MDB_val k = { strlen(key), (void *)key }, v = { 8, b };

    jr__put_le64(b, val);
    return mdb_put(txn, j->dbi_meta, &k, &v, 0);
}

/* One attempt: every pending batch + metadata in one transaction. */
static int commit_once(jr_writer *w, const void *pos, size_t pos_len,
                       int *mdb_rc, jr_err *err)
{
    jr_journal *j = w->j;
    MDB_txn *txn;
    uint64_t head, stored, last = w->next_seq - 1;
    uint64_t complete = w->pend_complete ? w->pend_complete : w->complete;
    uint64_t open_group = w->group_start, next;
    int ret, rc = 0;

    *mdb_rc = 0;
    if ((ret = jr__txn_begin(j, 0, &txn, err)) != JR_OK)
        return ret;
    if ((ret = jr__meta_u64(txn, j, JR_META_HEAD, &head, err)) ||
        (ret = jr__meta_u64(txn, j, META_STORED, &stored, err)))
        goto out;
    next = head + 1;
    if (head != w->head) {
        ret = jr_err_set(err, JR_ERR, 0, JR_D_NONE, 0, "jr_writer_commit",
                         "journal %s head moved from %llu to %llu under this "
                         "writer: another writer bypassed the lock",
                         j->dir, (unsigned long long)w->head,
                         (unsigned long long)head);
        goto out;
    }
    SL_CHECK(w->raw_count == 0);            /* sealed by the caller */
    for (size_t i = 0; i < w->nsealed && rc == 0; i++) {
        unsigned char kb[8];
        MDB_val k = { 8, kb }, v = { w->sealed[i].len, w->sealed[i].p };
        uint64_t first = jr__get_le64(w->sealed[i].p + 8);
        /* W1, in every build: batches go in whole, dense, in order */
        SL_ASSERT(first == next);
        SL_CHECK(jr__batch_verify(w->sealed[i].p, w->sealed[i].len, first,
                                  &(jr__batch_hdr){ 0 }, NULL) == JR_OK);
        next += (unsigned)w->sealed[i].p[6] |
                (unsigned)w->sealed[i].p[7] << 8;
        jr__put_be64(kb, first);
        rc = mdb_put(txn, j->dbi_log, &k, &v, MDB_APPEND);
    }
    SL_ASSERT(rc != 0 || next == last + 1);  /* W1: head+1 .. last */
    if (rc == 0)
        rc = put_schema_ops(w, txn);
    if (rc != 0) {
        *mdb_rc = rc;
        ret = jr__err_mdb(rc == MDB_MAP_FULL ? NULL : err, rc, "mdb_put");
        goto out;
    }
    if ((rc = put_u64(txn, j, JR_META_HEAD, last)) == 0 &&
        (rc = put_u64(txn, j, JR_META_COMPLETE, complete)) == 0 &&
        (rc = put_u64(txn, j, META_OPEN_GROUP, open_group)) == 0 &&
        (rc = put_u64(txn, j, META_STORED, stored + w->sealed_bytes)) == 0 &&
        (w->cap_recorded ||
         (rc = put_u64(txn, j, JR_META_MAP_MAX, j->map_max)) == 0) &&
        (rc = put_u64(txn, j, JR_META_HEAD_TIME,
                      (uint64_t)sl_now_us())) == 0 &&
        pos != NULL) {
        MDB_val k = { strlen(JR_META_POS), (void *)JR_META_POS };
        MDB_val v = { pos_len, (void *)pos };
        rc = mdb_put(txn, j->dbi_meta, &k, &v, 0);
    }
    if (rc != 0) {
        /* MDB_MAP_FULL is retried after growing the map: keep err clean */
        *mdb_rc = rc;
        ret = jr__err_mdb(rc == MDB_MAP_FULL ? NULL : err, rc, "mdb_put");
        goto out;
    }
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc != 0) {
        *mdb_rc = rc;
        ret = jr__err_mdb(rc == MDB_MAP_FULL ? NULL : err, rc,
                          "mdb_txn_commit");
        goto out;
    }
    w->head = last;
    w->complete = complete;
    w->open_group = open_group;
    w->cap_recorded = 1;
    free_pending(w);
out:
    if (txn != NULL)
        mdb_txn_abort(txn);
    return ret;
}

int jr_writer_commit(jr_writer *w, const void *pos, size_t pos_len,
                     jr_err *err)
{
    int ret, mdb_rc;

    if (w->state == WR_POISONED)
        return jr_err_set(err, JR_EPOISONED, 0, JR_D_NONE, 0,
                          "jr_writer_commit",
                          "journal writer is poisoned by an earlier failure; "
                          "close and reopen it");
    WRITER_CHECK(w);
    if ((ret = seal(w, err)) != JR_OK)
        return ret;                      /* nothing written: not poisoned */
    for (;;) {
        ret = commit_once(w, pos, pos_len, &mdb_rc, err);
        if (ret == JR_OK) {
            SL_CHECK(w->nsealed == 0 && w->raw_count == 0 &&
                     w->next_seq == w->head + 1);
            WRITER_CHECK(w);
            return JR_OK;
        }
        if (mdb_rc != MDB_MAP_FULL)
            break;
        if ((ret = grow_map(w, err)) != JR_OK)
            return ret;                  /* JR_EFULL keeps pending data */
    }
    w->state = WR_POISONED;
    return ret;
}
