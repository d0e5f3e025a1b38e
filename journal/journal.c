/*
** journal.c -- opening a journal directory and reading its metadata.
**
** An LMDB environment with four named databases:
**   meta      format version, journal UUID, source identity, head seq,
**             complete seq (last seq that ends a group), source position,
**             stored byte count
**   log       batches keyed by big-endian first seq (batch.c)
**   replicas  name -> applied seq and time (replica.c)
**   tables    table name -> latest schema record payload
**
** INVARIANTS:
**  (J1) a journal is created whole: its meta (format, UUID) is committed in
**       the same transaction that creates the databases.
**  (J2) a handle never holds a read transaction between calls, so a
**       process that stalls never pins pages the writer wants back.
**  (J3) reader slots of dead processes are cleared at every open.
**  (J4) a map grown by another process is adopted on the next transaction
**       (MDB_MAP_RESIZED), never an error.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jr_internal.h"

#define MIB (1024ull * 1024ull)
#define DEFAULT_MAP_INITIAL (64ull * MIB)
#define DEFAULT_MAP_MAX     (64ull * 1024ull * MIB)

int jr__txn_begin(jr_journal *j, unsigned flags, MDB_txn **txn, jr_err *err)
{
    int rc = mdb_txn_begin(j->env, NULL, flags, txn);
    if (rc == MDB_MAP_RESIZED) {
        rc = mdb_env_set_mapsize(j->env, 0);
        if (rc == 0)
            rc = mdb_txn_begin(j->env, NULL, flags, txn);
    }
    if (rc != 0) {
        *txn = NULL;
        return jr__err_mdb(err, rc, "mdb_txn_begin");
    }
    return JR_OK;
}

static int meta_get(MDB_txn *txn, jr_journal *j, const char *key,
                    MDB_val *v)
{
    MDB_val k = { strlen(key), (void *)key };
    return mdb_get(txn, j->dbi_meta, &k, v);
}

static int meta_put(MDB_txn *txn, jr_journal *j, const char *key,
                    const void *data, size_t len)
{
    MDB_val k = { strlen(key), (void *)key }, v = { len, (void *)data };
    return mdb_put(txn, j->dbi_meta, &k, &v, 0);
}

int jr__meta_u64(MDB_txn *txn, jr_journal *j, const char *key,
                 uint64_t *out, jr_err *err)
{
    MDB_val v;
    int rc = meta_get(txn, j, key, &v);

    *out = 0;
    if (rc == MDB_NOTFOUND)
        return JR_OK;
    if (rc != 0)
        return jr__err_mdb(err, rc, "mdb_get");
    if (v.mv_size != 8)
        return jr_err_set(err, JR_ECORRUPT, 0, JR_D_NONE, 0, "meta",
                          "journal metadata '%s' has size %zu, expected 8",
                          key, v.mv_size);
    *out = jr__get_le64(v.mv_data);
    return JR_OK;
}

int jr__meta_put_u64(MDB_txn *txn, jr_journal *j, const char *key,
                     uint64_t val, jr_err *err)
{
    unsigned char b[8];
    int rc;

    jr__put_le64(b, val);
    rc = meta_put(txn, j, key, b, 8);
    return rc ? jr__err_mdb(err, rc, "mdb_put") : JR_OK;
}

int jr__first_seq(MDB_txn *txn, jr_journal *j, uint64_t *seq, jr_err *err)
{
    MDB_cursor *c;
    MDB_val k, v;
    int rc = mdb_cursor_open(txn, j->dbi_log, &c);

    *seq = 0;
    if (rc != 0)
        return jr__err_mdb(err, rc, "mdb_cursor_open");
    rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    mdb_cursor_close(c);
    if (rc == MDB_NOTFOUND)
        return JR_OK;
    if (rc != 0)
        return jr__err_mdb(err, rc, "mdb_cursor_get");
    if (k.mv_size != 8)
        return jr_err_set(err, JR_ECORRUPT, 0, JR_D_NONE, 0, "log",
                          "log key of size %zu",
                          k.mv_size);
    *seq = jr__get_be64(k.mv_data);
    return JR_OK;
}

static int make_uuid(char out[37], jr_err *err)
{
    unsigned char b[16];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    ssize_t n = -1;

    if (fd >= 0) {
        n = read(fd, b, sizeof(b));
        close(fd);
    }
    if (n != (ssize_t)sizeof(b))
        return jr_err_set(err, JR_ERR, 0, JR_D_ERRNO, errno, "read",
                          "cannot read /dev/urandom: %s", strerror(errno));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);     /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);     /* RFC 4122 variant */
    snprintf(out, 37,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
             "%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
             b[10], b[11], b[12], b[13], b[14], b[15]);
    return JR_OK;
}

