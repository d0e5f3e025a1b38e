/*
** testlib.h -- helpers shared by every sluice test suite.
**
** No dependency beyond libc (no Criterion, SQLite or MariaDB), so the
** journal suites, the benchmarks and the integration suites can all link
** it. Functions return 0 on success and -1 with errno set on failure; they
** never print and never abort.
*/
#ifndef SLUICE_TESTLIB_H
#define SLUICE_TESTLIB_H

#include <stddef.h>

/*
** Create a fresh private directory "sluice-test-XXXXXX" under $TMPDIR
** (or /tmp when $TMPDIR is unset or empty) and write its path to out.
** Returns 0, or -1 with errno set (ENAMETOOLONG when cap is too small,
** or mkdtemp's errno). out is an empty string after a failure.
*/
int tl_tmpdir_make(char *out, size_t cap);

/*
** Remove path and, if it is a directory, everything below it, without
** following symbolic links. A path that does not exist is not an error.
** Returns 0, or -1 with errno set from the first removal that failed.
*/
int tl_rm_rf(const char *path);

/*
** The build tree the tests belong to: $SLUICE_BUILD_DIR (ctest sets it),
** else the tree this library was compiled in. Never NULL; the string is
** static or from the environment and lives as long as the process.
*/
const char *tl_build_dir(void);

/*
** The whole file at path, NUL-terminated (also after the last byte read
** when it holds NULs), malloc'd; *len (may be NULL) gets its size. NULL
** with errno set if it cannot be read.
*/
char *tl_slurp(const char *path, size_t *len);

/* Non-overlapping occurrences of needle in hay; 0 when either is NULL or
** needle is empty. */
int tl_count(const char *hay, const char *needle);

/* tl_http_get (a /metrics endpoint) is in tl_output.h, clocks and
** children in tl_proc.h */
#include "tl_output.h"
#include "tl_proc.h"

#endif /* SLUICE_TESTLIB_H */
