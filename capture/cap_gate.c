/*
** cap_gate.c -- the only way capture commits to the source.
**
** WHY. An application transaction that reads first and writes later
** (BEGIN DEFERRED, what ORMs and drivers do by default) fails with
** SQLITE_BUSY_SNAPSHOT when another connection commits between its read
** and its write, and with SQLITE_BUSY when another connection holds the
** write lock at the moment it upgrades. No busy timeout retries either
** (SQLite's busy handler is not called for a reader that upgrades). So
** capture may hold the write lock, and commit, only while no other
** process has a transaction open -- and must keep new ones from starting
** until its commit is visible.
**
** HOW, in WAL mode. Every read transaction holds a shared POSIX lock on
** one of the five read-mark bytes of the -shm file, bytes 123..127 (the
** wal-index lock bytes 120..127 of https://www.sqlite.org/walformat.html:
** WRITE, CKPT, RECOVER, then READ-0..4). A writer is a reader too. So:
**   1. wait a moment (up to GAP_WAIT_US) for no other process to hold a
**      read mark (fcntl F_GETLK; an application running transaction after
**      transaction leaves gaps of microseconds).
**   The BARRIER is an exclusive fcntl(F_SETLK) lock on bytes 123..127. It
**      fails at once when any other process holds one of them: somebody
**      is in a transaction, try later (JR_EAGAIN). While we hold it, no
**      other process can begin a transaction: SQLite's reader retries,
**      sleeping a little longer each time, until it gets a read mark.
**   2. BEGIN and one read: SQLite takes OUR read mark now. Taking it
**      after the barrier would open holes in it (POSIX locks belong to the
**      process: SQLite's own lock and unlock calls on a read-mark byte
**      replace ours), and a reader slipping through while we held the
**      write lock would fail when it upgrades.
**   3. BARRIER, then the caller writes: its first write takes the write
**      lock (no read mark is touched then), with no other process in a
**      transaction. When the WAL is fully checkpointed, SQLite restarts
**      it at our first frame, dropping and retaking our read mark (a hole
**      we cannot close): then we only go on if the source has been idle
**      (no commit by anybody else) for QUIET_US.
**   4. before COMMIT: sqlite3_db_cacheflush() writes our pages as
**      uncommitted frames (so a WAL restart happens now, not inside
**      COMMIT), then BARRIER again: anyone who slipped in -> roll back.
**   5. COMMIT, then drop the barrier. Our commits are not fsync'd on
**      their own (synchronous=NORMAL on this connection), so the barrier
**      is held for microseconds to a few milliseconds.
** Measured beside a read-then-write application (README, "Capture beside
** an application"): no application error in runs of minutes, with capture
** committing far more often than it does in use.
**
** Rollback-journal mode (--keep-journal-mode on a non-WAL source): readers
** hold SHARED locks on the database file. The gate only checks (F_GETLK)
** that no other process holds SHARED, RESERVED or PENDING before BEGIN and
** before COMMIT; there is no barrier (README: known limitations).
**
** INVARIANTS:
**  (B1) our descriptors on the -shm and database files stay open until
**       after sqlite3_close(): closing any descriptor of a file drops every
**       POSIX lock this process holds on it, SQLite's included.
**  (B2) the barrier is only held between cap_gate_begin() returning JR_OK
**       and cap_gate_commit()/cap_gate_rollback(); never across a wait.
**  (B3) nothing here ever waits for a lock: every attempt either gets what
**       it needs at once or returns JR_EAGAIN with nothing held.
*/
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cap.h"
#include "sl_clock.h"
#include "sl_log.h"
#include "sl_sig.h"

#define READ_MARKS_OFF 123        /* first read-mark lock byte in -shm */
#define READ_MARKS_N   5
#define HDR_MXFRAME    16         /* u32 in the first wal-index header */
#define CKPT_NBACKFILL 96         /* u32 in the checkpoint info */
#define PENDING_BYTE   0x40000000 /* rollback-journal locks (os_unix.c) */
#define LOCK_RANGE     (2 + 510)  /* PENDING, RESERVED, SHARED range */
#define QUIET_US       200000
#define GAP_WAIT_US    20000      /* look for a gap this long per attempt */