/* An environment with no named database at all (a journal mid-creation). */
static int env_is_empty(MDB_txn *txn)
{
    MDB_dbi main_dbi;
    MDB_stat ms;

    if (mdb_dbi_open(txn, NULL, 0, &main_dbi) != 0 ||
        mdb_stat(txn, main_dbi, &ms) != 0)
        return 0;
    return ms.ms_entries == 0;
}

/* Open (and with `create`, make) the databases; check the format. */
static int open_dbis(jr_journal *j, int create, jr_err *err)
{
    static const char *const names[4] = { "meta", "log", "replicas",
                                          "tables" };
    MDB_dbi *dbis[4] = { &j->dbi_meta, &j->dbi_log, &j->dbi_replicas,
                         &j->dbi_tables };
    MDB_txn *txn;
    MDB_val v;
    uint64_t fmt;
    int rc, ret;

    ret = jr__txn_begin(j, j->read_only ? MDB_RDONLY : 0, &txn, err);
    if (ret != JR_OK)
        return ret;
    for (int i = 0; i < 4; i++) {
        rc = mdb_dbi_open(txn, names[i], create ? MDB_CREATE : 0, dbis[i]);
        if (rc == MDB_NOTFOUND && i == 0 && env_is_empty(txn)) {
            /* no database at all yet: another process is creating this
            ** journal right now (or crashed doing so) */
            ret = jr_err_set(err, JR_ENOTFOUND, 0, JR_D_LMDB, rc,
                             "mdb_dbi_open",
                             "no journal in %s yet (the directory holds an "
                             "empty LMDB environment: is sluice-capture "
                             "creating it?)", j->dir);
            goto out;
        }
        if (rc == MDB_NOTFOUND) {
            ret = jr_err_set(err, JR_ECORRUPT, 0, JR_D_LMDB, rc,
                             "mdb_dbi_open",
                             "%s is an LMDB environment but not a sluice "
                             "journal (no '%s' database)", j->dir, names[i]);
            goto out;
        }
        if (rc != 0) {
            ret = jr__err_mdb(err, rc, "mdb_dbi_open");
            goto out;
        }
    }
    rc = meta_get(txn, j, JR_META_UUID, &v);
    if (rc == MDB_NOTFOUND && create) {
        char uuid[37];
        if ((ret = make_uuid(uuid, err)) != JR_OK ||
            (ret = jr__meta_put_u64(txn, j, JR_META_FORMAT,
                                    JR_FORMAT_VERSION, err)) != JR_OK)
            goto out;
        if ((rc = meta_put(txn, j, JR_META_UUID, uuid, 36)) != 0) {
            ret = jr__err_mdb(err, rc, "mdb_put");
            goto out;
        }
    } else if (rc != 0) {
        ret = rc == MDB_NOTFOUND
                  ? jr_err_set(err, JR_ECORRUPT, 0, JR_D_NONE, 0, "open",
                               "%s: journal has no UUID (not a sluice journal "
                               "or never initialised)", j->dir)
                  : jr__err_mdb(err, rc, "mdb_get");
        goto out;
    }
    if ((ret = jr__meta_u64(txn, j, JR_META_FORMAT, &fmt, err)) != JR_OK)
        goto out;
    if (fmt != JR_FORMAT_VERSION) {
        ret = jr_err_set(err, JR_ECORRUPT, 0, JR_D_NONE, 0, "open",
                         "%s: journal format version %llu is not supported "
                         "(this build reads version %u)", j->dir,
                         (unsigned long long)fmt, JR_FORMAT_VERSION);
        goto out;
    }
    /* commit even when read-only: it keeps the DBI handles open */
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc != 0)
        ret = jr__err_mdb(err, rc, "mdb_txn_commit");
