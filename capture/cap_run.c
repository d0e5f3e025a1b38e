/*
** cap_run.c -- the capture engine: open, step, wait, trim, close.
**
**   cap_open   validate the source, switch it to WAL, bind identities,
**              become the journal's writer, load the committed position
**   cap_step   reconcile if PRAGMA schema_version moved, then one drain
**              pass (cap_drain.c)
**   cap_wait   poll PRAGMA data_version every poll_ms until it moves
**   cap_trim   delete log rows the journal has durably (short write
**              transactions, batched), drop retired logs fully drained
**
** INVARIANTS:
**  (R1) nothing is written to the source before every check that can
**       fail on bad input has passed (missing --tables names, identity
**       mismatch, a second writer): no half-installed state.
**  (R2) trim deletes only rows with id < the COMMITTED position of their
**       log, and never the newest drained row, so log ids only grow.
** STATES: OPEN -> (reconcile -> drain)* -> CLOSED; PAUSED while
** _sluice_meta.paused = 1 (drain continues, nothing is installed).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cap_run.h"

#define TRIM_CHUNK 5000

int64_t cap_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

const char *cap_logq(cap_state *st, const char *s)
{
    return sl_q(st->q1, sizeof(st->q1), s ? s : "");
}

const char *cap_logq2(cap_state *st, const char *s)
{
    return sl_q(st->q2, sizeof(st->q2), s ? s : "");
}


/* Every name in --tables must be a capturable table (R1). */
static int check_table_filter(cap_state *st, jr_err *err)
{
    cap_namelist want, skipped;
    const char *p = st->cfg.tables;
    int ret;

    if (p == NULL)
        return JR_OK;
    if ((ret = cap_list_tables(st->db, &st->cfg, &want, &skipped, err)))
        return ret;
    while (ret == JR_OK && p && *p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        int found = 0, virt = 0;
        for (int i = 0; i < want.n; i++)
            if (strlen(want.names[i]) == len &&
                strncmp(want.names[i], p, len) == 0)
                found = 1;
        for (int i = 0; i < skipped.n; i++)
            if (strlen(skipped.names[i]) == len &&
                strncmp(skipped.names[i], p, len) == 0)
                virt = 1;
        if (len == 0)
            ret = cap_fail(err, "--tables", "--tables has an empty name "
                           "(two commas, or a trailing comma)");
        else if (virt)
            ret = cap_fail(err, "--tables", "table \"%.*s\" named in "
                           "--tables is a virtual table (or one of its "
                           "shadow tables), which capture cannot follow",
                           (int)len, p);
        else if (!found)
            ret = cap_fail(err, "--tables", "table \"%.*s\" named in "
                           "--tables does not exist in %s (or is also in "
                           "--exclude-tables)", (int)len, p,
                           st->cfg.source);
        p = comma ? comma + 1 : NULL;
    }
    cap_namelist_free(&want);
    cap_namelist_free(&skipped);
    return ret;
}

static int set_wal(cap_state *st, jr_err *err)
{
    sqlite3_stmt *s;
    const char *mode;
    int ret = JR_OK;

    if (sqlite3_prepare_v2(st->db, st->cfg.keep_journal_mode
                           ? "PRAGMA journal_mode" : "PRAGMA journal_mode="
                           "WAL", -1, &s, NULL) != SQLITE_OK)
        return cap_sqlite_fail(err, st->db, "PRAGMA journal_mode");
    if (sqlite3_step(s) != SQLITE_ROW) {
        ret = cap_sqlite_fail(err, st->db, "switching the source to WAL "
                              "mode");
    } else {
        mode = (const char *)sqlite3_column_text(s, 0);
        if (!st->cfg.keep_journal_mode && strcmp(mode, "wal") != 0)
            ret = cap_fail(err, "journal_mode", "could not switch %s to "
                           "WAL mode (it stays in %s mode); use "
                           "--keep-journal-mode to capture it anyway",
                           st->cfg.source, mode);
        else
            SL_LOG(SL_INFO, "capture.journal_mode", "source=%s mode=%s",
                   cap_logq(st, st->cfg.source), mode);
    }
    sqlite3_finalize(s);
    return ret;
}

/* The source's identity, without creating anything ("" if none yet). */
static int existing_source_id(cap_state *st, char *buf, size_t cap,
                              jr_err *err)
{
    sqlite3_stmt *s;
    int have = 0, ret;

    buf[0] = 0;
    if (sqlite3_prepare_v2(st->db, "SELECT 1 FROM sqlite_schema WHERE "
                           "name = '_sluice_meta'", -1, &s, NULL) != 0)
        return cap_sqlite_fail(err, st->db, "reading schema");
    have = sqlite3_step(s) == SQLITE_ROW;
    sqlite3_finalize(s);
    if (!have)
        return JR_OK;
    ret = cap_meta_get(st->db, "source_id", buf, cap, err);
    return ret == JR_ENOTFOUND ? JR_OK : ret;
}

