/*
** cap_drain.c -- one drain pass: everything committed in the source that
** the journal does not have yet becomes ONE journal group.
**
** In one SQLite read transaction (a consistent snapshot that ends at a
** commit boundary):
**   1. the schema must be the one the last reconcile saw, else stop and
**      reconcile first (CAP_RESCAN);
**   2. journal a DROP for every DROPPED installation not yet dropped and
**      the SCHEMA of every table about to be snapshotted: DDL leads the
**      group, so replay can run it before the group's transaction;
**   3. drain the log of every ACTIVE installation already snapshotted;
**   4. snapshot every ACTIVE installation that has none: note the log's
**      high mark, journal SNAP_BEGIN, every row, SNAP_END, and consider
**      log rows <= mark as drained (they are in the snapshot); then drain
**      that log above the mark;
**   5. count the logs of retired installations as drained: the snapshot
**      or DROP of step 2/4 supersedes them.
** The group ends on its last record; the final LMDB commit carries the
** new position (cap_pos.c). A large group is committed every cfg.batch
** records WITHOUT a position, so memory stays bounded; if the pass does
** not finish, the writer is reopened, which closes the open group with
** an ABORT record, and the same changes are journaled again next pass.
**
** INVARIANTS:
**  (G1) exactly once: a position only ever travels in the commit that
**       ends the group holding the records it accounts for.
**  (G2) a source transaction is never split: the read transaction sees
**       whole transactions only, and all of it goes into one group.
**  (G3) memory is bounded by cfg.batch records, whatever the backlog or
**       table size (statements are stepped, never materialised).
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cap_run.h"

typedef struct pass {
    cap_state *st;
    cap_pos work;
    uint64_t appended, changes, snap_rows;
    int partial;                 /* some of this group is committed */
    int superseded;              /* retired logs counted drained */
    volatile int *stop;
} pass;

/* Per-installation layout of log rows and images. */
typedef struct layout {
    const cap_inst *in;
    int nk;                      /* k columns in the log */
    int kl;                      /* keyless */
    int *keyidx;                 /* pk tables: key column -> image index */
    const char **newnames;       /* cols (+ rowid name for keyless) */
} layout;

static int64_t jd_to_us(double jd)
{
    return (int64_t)llround((jd - 2440587.5) * 86400000000.0);
}

static void col_value(sqlite3_stmt *s, int i, jr_value *v)
{
    switch (sqlite3_column_type(s, i)) {
    case SQLITE_INTEGER:
        v->type = JR_INT;
        v->u.i = sqlite3_column_int64(s, i);
        break;
    case SQLITE_FLOAT:
        v->type = JR_REAL;
        v->u.r = sqlite3_column_double(s, i);
        break;
    case SQLITE_TEXT:
        v->type = JR_TEXT;
        v->u.b.p = sqlite3_column_text(s, i);
        v->u.b.n = (size_t)sqlite3_column_bytes(s, i);
        break;
    case SQLITE_BLOB:
        v->type = JR_BLOB;
        v->u.b.p = sqlite3_column_blob(s, i);
        v->u.b.n = (size_t)sqlite3_column_bytes(s, i);
        break;
    default:
        v->type = JR_NULL;
    }
}

static int scratch(cap_state *st, int need, jr_err *err)
{
    if (need <= st->scratch_cap)
        return JR_OK;
    free(st->vals);
    free(st->names);
    st->vals = malloc((size_t)need * sizeof(*st->vals));
    st->names = malloc((size_t)need * sizeof(*st->names));
    st->scratch_cap = need;
    if (st->vals == NULL || st->names == NULL) {
        st->scratch_cap = 0;
        return cap_fail(err, "malloc", "out of memory");
    }
    return JR_OK;
}

static void layout_free(layout *l)
{
    free(l->keyidx);
    free(l->newnames);
}

static int layout_init(layout *l, const cap_inst *in, jr_err *err)
{
    memset(l, 0, sizeof(*l));
    l->in = in;
    l->kl = in->keyless;
    l->nk = in->nkey;
    l->keyidx = calloc((size_t)in->nkey + 1, sizeof(int));
    l->newnames = calloc((size_t)in->ncols + 1, sizeof(char *));
    if (l->keyidx == NULL || l->newnames == NULL) {
        layout_free(l);
        return cap_fail(err, "malloc", "out of memory");
    }
    for (int c = 0; c < in->ncols; c++)
        l->newnames[c] = in->cols[c];
    if (l->kl)
        l->newnames[in->ncols] = in->keycols[0];
    for (int k = 0; k < in->nkey && !l->kl; k++) {
        l->keyidx[k] = -1;
        for (int c = 0; c < in->ncols; c++)
            if (strcmp(in->cols[c], in->keycols[k]) == 0)
                l->keyidx[k] = c;
        if (l->keyidx[k] < 0) {
            layout_free(l);
            return cap_fail(err, "registry", "installation %lld: key "
                            "column %s is not among its columns",
                            (long long)in->id, in->keycols[k]);
        }
    }
    return JR_OK;
}

