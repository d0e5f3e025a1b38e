/*
** fmt.h -- printing journal records for sluice-inspect: a human form and
** JSON (one object per line).
*/
#ifndef SLUICE_INSPECT_FMT_H
#define SLUICE_INSPECT_FMT_H

#include <stdio.h>
#include "sluice/journal.h"

/* ISO-8601 UTC with microseconds, e.g. 2026-11-26T23:04:05.123456Z. */
void fmt_time(char *buf, size_t cap, int64_t us);

/* JSON string literal of n bytes (valid UTF-8 assumed checked). */
void fmt_json_str(FILE *f, const void *p, size_t n);

/* One entry: summary line (verbose = 0) or every image (verbose = 1). */
void fmt_entry_human(FILE *f, const jr_entry *e, int verbose);
void fmt_entry_json(FILE *f, const jr_entry *e);

#endif
