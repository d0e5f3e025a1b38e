/*
** cap_drain.c -- one drain pass: everything committed in the source that
** the journal does not have yet becomes ONE journal group.
**
** In one SQLite read transaction (a consistent snapshot that ends at a
** commit boundary):
**   1. if the schema moved since the last complete reconcile (its writes
**      wait for the gate), the pass is LIMITED: it drains only the logs of
**      installations whose triggers still sit on their table, and takes no
**      snapshot; everything else waits for the reconcile;
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
** GAPS. Log ids are dense: SQLite gives a new row max(id)+1, capture
** never deletes the newest journaled row, and nothing else may delete any.
** So reading from the journaled position `from`, the first row must be
** `from` itself (or 1 when from is 0) and each next row the one after.
** Anything else -- rows another process deleted, a journal restored from
** an older backup -- is a GAP: the table is re-snapshotted in the same
** group (logged as capture.gap), never skipped silently.
**
** INVARIANTS:
**  (G1) exactly once: a position only ever travels in the commit that
**       ends the group holding the records it accounts for.
**  (G2) a source transaction is never split: the read transaction sees
**       whole transactions only, and all of it goes into one group.
**  (G3) memory is bounded by cfg.batch records, whatever the backlog or
**       table size (statements are stepped, never materialised).
**  (G4) the cost of a pass follows the logs that changed: drain statements
**       are prepared once per installation and a log with nothing new
**       costs one index seek; retired logs are looked at until drained.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cap_run.h"
#include "sl_clock.h"
#include "sl_sig.h"

typedef struct pass {
    cap_state *st;
    cap_pos work;
    uint64_t appended, changes, snap_rows;
    int partial;                 /* some of this group is committed */
    int superseded;              /* retired logs counted drained */
    int limited;                 /* the schema moved: see step 1 */
    int filter;                  /* st->pages lists every changed page */
    char **attached;             /* limited: table of each inst's triggers */
    uint64_t group_first;        /* seq of the group's first record */
    uint64_t commit_bytes;       /* commit part of a group beyond this */
    volatile int *stop;
} pass;

enum { GAP = 1 };                /* drain_log found a gap */

/* Per-installation layout of log rows and images. */
typedef struct layout {
    const cap_inst *in;
    int nk;                      /* k columns in the log */
    int kl;                      /* keyless */
    int *keyidx;                 /* pk tables: key column -> image index */
    const char **newnames;       /* cols (+ rowid name for keyless) */
} layout;

int64_t cap__jd_to_us(double jd)
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

/* The journal is full while part of this group is committed: can anything
** ever make room? Only pruning applied records can; if every registered
** replica has applied everything before this group and nothing is left
** to prune, this group alone is larger than the cap and would wait
** forever (a replica never applies half a group). */
static int group_cannot_fit(pass *p, uint64_t pruned)
{
    jr_replica rep[64];
    uint32_t n = 0;

    if (!p->partial || pruned > 0 ||
        jr_replica_list(p->st->j, rep, 64, &n, NULL) != JR_OK || n == 0 ||
        n > 64)
        return 0;
    for (uint32_t i = 0; i < n; i++)
        if (rep[i].applied_seq + 1 < p->group_first)
            return 0;
    return 1;
}

/* Commit (pos != NULL: the group's end with its position), waiting out
** back-pressure: applied records are pruned early, oldest first, whatever
** the retention window. */
static int commit_waiting(pass *p, const char *pos, size_t len, jr_err *err)
{
    cap_state *st = p->st;
    int logged = 0, ret;

    for (;;) {
        uint64_t pruned = 0;
        ret = jr_writer_commit(st->w, pos, len, err);
        if (ret != JR_EFULL)
            break;
        if (!logged)
            SL_LOG(SL_WARN, "capture.backpressure", "journal=%s msg=%s",
                   cap__logq(st, st->cfg.journal), cap__logq2(st, err->msg));
        logged = 1;
        st->stats.backpressure = 1;
        jr_err_clear(err);
        if (*p->stop)
            return pos ? JR_EFULL
                       : cap_fail(err, "jr_writer_commit", "journal full "
                                  "while stopping");
        jr_journal_prune(st->j, 0, &pruned, NULL);
        if (pruned == 0 && group_cannot_fit(p, pruned)) {
            jr_info info;
            jr_journal_info(st->j, &info, NULL);
            return cap_fail(err, "jr_writer_commit", "one group (a snapshot "
                            "of %llu rows and %llu changes so far) does not "
                            "fit in the journal's size cap of %llu MiB: "
                            "every replica has applied everything before it "
                            "and nothing is left to prune. Restart capture "
                            "with a larger --map-max-mb (the group is "
                            "journaled again from the start)",
                            (unsigned long long)p->snap_rows,
                            (unsigned long long)p->changes,
                            (unsigned long long)(info.map_max >> 20));
        }
        if (pruned == 0)
            sl_sleep_ms(200);
        if (st->tick != NULL)
            st->tick(st->tick_ctx);      /* metrics stay fresh */
    }
    st->stats.backpressure = 0;
    if (ret == JR_OK && pos == NULL)
        p->partial = 1;
    return ret;
}