/* Commit what is pending without a position (the group stays open),
** waiting out back-pressure. */
static int commit_partial(pass *p, jr_err *err)
{
    cap_state *st = p->st;
    int logged = 0, ret;

    for (;;) {
        ret = jr_writer_commit(st->w, NULL, 0, err);
        if (ret != JR_EFULL)
            break;
        if (!logged)
            SL_LOG(SL_WARN, "capture.backpressure", "journal=%s msg=%s",
                   cap_logq(st, st->cfg.journal), cap_logq2(st, err->msg));
        logged = 1;
        jr_err_clear(err);
        if (*p->stop)
            return cap_fail(err, "jr_writer_commit", "journal full while "
                            "stopping");
        usleep(200 * 1000);
        jr_journal_prune(st->j, 0, NULL, NULL);
    }
    if (ret == JR_OK)
        p->partial = 1;
    return ret;
}

/* Append one record. A full batch is committed BEFORE the next record is
** appended, so the group's last record is always still pending when
** finish_group() marks it as the end. */
static int append(pass *p, const jr_record *r, jr_err *err)
{
    cap_state *st = p->st;
    int ret;

    if (jr_writer_pending(st->w) >= (uint32_t)st->cfg.batch) {
        if (*p->stop)
            return cap_fail(err, "stop", "stopping in the middle of a "
                            "group; it will be journaled again");
        if ((ret = commit_partial(p, err)) != JR_OK)
            return ret;
    }
    if ((ret = jr_writer_append(st->w, r, 0, NULL, err)) != JR_OK)
        return ret;
    p->appended++;
    return JR_OK;
}

static int append_marker(pass *p, int kind, const char *table,
                         const char *aux, jr_err *err)
{
    jr_record r;

    memset(&r, 0, sizeof(r));
    r.kind = kind;
    r.table = table;
    r.time_us = cap_now_us();
    r.aux = aux;
    r.aux_len = aux ? strlen(aux) : 0;
    return append(p, &r, err);
}

/* Finish building `q`, size the scratch arrays and prepare the statement.
** On failure frees the layout too. */
static int prepare_built(cap_state *st, sqlite3_str *q, layout *l, int n,
                         sqlite3_stmt **s, const char *what, jr_err *err)
{
    char *sql = sqlite3_str_finish(q);
    int ret = JR_OK, rc;

    *s = NULL;
    if (sql == NULL || (ret = scratch(st, 2 * n + l->nk + 4, err)) != 0) {
        sqlite3_free(sql);
        layout_free(l);
        return sql ? ret : cap_fail(err, "malloc", "out of memory");
    }
    rc = sqlite3_prepare_v2(st->db, sql, -1, s, NULL);
    sqlite3_free(sql);
    if (rc != SQLITE_OK) {
        layout_free(l);
        return cap_sqlite_fail(err, st->db, what);
    }
    return JR_OK;
}

