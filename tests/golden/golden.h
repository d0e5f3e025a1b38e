/*
** golden.h -- the golden journal files (tests/golden/journal-v1/): the
** dump both golden_make (which writes them, on purpose only) and
** test_golden (which reads them back in every ctest run) print.
*/
#ifndef SLUICE_GOLDEN_H
#define SLUICE_GOLDEN_H

#include <stddef.h>
#include <stdio.h>

/* Print to f everything the journal in dir holds, in a fixed text form:
** first the raw LMDB content of its four databases (journal/FORMAT.md:
** meta, log batch headers, replicas, tables), then what the journal API
** reads back (info, check, source position, every record with every
** value, reals by their bits). 0, or -1 with the reason in why. dir is
** opened read-only (its lock file is created if missing). */
int golden_dump(FILE *f, const char *dir, char *why, size_t cap);

#endif