static int open_journal(cap_state *st, jr_err *err)
{
    jr_journal_opts o = JR_JOURNAL_OPTS_INIT;
    jr_info info;
    char have[64];
    int ret;

    o.create = 1;
    o.map_max = (uint64_t)st->cfg.map_max_mb * 1024 * 1024;
    if ((ret = jr_journal_open(&st->j, st->cfg.journal, &o, err)) ||
        (ret = jr_journal_info(st->j, &info, err)) ||
        (ret = existing_source_id(st, have, sizeof(have), err)))
        return ret;
    if (info.source_id[0] && strcmp(info.source_id, have) != 0)
        return cap_fail(err, "identity", "journal %s was created for "
                        "another source (%s; this source is %s): give each "
                        "source its own journal directory", st->cfg.journal,
                        info.source_id, have[0] ? have : "not captured yet");
    ret = jr_writer_open(&st->w, st->j, NULL, err);
    if (ret == JR_EBUSY) {
        jr_err_clear(err);
        return cap_fail(err, "jr_writer_open", "another sluice-capture is "
                        "already writing journal %s; run one capture per "
                        "journal", st->cfg.journal);
    }
    return ret;
}

static int load_position(cap_state *st, jr_err *err)
{
    size_t len = 0;
    char *buf;
    int ret = jr_journal_source_pos(st->j, NULL, 0, &len, err);

    if (ret == JR_ENOTFOUND)
        return JR_OK;
    if (ret != JR_OK)
        return ret;
    if ((buf = malloc(len + 1)) == NULL)
        return cap_fail(err, "malloc", "out of memory");
    ret = jr_journal_source_pos(st->j, buf, len, &len, err);
    if (ret == JR_OK)
        ret = cap_pos_decode(&st->pos, buf, len, err);
    free(buf);
    return ret;
}

static int64_t data_version(cap_state *st)
{
    sqlite3_stmt *s;
    int64_t v = -1;

    if (sqlite3_prepare_v2(st->db, "PRAGMA data_version", -1, &s, NULL) ==
        SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

int cap_open(cap_state **out, const cap_cfg *cfg, jr_err *err)
{
    cap_state *st = calloc(1, sizeof(*st));
    int ret;

    *out = NULL;
    if (st == NULL)
        return cap_fail(err, "malloc", "out of memory");
    st->cfg = *cfg;
    if ((ret = cap_db_open(&st->db, cfg->source, (int)cfg->busy_ms, err)) ||
        (ret = check_table_filter(st, err)) ||
        (ret = open_journal(st, err)) ||
        (ret = set_wal(st, err)))
        goto fail;
    if ((ret = cap_begin_write(st->db, err)) != JR_OK)
        goto fail;
    if ((ret = cap_meta_init(st->db, st->source_id, sizeof(st->source_id),
                             err)) != JR_OK ||
        (ret = cap_commit(st->db, err)) != JR_OK) {
        cap_rollback(st->db);
        goto fail;
    }
    if ((ret = jr_journal_bind_source(st->j, st->source_id, err)) ||
        (ret = load_position(st, err)))
        goto fail;
    st->data_version = data_version(st);
    st->last_trim_us = cap_now_us();
    SL_LOG(SL_INFO, "capture.started", "source=%s journal=%s source_id=%s "
           "next_seq=%llu", cap_logq(st, cfg->source),
           cap_logq2(st, cfg->journal), st->source_id,
           (unsigned long long)jr_writer_next_seq(st->w));
    *out = st;
    return JR_OK;
fail:
    cap_close(st);
    return ret;
}

int cap_step(cap_state *st, volatile int *stop, jr_err *err)
{
    int ret = JR_EAGAIN;

    if (st->w == NULL &&
        (ret = jr_writer_open(&st->w, st->j, NULL, err)) != JR_OK)
        return ret;
    if (st->paused) {
        /* --resume only changes _sluice_meta (not the schema): look */
        char v[8];
        int r = cap_meta_get(st->db, "paused", v, sizeof(v), err);
        if (r != JR_OK && r != JR_ENOTFOUND)
            return r;
        if (r == JR_ENOTFOUND || strcmp(v, "1") != 0)
            st->have_schema_version = 0;       /* reconcile now */
    }
    for (int attempt = 0; attempt < 3 && !*stop; attempt++) {
        int64_t sv;
        if ((ret = cap_schema_version(st, &sv, err)) != JR_OK)
            return ret;
        if (!st->have_schema_version || sv != st->schema_version)
            if ((ret = cap_reconcile(st, err)) != JR_OK)
                return ret;
        ret = cap_drain(st, stop, err);
        if (ret != JR_EAGAIN || st->have_schema_version)
            break;
    }
    return ret;
}

void cap_wait(cap_state *st, volatile int *stop)
{
    int64_t until = cap_now_us() + 1000000;   /* housekeeping each second */

    while (!*stop && cap_now_us() < until) {
        int64_t v;
        usleep((useconds_t)st->cfg.poll_ms * 1000);
        v = data_version(st);
        if (v != st->data_version) {
            st->data_version = v;
            st->idle_since = 0;
            return;
        }
        if (st->idle_since == 0)
            st->idle_since = cap_now_us();
    }
}

static int trim_log(cap_state *st, int64_t id, int64_t below, jr_err *err)
{
    char sql[200];

    snprintf(sql, sizeof(sql), "DELETE FROM \"_sluice_log_%lld\" WHERE id "
             "< min(%lld, (SELECT coalesce(min(id), 0) FROM "
             "\"_sluice_log_%lld\") + %d)", (long long)id, (long long)below,
             (long long)id, TRIM_CHUNK);
    for (;;) {
        int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
        if (rc == SQLITE_BUSY || (rc & 0xff) == SQLITE_BUSY)
            return JR_EAGAIN;                 /* try again next time */
        if (rc != SQLITE_OK)
            return cap_sqlite_fail(err, st->db, "deleting drained log "
                                   "rows");
        if (sqlite3_changes(st->db) == 0)
            return JR_OK;
    }
}

/* Drop installations that are retired and fully journaled. */
static int forget_retired(cap_state *st, jr_err *err)
{
    cap_registry reg;
    int ret, changed = 0;

    if ((ret = cap_begin_write(st->db, err)) != JR_OK)
        return ret;
    if ((ret = cap_registry_load(st->db, &reg, err)) != JR_OK) {
        cap_rollback(st->db);
        return ret;
    }
    for (int i = 0; ret == JR_OK && i < reg.n; i++) {
        const cap_inst *in = &reg.v[i];
        cap_posent *e = cap_pos_find(&st->pos, in->id);
        char sql[96];
        sqlite3_stmt *s;
        int64_t max = 0;

        if (in->state == CAP_ACTIVE ||
            (in->state == CAP_DROPPED && (e == NULL || !e->drop_done)))
            continue;
        snprintf(sql, sizeof(sql), "SELECT coalesce(max(id), 0) FROM "
                 "\"_sluice_log_%lld\"", (long long)in->id);
        if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) == SQLITE_OK &&
            sqlite3_step(s) == SQLITE_ROW)
            max = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
        if (e != NULL && e->snapshotted && e->log_id < max)
            continue;                         /* not drained yet */
        ret = cap_forget(st->db, in->id, err);
        changed = 1;
    }
    cap_registry_free(&reg);
    if (ret != JR_OK || !changed) {
        cap_rollback(st->db);
        return ret;
    }
    return cap_commit(st->db, err);
}

