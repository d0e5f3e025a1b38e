/*
** vf_live.c -- live mode (--journal): compare a running pipeline without
** stopping the application, capture or replay.
**
** The source and the target are each read in ONE snapshot held for the
** whole run, and the journal says how the two snapshots correspond:
**
**   1. F = the journal's head seq, read BEFORE the source snapshot P
**      begins. Every record <= F was built by capture from a read
**      transaction that began before F was committed, so it carries only
**      source changes committed before P.
**   2. P: one read transaction on the source (WAL mode: it never blocks
**      the application). Inside it: the schema version, the journal that
**      owns the source (_sluice_meta.journal_uuid must be this journal),
**      and for each ACTIVE installation (_sluice_tables) the high mark of
**      its change log, max(id) of _sluice_log_<id> (capture never deletes
**      the newest drained row, so every change committed before P has an
**      id <= the mark).
**   3. Wait until the journal's committed source position (capture's
**      "sluice-pos 1 sv=N ID:LOGID:FLAGS ...", read with capture's own
**      decoder, capture/cap_pos.h)
**      covers P: every active installation snapshotted ("s") with LOGID
**      >= its mark, and sv >= P's schema version (capture has reconciled
**      every DDL P can see: a table altered before P and not yet
**      reconciled would differ from its copy). The position travels only
**      in the commit that ends its group, so E = the head seq read AFTER
**      that position holds every change committed before P. When sv is
**      behind, P is given up and taken again later: capture's reconcile
**      writes to the source, which it does only while no reader is open.
**      The same when the schema moves AFTER P while capture has not
**      covered it (seen through a second connection, outside P): a pass
**      after DDL drains only the logs whose triggers still sit on their
**      table until capture reconciles, so a dropped or renamed table's
**      log might never be covered while P is held.
**   4. Wait until replay's position row (sqlite_sluice_position, this
**      --replica) is >= E, read inside the target snapshot T: START
**      TRANSACTION WITH CONSISTENT SNAPSHOT at REPEATABLE READ. Its seq S
**      is exactly what T holds (replay writes it in each group's
**      transaction).
**   5. The window (F, S]: every record there is read back (vf_flux.c).
**      A row whose key no record of the window touches is the same in P
**      and in T: its changes before P are all <= E <= S, none of them is
**      above F, and everything <= F precedes P. Rows whose key the window
**      touches are left out on both sides (reported as in_flux); a table
**      with a schema change, re-snapshot, truncation, drop or keyless
**      change in the window is reported skipped. A group crossing P is
**      thus included whole, and changes just before P that were journaled
**      after F count as in flux too: conservative, never wrong.
**
** Costs: the source's WAL cannot be checkpointed past P while verify
** runs (it grows with the application's writes), capture defers its own
** source writes (trims, installs) until P ends, and the window's keys
** are held in memory.
**
** INVARIANTS:
**  (L1) F is read before P's first read; E after the covering position.
**  (L2) both snapshots stay open from here to vf_live_end: every table is
**       compared at P against T.
**  (L3) a wait that does not succeed within --wait-s is a failure
**       (VF_FATAL_WAIT) naming what did not catch up, never a result.
*/
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "cap_pos.h"
#include "sl_clock.h"
#include "sl_log.h"
#include "sl_sig.h"
#include "vf.h"

#define POLL_MS 100

struct vf_inst {
    int64_t id;
    int64_t mark;            /* max(id) of its change log in P */
    char *name;
};

static void inst_free(vf_live *L)
{
    for (int i = 0; i < L->n; i++)
        free(L->inst[i].name);
    free(L->inst);
    L->inst = NULL;
    L->n = 0;
}

static int sfail(jr_err *e, sqlite3 *db, const char *what)
{
    return vf_fail(e, VF_FATAL_IO, "source: %s: %s", what,
                   sqlite3_errmsg(db));
}

static int one_text(sqlite3 *db, const char *sql, char *buf, size_t cap,
                    jr_err *e)
{
    sqlite3_stmt *st;
    int rc;

    buf[0] = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return sfail(e, db, sql);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL)
        snprintf(buf, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sfail(e, db, sql);
}

