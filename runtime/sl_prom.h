/*
** sl_prom.h -- writing the Prometheus text exposition format (libc only).
** The journal's own metrics (jr_metrics_write in sluice/journal.h), the
** programs' metrics and `sluice-inspect metrics` all use these, so every
** label value is escaped the same way.
*/
#ifndef SLUICE_SL_PROM_H
#define SLUICE_SL_PROM_H

#include <stdint.h>
#include <stdio.h>

/* A Prometheus label value: \\, \" and newline escaped, bytes that are
** not valid UTF-8 written as U+FFFD. Every label value goes through it. */
void sl_prom_label(FILE *f, const char *s);

/* The start of a sample line: name{db="<db>"[,replica="<replica>"]}
** (escaped; no trailing space). replica may be NULL. */
void sl_prom_sample(FILE *f, const char *name, const char *db,
                    const char *replica);

/* Print one metric family header. */
void sl_prom_family(FILE *f, const char *name, const char *type,
                    const char *help);

/* A cumulative histogram with SL_HIST_N fixed upper bounds (seconds, from
** 1 ms to 60 s) plus +Inf. Plain counters: the owner updates and renders
** it from one thread. */
#define SL_HIST_N 14
typedef struct sl_hist {
    uint64_t bucket[SL_HIST_N + 1];   /* per bucket, not cumulative */
    uint64_t count;
    double sum;
} sl_hist;

extern const double sl_hist_bounds[SL_HIST_N];

void sl_hist_observe(sl_hist *h, double seconds);
/* Write the family (HELP/TYPE) and its _bucket/_sum/_count samples;
** `labels` is the already escaped inside of {...} (e.g. db="x"), or "". */
void sl_hist_write(FILE *f, const sl_hist *h, const char *name,
                   const char *help, const char *labels);

#endif /* SLUICE_SL_PROM_H */
