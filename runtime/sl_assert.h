/*
** sl_assert.h -- sluice's assertions (header only; the journal, the
** runtime and the programs all use it).
**
**   SL_ASSERT(cond)   always compiled in, release builds too (as Redis's
**                     serverAssert): guards a durability invariant whose
**                     violation would write a wrong journal. Cheap checks
**                     only.
**   SL_CHECK(cond)    compiled in only with -DSLUICE_DEBUG=ON (CMake
**                     option; tools/test.sh's ASan build): the numbered
**                     invariants written at the top of .c files, checked
**                     where they are cheap to check. Off, the condition is
**                     not evaluated.
**   SL_DEBUG_ONLY(x)  x in SLUICE_DEBUG builds, nothing otherwise (for a
**                     checker function or a field only checks need).
** Both are for programmer errors: what outside data can cause (a corrupt
** batch, a bad option) is an error code, never an assertion. A failure
** prints "file:line: invariant failed: cond" to stderr and aborts (a core
** and a sanitizer stack trace show where).
*/
#ifndef SLUICE_SL_ASSERT_H
#define SLUICE_SL_ASSERT_H

#include <stdio.h>
#include <stdlib.h>

static inline void sl__assert_fail(const char *file, int line,
                                   const char *cond)
{
    fprintf(stderr, "%s:%d: invariant failed: %s\n", file, line, cond);
    fflush(stderr);
    abort();
}

#define SL_ASSERT(cond)                                                   \
    do {                                                                  \
        if (!(cond))                                                      \
            sl__assert_fail(__FILE__, __LINE__, #cond);                   \
    } while (0)

#ifdef SLUICE_DEBUG
#define SL_CHECK(cond) SL_ASSERT(cond)
#define SL_DEBUG_ONLY(x) x
#define SL_DEBUG_BUILD 1
#else
#define SL_CHECK(cond) ((void)0)
#define SL_DEBUG_ONLY(x)
#define SL_DEBUG_BUILD 0
#endif

#endif /* SLUICE_SL_ASSERT_H */
