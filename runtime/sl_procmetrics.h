/*
** sl_procmetrics.h -- the process_* metrics Prometheus client libraries
** export (https://prometheus.io/docs/instrumenting/writing_clientlibs/
** "Process metrics"), for the /metrics endpoints of capture and replay.
** libc only (reads /proc/self).
*/
#ifndef SLUICE_SL_PROCMETRICS_H
#define SLUICE_SL_PROCMETRICS_H

#include <stdio.h>

/* process_cpu_seconds_total, process_resident_memory_bytes,
** process_virtual_memory_bytes, process_start_time_seconds,
** process_open_fds, process_max_fds, read from /proc/self (Linux). A
** value that cannot be read is left out, never made up. */
void sl_procmetrics_write(FILE *f);

#endif /* SLUICE_SL_PROCMETRICS_H */
