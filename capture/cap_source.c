/*
** cap_source.c -- the source database: opening it, its identity on disk,
** the switch to WAL mode, and small SQLite helpers.
**
** INVARIANTS:
**  (S1) capture never creates a source database: a missing path, an empty
**       (zero-byte) file or a file that is not SQLite is an error, never
**       an empty new database.
**  (S2) capture never waits for a lock while it holds one of its own:
**       every write goes through the gate (cap_gate.c); the WAL switch
**       tries with a zero busy timeout and retries with backoff, so an
**       application never waits on capture for longer than one attempt.
**  (S3) the file capture reads is the file at --source: cap__src_check()
**       notices a file replaced underneath (another inode) and stops.
**  (S4) a failure leaves no transaction open.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cap.h"
#include "sl_clock.h"
#include "sl_log.h"
#include "sl_sig.h"

int cap_fail(jr_err *err, const char *op, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    jr_err_vset(err, JR_ERR, 0, JR_D_NONE, 0, op, fmt, ap);
    va_end(ap);
    return JR_ERR;
}

int cap__sqlite_fail(jr_err *err, sqlite3 *db, const char *what)
{
    return jr_err_set(err, JR_ERR, 0, JR_D_SQLITE,
                      sqlite3_extended_errcode(db), "sqlite", "%s: %s", what,
                      sqlite3_errmsg(db));
}

int cap__exec(sqlite3 *db, const char *sql, jr_err *err)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

    if (rc != SQLITE_OK) {
        jr_err_set(err, JR_ERR, 0, JR_D_SQLITE, rc, "sqlite3_exec",
                   "%s (in: %.80s)", msg ? msg : sqlite3_errstr(rc), sql);
        sqlite3_free(msg);
        return JR_ERR;
    }
    return JR_OK;
}

void cap_rollback(sqlite3 *db)
{
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

int cap__is_busy(int rc)
{
    return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

/* ---- opening ---- */

static int check_file(const char *path, struct stat *st, jr_err *err)
{
    unsigned char head[16];
    int fd;
    ssize_t n;

    if (stat(path, st) != 0)
        return cap_fail(err, "open", "source database %s: %s (capture "
                        "attaches to an existing SQLite file; check the "
                        "--source path)", path, strerror(errno));
    if (!S_ISREG(st->st_mode))
        return cap_fail(err, "open", "source %s is not a regular file",
                        path);
    if (st->st_size == 0)
        return cap_fail(err, "open", "source %s is an empty (zero-byte) "
                        "file, not an SQLite database: check the --source "
                        "path (capture never creates a database)", path);
    if ((st->st_mode & 0222) == 0)
        return cap_fail(err, "open", "source database %s is read-only "
                        "(mode %03o): capture installs triggers and "
                        "change-log tables in it and needs write access",
                        path, (unsigned)(st->st_mode & 0777));
    if (access(path, W_OK) != 0)
        return cap_fail(err, "open", "source database %s is not writable "
                        "(%s): capture installs triggers and change-log "
                        "tables in it and needs write access", path,
                        strerror(errno));
    /* SQLite would happily treat many files as databases to be; look at
    ** the header ourselves (the file format page: "SQLite format 3\0") */
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return cap_fail(err, "open", "cannot read source %s: %s", path,
                        strerror(errno));
    n = read(fd, head, sizeof(head));
    close(fd);
    if (n != (ssize_t)sizeof(head) ||
        memcmp(head, "SQLite format 3", 16) != 0)
        return cap_fail(err, "open", "source %s is not an SQLite database "
                        "(its first bytes are not the SQLite header): check "
                        "the --source path", path);
    return JR_OK;
}

