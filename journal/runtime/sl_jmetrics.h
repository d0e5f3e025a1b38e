/*
** sl_jmetrics.h -- Prometheus text for a journal: head, size, and each
** replica's lag in records and in seconds (source change time of its
** oldest unapplied record). Shared by `sluice-inspect metrics` and the
** /metrics endpoints of capture and replay, so the numbers agree.
*/
#ifndef SLUICE_SL_JMETRICS_H
#define SLUICE_SL_JMETRICS_H

#include <stdint.h>
#include <stdio.h>

#include "sluice/journal.h"

/* Write the journal's metrics, labelled db="<db>". If `replica` is not
** NULL, that replica's applied seq is `applied` (replay knows it before
** its journal ack). Returns JR_OK or the journal's error. */
int sl_jmetrics_write(FILE *f, jr_journal *j, const char *db,
                      const char *replica, uint64_t applied, jr_err *err);

/* A Prometheus label value: \\, \" and newline escaped, bytes that are
** not valid UTF-8 written as U+FFFD. Every label value goes through it. */
void sl_jmetrics_label(FILE *f, const char *s);

/* The start of a sample line: name{db="<db>"[,replica="<replica>"]}
** (escaped; no trailing space). replica may be NULL. */
void sl_jmetrics_sample(FILE *f, const char *name, const char *db,
                        const char *replica);

/* Source change time (us) of the oldest record after `acked` still
** stored, 0 if none (what sluice_replay_lag_seconds is counted from). */
int64_t sl_jmetrics_oldest_us(jr_journal *j, const jr_info *in,
                              uint64_t acked);

/* Print one metric family header. */
void sl_jmetrics_family(FILE *f, const char *name, const char *type,
                        const char *help);

#endif
