/*
** sl_procmetrics.h -- the process_* metrics Prometheus client libraries
** export (https://prometheus.io/docs/instrumenting/writing_clientlibs/
** "Process metrics"), and a histogram with fixed buckets, for the
** /metrics endpoints of capture and replay.
*/
#ifndef SLUICE_SL_PROCMETRICS_H
#define SLUICE_SL_PROCMETRICS_H

#include <stdint.h>
#include <stdio.h>

/* process_cpu_seconds_total, process_resident_memory_bytes,
** process_virtual_memory_bytes, process_start_time_seconds,
** process_open_fds, process_max_fds, read from /proc/self (Linux). A
** value that cannot be read is left out, never made up. */
void sl_procmetrics_write(FILE *f);

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

#endif
