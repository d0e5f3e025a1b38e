/*
** sl_prom.h -- writing the Prometheus text exposition format (libc only).
** The journal's own metrics (jr_metrics_write in sluice/journal.h), the
** programs' metrics and `sluice-inspect metrics` all use these, so every
** label value is escaped the same way.
*/
#ifndef SLUICE_SL_PROM_H
#define SLUICE_SL_PROM_H

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

#endif /* SLUICE_SL_PROM_H */
