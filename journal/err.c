/*
** err.c -- the journal's error reporting.
** INVARIANTS:
**  (E1) the first failure recorded in a jr_err wins: later failures return
**       their code but never overwrite code, cls, domain, cause, op or
**       msg. jr_err_vset is the only function in sluice that writes them.
**  (E2) the library never prints; callers decide what to log.
*/
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "jr_internal.h"

const char *jr_strerror(int code)
{
    switch (code) {
    case JR_OK:        return "success";
    case JR_ERR:       return "journal error";
    case JR_ENOTFOUND: return "not found";
    case JR_EFULL:     return "journal full (map size cap reached)";
    case JR_ECORRUPT:  return "journal corrupt";
    case JR_EAGAIN:    return "nothing available yet";
    case JR_EPOISONED: return "writer unusable after a failed commit";
    case JR_EMISMATCH: return "journal belongs to another source";
    case JR_EBUSY:     return "journal writer lock held by another process";
    default:           return "unknown journal error code";
    }
}

void jr_err_clear(jr_err *err)
{
    if (err != NULL)
        memset(err, 0, sizeof(*err));
}

int jr_err_vset(jr_err *err, int code, int cls, int domain, int cause,
                const char *op, const char *fmt, va_list ap)
{
    if (err == NULL || err->code != JR_OK)
        return code;
    err->code = code;
    err->cls = cls;
    err->domain = domain;
    err->cause = cause;
    err->op = op;
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    return code;
}

int jr_err_set(jr_err *err, int code, int cls, int domain, int cause,
               const char *op, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    code = jr_err_vset(err, code, cls, domain, cause, op, fmt, ap);
    va_end(ap);
    return code;
}

int jr__err_mdb(jr_err *err, int rc, const char *op)
{
    int code = JR_ERR;

    if (rc == MDB_MAP_FULL)
        code = JR_EFULL;
    else if (rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND ||
             rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH)
        code = JR_ECORRUPT;
    return jr_err_set(err, code, 0, JR_D_LMDB, rc, op, "%s: %s", op,
                      mdb_strerror(rc));
}

int jr__err_oom(jr_err *err)
{
    return jr_err_set(err, JR_ERR, 0, JR_D_ERRNO, ENOMEM, "malloc",
                      "out of memory");
}