out:
    if (txn != NULL)
        mdb_txn_abort(txn);
    return ret;
}

int jr_journal_open(jr_journal **out, const char *dir,
                    const jr_journal_opts *o, jr_err *err)
{
    jr_journal_opts def = JR_JOURNAL_OPTS_INIT;
    char path[4096];
    struct stat st;
    jr_journal *j;
    unsigned flags = MDB_NOTLS;
    int rc, ret, dead;

    *out = NULL;
    if (o == NULL)
        o = &def;
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    if (stat(path, &st) != 0) {
        if (!o->create || o->read_only)
            return jr_err_set(err, JR_ENOTFOUND, 0, JR_D_ERRNO, errno, "open",
                              "no journal in %s (%s/data.mdb: %s)", dir, dir,
                              strerror(errno));
        if (mkdir(dir, 0755) != 0 && errno != EEXIST)
            return jr_err_set(err, JR_ERR, 0, JR_D_ERRNO, errno, "mkdir",
                              "cannot create journal directory %s: %s", dir,
                              strerror(errno));
    }
    j = calloc(1, sizeof(*j));
    if (j == NULL || (j->dir = strdup(dir)) == NULL) {
        free(j);
        return jr__err_oom(err);
    }
    j->read_only = o->read_only;
    j->map_max = o->map_max ? o->map_max : DEFAULT_MAP_MAX;
    j->map_max_given = o->map_max != 0;
    if ((rc = mdb_env_create(&j->env)) != 0) {
        j->env = NULL;
        ret = jr__err_mdb(err, rc, "mdb_env_create");
        goto fail;
    }
    rc = mdb_env_set_maxdbs(j->env, 8);
    if (rc == 0)
        rc = mdb_env_set_mapsize(j->env, o->map_initial ? o->map_initial
                                 : DEFAULT_MAP_INITIAL < j->map_max
                                 ? DEFAULT_MAP_INITIAL : j->map_max);
    if (rc != 0) {
        ret = jr__err_mdb(err, rc, "mdb_env_set_mapsize");
        goto fail;
    }
    if (o->read_only)
        flags |= MDB_RDONLY;
    rc = mdb_env_open(j->env, dir, flags, 0644);
    if (rc != 0) {
        if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH)
            ret = jr_err_set(err, JR_ECORRUPT, 0, JR_D_LMDB, rc,
                             "mdb_env_open",
                             "%s does not hold a readable journal: %s", dir,
                             mdb_strerror(rc));
        else
            ret = jr_err_set(err, JR_ERR, 0, JR_D_LMDB, rc, "mdb_env_open",
                             "cannot open journal %s: %s", dir,
                             mdb_strerror(rc));
        goto fail;
    }
    mdb_reader_check(j->env, &dead);
    if (j->map_max_given && !o->read_only) {
        /* honour a cap below the map an earlier, larger configuration left
        ** (LMDB keeps the largest map size it was given; it rounds a
        ** smaller one up to the data already stored) */
        MDB_envinfo ei;
        mdb_env_info(j->env, &ei);
        if (ei.me_mapsize > j->map_max)
            mdb_env_set_mapsize(j->env, j->map_max);
    }
    ret = open_dbis(j, o->create && !o->read_only, err);
    if (ret != JR_OK)
        goto fail;
    *out = j;
    return JR_OK;
fail:
    jr_journal_close(j);
    return ret;
}