/* Journal the log rows of one installation above *from; advance *from. */
static int drain_log(pass *p, const cap_inst *in, int64_t *from,
                     jr_err *err)
{
    cap_state *st = p->st;
    sqlite3_stmt *s = NULL;
    sqlite3_str *q = sqlite3_str_new(st->db);
    layout l;
    int ret, rc, n = in->ncols;

    if ((ret = layout_init(&l, in, err)) != JR_OK) {
        sqlite3_free(sqlite3_str_finish(q));
        return ret;
    }
    sqlite3_str_appendall(q, "SELECT id, op, t");
    for (int i = 0; i < l.nk; i++)
        sqlite3_str_appendf(q, ", k%d", i);
    if (l.kl)
        sqlite3_str_appendall(q, ", r");
    for (int i = 0; i < n; i++)
        sqlite3_str_appendf(q, ", c%d", i);
    for (int i = 0; l.kl && i < n; i++)
        sqlite3_str_appendf(q, ", o%d", i);
    sqlite3_str_appendf(q, " FROM \"_sluice_log_%lld\" WHERE id > ?1 "
                        "ORDER BY id", (long long)in->id);
    if ((ret = prepare_built(st, q, &l, n, &s, "reading change log", err)))
        return ret;
    sqlite3_bind_int64(s, 1, *from);
    while (ret == JR_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        int op = sqlite3_column_int(s, 1);
        int kcol = 3, rcol = 3 + l.nk, ccol = rcol + l.kl, ocol = ccol + n;
        jr_value *key = st->vals, *img = st->vals + l.nk + 1,
                 *old = img + n + 1;
        jr_record r;

        memset(&r, 0, sizeof(r));
        r.table = in->name;
        r.time_us = jd_to_us(sqlite3_column_double(s, 2));
        if (op == 1 || op == 2) {
            for (int i = 0; i < n; i++)
                col_value(s, ccol + i, &img[i]);
            if (l.kl)       /* new rowid: k0 for insert, r for update */
                col_value(s, op == 1 ? kcol : rcol, &img[n]);
            r.new_row.n = (uint32_t)(n + l.kl);
            r.new_row.names = l.newnames;
            r.new_row.vals = img;
        }
        if (op == 1 && !l.kl) {
            for (int k = 0; k < l.nk; k++)
                key[k] = img[l.keyidx[k]];
        } else {
            for (int k = 0; k < l.nk; k++)
                col_value(s, kcol + k, &key[k]);
        }
        r.key.n = (uint32_t)l.nk;
        r.key.names = (const char *const *)in->keycols;
        r.key.vals = key;
        if (l.kl && op != 1) {
            for (int i = 0; i < n; i++)
                col_value(s, ocol + i, &old[i]);
            r.old_row.n = (uint32_t)n;
            r.old_row.names = (const char *const *)in->cols;
            r.old_row.vals = old;
        }
        r.kind = op == 1 ? JR_K_INSERT : op == 2 ? JR_K_UPDATE
                                                 : JR_K_DELETE;
        if (op < 1 || op > 3) {
            ret = cap_fail(err, "drain", "change log %lld row %lld has "
                           "unknown op %d", (long long)in->id,
                           (long long)sqlite3_column_int64(s, 0), op);
            break;
        }
        if ((ret = append(p, &r, err)) != JR_OK)
            break;
        *from = sqlite3_column_int64(s, 0);
        p->changes++;
        if (r.time_us > st->stats.last_change_us)
            st->stats.last_change_us = r.time_us;
    }
    if (ret == JR_OK && rc != SQLITE_DONE)
        ret = cap_sqlite_fail(err, st->db, "reading change log");
    sqlite3_finalize(s);
    layout_free(&l);
    return ret;
}

static int log_high_mark(cap_state *st, int64_t id, int64_t *mark,
                         jr_err *err)
{
    sqlite3_stmt *s;
    char sql[96];
    int rc;

    snprintf(sql, sizeof(sql), "SELECT coalesce(max(id), 0) FROM "
             "\"_sluice_log_%lld\"", (long long)id);
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return cap_sqlite_fail(err, st->db, "reading change log mark");
    rc = sqlite3_step(s);
    *mark = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? JR_OK
                            : cap_sqlite_fail(err, st->db, "reading change "
                                              "log mark");
}

/* SCHEMA, SNAP_BEGIN, every row as an insert, SNAP_END. */
static int snapshot(pass *p, const cap_inst *in, int64_t *mark,
                    jr_err *err)
{
    cap_state *st = p->st;
    sqlite3_stmt *s = NULL;
    sqlite3_str *q;
    layout l;
    int ret, rc, n = in->ncols;
    int64_t now = cap_now_us();
    uint64_t rows = 0;

    if ((ret = log_high_mark(st, in->id, mark, err)) != JR_OK ||
        (ret = append_marker(p, JR_K_SNAP_BEGIN, in->name, NULL, err)))
        return ret;
    if ((ret = layout_init(&l, in, err)) != JR_OK)
        return ret;
    q = sqlite3_str_new(st->db);
    sqlite3_str_appendall(q, "SELECT ");
    for (int i = 0; i < n; i++)
        sqlite3_str_appendf(q, "%s\"%w\"", i ? ", " : "", in->cols[i]);
    if (l.kl)
        sqlite3_str_appendf(q, ", %s", in->keycols[0]);
    sqlite3_str_appendf(q, " FROM \"%w\"", in->name);
    if ((ret = prepare_built(st, q, &l, n, &s, "reading table for snapshot",
                             err)))
        return ret;
    while (ret == JR_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        jr_value *key = st->vals, *img = st->vals + l.nk + 1;
        jr_record r;

        for (int i = 0; i < n + l.kl; i++)
            col_value(s, i, &img[i]);
        for (int k = 0; k < l.nk; k++)
            key[k] = l.kl ? img[n] : img[l.keyidx[k]];
        memset(&r, 0, sizeof(r));
        r.kind = JR_K_INSERT;
        r.table = in->name;
        r.time_us = now;
        r.key.n = (uint32_t)l.nk;
        r.key.names = (const char *const *)in->keycols;
        r.key.vals = key;
        r.new_row.n = (uint32_t)(n + l.kl);
        r.new_row.names = l.newnames;
        r.new_row.vals = img;
        ret = append(p, &r, err);
        rows++;
    }
    if (ret == JR_OK && rc != SQLITE_DONE)
        ret = cap_sqlite_fail(err, st->db, "reading table for snapshot");
    sqlite3_finalize(s);
    layout_free(&l);
    p->snap_rows += rows;
    if (ret == JR_OK)
        ret = append_marker(p, JR_K_SNAP_END, in->name, NULL, err);
    if (ret == JR_OK)
        SL_LOG(SL_INFO, "capture.snapshot", "table=%s install_id=%lld "
               "rows=%llu log_mark=%lld", cap_logq(st, in->name),
               (long long)in->id, (unsigned long long)rows,
               (long long)*mark);
    return ret;
}