/* Lock (or test, with F_GETLK) `len` bytes at `off` of fd. For F_GETLK
** returns 1 if another process holds a conflicting lock (its pid in
** *pid), else 0; for F_SETLK 0 on success, 1 if held by another. */
static int lock_bytes(int fd, int cmd, short type, off_t off, off_t len,
                      long *pid)
{
    struct flock f;

    memset(&f, 0, sizeof(f));
    f.l_type = type;
    f.l_whence = SEEK_SET;
    f.l_start = off;
    f.l_len = len;
    if (fcntl(fd, cmd, &f) != 0)
        return 1;                   /* EAGAIN/EACCES: held; else: unsure */
    if (cmd == F_GETLK) {
        if (f.l_type == F_UNLCK)
            return 0;
        if (pid != NULL)
            *pid = (long)f.l_pid;
        return 1;
    }
    return 0;
}

static int barrier_up(cap_src *s)
{
    return lock_bytes(s->shm_fd, F_SETLK, F_WRLCK, READ_MARKS_OFF,
                      READ_MARKS_N, NULL) == 0;
}

static void barrier_down(cap_src *s)
{
    lock_bytes(s->shm_fd, F_SETLK, F_UNLCK, READ_MARKS_OFF, READ_MARKS_N,
               NULL);
}

/* The WAL is fully checkpointed (or empty): mxFrame == nBackfill. */
static int wal_backfilled(cap_src *s)
{
    const volatile unsigned char *p = s->shm_map;
    uint32_t mx, nb;

    if (p == NULL)
        return 1;                   /* cannot tell: assume the worst */
    memcpy(&mx, (const void *)(p + HDR_MXFRAME), 4);
    memcpy(&nb, (const void *)(p + CKPT_NBACKFILL), 4);
    return mx == nb;
}

/* Track when another connection last committed (PRAGMA data_version). */
static void sample_data_version(cap_src *s)
{
    int64_t v = -1, now = sl_mono_us();

    if (s->dv_stmt == NULL &&
        sqlite3_prepare_v2(s->db, "PRAGMA data_version", -1, &s->dv_stmt,
                           NULL) != SQLITE_OK)
        s->dv_stmt = NULL;
    if (s->dv_stmt != NULL) {
        if (sqlite3_step(s->dv_stmt) == SQLITE_ROW)
            v = sqlite3_column_int64(s->dv_stmt, 0);
        sqlite3_reset(s->dv_stmt);
    }
    if (!s->dv_stmt_sampled || v != s->dv_last)
        s->dv_changed_us = now;         /* quiet counts from the first look */
    s->dv_last = v;
    s->dv_stmt_sampled = 1;
}