void jr_journal_close(jr_journal *j)
{
    if (j == NULL)
        return;
    if (j->writer != NULL && j->writer_close != NULL)
        j->writer_close(j->writer);
    if (j->env != NULL)
        mdb_env_close(j->env);
    free(j->dir);
    free(j);
}

void jr__note_read(jr_journal *j, const void *p, size_t n)
{
    uintptr_t lo = (uintptr_t)p, hi = lo + n;
    long pg = sysconf(_SC_PAGESIZE);

    (void)j;
    if (pg <= 0 || n < (size_t)pg)
        return;                          /* small values share leaf pages */
    /* the map is read-only (no MDB_WRITEMAP) and p lies in it right now
    ** (the caller's read transaction is still open): dropping these pages
    ** only makes a later read fault them in again from the page cache.
    ** Never a range built across calls: the map may move when it grows. */
    lo &= ~(uintptr_t)(pg - 1);
    hi = (hi + (uintptr_t)pg - 1) & ~(uintptr_t)(pg - 1);
    madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

uint64_t jr_journal_version(jr_journal *j)
{
    /* the id a NEW read transaction sees: mdb_env_info's me_last_txnid
    ** can run ahead of what readers can see yet (the meta page is written
    ** before the transaction is published), and a poller waiting on it
    ** would then sleep on data it cannot read */
    MDB_txn *txn;
    uint64_t id;

    if (jr__txn_begin(j, MDB_RDONLY, &txn, NULL) != JR_OK)
        return 0;
    id = (uint64_t)mdb_txn_id(txn);
    mdb_txn_abort(txn);
    return id;
}

static void copy_meta_str(MDB_txn *txn, jr_journal *j, const char *key,
                          char *out, size_t cap)
{
    MDB_val v;
    size_t n = 0;

    if (meta_get(txn, j, key, &v) == 0) {
        n = v.mv_size < cap - 1 ? v.mv_size : cap - 1;
        memcpy(out, v.mv_data, n);
    }
    out[n] = 0;
}

int jr_journal_info(jr_journal *j, jr_info *info, jr_err *err)
{
    MDB_txn *txn;
    MDB_stat ms;
    MDB_envinfo ei;
    MDB_cursor *c;
    MDB_val k, v;
    uint64_t ht;
    int ret, rc;

    memset(info, 0, sizeof(*info));
    if ((ret = jr__txn_begin(j, MDB_RDONLY, &txn, err)) != JR_OK)
        return ret;
    copy_meta_str(txn, j, JR_META_UUID, info->journal_uuid,
                  sizeof(info->journal_uuid));
    copy_meta_str(txn, j, JR_META_SOURCE, info->source_id,
                  sizeof(info->source_id));
    if ((ret = jr__meta_u64(txn, j, JR_META_HEAD, &info->head_seq, err)) ||
        (ret = jr__meta_u64(txn, j, JR_META_COMPLETE, &info->complete_seq,
                            err)) ||
        (ret = jr__meta_u64(txn, j, "stored_bytes", &info->stored_bytes,
                            err)) ||
        (ret = jr__first_seq(txn, j, &info->first_seq, err)))
        goto out;
    if ((rc = mdb_stat(txn, j->dbi_log, &ms)) != 0) {
        ret = jr__err_mdb(err, rc, "mdb_stat");
        goto out;
    }
    info->nbatches = ms.ms_entries;
    if ((rc = mdb_stat(txn, j->dbi_replicas, &ms)) != 0) {
        ret = jr__err_mdb(err, rc, "mdb_stat");
        goto out;
    }
    info->nreplicas = (uint32_t)ms.ms_entries;
    /* the last commit's time; journals written before that key existed
    ** have their last batch's seal time instead (none once fully pruned) */
    if ((ret = jr__meta_u64(txn, j, JR_META_HEAD_TIME, &ht, err)) != JR_OK)
        goto out;
    info->head_time_us = (int64_t)ht;
    if (ht == 0 && mdb_cursor_open(txn, j->dbi_log, &c) == 0) {
        if (mdb_cursor_get(c, &k, &v, MDB_LAST) == 0 &&
            v.mv_size >= JR_BATCH_HDR)
            info->head_time_us =
                (int64_t)jr__get_le64((unsigned char *)v.mv_data + 24);
        mdb_cursor_close(c);
    }
    mdb_env_info(j->env, &ei);
    mdb_env_stat(j->env, &ms);
    info->map_size = ei.me_mapsize;
    info->map_used = (uint64_t)(ei.me_last_pgno + 1) * ms.ms_psize;
    info->map_max = j->map_max;
    if (!j->map_max_given) {
        /* report the cap the writer runs with, not this handle's default */
        uint64_t rec = 0;
        if (jr__meta_u64(txn, j, JR_META_MAP_MAX, &rec, NULL) == JR_OK &&
            rec != 0)
            info->map_max = rec;
    }
out:
    mdb_txn_abort(txn);
    return ret;
}

int jr_journal_bind_source(jr_journal *j, const char *source_id,
                           jr_err *err)
{
    MDB_txn *txn;
    MDB_val v;
    size_t n = strlen(source_id);
    int ret, rc;

    if (n == 0 || n >= sizeof(((jr_info *)0)->source_id))
        return jr_err_set(err, JR_ERR, 0, JR_D_NONE, 0,
                          "jr_journal_bind_source",
                          "source identity must be 1..127 bytes");
    if ((ret = jr__txn_begin(j, 0, &txn, err)) != JR_OK)
        return ret;
    rc = meta_get(txn, j, JR_META_SOURCE, &v);
    if (rc == 0) {
        if (v.mv_size != n || memcmp(v.mv_data, source_id, n) != 0) {
            char have[128];
            copy_meta_str(txn, j, JR_META_SOURCE, have, sizeof(have));
            ret = jr_err_set(err, JR_EMISMATCH, 0, JR_D_NONE, 0,
                             "jr_journal_bind_source",
                             "journal %s belongs to source %s, not %s: use a "
                             "new journal directory for this source", j->dir,
                             have, source_id);
        }
        mdb_txn_abort(txn);
        return ret;
    }
    if (rc == MDB_NOTFOUND)
        rc = meta_put(txn, j, JR_META_SOURCE, source_id, n);
    if (rc != 0) {
        mdb_txn_abort(txn);
        return jr__err_mdb(err, rc, "mdb_put");
    }
    rc = mdb_txn_commit(txn);
    return rc ? jr__err_mdb(err, rc, "mdb_txn_commit") : JR_OK;
}

/* Copy a value found under key in dbi into buf (shared by two getters). */
static int read_blob(jr_journal *j, MDB_dbi dbi, const char *key,
                     void *buf, size_t cap, size_t *len, jr_err *err)
{
    MDB_txn *txn;
    MDB_val k = { strlen(key), (void *)key }, v;
    int ret, rc;

    *len = 0;
    if ((ret = jr__txn_begin(j, MDB_RDONLY, &txn, err)) != JR_OK)
        return ret;
    rc = mdb_get(txn, dbi, &k, &v);
    if (rc == 0) {
        *len = v.mv_size;
        if (buf != NULL)
            memcpy(buf, v.mv_data, v.mv_size < cap ? v.mv_size : cap);
        ret = JR_OK;
    } else if (rc == MDB_NOTFOUND) {
        ret = JR_ENOTFOUND;
    } else {
        ret = jr__err_mdb(err, rc, "mdb_get");
    }
    mdb_txn_abort(txn);
    return ret;
}

int jr_journal_table_schema(jr_journal *j, const char *table, void *buf,
                            size_t cap, size_t *len, jr_err *err)
{
    if (table[0] == 0)
        return JR_ENOTFOUND;
    return read_blob(j, j->dbi_tables, table, buf, cap, len, err);
}

int jr_journal_source_pos(jr_journal *j, void *buf, size_t cap, size_t *len,
                          jr_err *err)
{
    return read_blob(j, j->dbi_meta, JR_META_POS, buf, cap, len, err);
}
