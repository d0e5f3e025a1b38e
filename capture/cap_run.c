/*
** cap_run.c -- the capture engine: open, step, wait, housekeeping, close.
**
**   cap_open      validate the source, become the journal's writer, check
**                 both identities (the journal's source, the source's
**                 journal), switch the source to WAL, load the position
**   cap_step      reconcile if PRAGMA schema_version moved (its writes may
**                 have to wait for the gate: draining goes on meanwhile),
**                 then one drain pass when the source moved
**   cap_wait      poll PRAGMA data_version every poll_ms until it moves
**   cap_housekeep trims, retired logs, journal pruning, the source file's
**                 identity, about once a second
**
** INVARIANTS:
**  (R1) nothing is written to the source before every check that can
**       fail on bad input has passed (missing --tables names, identity
**       mismatch in either direction, a second writer): no half-installed
**       state.
**  (R2) one source, one journal: the source records the UUID of the
**       journal that owns it (_sluice_meta.journal_uuid) and capture into
**       any other journal is refused; the journal records its source.
**  (R3) capture never waits for the source while a drain could run: every
**       write goes through the gate and is retried later when refused.
** STATES: OPEN -> (reconcile? -> drain)* -> CLOSED; PAUSED while
** _sluice_meta.paused = 1 (drain continues, nothing is installed).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cap_run.h"
#include "sl_clock.h"
#include "sl_sig.h"

/* Every name in --tables must be a capturable table (R1). */
static int check_table_filter(cap_state *st, jr_err *err)
{
    cap_namelist want, skipped;
    cap_catalog cat;
    const char *p = st->cfg.tables;
    int ret;

    if (p == NULL)
        return JR_OK;
    if ((ret = cap__catalog_load(st->src.db, &cat, err)) != JR_OK)
        return ret;
    ret = cap__list_tables(&cat, &st->cfg, NULL, &want, &skipped, err);
    cap__catalog_free(&cat);
    if (ret != JR_OK)
        return ret;
    while (ret == JR_OK && p && *p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        int found = 0, virt = 0;
        for (int i = 0; i < want.n; i++)
            if (strlen(want.names[i]) == len &&
                sqlite3_strnicmp(want.names[i], p, (int)len) == 0)
                found = 1;
        for (int i = 0; i < skipped.n; i++)
            if (strlen(skipped.names[i]) == len &&
                sqlite3_strnicmp(skipped.names[i], p, (int)len) == 0)
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
                           "--exclude-tables, or is one of sluice's own)",
                           (int)len, p, st->cfg.source);
        p = comma ? comma + 1 : NULL;
    }
    cap__namelist_free(&want);
    cap__namelist_free(&skipped);
    return ret;
}

static int open_journal(cap_state *st, jr_err *err)
{
    jr_journal_opts o = JR_JOURNAL_OPTS_INIT;
    jr_info info;
    int ret;

    o.create = 1;
    o.map_max = (uint64_t)st->cfg.map_max_mb * 1024 * 1024;
    if ((ret = jr_journal_open(&st->j, st->cfg.journal, &o, err)) ||
        (ret = jr_journal_info(st->j, &info, err)))
        return ret;
    snprintf(st->journal_uuid, sizeof(st->journal_uuid), "%s",
             info.journal_uuid);
    ret = jr_writer_open(&st->w, st->j, NULL, err);
    if (ret == JR_EBUSY) {
        jr_err_clear(err);
        return cap_fail(err, "jr_writer_open", "another sluice-capture is "
                        "already writing journal %s; run one capture per "
                        "journal", st->cfg.journal);
    }
    return ret;
}

/* Both identities, read-only (R1, R2). *need_write: the source lacks
** sluice's metadata, its identity or its journal's UUID. */
static int check_identities(cap_state *st, int *need_write, jr_err *err)
{
    jr_info info;
    char have[64] = "", owner[64] = "";
    int ret;

    *need_write = 1;
    if ((ret = jr_journal_info(st->j, &info, err)) != JR_OK)
        return ret;
    if (cap__meta_exists(st->src.db)) {
        ret = cap__meta_get(st->src.db, CAP_META_SOURCE_ID, have,
                            sizeof(have), err);
        if (ret == JR_OK)
            ret = cap__meta_get(st->src.db, CAP_META_JOURNAL_UUID, owner,
                                sizeof(owner), err);
        if (ret != JR_OK && ret != JR_ENOTFOUND)
            return ret;
        jr_err_clear(err);
    }
    if (info.source_id[0] && strcmp(info.source_id, have) != 0)
        return cap_fail(err, "identity", "journal %s was created for "
                        "another source (%s; this source is %s): give each "
                        "source its own journal directory", st->cfg.journal,
                        info.source_id, have[0] ? have : "not captured yet");
    if (owner[0] && strcmp(owner, st->journal_uuid) != 0)
        return cap_fail(err, "identity", "source is captured into journal "
                        "%s, not %s: one source feeds one journal (a second "
                        "loses changes). More targets: more sluice-replay "
                        "replicas of that journal. Start over: "
                        "sluice-capture --source DB --uninstall", owner,
                        st->journal_uuid);
    *need_write = !have[0] || !owner[0];
    if (have[0])
        snprintf(st->source_id, sizeof(st->source_id), "%s", have);
    return JR_OK;
}