int cap_src_open(cap_src *s, const char *path, int busy_ms, jr_err *err)
{
    struct stat st;
    int rc;

    memset(s, 0, sizeof(*s));
    s->shm_fd = -1;
    s->db_fd = -1;
    s->wal_fd = -1;
    s->ino_fd = s->ino_wd = -1;
    s->busy_ms = busy_ms;
    if ((rc = check_file(path, &st, err)) != JR_OK)
        return rc;
    /* our own descriptor, for lock checks (cap_gate.c); kept open until
    ** after sqlite3_close() (B1 there) */
    if ((s->db_fd = open(path, O_RDWR | O_CLOEXEC)) < 0)
        return cap_fail(err, "open", "cannot open source %s: %s", path,
                        strerror(errno));
    s->dev = st.st_dev;
    s->ino = st.st_ino;
    if ((s->path = strdup(path)) == NULL)
        return cap_fail(err, "malloc", "out of memory");
    rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
                         SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        cap_fail(err, "sqlite3_open_v2", "cannot open source %s: %s", path,
                 s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        cap_src_close(s);
        return JR_ERR;
    }
    sqlite3_busy_timeout(s->db, busy_ms);
    sqlite3_extended_result_codes(s->db, 1);
    rc = sqlite3_exec(s->db, "SELECT count(*) FROM sqlite_schema", NULL,
                      NULL, NULL);
    if (rc != SQLITE_OK) {
        if ((rc & 0xff) == SQLITE_NOTADB)
            cap_fail(err, "open", "source %s is not an SQLite database",
                     path);
        else if (cap__is_busy(rc))
            cap_fail(err, "open", "source %s stayed locked past the busy "
                     "timeout (%d ms)", path, busy_ms);
        else
            cap_fail(err, "open", "cannot read source %s: %s", path,
                     sqlite3_errmsg(s->db));
        cap_src_close(s);
        return JR_ERR;
    }
    if (sqlite3_db_readonly(s->db, "main") == 1) {
        cap_fail(err, "open", "source database %s opened read-only: "
                 "capture needs write access", path);
        cap_src_close(s);
        return JR_ERR;
    }
    /* capture's own commits are rare and small; they never need to be
    ** synced on their own (the application's next commit syncs the WAL,
    ** and a lost trim or install is simply redone), and checkpoints are
    ** the application's business: both would only lengthen the moment the
    ** gate holds the source (cap_gate.c) */
    sqlite3_exec(s->db, "PRAGMA synchronous = NORMAL; "
                 "PRAGMA wal_autocheckpoint = 0", NULL, NULL, NULL);
    /* each CREATE makes SQLite scan its whole schema table: with
    ** thousands of tables, keep it in our cache (8 MiB at most) */
    sqlite3_exec(s->db, "PRAGMA cache_size = -8192", NULL, NULL, NULL);
    return JR_OK;
}

void cap_src_close(cap_src *s)
{
    if (s == NULL)
        return;
    /* sqlite first: closing our -shm descriptor would drop every POSIX lock
    ** this process holds on that file, SQLite's own included */
    if (s->dv_stmt != NULL)
        sqlite3_finalize(s->dv_stmt);
    s->dv_stmt = NULL;
    if (s->db != NULL)
        sqlite3_close(s->db);
    s->db = NULL;
    cap_gate_detach(s);
    if (s->db_fd >= 0)
        close(s->db_fd);
    s->db_fd = -1;
    if (s->wal_fd >= 0)
        close(s->wal_fd);
    s->wal_fd = -1;
    cap__wal_unwatch(s);
    free(s->path);
    s->path = NULL;
}

int cap__src_check(cap_src *s, jr_err *err)
{
    struct stat st;

    if (stat(s->path, &st) != 0)
        return cap_fail(err, "source", "source database %s disappeared "
                        "while capture ran (%s): capture stopped; put the "
                        "database back and start capture again", s->path,
                        strerror(errno));
    if (st.st_dev != s->dev || st.st_ino != s->ino)
        return cap_fail(err, "source", "source database %s was replaced "
                        "by another file while capture ran (new inode): "
                        "capture stopped, since it can only follow the file "
                        "it opened; start it again (a different database "
                        "needs its own journal)", s->path);
    return JR_OK;
}

