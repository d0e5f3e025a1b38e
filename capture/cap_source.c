/*
** cap_source.c -- opening the source database and small SQLite helpers.
**
** INVARIANTS:
**  (S1) capture never creates a source database: a missing path is an
**       error, not an empty new file.
**  (S2) every write transaction capture takes is BEGIN IMMEDIATE and
**       short (milliseconds): the application holds the same single
**       write lock and waits for us under its busy timeout.
**  (S3) a failure leaves no transaction open (cap_rollback on every error
**       path of a writer).
*/
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cap.h"

int cap_fail(jr_err *err, const char *op, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || err->code != JR_OK)
        return JR_ERR;
    err->code = JR_ERR;
    err->op = op;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return JR_ERR;
}

int cap_sqlite_fail(jr_err *err, sqlite3 *db, const char *what)
{
    int rc = sqlite3_extended_errcode(db);
    int ret = cap_fail(err, "sqlite", "%s: %s", what, sqlite3_errmsg(db));

    if (err != NULL && err->cause == 0)
        err->cause = rc;
    return ret;
}

char *cap_quote(const char *name)
{
    return sqlite3_mprintf("\"%w\"", name);
}

int cap_exec(sqlite3 *db, const char *sql, jr_err *err)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

    if (rc != SQLITE_OK) {
        cap_fail(err, "sqlite3_exec", "%s (in: %.80s)",
                 msg ? msg : sqlite3_errstr(rc), sql);
        if (err != NULL && err->cause == 0)
            err->cause = rc;
        sqlite3_free(msg);
        return JR_ERR;
    }
    return JR_OK;
}

int cap_begin_write(sqlite3 *db, jr_err *err)
{
    /* sqlite3_busy_timeout() covers BEGIN IMMEDIATE's lock wait */
    int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);

    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) {
        cap_fail(err, "BEGIN IMMEDIATE",
                 "source database is locked by another connection "
                 "and stayed locked past the busy timeout; retry "
                 "when the long write transaction has finished");
        if (err != NULL && err->cause == 0)
            err->cause = SQLITE_BUSY;
        return JR_ERR;
    }
    if (rc != SQLITE_OK)
        return cap_sqlite_fail(err, db, "BEGIN IMMEDIATE");
    return JR_OK;
}

int cap_commit(sqlite3 *db, jr_err *err)
{
    int rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);

    if (rc != SQLITE_OK) {
        cap_sqlite_fail(err, db, "COMMIT");
        cap_rollback(db);
        return JR_ERR;
    }
    return JR_OK;
}

void cap_rollback(sqlite3 *db)
{
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

int cap_db_open(sqlite3 **out, const char *path, int busy_ms, jr_err *err)
{
    sqlite3 *db = NULL;
    struct stat st;
    int rc;

    *out = NULL;
    if (stat(path, &st) != 0)
        return cap_fail(err, "open", "source database %s: %s (capture "
                        "attaches to an existing SQLite file; check the "
                        "--source path)", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return cap_fail(err, "open", "source %s is not a regular file",
                        path);
    if ((st.st_mode & 0222) == 0) {
        return cap_fail(err, "open", "source database %s is read-only "
                        "(mode %03o): capture installs triggers and "
                        "change-log tables in it and needs write access",
                        path, (unsigned)(st.st_mode & 0777));
    }
    if (access(path, W_OK) != 0)
        return cap_fail(err, "open", "source database %s is not writable "
                        "(%s): capture installs triggers and change-log "
                        "tables in it and needs write access", path,
                        strerror(errno));
    rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
                         SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        cap_fail(err, "sqlite3_open_v2", "cannot open source %s: %s", path,
                 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return JR_ERR;
    }
    sqlite3_busy_timeout(db, busy_ms);
    sqlite3_extended_result_codes(db, 1);
    rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_schema", NULL, NULL,
                      NULL);
    if (rc != SQLITE_OK) {
        if ((rc & 0xff) == SQLITE_NOTADB)
            cap_fail(err, "open", "source %s is not an SQLite database",
                     path);
        else if ((rc & 0xff) == SQLITE_BUSY)
            cap_fail(err, "open", "source %s stayed locked past the busy "
                     "timeout (%d ms)", path, busy_ms);
        else
            cap_fail(err, "open", "cannot read source %s: %s", path,
                     sqlite3_errmsg(db));
        sqlite3_close(db);
        return JR_ERR;
    }
    if (sqlite3_db_readonly(db, "main") == 1) {
        cap_fail(err, "open", "source database %s opened read-only: "
                 "capture needs write access", path);
        sqlite3_close(db);
        return JR_ERR;
    }
    *out = db;
    return JR_OK;
}