static int init_fn(sqlite3 *db, void *arg, jr_err *err)
{
    cap_state *st = arg;
    char owner[64];
    int ret;

    if ((ret = cap__meta_init(db, err)) != JR_OK ||
        (ret = cap__meta_get(db, CAP_META_SOURCE_ID, st->source_id,
                             sizeof(st->source_id), err)) != JR_OK)
        return ret;
    ret = cap__meta_get(db, CAP_META_JOURNAL_UUID, owner, sizeof(owner),
                        err);
    if (ret == JR_ENOTFOUND)
        return cap__meta_set(db, CAP_META_JOURNAL_UUID, st->journal_uuid,
                             err);
    if (ret == JR_OK && strcmp(owner, st->journal_uuid) != 0)
        return cap_fail(err, "identity", "source %s was just bound to "
                        "another journal (%s) by another process",
                        st->cfg.source, owner);
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
    int64_t v = -1;

    if (st->dv_stmt == NULL &&
        sqlite3_prepare_v2(st->src.db, "PRAGMA data_version", -1,
                           &st->dv_stmt, NULL) != SQLITE_OK)
        st->dv_stmt = NULL;
    if (st->dv_stmt != NULL) {
        if (sqlite3_step(st->dv_stmt) == SQLITE_ROW)
            v = sqlite3_column_int64(st->dv_stmt, 0);
        sqlite3_reset(st->dv_stmt);
    }
    return v;
}

int cap_open(cap_state **out, const cap_cfg *cfg, volatile int *stop,
             jr_err *err)
{
    cap_state *st = calloc(1, sizeof(*st));
    int ret, need_write;
    int wait_ms = cfg->once ? (int)cfg->busy_ms : -1;

    *out = NULL;
    if (st == NULL)
        return cap_fail(err, "malloc", "out of memory");
    st->cfg = *cfg;
    st->pos.schema_version = -1;
    st->src.db_fd = st->src.shm_fd = -1;
    if ((ret = cap_src_open(&st->src, cfg->source, (int)cfg->busy_ms,
                            err)) ||
        (ret = check_table_filter(st, err)) ||
        (ret = open_journal(st, err)) ||
        (ret = check_identities(st, &need_write, err)) ||
        (ret = cap__src_set_wal(&st->src, cfg->keep_journal_mode, wait_ms,
                                stop, err)))
        goto fail;
    if (need_write &&
        (ret = cap__write(&st->src, init_fn, st, wait_ms, stop, err)) != 0)
        goto fail;
    /* the registry is loaded by the first step's reconcile */
    if ((ret = jr_journal_bind_source(st->j, st->source_id, err)) ||
        (ret = load_position(st, err)))
        goto fail;
    st->schema_version = st->pos.schema_version;
    st->have_schema_version = 0;        /* the first step reconciles */
    st->data_version = data_version(st);
    st->drain_due = 1;
    {
        const char *c = getenv("SLUICE_CAPTURE_CHECK_FILTER");
        st->check_filter = c != NULL && strcmp(c, "1") == 0;
    }
    SL_LOG(SL_INFO, "capture.started", "source=%s journal=%s source_id=%s "
           "next_seq=%llu", cap__logq(st, cfg->source),
           cap__logq2(st, cfg->journal), st->source_id,
           (unsigned long long)jr_writer_next_seq(st->w));
    *out = st;
    return JR_OK;
fail:
    cap_close(st);
    return ret;
}

/* Log (at most once a minute) that a source write keeps waiting. */
static void note_waiting(cap_state *st, const char *what)
{
    int64_t now = sl_mono_us();

    if (st->reconcile_wait_us == 0)
        st->reconcile_wait_us = now;
    st->stats.waiting_since_us = st->reconcile_wait_us;
    if (now - st->reconcile_wait_us < 1000000 ||
        now - st->last_waiting_log_us < 60000000)
        return;
    st->last_waiting_log_us = now;
    SL_LOG(now - st->reconcile_wait_us > 30000000 ? SL_WARN : SL_INFO,
           "capture.waiting", "what=%s waited_ms=%lld pid=%ld reason=%s",
           what, (long long)((now - st->reconcile_wait_us) / 1000),
           st->src.busy_pid, "\"another process always has a transaction "
           "open on the source; capture writes only when none is open, so "
           "the application never fails because of it\"");
}