/* ---- journal mode ---- */

static int journal_mode(cap_src *s, char *mode, size_t cap, int set,
                        int *busy, jr_err *err)
{
    sqlite3_stmt *q;
    int rc, ret = JR_OK;

    *busy = 0;
    if (sqlite3_prepare_v2(s->db, set ? "PRAGMA journal_mode = WAL"
                                      : "PRAGMA journal_mode", -1, &q,
                           NULL) != SQLITE_OK)
        return cap__sqlite_fail(err, s->db, "PRAGMA journal_mode");
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        snprintf(mode, cap, "%s", (const char *)sqlite3_column_text(q, 0));
    else if (cap__is_busy(sqlite3_extended_errcode(s->db)))
        *busy = 1;
    else
        ret = cap__sqlite_fail(err, s->db, "switching the source to WAL "
                               "mode");
    sqlite3_finalize(q);
    return ret;
}

int cap__src_set_wal(cap_src *s, int keep, int wait_ms, volatile int *stop,
                     jr_err *err)
{
    char mode[32] = "";
    int64_t t0 = sl_mono_us(), delay_ms = 2;
    int busy, ret, logged = 0;

    if ((ret = journal_mode(s, mode, sizeof(mode), 0, &busy, err)) != 0)
        return ret;
    if (busy)
        snprintf(mode, sizeof(mode), "?");
    if (keep || strcmp(mode, "wal") == 0) {
        SL_LOG(SL_INFO, "capture.journal_mode", "mode=%s", mode);
        return cap_gate_attach(s, err);
    }
    /* Switching takes the database's exclusive lock. Only try while no
    ** other process holds any lock on it (no application transaction is
    ** open), with a zero busy timeout: a read-then-write application
    ** transaction that meets our lock would fail at once, and waiting while
    ** holding it would hold the application up. */
    for (;;) {
        if (cap_gate_wait_quiet(s, 20000)) {
            /* no sync inside the switch: an application transaction that
            ** began a moment after our check must not wait out an fsync
            ** while we hold the lock it needs to write (if power fails,
            ** the file is still in its old mode and is switched again) */
            sqlite3_exec(s->db, "PRAGMA synchronous = OFF", NULL, NULL,
                         NULL);
            sqlite3_busy_timeout(s->db, 0);
            ret = journal_mode(s, mode, sizeof(mode), 1, &busy, err);
            sqlite3_busy_timeout(s->db, s->busy_ms);
            sqlite3_exec(s->db, "PRAGMA synchronous = NORMAL", NULL, NULL,
                         NULL);
            if (ret != JR_OK)
                return ret;
            if (!busy)
                break;
        }
        if (stop != NULL && *stop)
            return cap_fail(err, "journal_mode", "stopped while waiting to "
                            "switch %s to WAL mode", s->path);
        if (wait_ms >= 0 && sl_mono_us() - t0 > (int64_t)wait_ms * 1000)
            return cap_fail(err, "journal_mode", "source %s stayed busy "
                            "for %d ms (an application transaction was "
                            "always open), so capture could not switch it to "
                            "WAL mode without getting in its way; try again, "
                            "or raise --busy-timeout-ms", s->path, wait_ms);
        if (!logged)
            SL_LOG(SL_INFO, "capture.waiting", "what=wal_switch reason=%s",
                   "\"the application has a transaction open; trying again "
                   "when it has none\"");
        logged = 1;
        sl_sleep_ms((int)delay_ms);
        delay_ms = delay_ms * 2 > 100 ? 100 : delay_ms * 2;
    }
    if (strcmp(mode, "wal") != 0)
        return cap_fail(err, "journal_mode", "could not switch %s to WAL "
                        "mode (it stays in %s mode); use --keep-journal-mode "
                        "to capture it anyway", s->path, mode);
    SL_LOG(SL_INFO, "capture.journal_mode", "mode=wal switched=1");
    return cap_gate_attach(s, err);
}