/* Does ACTIVE installation `in` still need its snapshot in this pass? */
static int needs_snapshot(pass *p, const cap_inst *in)
{
    cap_posent *e = cap_pos_find(&p->work, in->id);
    return in->state == CAP_ACTIVE && !(e && e->snapshotted) &&
           !p->st->paused;      /* paused: the table may be mid-migration */
}

static int run_pass(pass *p, const cap_registry *reg, jr_err *err)
{
    int ret = JR_OK;

    /* forget positions of installations that no longer exist */
    for (int i = p->work.n - 1; i >= 0; i--) {
        int found = 0;
        for (int k = 0; k < reg->n; k++)
            if (reg->v[k].id == p->work.v[i].id)
                found = 1;
        if (!found)
            cap_pos_remove(&p->work, p->work.v[i].id);
    }
    /* 1. DROPs, then 2. the SCHEMA of every table snapshotted below: all
    ** table-level DDL leads the group, so a replayer can run it before it
    ** opens the group's transaction (DDL commits implicitly in MariaDB) */
    for (int i = 0; ret == JR_OK && i < reg->n; i++) {
        cap_posent *e;
        if (reg->v[i].state != CAP_DROPPED)
            continue;
        if ((e = cap_pos_get(&p->work, reg->v[i].id)) == NULL)
            return cap_fail(err, "malloc", "out of memory");
        if (e->drop_done)
            continue;
        ret = append_marker(p, JR_K_DROP, reg->v[i].name, NULL, err);
        e->drop_done = 1;
        if (ret == JR_OK)
            SL_LOG(SL_INFO, "capture.table_dropped", "table=%s",
                   cap_logq(p->st, reg->v[i].name));
    }
    for (int i = 0; ret == JR_OK && i < reg->n; i++)
        if (needs_snapshot(p, &reg->v[i]))
            ret = append_marker(p, JR_K_SCHEMA, reg->v[i].name,
                                reg->v[i].schema_json, err);
    /* 3. changes of tables already snapshotted */
    for (int i = 0; ret == JR_OK && i < reg->n; i++) {
        cap_posent *e = cap_pos_find(&p->work, reg->v[i].id);
        if (reg->v[i].state == CAP_ACTIVE && e != NULL && e->snapshotted)
            ret = drain_log(p, &reg->v[i], &e->log_id, err);
    }
    /* 4. snapshots, each followed by the changes made after its mark */
    for (int i = 0; ret == JR_OK && i < reg->n; i++) {
        cap_posent *e;
        int64_t mark = 0;
        if (!needs_snapshot(p, &reg->v[i]))
            continue;
        ret = snapshot(p, &reg->v[i], &mark, err);
        if (ret == JR_OK) {
            if ((e = cap_pos_get(&p->work, reg->v[i].id)) == NULL)
                return cap_fail(err, "malloc", "out of memory");
            e->snapshotted = 1;
            e->log_id = mark;
            ret = drain_log(p, &reg->v[i], &e->log_id, err);
        }
    }
    /* 5. logs of retired installations are superseded: by the snapshot of
    ** their table's new installation (journaled above, same group) or by
    ** its DROP. Count them drained without journaling them, so no change
    ** ever reaches a table after its DROP or before its re-snapshot. */
    for (int i = 0; ret == JR_OK && i < reg->n && !p->st->paused; i++) {
        cap_posent *e = cap_pos_find(&p->work, reg->v[i].id);
        int64_t max = 0;
        if (reg->v[i].state == CAP_ACTIVE || e == NULL)
            continue;
        if ((ret = log_high_mark(p->st, reg->v[i].id, &max, err)) != JR_OK)
            break;
        if (max > e->log_id) {
            e->log_id = max;
            p->superseded = 1;
        }
    }
    return ret;
}