int cap_gate_attach(cap_src *s, jr_err *err)
{
    const char *dbfile = sqlite3_db_filename(s->db, "main");
    char *shm;
    struct stat st;
    int wal;

    cap_gate_detach(s);
    {
        sqlite3_stmt *q;
        wal = 0;
        /* a read makes SQLite open (and create) the -shm in WAL mode */
        if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode", -1, &q, NULL) ==
                SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
            wal = strcmp((const char *)sqlite3_column_text(q, 0), "wal") ==
                  0;
        sqlite3_finalize(q);
        sqlite3_exec(s->db, "SELECT count(*) FROM sqlite_schema", NULL, NULL,
                     NULL);
    }
    {
        sqlite3_stmt *q;
        s->autovacuum = 1;
        if (sqlite3_prepare_v2(s->db, "PRAGMA auto_vacuum", -1, &q, NULL) ==
                SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
            s->autovacuum = sqlite3_column_int(q, 0) != 0;
        sqlite3_finalize(q);
    }
    if (!wal)
        return JR_OK;
    shm = sqlite3_mprintf("%s-shm", dbfile);
    if (shm == NULL)
        return cap_fail(err, "malloc", "out of memory");
    s->shm_fd = open(shm, O_RDWR | O_CLOEXEC);
    if (s->shm_fd < 0) {
        cap_fail(err, "open", "cannot open %s (the source's WAL index) for "
                 "lock checks: %s", shm, strerror(errno));
        sqlite3_free(shm);
        return JR_ERR;
    }
    sqlite3_free(shm);
    if (fstat(s->shm_fd, &st) == 0 && st.st_size >= 136) {
        void *p = mmap(NULL, 136, PROT_READ, MAP_SHARED, s->shm_fd, 0);
        s->shm_map = p == MAP_FAILED ? NULL : p;
    }
    return JR_OK;
}

void cap_gate_detach(cap_src *s)
{
    if (s->shm_map != NULL)
        munmap((void *)s->shm_map, 136);
    s->shm_map = NULL;
    /* B1: called once SQLite no longer uses the file (cap_src_close) or
    ** before it ever locked it through the new descriptor (re-attach) */
    if (s->shm_fd >= 0)
        close(s->shm_fd);
    s->shm_fd = -1;
}

int cap_gate_rollback_quiet(cap_src *s)
{
    long pid = 0;

    if (s->db_fd < 0)
        return 1;
    if (lock_bytes(s->db_fd, F_GETLK, F_WRLCK, PENDING_BYTE, LOCK_RANGE,
                   &pid)) {
        s->busy_pid = pid;
        return 0;
    }
    return 1;
}

/* Is any other process in a transaction right now? */
static int others_active(cap_src *s)
{
    long pid = 0;

    if (s->shm_fd >= 0
            ? lock_bytes(s->shm_fd, F_GETLK, F_WRLCK, READ_MARKS_OFF,
                         READ_MARKS_N, &pid)
            : lock_bytes(s->db_fd, F_GETLK, F_WRLCK, PENDING_BYTE,
                         LOCK_RANGE, &pid)) {
        s->busy_pid = pid;
        return 1;
    }
    return 0;
}

int cap_gate_wait_quiet(cap_src *s, int max_us)
{
    int64_t end = sl_mono_us() + max_us;
    struct timespec ts = { 0, 50000 };

    /* An application that runs transaction after transaction leaves gaps
    ** of microseconds between them: look often (one fcntl each), briefly */
    for (;;) {
        if (!others_active(s))
            return 1;
        if (sl_mono_us() >= end)
            return 0;
        nanosleep(&ts, NULL);
    }
}

/* Run `sql` (a BEGIN) without waiting for any lock: JR_OK (in_write set),
** JR_EAGAIN when busy, JR_ERR. */
static int begin_now(cap_src *s, const char *sql, jr_err *err)
{
    int rc;

    sqlite3_busy_timeout(s->db, 0);
    rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    sqlite3_busy_timeout(s->db, s->busy_ms);
    if (rc != SQLITE_OK) {
        cap_rollback(s->db);
        return cap__is_busy(rc) ? JR_EAGAIN
                                : cap__sqlite_fail(err, s->db, "BEGIN");
    }
    s->in_write = 1;
    return JR_OK;
}

int cap_gate_begin(cap_src *s, jr_err *err)
{
    int rc;

    assert(!s->in_write);
    sample_data_version(s);
    if (!cap_gate_wait_quiet(s, GAP_WAIT_US))
        return JR_EAGAIN;
    if (s->shm_fd < 0) {
        /* rollback-journal mode: checks only (see the top of this file) */
        if ((rc = begin_now(s, "BEGIN IMMEDIATE", err)) != JR_OK)
            return rc;
        if (!cap_gate_rollback_quiet(s)) {
            cap_gate_rollback(s);
            return JR_EAGAIN;
        }
        return JR_OK;
    }
    /* 2. our read transaction first: SQLite takes our read mark now,
    ** before the barrier, so its lock calls cannot open holes in it; the
    ** write lock comes with the caller's first write (no read mark is
    ** touched then), when no other process can be in a transaction */
    if ((rc = begin_now(s, "BEGIN; SELECT 1 FROM sqlite_schema LIMIT 1",
                        err)) != JR_OK)
        return rc;
    /* 3. the barrier */
    if (!barrier_up(s)) {
        cap_gate_rollback(s);
        return JR_EAGAIN;
    }
    /* a fully checkpointed WAL is restarted at our first frame, dropping
    ** and retaking read marks (holes): only when the source is idle */
    if (wal_backfilled(s) &&
        sl_mono_us() - s->dv_changed_us < QUIET_US) {
        cap_gate_rollback(s);
        return JR_EAGAIN;
    }
    return JR_OK;
}

int cap_gate_busy(const jr_err *err)
{
    return err != NULL && err->code != JR_OK && err->domain == JR_D_SQLITE &&
           cap__is_busy(err->cause);
}

int cap_gate_commit(cap_src *s, jr_err *err)
{
    int rc;

    assert(s->in_write);
    if (s->shm_fd >= 0) {
        /* a WAL restart (see cap_gate_begin) happens here, as uncommitted
        ** frames, before the last check -- not inside COMMIT */
        if (wal_backfilled(s))
            sqlite3_db_cacheflush(s->db);
        if (!barrier_up(s)) {
            cap_gate_rollback(s);
            return JR_EAGAIN;
        }
    } else if (!cap_gate_rollback_quiet(s)) {
        cap_gate_rollback(s);
        return JR_EAGAIN;
    }
    sqlite3_busy_timeout(s->db, 0);
    rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    sqlite3_busy_timeout(s->db, s->busy_ms);
    if (rc != SQLITE_OK) {
        int busy = cap__is_busy(rc);
        if (!busy)
            cap__sqlite_fail(err, s->db, "COMMIT");
        cap_gate_rollback(s);
        return busy ? JR_EAGAIN : JR_ERR;
    }
    s->in_write = 0;
    if (s->shm_fd >= 0)
        barrier_down(s);
    s->commits++;
    return JR_OK;
}

void cap_gate_rollback(cap_src *s)
{
    cap_rollback(s->db);
    if (s->in_write && s->shm_fd >= 0)
        barrier_down(s);
    s->in_write = 0;
}

int cap__write(cap_src *s, int (*fn)(sqlite3 *, void *, jr_err *),
               void *arg, int wait_ms, volatile int *stop, jr_err *err)
{
    int64_t t0 = sl_mono_us();
    int delay_ms = 1, ret, logged = 0;

    for (;;) {
        ret = cap_gate_begin(s, err);
        if (ret == JR_OK) {
            ret = fn(s->db, arg, err);
            if (ret != JR_OK) {
                cap_gate_rollback(s);
                if (!cap_gate_busy(err))
                    return ret;
                jr_err_clear(err);
                ret = JR_EAGAIN;
            } else {
                ret = cap_gate_commit(s, err);
            }
        }
        if (ret != JR_EAGAIN)
            return ret;
        if ((stop != NULL && *stop) ||
            (wait_ms >= 0 && sl_mono_us() - t0 >= (int64_t)wait_ms * 1000))
            break;
        if (!logged && sl_mono_us() - t0 > 1000000) {
            SL_LOG(SL_INFO, "capture.waiting", "what=source_write pid=%ld "
                   "reason=%s", s->busy_pid, "\"another process has a "
                   "transaction open on the source; writing when it has "
                   "none\"");
            logged = 1;
        }
        sl_sleep_ms(delay_ms);
        delay_ms = delay_ms * 2 > 50 ? 50 : delay_ms * 2;
    }
    cap_fail(err, "source write", "the source %s always had a transaction "
             "of another process open (last seen: pid %ld) for %d ms, so "
             "capture could not write to it without making that "
             "application fail; try again when it is less busy, or raise "
             "--busy-timeout-ms", s->path, s->busy_pid, wait_ms);
    return JR_EAGAIN;
}