static int commit_partial(pass *p, jr_err *err)
{
    return commit_waiting(p, NULL, 0, err);
}

/* Append one record. A full batch is committed BEFORE the next record is
** appended, so the group's last record is always still pending when
** finish_group() marks it as the end. */
static int append(pass *p, const jr_record *r, jr_err *err)
{
    cap_state *st = p->st;
    int ret;

    if (jr_writer_pending(st->w) >= (uint32_t)st->cfg.batch ||
        jr_writer_pending_bytes(st->w) >= p->commit_bytes) {
        if (*p->stop)
            return cap_fail(err, "stop", "stopping in the middle of a "
                            "group; it will be journaled again");
        if ((ret = commit_partial(p, err)) != JR_OK)
            return ret;
    }
    if ((ret = jr_writer_append(st->w, r, 0, p->appended ? NULL
                                                          : &p->group_first,
                                err)) != JR_OK)
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
    r.time_us = sl_now_us();
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
    rc = sqlite3_prepare_v2(st->src.db, sql, -1, s, NULL);
    sqlite3_free(sql);
    if (rc != SQLITE_OK) {
        layout_free(l);
        return cap__sqlite_fail(err, st->src.db, what);
    }
    return JR_OK;
}

/* The cached drain statement of installation `in`: its log rows from
** ?1 on (G4). */
static int drain_stmt(cap_state *st, cap_inst *in, jr_err *err)
{
    sqlite3_str *q;
    char *sql;
    int rc, n = in->ncols, nk = in->nkey;

    if (in->drain != NULL)
        return JR_OK;
    q = sqlite3_str_new(st->src.db);
    sqlite3_str_appendall(q, "SELECT id, op, t");
    for (int i = 0; i < nk; i++)
        sqlite3_str_appendf(q, ", k%d", i);
    if (in->keyless)
        sqlite3_str_appendall(q, ", r");
    for (int i = 0; i < n; i++)
        sqlite3_str_appendf(q, ", c%d", i);
    for (int i = 0; in->keyless && i < n; i++)
        sqlite3_str_appendf(q, ", o%d", i);
    sqlite3_str_appendf(q, " FROM \"_sluice_log_%lld\" WHERE id >= ?1 "
                        "ORDER BY id", (long long)in->id);
    if ((sql = sqlite3_str_finish(q)) == NULL)
        return cap_fail(err, "malloc", "out of memory");
    rc = sqlite3_prepare_v3(st->src.db, sql, -1, SQLITE_PREPARE_PERSISTENT,
                            &in->drain, NULL);
    sqlite3_free(sql);
    if (rc != SQLITE_OK) {
        in->drain = NULL;
        return cap__sqlite_fail(err, st->src.db, "reading change log");
    }
    return JR_OK;
}