/* Close the group and commit it with the new position. */
static int finish_group(pass *p, jr_err *err)
{
    cap_state *st = p->st;
    char *pos;
    size_t len;
    int ret, logged = 0;

    if ((ret = jr_writer_end_group(st->w, err)) != JR_OK)
        return ret;
    if (cap_pos_encode(&p->work, &pos, &len) != 0)
        return cap_fail(err, "malloc", "out of memory");
    for (;;) {
        ret = jr_writer_commit(st->w, pos, len, err);
        if (ret != JR_EFULL || *p->stop)
            break;
        if (!logged)
            SL_LOG(SL_WARN, "capture.backpressure", "journal=%s msg=%s",
                   cap_logq(st, st->cfg.journal), cap_logq2(st, err->msg));
        logged = 1;
        jr_err_clear(err);
        usleep(200 * 1000);
        jr_journal_prune(st->j, 0, NULL, NULL);
    }
    free(pos);
    return ret;
}

int cap_drain(cap_state *st, volatile int *stop, jr_err *err)
{
    pass p;
    cap_registry reg = { 0 };
    int64_t sv;
    int ret;

    memset(&p, 0, sizeof(p));
    p.st = st;
    p.stop = stop;
    if ((ret = cap_exec(st->db, "BEGIN", err)) != JR_OK)
        return ret;
    if ((ret = cap_schema_version(st, &sv, err)) != JR_OK)
        goto out;
    if (sv != st->schema_version) {
        st->have_schema_version = 0;     /* reconcile before draining */
        ret = JR_EAGAIN;
        goto out;
    }
    if ((ret = cap_registry_load(st->db, &reg, err)) != JR_OK)
        goto out;
    if (cap_pos_copy(&p.work, &st->pos) != 0) {
        ret = cap_fail(err, "malloc", "out of memory");
        goto out;
    }
    ret = run_pass(&p, &reg, err);
    if (ret == JR_OK && p.appended > 0) {
        ret = finish_group(&p, err);
    } else if (ret == JR_OK && p.superseded) {
        char *pos;                      /* position only, no records */
        size_t len;
        if (cap_pos_encode(&p.work, &pos, &len) != 0) {
            ret = cap_fail(err, "malloc", "out of memory");
        } else {
            ret = jr_writer_commit(st->w, pos, len, err);
            free(pos);
        }
    }
    if (ret == JR_OK) {
        if (p.appended == 0) {
            cap_pos_free(&st->pos);
            st->pos = p.work;
            memset(&p.work, 0, sizeof(p.work));
            ret = JR_EAGAIN;
        } else {
            cap_pos_free(&st->pos);
            st->pos = p.work;
            memset(&p.work, 0, sizeof(p.work));
            st->stats.changes += p.changes;
            st->stats.snapshot_rows += p.snap_rows;
            st->stats.groups++;
            st->stats.head_seq = jr_writer_next_seq(st->w) - 1;
            st->since_trim += p.changes;
            SL_LOG(SL_DEBUG, "capture.group", "seq=%llu changes=%llu "
                   "snapshot_rows=%llu",
                   (unsigned long long)st->stats.head_seq,
                   (unsigned long long)p.changes,
                   (unsigned long long)p.snap_rows);
        }
    } else if (ret != JR_EFULL) {
        jr_writer_rollback(st->w);
        if (p.partial || ret == JR_EPOISONED) {
            /* part of the group is committed (or the writer is unusable):
            ** reopening it closes the open group with an ABORT record;
            ** the same changes are journaled again by the next pass */
            jr_err e2 = { 0 };
            jr_writer_close(st->w);
            st->w = NULL;
            if (jr_writer_open(&st->w, st->j, NULL, &e2) != JR_OK) {
                SL_LOG(SL_ERROR, "capture.writer_reopen", "msg=%s",
                       cap_logq(st, e2.msg));
                st->w = NULL;
            }
        }
    } else {
        jr_writer_rollback(st->w);      /* stopping under back-pressure */
    }
out:
    cap_exec(st->db, "COMMIT", NULL);
    cap_rollback(st->db);
    cap_registry_free(&reg);
    cap_pos_free(&p.work);
    return ret;
}