int cap_trim(cap_state *st, int force, jr_err *err)
{
    int64_t now = cap_now_us();
    int ret = JR_OK;

    /* Deleting drained rows takes the source's write lock. An application
    ** transaction that read before our delete and writes after it fails
    ** with SQLITE_BUSY_SNAPSHOT whatever its busy timeout, so trim while
    ** the application is idle (no commit for 200 ms), unless the log has
    ** grown large or 30 s have passed. */
    int idle = st->idle_since != 0 && now - st->idle_since > 200000;
    int due = st->since_trim > 0 &&
              ((idle && now - st->last_trim_us > 1000000) ||
               st->since_trim >= 200000 ||
               now - st->last_trim_us > 30000000);

    if (!force && !due && now - st->last_prune_us <= 10000000)
        return JR_OK;
    for (int i = 0; ret == JR_OK && i < st->pos.n; i++)
        if (st->pos.v[i].log_id > 1)
            ret = trim_log(st, st->pos.v[i].id, st->pos.v[i].log_id, err);
    if (ret == JR_OK)
        ret = forget_retired(st, err);
    if (ret == JR_EAGAIN || (ret == JR_ERR && err &&
                             (err->cause & 0xff) == SQLITE_BUSY)) {
        jr_err_clear(err);
        return JR_OK;                         /* busy: next time */
    }
    if (ret == JR_OK) {
        st->since_trim = 0;
        st->last_trim_us = now;
    }
    if (ret == JR_OK && (force || now - st->last_prune_us > 10000000)) {
        /* records every registered replica has applied (and older than
        ** the retention window) leave the journal */
        uint64_t pruned = 0;
        jr_err e2 = { 0 };
        st->last_prune_us = now;
        if (jr_journal_prune(st->j, st->cfg.retention_s, &pruned, &e2) !=
            JR_OK)
            SL_LOG(SL_WARN, "capture.prune_failed", "msg=%s",
                   cap_logq(st, e2.msg));
        else if (pruned > 0)
            SL_LOG(SL_DEBUG, "capture.pruned", "records=%llu",
                   (unsigned long long)pruned);
    }
    return ret;
}

const cap_stats *cap_get_stats(cap_state *st)
{
    return &st->stats;
}

jr_journal *cap_journal(cap_state *st)
{
    return st->j;
}

int cap_paused(cap_state *st)
{
    return st->paused;
}

void cap_close(cap_state *st)
{
    if (st == NULL)
        return;
    jr_writer_close(st->w);
    jr_journal_close(st->j);
    if (st->db != NULL)
        sqlite3_close(st->db);
    cap_pos_free(&st->pos);
    cap_namelist_free(&st->warned);
    free(st->vals);
    free(st->names);
    free(st);
}