/* Journal the log rows of one installation above *from; advance *from.
** Returns GAP (and journals nothing more) when the log is not dense from
** *from on (see GAPS above); *gap_at gets the id found. */
static int drain_log(pass *p, cap_inst *in, int64_t *from, int64_t *gap_at,
                     jr_err *err)
{
    cap_state *st = p->st;
    sqlite3_stmt *s;
    layout l;
    int ret, rc, n = in->ncols, have_layout = 0;
    int64_t expect = *from > 0 ? *from : 1;

    if ((ret = drain_stmt(st, in, err)) != JR_OK)
        return ret;
    s = in->drain;
    sqlite3_bind_int64(s, 1, expect);
    while (ret == JR_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(s, 0);
        int op = sqlite3_column_int(s, 1);
        int kcol = 3, rcol, ccol, ocol;
        jr_value *key, *img, *old;
        jr_record r;

        if (id != expect) {
            *gap_at = id;
            ret = GAP;
            break;
        }
        expect++;
        if (id == *from)
            continue;                   /* the newest row journaled */
        if (!have_layout) {
            if ((ret = layout_init(&l, in, err)) != JR_OK ||
                (ret = scratch(st, 2 * n + l.nk + 4, err)) != JR_OK)
                break;
            have_layout = 1;
        }
        rcol = 3 + l.nk;
        ccol = rcol + l.kl;
        ocol = ccol + n;
        key = st->vals;
        img = st->vals + l.nk + 1;
        old = img + n + 1;
        memset(&r, 0, sizeof(r));
        r.table = in->name;
        r.time_us = cap__jd_to_us(sqlite3_column_double(s, 2));
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
                           (long long)id, op);
            break;
        }
        if ((ret = append(p, &r, err)) != JR_OK)
            break;
        if (in->small) {
            /* an upper bound of the row's cell: while the root has room
            ** for it, the log stays one page (cap_wal.c) */
            int64_t cell = 32;
            for (int c = 0; c < sqlite3_column_count(s); c++)
                cell += 9 + sqlite3_column_bytes(s, c);
            if ((in->room -= cell) <= 0) {
                in->small = 0;
                in->recheck = 1;
            }
        }
        *from = id;
        p->changes++;
        if (r.time_us > st->stats.last_change_us)
            st->stats.last_change_us = r.time_us;
    }
    if (ret == JR_OK && rc != SQLITE_DONE)
        ret = cap__sqlite_fail(err, st->src.db, "reading change log");
    /* the journaled row itself must still be there (else ids could be
    ** handed out again) */
    if (ret == JR_OK && *from > 0 && expect == *from) {
        *gap_at = 0;
        ret = GAP;
    }
    sqlite3_reset(s);
    if (have_layout)
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
    if (sqlite3_prepare_v2(st->src.db, sql, -1, &s, NULL) != SQLITE_OK)
        return cap__sqlite_fail(err, st->src.db, "reading change log mark");
    rc = sqlite3_step(s);
    *mark = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? JR_OK
                            : cap__sqlite_fail(err, st->src.db, "reading "
                                               "change log mark");
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
    int64_t now = sl_now_us();
    uint64_t rows = 0;

    if ((ret = log_high_mark(st, in->id, mark, err)) != JR_OK ||
        (ret = append_marker(p, JR_K_SNAP_BEGIN, in->name, NULL, err)))
        return ret;
    if ((ret = layout_init(&l, in, err)) != JR_OK)
        return ret;
    q = sqlite3_str_new(st->src.db);
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
        ret = cap__sqlite_fail(err, st->src.db, "reading table for snapshot");
    sqlite3_finalize(s);
    layout_free(&l);
    p->snap_rows += rows;
    if (ret == JR_OK)
        ret = append_marker(p, JR_K_SNAP_END, in->name, NULL, err);
    if (ret == JR_OK)
        SL_LOG(SL_INFO, "capture.snapshot", "table=%s install_id=%lld "
               "rows=%llu log_mark=%lld", cap__logq(st, in->name),
               (long long)in->id, (unsigned long long)rows,
               (long long)*mark);
    return ret;
}

/* Does ACTIVE installation `in` still need its snapshot in this pass? */
static int needs_snapshot(pass *p, const cap_inst *in)
{
    cap_posent *e = cap_pos_find(&p->work, in->id);
    return in->state == CAP_ACTIVE && !(e && e->snapshotted) &&
           !p->st->paused &&    /* paused: the table may be mid-migration */
           !p->limited;         /* the table may differ from its install */
}

/* May this pass drain the log of ACTIVE installation i? */
static int may_drain(pass *p, int i)
{
    const cap_inst *in = &p->st->reg.v[i];
    return !p->limited ||
           (p->attached[i] != NULL && strcmp(p->attached[i], in->name) == 0);
}

