/*
** cap_run.h -- the capture engine's state, shared by cap_run.c,
** cap_reconcile.c, cap_drain.c and cap_trim.c only.
*/
#ifndef SLUICE_CAP_RUN_H
#define SLUICE_CAP_RUN_H

#include "cap.h"
#include "sl_log.h"

/* Per-installation bookkeeping for trims (memory only). */
typedef struct cap_trimst {
    int64_t id;
    int64_t trimmed_below;       /* rows below this id are gone; -1 unknown */
    int64_t pending_since_us;    /* journaled rows waiting for a trim since */
} cap_trimst;

struct cap_state {
    cap_cfg cfg;
    cap_src src;
    jr_journal *j;
    jr_writer *w;
    char source_id[64];
    char journal_uuid[40];

    cap_registry reg;            /* cached; reloaded after our own writes */
    cap_pos pos;                 /* committed in the journal */
    int pos_dirty;               /* pos.schema_version moved, uncommitted */
    int64_t schema_version;      /* seen by the last complete reconcile */
    int have_schema_version;
    int reconcile_pending;       /* the schema moved; our writes wait */
    int64_t reconcile_wait_us;   /* since when they wait (0: not) */
    int64_t data_version;
    sqlite3_stmt *dv_stmt;       /* PRAGMA data_version */
    int drain_due;               /* a pass may find something to do */
    int paused, paused_logged;
    cap_namelist warned;         /* skipped tables already warned about */

    cap_walmark wal_prev;        /* taken before the last pass began */
    cap_pageset pages;           /* scratch: pages changed since */
    int check_filter;            /* SLUICE_CAPTURE_CHECK_FILTER */
    cap_walmark seen;            /* header as of the last pass (cap_wait) */

    cap_trimst *trim;            /* one per log with journaled rows */
    int ntrim;
    int64_t last_housekeep_us;
    int64_t last_prune_us;
    int measured;                /* logs measured since the last report */
    int64_t measure_us;          /* ... and the time it took */
    int64_t last_waiting_log_us;
    cap_stats stats;
    sqlite3 *backlog_db;         /* read-only, cap_backlog.c only */
    void (*tick)(void *);        /* metrics, while a step waits */
    void *tick_ctx;

    /* scratch for building records */
    jr_value *vals;
    const char **names;
    int scratch_cap;
    char q1[512], q2[512];       /* logfmt quoting buffers */
};

/* A log field value quoted for logfmt in one of the state's two buffers
** (valid until the next call with the same buffer). Inline, so the files
** that log need nothing from cap_run.c (no cycle between the engine's
** files). */
static inline const char *cap__logq(cap_state *st, const char *s)
{
    return sl_q(st->q1, sizeof(st->q1), s ? s : "");
}

static inline const char *cap__logq2(cap_state *st, const char *s)
{
    return sl_q(st->q2, sizeof(st->q2), s ? s : "");
}

/* Bring the installations in line with the schema. JR_OK when done,
** JR_EAGAIN when the writes it needs wait for the gate
** (st->reconcile_pending stays set), else an error. */
int cap__reconcile(cap_state *st, jr_err *err);
int cap__schema_version(sqlite3 *db, int64_t *v, jr_err *err);
/* Reload st->reg from the source (finalizes cached statements). */
int cap__reload_registry(cap_state *st, jr_err *err);

/* One drain pass in one read transaction -> at most one journal group.
** JR_OK (journaled), JR_EAGAIN (nothing to do), JR_EFULL, else an
** error. */
int cap__drain(cap_state *st, volatile int *stop, jr_err *err);

/* Trims and retired logs (cap_trim.c). Never an error for the
** application's sake: JR_OK, or JR_ERR for a failure of our own. */
int cap_trim(cap_state *st, int force, jr_err *err);

#endif
