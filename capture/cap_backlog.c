/*
** cap_backlog.c -- the changes waiting in the source's change logs that
** are not journaled yet: how many, and the source change time of the
** oldest (sluice_capture_backlog_changes and
** sluice_capture_backlog_oldest_change_timestamp_seconds).
**
** WHY. Replay's lag is measured on the journal: while capture is stopped,
** frozen or held back by a full journal, the journal does not move and
** every replica looks caught up although the application's changes pile
** up in the change logs. The backlog is what shows it, and the oldest
** waiting change time is what turns replay's lag into end-to-end lag.
**
** HOW. A second, read-only connection to the source, used only here, in
** one short read transaction per call: per active installation max(id)
** and the t of the first row above the committed position (two B-tree
** seeks per log). Log ids are dense above the position (cap_drain.c,
** GAPS), so max(id) - position is the count. Its own connection because
** the main one may sit inside a drain's read transaction for as long as a
** full journal holds capture back (cap_drain.c, commit_waiting), which
** is exactly when the backlog grows and must be seen. Retired logs are not
** counted: their rows are superseded by the re-snapshot of their table
** or by its DROP.
**
** INVARIANTS:
**  (K1) reads only, SQLITE_OPEN_READONLY: no write to the source, so
**       invariant 3 of DESIGN.md holds as for a drain.
**  (K2) called from capture's one thread, never while the gate's barrier
**       is held (B2 of cap_gate.c): SQLite's unlock of our read mark would
**       otherwise open a hole in the barrier (POSIX locks are the
**       process's). The connection is closed before the main one (B1).
**  (K3) a busy source is not an error: the previous figures are kept
**       (JR_EAGAIN), so a metric is never made up.
*/
#include <stdio.h>

#include "cap_run.h"

int cap__backlog(cap_state *st, uint64_t *changes, int64_t *oldest_us,
                 jr_err *err)
{
    uint64_t n = 0;
    int64_t oldest = 0;
    int ret = JR_OK;
    sqlite3 *db;

    if (st->src.in_write)
        return JR_EAGAIN;
    if (st->backlog_db == NULL) {
        if (sqlite3_open_v2(st->src.path, &st->backlog_db,
                            SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
            ret = cap__sqlite_fail(err, st->backlog_db, "opening the source "
                                  "to read the backlog");
            sqlite3_close(st->backlog_db);
            st->backlog_db = NULL;
            return ret;
        }
        sqlite3_busy_timeout(st->backlog_db, 0);
    }
    db = st->backlog_db;
    if (cap__exec(db, "BEGIN", err) != JR_OK) {
        if (cap_gate_busy(err)) {
            jr_err_clear(err);
            return JR_EAGAIN;
        }
        return JR_ERR;
    }
    for (int i = 0; ret == JR_OK && i < st->reg.n; i++) {
        const cap_inst *in = &st->reg.v[i];
        const cap_posent *e;
        int64_t from;
        char sql[200];
        sqlite3_stmt *s;
        int rc;

        if (in->state != CAP_ACTIVE)
            continue;
        e = cap_pos_find(&st->pos, in->id);
        from = e != NULL ? e->log_id : 0;
        snprintf(sql, sizeof(sql), "SELECT max(id), (SELECT t FROM "
                 "\"_sluice_log_%lld\" WHERE id > ?1 ORDER BY id LIMIT 1) "
                 "FROM \"_sluice_log_%lld\"", (long long)in->id,
                 (long long)in->id);
        if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
            ret = cap__sqlite_fail(err, db, "reading the backlog");
            break;
        }
        sqlite3_bind_int64(s, 1, from);
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            int64_t max = sqlite3_column_int64(s, 0);
            if (max > from)
                n += (uint64_t)(max - from);
            if (sqlite3_column_type(s, 1) != SQLITE_NULL) {
                int64_t t = cap__jd_to_us(sqlite3_column_double(s, 1));
                if (oldest == 0 || t < oldest)
                    oldest = t;
            }
        } else if (rc != SQLITE_DONE) {
            ret = cap__sqlite_fail(err, db, "reading the backlog");
        }
        sqlite3_finalize(s);
    }
    cap_rollback(db);            /* ends the read transaction */
    if (ret != JR_OK) {
        if (cap_gate_busy(err)) {
            jr_err_clear(err);
            return JR_EAGAIN;
        }
        return ret;
    }
    *changes = n;
    *oldest_us = oldest;
    return JR_OK;
}