static int run_pass(pass *p, jr_err *err)
{
    cap_registry *reg = &p->st->reg;
    int ret = JR_OK;

    /* forget positions of installations that no longer exist */
    for (int i = p->work.n - 1; i >= 0; i--)
        if (cap__registry_find(reg, p->work.v[i].id) == NULL)
            cap_pos_remove(&p->work, p->work.v[i].id);
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
                   cap__logq(p->st, reg->v[i].name));
    }
    for (int i = 0; ret == JR_OK && i < reg->n; i++)
        if (needs_snapshot(p, &reg->v[i]))
            ret = append_marker(p, JR_K_SCHEMA, reg->v[i].name,
                                reg->v[i].schema_json, err);
    /* 3. changes of tables already snapshotted; a gap re-snapshots */
    for (int i = 0; ret == JR_OK && i < reg->n; i++) {
        cap_posent *e = cap_pos_find(&p->work, reg->v[i].id);
        int64_t gap_at = 0;
        cap_inst *in = &reg->v[i];
        int skip;
        uint64_t before;
        if (in->state != CAP_ACTIVE || e == NULL || !e->snapshotted ||
            !may_drain(p, i))
            continue;
        /* G4: a one-page log none of whose pages changed has nothing new */
        skip = p->filter && in->small && in->root != 0 &&
               !cap__pageset_has(&p->st->pages, in->root);
        if (skip)
            p->st->stats.logs_skipped++;
        if (skip && !p->st->check_filter)
            continue;
        before = p->changes;
        p->st->stats.logs_read++;
        ret = drain_log(p, in, &e->log_id, &gap_at, err);
        if (p->changes > before) {
            if (skip) {
                /* W1 broken: this would have split a transaction */
                SL_LOG(SL_ERROR, "capture.filter_missed", "table=%s "
                       "install_id=%lld root=%u", cap__logq(p->st, in->name),
                       (long long)in->id, (unsigned)in->root);
                abort();
            }

        }
        if (ret != GAP)
            continue;
        SL_LOG(SL_WARN, "capture.gap", "table=%s install_id=%lld "
               "journaled_log_id=%lld found_log_id=%lld action=%s "
               "reason=%s", cap__logq(p->st, reg->v[i].name),
               (long long)reg->v[i].id, (long long)e->log_id,
               (long long)gap_at, p->limited ? "resnapshot_later"
                                             : "resnapshot",
               "\"change-log rows capture had not journaled are gone (a "
               "journal restored from an older backup, or rows deleted by "
               "another process): the table is snapshotted again\"");
        p->st->stats.gaps++;
        e->snapshotted = 0;
        e->log_id = 0;
        ret = needs_snapshot(p, &reg->v[i])
                  ? append_marker(p, JR_K_SCHEMA, reg->v[i].name,
                                  reg->v[i].schema_json, err)
                  : JR_OK;
    }
    /* 4. snapshots, each followed by the changes made after its mark */
    for (int i = 0; ret == JR_OK && i < reg->n; i++) {
        cap_posent *e;
        int64_t mark = 0, gap_at = 0;
        if (!needs_snapshot(p, &reg->v[i]))
            continue;
        ret = snapshot(p, &reg->v[i], &mark, err);
        if (ret == JR_OK) {
            if ((e = cap_pos_get(&p->work, reg->v[i].id)) == NULL)
                return cap_fail(err, "malloc", "out of memory");
            e->snapshotted = 1;
            e->log_id = mark;
            ret = drain_log(p, &reg->v[i], &e->log_id, &gap_at, err);
            if (ret == GAP)     /* cannot be: same read transaction */
                ret = cap_fail(err, "drain", "change log of %s changed "
                               "inside one read transaction",
                               reg->v[i].name);
        }
    }
    /* 5. logs of retired installations are superseded: by the snapshot of
    ** their table's new installation (journaled above, same group) or by
    ** its DROP. Count them drained without journaling them, so no change
    ** ever reaches a table after its DROP or before its re-snapshot. A
    ** retired log gets no new rows (its triggers are gone): look once. */
    for (int i = 0; ret == JR_OK && i < reg->n && !p->st->paused &&
                    !p->limited; i++) {
        cap_posent *e = cap_pos_find(&p->work, reg->v[i].id);
        int64_t max = 0;
        if (reg->v[i].state == CAP_ACTIVE || e == NULL ||
            reg->v[i].superseded)
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
    char *pos;
    size_t len;
    int ret;

    if ((ret = jr_writer_end_group(p->st->w, err)) != JR_OK)
        return ret;
    if (cap_pos_encode(&p->work, &pos, &len) != 0)
        return cap_fail(err, "malloc", "out of memory");
    ret = commit_waiting(p, pos, len, err);
    free(pos);
    return ret;
}

