/*
** vf_err.c -- verify's failures, recorded in sluice's one error type
** (jr_err, through its one setter jr_err_set). Its own file so that every
** vf_*.c can fail without depending on vf_run.c (no cycle).
** INVARIANTS:
**  (F1) err->cls of a verify error is 0 (only its table is lost),
**       VF_FATAL_IO (exit 69) or VF_FATAL_SW (exit 70); the first failure
**       wins.
**  (F2) a target-library error is fatal exactly when it is a connection
**       error (TG_E_CONN): nothing else the target says stops the run.
*/
#include <stdarg.h>

#include "vf.h"

int vf_fail(jr_err *e, int fatal, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    jr_err_vset(e, JR_ERR, fatal, JR_D_NONE, 0, NULL, fmt, ap);
    va_end(ap);
    return -1;
}

int vf_fail_target(jr_err *e, const jr_err *re)
{
    return vf_fail(e, re->cls == TG_E_CONN ? VF_FATAL_IO : 0, "target: %s",
                   re->msg);
}
