/*
** cap_run.h -- the capture engine's state, shared by cap_run.c,
** cap_reconcile.c and cap_drain.c only.
*/
#ifndef SLUICE_CAP_RUN_H
#define SLUICE_CAP_RUN_H

#include "cap.h"
#include "sl_log.h"

struct cap_state {
    cap_cfg cfg;
    sqlite3 *db;
    jr_journal *j;
    jr_writer *w;
    char source_id[64];

    cap_pos pos;                 /* committed in the journal */
    int64_t schema_version;      /* as of the last reconcile */
    int have_schema_version;
    int schema_moved;            /* the last reconcile saw it move */
    int64_t data_version;
    int paused, paused_logged;
    cap_namelist warned;         /* skipped tables already warned about */

    uint64_t since_trim;         /* changes journaled since the last trim */
    int64_t last_trim_us;
    int64_t last_prune_us;
    int64_t idle_since;          /* no source commit seen since, or 0 */
    cap_stats stats;

    /* scratch for building records */
    jr_value *vals;
    const char **names;
    int scratch_cap;
    char q1[512], q2[512];       /* logfmt quoting buffers */
};

const char *cap_logq(cap_state *st, const char *s);
const char *cap_logq2(cap_state *st, const char *s);

int cap_reconcile(cap_state *st, jr_err *err);
int cap_schema_version(cap_state *st, int64_t *v, jr_err *err);

/* One drain pass in one read transaction -> at most one journal group.
** JR_OK (journaled), JR_EAGAIN (nothing to do, or the schema moved under
** us: reconcile first), else an error. */
int cap_drain(cap_state *st, volatile int *stop, jr_err *err);

int64_t cap_now_us(void);

#endif