int cap_step(cap_state *st, volatile int *stop, jr_err *err)
{
    int64_t sv;
    int ret;

    if (st->w == NULL &&
        (ret = jr_writer_open(&st->w, st->j, NULL, err)) != JR_OK)
        return ret;
    if (st->paused) {
        /* --resume only changes _sluice_meta (not the schema): look */
        char v[8];
        int r = cap__meta_get(st->src.db, CAP_META_PAUSED, v, sizeof(v),
                              err);
        if (r != JR_OK && r != JR_ENOTFOUND)
            return r;
        jr_err_clear(err);
        if (r == JR_ENOTFOUND || strcmp(v, "1") != 0)
            st->have_schema_version = 0;       /* reconcile now */
    }
    if ((ret = cap__schema_version(st->src.db, &sv, err)) != JR_OK)
        return ret;
    if (!st->have_schema_version || sv != st->schema_version ||
        st->reconcile_pending) {
        ret = cap__reconcile(st, err);
        if (ret == JR_EAGAIN) {
            note_waiting(st, "schema_change");
            st->stats.writes_deferred++;
        } else if (ret != JR_OK) {
            return ret;
        } else {
            if (st->reconcile_wait_us != 0)
                SL_LOG(SL_INFO, "capture.waited", "what=schema_change "
                       "waited_ms=%lld", (long long)((sl_mono_us() -
                       st->reconcile_wait_us) / 1000));
            st->reconcile_wait_us = 0;
            st->stats.waiting_since_us = 0;
        }
    }
    if (!st->drain_due && !st->pos_dirty)
        return JR_EAGAIN;
    st->drain_due = 0;
    ret = cap__drain(st, stop, err);
    if (ret == JR_OK)
        st->drain_due = 1;               /* more may have come meanwhile */
    return ret;
}

void cap_wait(cap_state *st, volatile int *stop)
{
    int64_t until = sl_mono_us() + 1000000;   /* housekeeping each second */

    if (st->reconcile_pending)                   /* retry the gate soon */
        until = sl_mono_us() + st->cfg.poll_ms * 1000;
    if (st->seen.valid) {
        /* WAL mode: woken by the WAL file's writes (inotify), confirmed
        ** by the wal-index header in shared memory (no lock, no read
        ** transaction) */
        if (cap__wal_wait(&st->src, &st->seen,
                          (int)((until - sl_mono_us()) / 1000), stop))
            st->drain_due = 1;
        return;
    }
    while (!*stop) {
        int64_t v;
        sl_sleep_ms((long)st->cfg.poll_ms);
        v = data_version(st);
        if (v != st->data_version) {
            st->data_version = v;
            st->drain_due = 1;
            return;
        }
        if (sl_mono_us() >= until)
            return;
    }
}

int cap_housekeep(cap_state *st, int force, jr_err *err)
{
    int64_t now = sl_mono_us();
    int ret;

    if (!force && now - st->last_housekeep_us < 1000000)
        return JR_OK;
    st->last_housekeep_us = now;
    if ((ret = cap__src_check(&st->src, err)) != JR_OK ||
        (ret = cap_trim(st, force, err)) != JR_OK)
        return ret;
    if (force || now - st->last_prune_us > 10000000) {
        /* records every registered replica has applied and older than the
        ** retention window leave the journal */
        uint64_t pruned = 0;
        jr_err e2 = { 0 };
        st->last_prune_us = now;
        if (jr_journal_prune(st->j, st->cfg.retention_s, &pruned, &e2) !=
            JR_OK)
            SL_LOG(SL_WARN, "capture.prune_failed", "msg=%s",
                   cap__logq(st, e2.msg));
        else if (pruned > 0)
            SL_LOG(SL_DEBUG, "capture.pruned", "records=%llu",
                   (unsigned long long)pruned);
    }
    return JR_OK;
}

const cap_stats *cap_get_stats(cap_state *st)
{
    st->stats.source_commits = st->src.commits;
    return &st->stats;
}

jr_journal *cap_journal(cap_state *st)
{
    return st->j;
}

void cap_set_tick(cap_state *st, void (*fn)(void *), void *ctx)
{
    st->tick = fn;
    st->tick_ctx = ctx;
}

int cap_paused(cap_state *st)
{
    return st->paused;
}

int cap_pending(cap_state *st)
{
    return st->reconcile_pending || !st->have_schema_version;
}

void cap_close(cap_state *st)
{
    if (st == NULL)
        return;
    jr_writer_close(st->w);
    jr_journal_close(st->j);
    sqlite3_close(st->backlog_db);      /* before the main one (B1) */
    cap__registry_free(&st->reg);       /* finalizes cached statements */
    if (st->dv_stmt != NULL)
        sqlite3_finalize(st->dv_stmt);
    cap_src_close(&st->src);
    cap_pos_free(&st->pos);
    cap__namelist_free(&st->warned);
    free(st->trim);
    free(st->pages.v);
    free(st->vals);
    free(st->names);
    free(st);
}