/* Limited pass: where the triggers of each installation sit now. */
static int find_attached(pass *p, jr_err *err)
{
    cap_state *st = p->st;

    p->attached = calloc((size_t)st->reg.n + 1, sizeof(char *));
    if (p->attached == NULL)
        return cap_fail(err, "malloc", "out of memory");
    return cap__trigger_tables(st->src.db, &st->reg, p->attached, err);
}

/* Part of a group is committed once its pending bytes reach an eighth of
** the journal's size cap (at most 64 MiB): --batch counts records, and
** 10,000 rows of large blobs could otherwise make one commit larger than
** the whole map -- a commit that never fits however much is pruned, and
** as much memory. An eighth leaves LMDB room for its page copies and for
** pages freed by the previous transactions, which it reuses only later. */
static uint64_t commit_bytes(cap_state *st)
{
    jr_info info;
    uint64_t v = 64ull << 20;

    if (jr_journal_info(st->j, &info, NULL) == JR_OK && info.map_max / 8 < v)
        v = info.map_max / 8;
    return v < (256u << 10) ? 256u << 10 : v;
}

int cap__drain(cap_state *st, volatile int *stop, jr_err *err)
{
    pass p;
    cap_walmark before, after;
    int64_t sv;
    int ret, have_before;

    memset(&p, 0, sizeof(p));
    p.st = st;
    p.stop = stop;
    p.commit_bytes = commit_bytes(st);
    have_before = cap__wal_mark(&st->src, &before);
    if ((ret = cap__exec(st->src.db, "BEGIN", err)) != JR_OK)
        return ret;
    if ((ret = cap__schema_version(st->src.db, &sv, err)) != JR_OK)
        goto out;
    /* the read transaction has begun: pages changed since the mark taken
    ** before the previous pass began, up to now, cover everything this
    ** snapshot can hold that the previous one did not (cap_wal.c, W1) */
    if (have_before && !st->src.autovacuum && st->wal_prev.valid &&
        cap__wal_mark(&st->src, &after))
        p.filter = cap__wal_pages(&st->src, &st->wal_prev, &after,
                                  &st->pages);
    p.limited = !st->have_schema_version || sv != st->schema_version;
    if (p.limited && (ret = find_attached(&p, err)) != JR_OK)
        goto out;
    if (cap_pos_copy(&p.work, &st->pos) != 0) {
        ret = cap_fail(err, "malloc", "out of memory");
        goto out;
    }
    p.work.schema_version = st->schema_version;
    ret = run_pass(&p, err);
    if (ret == JR_OK && p.appended > 0) {
        ret = finish_group(&p, err);
    } else if (ret == JR_OK && (p.superseded || st->pos_dirty)) {
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
        /* everything up to `before` has been looked at -- unless this pass
        ** left logs aside for the reconcile, or nothing could be known */
        if (!p.limited)
            st->wal_prev = before;
        st->seen = before;

        cap_pos_free(&st->pos);
        st->pos = p.work;
        memset(&p.work, 0, sizeof(p.work));
        st->pos_dirty = 0;
        for (int i = 0; i < st->reg.n && !p.limited && !st->paused; i++)
            if (st->reg.v[i].state != CAP_ACTIVE)
                st->reg.v[i].superseded = 1;

        if (p.appended == 0) {
            ret = JR_EAGAIN;
        } else {
            st->stats.changes += p.changes;
            st->stats.snapshot_rows += p.snap_rows;
            st->stats.groups++;
            st->stats.head_seq = jr_writer_next_seq(st->w) - 1;
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
                       cap__logq(st, e2.msg));
                st->w = NULL;
            }
        }
    } else {
        jr_writer_rollback(st->w);      /* stopping under back-pressure */
    }
out:
    cap_rollback(st->src.db);
    if (p.attached != NULL)
        for (int i = 0; i < st->reg.n; i++)
            sqlite3_free(p.attached[i]);
    free(p.attached);
    cap_pos_free(&p.work);
    return ret;
}
