/*
** cap_trim.c -- deleting journaled change-log rows, and the logs of
** retired installations.
**
** Trims are never needed for correctness: the journaled position says
** which rows are journaled, and a log that is never trimmed only grows.
** They are therefore made RARELY and CHEAPLY:
**   - a log is trimmed once it holds --trim-rows journaled rows, or its
**     oldest journaled row has waited --trim-age-s (or at exit / --once);
**   - each trim is one gated write transaction (cap_gate.c) deleting at
**     most TRIM_CHUNK rows by id range, so the source is held for
**     milliseconds; a refused attempt is simply tried again later.
**
** INVARIANTS:
**  (T1) only rows with id < the COMMITTED position of their log are
**       deleted, never the newest journaled row: log ids only grow, and
**       the drain's gap check (cap_drain.c) can tell our trims from
**       anybody else's deletes.
**  (T2) a retired log is dropped only once the committed position counts
**       it fully drained (superseded by its re-snapshot, or its DROP
**       journaled).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cap_run.h"
#include "sl_clock.h"

#define TRIM_CHUNK 2000

static cap_trimst *trimst(cap_state *st, int64_t id)
{
    int lo = 0, hi = st->ntrim;
    cap_trimst *v;

    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (st->trim[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < st->ntrim && st->trim[lo].id == id)
        return &st->trim[lo];
    v = realloc(st->trim, (size_t)(st->ntrim + 1) * sizeof(*v));
    if (v == NULL)
        return NULL;
    st->trim = v;
    memmove(&v[lo + 1], &v[lo], (size_t)(st->ntrim - lo) * sizeof(*v));
    st->ntrim++;
    memset(&v[lo], 0, sizeof(v[lo]));
    v[lo].id = id;
    v[lo].trimmed_below = -1;
    return &v[lo];
}

static int64_t log_min_id(cap_state *st, int64_t id, int64_t dflt)
{
    sqlite3_stmt *s;
    char sql[96];
    int64_t v = dflt;

    snprintf(sql, sizeof(sql), "SELECT min(id) FROM \"_sluice_log_%lld\"",
             (long long)id);
    if (sqlite3_prepare_v2(st->src.db, sql, -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW &&
        sqlite3_column_type(s, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

typedef struct trim_arg {
    int64_t id, from, below;
} trim_arg;

static int trim_fn(sqlite3 *db, void *arg, jr_err *err)
{
    trim_arg *a = arg;
    char sql[160];

    snprintf(sql, sizeof(sql), "DELETE FROM \"_sluice_log_%lld\" WHERE "
             "id >= %lld AND id < %lld", (long long)a->id,
             (long long)a->from, (long long)a->below);
    return cap__exec(db, sql, err);
}

/* Delete journaled rows of one log, chunk by chunk, while the gate lets
** us. JR_OK (done or put off) or JR_ERR. */
static int trim_log(cap_state *st, cap_trimst *t, int64_t upto, int force,
                    jr_err *err)
{
    while (t->trimmed_below < upto) {
        trim_arg a;
        int ret;

        a.id = t->id;
        a.from = t->trimmed_below;
        a.below = upto - t->trimmed_below > TRIM_CHUNK
                      ? t->trimmed_below + TRIM_CHUNK : upto;
        /* at exit (force) a little patience: the gate may want the
        ** source idle for a moment first */
        ret = cap__write(&st->src, trim_fn, &a, force ? 500 : 0, NULL, err);
        if (ret == JR_EAGAIN) {
            st->stats.writes_deferred++;
            jr_err_clear(err);
            return JR_OK;                /* next time */
        }
        if (ret != JR_OK)
            return ret;
        st->stats.trimmed += (uint64_t)(a.below - a.from);
        t->trimmed_below = a.below;
    }
    t->pending_since_us = 0;
    return JR_OK;
}

static int forget_fn(sqlite3 *db, void *arg, jr_err *err)
{
    return cap__forget(db, *(int64_t *)arg, err);
}

/* Drop retired installations the committed position counts drained (T2). */
static int forget_retired(cap_state *st, jr_err *err)
{
    int changed = 0, ret = JR_OK;

    for (int i = 0; i < st->reg.n; i++) {
        const cap_inst *in = &st->reg.v[i];
        cap_posent *e = cap_pos_find(&st->pos, in->id);
        int64_t id = in->id;

        if (in->state == CAP_ACTIVE || !in->superseded ||
            (in->state == CAP_DROPPED && (e == NULL || !e->drop_done)))
            continue;
        ret = cap__write(&st->src, forget_fn, &id, 0, NULL, err);
        if (ret == JR_EAGAIN) {
            jr_err_clear(err);
            ret = JR_OK;
            break;                       /* next time */
        }
        if (ret != JR_OK)
            break;
        changed = 1;
    }
    if (changed) {
        int r2 = cap__reload_registry(st, err);
        if (ret == JR_OK)
            ret = r2;
    }
    return ret;
}

int cap_trim(cap_state *st, int force, jr_err *err)
{
    int64_t now = sl_mono_us();
    int ret = JR_OK;

    for (int i = 0; ret == JR_OK && i < st->pos.n; i++) {
        const cap_posent *e = &st->pos.v[i];
        cap_inst *in = cap__registry_find(&st->reg, e->id);
        cap_trimst *t;

        if (in == NULL || in->state != CAP_ACTIVE || !e->snapshotted ||
            e->log_id <= 1)
            continue;
        if ((t = trimst(st, e->id)) == NULL)
            return cap_fail(err, "malloc", "out of memory");
        if (t->trimmed_below < 0)
            t->trimmed_below = log_min_id(st, e->id, e->log_id);
        if (t->trimmed_below >= e->log_id) {
            t->pending_since_us = 0;
            continue;
        }
        if (t->pending_since_us == 0)
            t->pending_since_us = now;
        if (force || e->log_id - t->trimmed_below >= st->cfg.trim_rows ||
            now - t->pending_since_us >= st->cfg.trim_age_s * 1000000) {
            int64_t was = t->trimmed_below;
            ret = trim_log(st, t, e->log_id, force, err);
            if (t->trimmed_below != was)
                in->recheck = 1;                    /* it may be small */
        }
    }
    if (ret == JR_OK)
        ret = forget_retired(st, err);
    /* find out which logs are one page, a few at a time (cap_wal.c) */
    if (ret == JR_OK) {
        int left, n;
        int64_t t0 = sl_mono_us();
        n = cap__registry_measure(st->src.db, &st->reg, force ? 0 : 20000,
                                  &left);
        if (n > 0) {
            st->measured += n;
            st->measure_us += sl_mono_us() - t0;
        }
        if (left == 0 && st->measured > 0) {
            /* the start-up (or schema change) work is over: from here an
            ** idle capture only polls */
            SL_LOG(SL_DEBUG, "capture.logs_measured", "logs=%d ms=%lld",
                   st->measured, (long long)(st->measure_us / 1000));
            st->measured = 0;
            st->measure_us = 0;
        }
    }
    return ret;
}