/* Step 2, inside a fresh read transaction: its first read starts P. */
static int read_marks(vf_ctx *x, vf_live *L, jr_err *e)
{
    sqlite3 *db = x->sdb;
    sqlite3_stmt *st;
    char owner[64], buf[32];
    int rc;

    inst_free(L);
    if (vf_src_begin(db, e) != 0)
        return -1;
    rc = sqlite3_prepare_v2(db, "SELECT value FROM _sluice_meta WHERE key "
                            "= 'journal_uuid'", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return vf_fail(e, VF_FATAL_IO, "source: no sluice capture "
                       "installation in it (%s): has sluice-capture run on "
                       "it?", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    if (one_text(db, "SELECT value FROM _sluice_meta WHERE key = "
                 "'journal_uuid'", owner, sizeof(owner), e) != 0 ||
        one_text(db, "PRAGMA schema_version", buf, sizeof(buf), e) != 0)
        return -1;
    if (strcmp(owner, L->journal_uuid) != 0)
        return vf_fail(e, VF_FATAL_IO, "the source belongs to journal %s, "
                       "not to --journal (%s): give the journal its "
                       "capture writes", owner[0] ? owner : "(none)",
                       L->journal_uuid);
    L->sv = strtoll(buf, NULL, 10);
    if (sqlite3_prepare_v2(db, "SELECT id, name FROM _sluice_tables WHERE "
                           "state = 0 ORDER BY id", -1, &st,
                           NULL) != SQLITE_OK)
        return sfail(e, db, "reading _sluice_tables");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct vf_inst *v = realloc(L->inst, (size_t)(L->n + 1) *
                                                 sizeof(*v));
        if (v == NULL) {
            sqlite3_finalize(st);
            return vf_fail(e, VF_FATAL_SW, "out of memory");
        }
        L->inst = v;
        v[L->n].id = sqlite3_column_int64(st, 0);
        v[L->n].mark = 0;
        v[L->n].name = strdup((const char *)sqlite3_column_text(st, 1));
        if (v[L->n].name == NULL) {
            sqlite3_finalize(st);
            return vf_fail(e, VF_FATAL_SW, "out of memory");
        }
        L->n++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return sfail(e, db, "reading _sluice_tables");
    for (int i = 0; i < L->n; i++) {
        char sql[96];
        snprintf(sql, sizeof(sql), "SELECT coalesce(max(id), 0) FROM "
                 "\"_sluice_log_%lld\"", (long long)L->inst[i].id);
        if (one_text(db, sql, buf, sizeof(buf), e) != 0)
            return -1;
        L->inst[i].mark = strtoll(buf, NULL, 10);
    }
    return 0;
}

/* The journal's committed source position, NUL-terminated (malloc'd). */
static char *read_pos(vf_live *L, jr_err *e)
{
    size_t cap = 4096, len = 0;
    char *buf = NULL;

    for (;;) {
        char *p = realloc(buf, cap + 1);
        int rc;
        if (p == NULL) {
            free(buf);
            vf_fail(e, VF_FATAL_SW, "out of memory");
            return NULL;
        }
        buf = p;
        rc = jr_journal_source_pos(L->j, buf, cap, &len, e);
        if (rc == JR_ENOTFOUND) {
            buf[0] = 0;
            return buf;
        }
        if (rc != JR_OK) {
            free(buf);
            e->cls = VF_FATAL_IO;
            return NULL;
        }
        if (len <= cap) {
            buf[len] = 0;
            return buf;
        }
        cap = len;
    }
}

/* Step 3: 1 covered, 0 not yet (why in buf), 2 the schema is ahead of
** capture's reconcile (give P up), -1 error. */
static int covered(vf_live *L, char *why, size_t cap, jr_err *e)
{
    char *pos = read_pos(L, e);
    cap_pos p = { 0, 0, NULL, -1 };
    int ret = 1;

    if (pos == NULL)
        return -1;
    if (pos[0] == 0) {
        snprintf(why, cap, "the journal holds no capture position yet");
        free(pos);
        return 0;
    }
    if (cap_pos_decode(&p, pos, strlen(pos), e) != JR_OK) {
        free(pos);
        e->cls = VF_FATAL_IO;
        return -1;
    }
    free(pos);
    if (p.schema_version < L->sv) {
        snprintf(why, cap, "capture has not reconciled the source's schema "
                 "(schema version %lld in the snapshot, %lld journaled)",
                 (long long)L->sv, (long long)p.schema_version);
        cap_pos_free(&p);
        return 2;
    }
    for (int i = 0; i < L->n && ret == 1; i++) {
        const cap_posent *en = cap_pos_find(&p, L->inst[i].id);
        if (en == NULL || !en->snapshotted || en->log_id < L->inst[i].mark) {
            snprintf(why, cap, "table %s: change log id %lld in the "
                     "snapshot, journaled up to %lld%s", L->inst[i].name,
                     (long long)L->inst[i].mark,
                     en ? (long long)en->log_id : -1LL,
                     en && !en->snapshotted ? " (snapshot not journaled)"
                                            : "");
            ret = 0;
        }
    }
    cap_pos_free(&p);
    return ret;
}

static int head_seq(vf_live *L, uint64_t *out, jr_err *e)
{
    jr_info in;

    if (jr_journal_info(L->j, &in, e) != JR_OK) {
        e->cls = VF_FATAL_IO;
        return -1;
    }
    *out = in.head_seq;
    return 0;
}

/* Has the source's schema moved since P (read outside P, through the
** probe connection)? Unsure counts as no. */
static int schema_moved(vf_live *L)
{
    char buf[32];
    jr_err pe = { 0 };

    if (L->probe == NULL ||
        one_text(L->probe, "PRAGMA schema_version", buf, sizeof(buf),
                 &pe) != 0)
        return 0;
    return strtoll(buf, NULL, 10) != L->sv;
}

static int wait_capture(vf_ctx *x, vf_live *L, int64_t deadline, jr_err *e)
{
    char why[400] = "";
    int held = 0, logged = 0;

    for (;;) {
        int rc;
        if (!held) {
            if (head_seq(L, &L->from_seq, e) != 0 ||     /* L1: F, then P */
                read_marks(x, L, e) != 0)
                return -1;
            held = 1;
        }
        if ((rc = covered(L, why, sizeof(why), e)) < 0)
            return -1;
        if (rc == 1)
            return head_seq(L, &L->cover_seq, e);       /* L1: E */
        if (!logged) {
            char q[600];
            SL_LOG(SL_INFO, "verify.waiting", "for=capture from_seq=%"
                   PRIu64 " why=%s", L->from_seq, sl_q(q, sizeof(q), why));
            logged = 1;
        }
        if (rc == 0 && schema_moved(L))
            rc = 2;                 /* DDL after P: see the header */
        if (rc == 2) {
            vf_src_end(x->sdb);     /* let capture's reconcile write */
            held = 0;
        }
        if (sl_mono_us() >= deadline)
            return vf_fail(e, VF_FATAL_WAIT, "waited %lld s for capture: "
                           "the journal does not hold the source's changes "
                           "up to the verify snapshot (%s): capture is "
                           "stopped or not keeping up", x->cfg->wait_s, why);
        sl_sleep_ms(POLL_MS);
    }
}

static int tfail(jr_err *e, MYSQL *db, const char *what)
{
    jr_err re = { 0 };
    tg_fail_mysql(&re, db, what);
    return vf_fail(e, VF_FATAL_IO, "target: %s", re.msg);
}

/* Replay's position in the current snapshot: 0 if it has none yet. */
static int read_applied(vf_ctx *x, vf_live *L, uint64_t *seq, jr_err *e)
{
    char have[64];
    int found;
    jr_err re = { 0 };

    if (tg_position_read(x->tdb, x->cfg->replica, have, sizeof(have), seq,
                         &found, &re) != 0)
        return vf_fail(e, re.cls == TG_E_FATAL ? VF_FATAL_SW : VF_FATAL_IO,
                       "target: %s", re.msg);
    if (found > 0 && strcmp(have, L->journal_uuid) != 0) {
        *seq = 0;
        return vf_fail(e, VF_FATAL_IO, "target: replica %s applied "
                       "journal %s, not --journal (%s)", x->cfg->replica,
                       have, L->journal_uuid);
    }
    return 0;
}

static int wait_replay(vf_ctx *x, vf_live *L, int64_t deadline, jr_err *e)
{
    int logged = 0;

    if (mysql_query(x->tdb, "SET SESSION TRANSACTION ISOLATION LEVEL "
                    "REPEATABLE READ") != 0)
        return tfail(e, x->tdb, "setting REPEATABLE READ");
    for (;;) {
        uint64_t seq;
        if (vf_tgt_begin(x->tdb, e) != 0) {
            e->cls = VF_FATAL_IO;
            return -1;
        }
        if (read_applied(x, L, &seq, e) != 0)
            return -1;
        if (seq >= L->cover_seq) {
            L->applied_seq = seq;            /* T stays open (L2) */
            return 0;
        }
        vf_tgt_end(x->tdb);
        if (!logged) {
            SL_LOG(SL_INFO, "verify.waiting", "for=replay replica=%s "
                   "applied_seq=%" PRIu64 " need_seq=%" PRIu64,
                   x->cfg->replica, seq, L->cover_seq);
            logged = 1;
        }
        if (sl_mono_us() >= deadline)
            return vf_fail(e, VF_FATAL_WAIT, "waited %lld s for replay: "
                           "replica %s has applied seq %" PRIu64 ", the "
                           "verify snapshot needs seq %" PRIu64 ": replay "
                           "is stopped or not keeping up", x->cfg->wait_s,
                           x->cfg->replica, seq, L->cover_seq);
        sl_sleep_ms(POLL_MS);
    }
}

/* Step 5: records (from_seq, applied_seq]. */
static int read_window(vf_live *L, jr_err *e)
{
    jr_reader *rd = NULL;
    jr_entry en;
    uint64_t want = L->from_seq + 1;
    int ret = -1;

    if (L->applied_seq <= L->from_seq)
        return 0;
    if (jr_reader_open(&rd, L->j, want, e) != JR_OK) {
        e->cls = VF_FATAL_IO;
        return -1;
    }
    while (want <= L->applied_seq) {
        int rc = jr_reader_next(rd, &en, e);
        if (rc == JR_ENOTFOUND || rc == JR_EAGAIN) {
            vf_fail(e, VF_FATAL_IO, "journal: seq %" PRIu64 " is %s: the "
                    "changes between the snapshots cannot be read",
                    want, rc == JR_ENOTFOUND ? "pruned" : "not there");
            goto out;
        }
        if (rc != JR_OK) {
            e->cls = VF_FATAL_IO;
            goto out;
        }
        if (en.seq > L->applied_seq)
            break;
        if (vf_flux_add(&L->flux, &en, e) != 0)
            goto out;
        want = en.seq + 1;
    }
    ret = 0;
out:
    jr_reader_close(rd);
    return ret;
}

int vf_live_begin(vf_ctx *x, vf_live *L, jr_err *e)
{
    jr_journal_opts o = JR_JOURNAL_OPTS_INIT;
    int64_t deadline = sl_mono_us() + x->cfg->wait_s * 1000000;
    jr_info in;
    char mode[32];

    o.read_only = 1;
    if (jr_journal_open(&L->j, x->cfg->journal, &o, e) != JR_OK ||
        jr_journal_info(L->j, &in, e) != JR_OK) {
        e->cls = VF_FATAL_IO;
        return -1;
    }
    snprintf(L->journal_uuid, sizeof(L->journal_uuid), "%s",
             in.journal_uuid);
    if (one_text(x->sdb, "PRAGMA journal_mode", mode, sizeof(mode), e) != 0)
        return -1;
    if (strcmp(mode, "wal") != 0)
        return vf_fail(e, VF_FATAL_IO, "source: live mode needs the source "
                       "in WAL mode, and it is in %s mode (a read "
                       "transaction held there would block the "
                       "application's commits): compare it idle, without "
                       "--journal", mode);
    if (vf_src_open(&L->probe, x->cfg->source, e) != 0 ||
        wait_capture(x, L, deadline, e) != 0)
        return -1;
    sqlite3_close(L->probe);
    L->probe = NULL;
    SL_LOG(SL_INFO, "verify.source_snapshot", "from_seq=%" PRIu64
           " cover_seq=%" PRIu64 " installations=%d schema_version=%lld",
           L->from_seq, L->cover_seq, L->n, (long long)L->sv);
    if (wait_replay(x, L, deadline, e) != 0)
        return -1;
    SL_LOG(SL_INFO, "verify.target_snapshot", "applied_seq=%" PRIu64,
           L->applied_seq);
    return read_window(L, e);
}

void vf_live_end(vf_ctx *x, vf_live *L)
{
    if (L == NULL)
        return;
    if (x->sdb != NULL)
        vf_src_end(x->sdb);
    if (x->tdb != NULL)
        vf_tgt_end(x->tdb);
    jr_journal_close(L->j);
    L->j = NULL;
    sqlite3_close(L->probe);
    L->probe = NULL;
    inst_free(L);
    vf_flux_free(&L->flux);
}
