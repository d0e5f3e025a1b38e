/*
** rp_run.c -- the replay loop.
**
**   connect (retrying with capped exponential backoff; MariaDB being down
**   at start is normal) -> read the replica's applied seq from
**   sluice_position -> for each COMPLETE group after it: run its leading
**   DDL records, apply the rest in one transaction together with the new
**   position, COMMIT, acknowledge to the journal (batched) -> wait for
**   more (poll jr_journal_version).
**
** Failure handling, by class (rp.h):
**   CONN    drop the connection, reconnect with backoff, retry the group
**   RETRY   roll back, retry the group after a short pause
**   DATA    retry the group in single-row mode to pin the value on one
**           seq; then --on-error=skip records it in sluice_rejects and
**           goes on, --on-error=stop logs it and retries slowly (the lag
**           metric shows it); never a partial group
**   CONFIG  log it, retry slowly (--once: exit non-zero)
**   FATAL   exit non-zero
** Each state change is logged once, not once per retry.
**
** INVARIANTS:
**  (L1) a group is applied only once it is complete in the journal
**       (complete_seq >= its first seq), so no transaction waits on capture.
**  (L2) the position row moves in the same transaction as the group's
**       changes; the journal ack only ever trails it.
**  (L3) a group is never skipped: after any error the same group is
**       retried from its first record.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rp_run.h"
#include "sl_log.h"
#include "sl_sig.h"

struct rp_state {
    rp_cfg cfg;
    rp_url url;
    jr_journal *j;
    char uuid[40];
    MYSQL *db;
    rp_tables ts;
    rp_apply *ap;
    jr_reader *rd;
    uint64_t applied, acked, complete;
    int64_t last_ack_us;
    long backoff_ms;
    int single;
    char last_problem[600];
    rp_stats stats;
    char q[700];
    void (*tick)(void *);
    void *tick_ctx;
};

jr_journal *rp_journal(rp_state *st)
{
    return st->j;
}

void rp_set_tick(rp_state *st, void (*fn)(void *), void *ctx)
{
    st->tick = fn;
    st->tick_ctx = ctx;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static const char *q(rp_state *st, const char *s)
{
    return sl_q(st->q, sizeof(st->q), s);
}

static const char *class_name(int cls)
{
    static const char *const n[] = { "none", "connection", "retry",
                                     "value", "config", "fatal" };
    return cls >= 0 && cls <= RP_E_FATAL ? n[cls] : "?";
}

/* Log a problem once per distinct message. */
static void problem(rp_state *st, const rp_error *e, const char *event)
{
    if (strcmp(st->last_problem, e->msg) == 0)
        return;
    snprintf(st->last_problem, sizeof(st->last_problem), "%s", e->msg);
    SL_LOG(e->cls == RP_E_RETRY ? SL_WARN : SL_ERROR, event,
           "class=%s applied_seq=%llu msg=%s", class_name(e->cls),
           (unsigned long long)st->applied, q(st, e->msg));
}

static void recovered(rp_state *st)
{
    if (st->last_problem[0]) {
        SL_LOG(SL_INFO, "replay.recovered", "applied_seq=%llu",
               (unsigned long long)st->applied);
        st->last_problem[0] = 0;
    }
    st->backoff_ms = 0;
}

static void backoff(rp_state *st)
{
    st->backoff_ms = st->backoff_ms ? st->backoff_ms * 2 : 100;
    if (st->backoff_ms > st->cfg.retry_max_ms)
        st->backoff_ms = (long)st->cfg.retry_max_ms;
    /* one line per retry at debug level (tests count them) */
    SL_LOG(SL_DEBUG, "replay.backoff", "delay_ms=%ld", st->backoff_ms);
    for (long left = st->backoff_ms; left > 0 && !sl_stop; left -= 1000) {
        sl_sleep_ms(left < 1000 ? left : 1000);
        if (st->tick != NULL)
            st->tick(st->tick_ctx);      /* metrics stay fresh */
    }
}

static void disconnect(rp_state *st)
{
    rp_apply_free(st->ap);
    st->ap = NULL;
    rp_tables_clear(&st->ts);
    if (st->db != NULL)
        mysql_close(st->db);
    st->db = NULL;
}

static int connect_target(rp_state *st, rp_error *e)
{
    st->db = rp_db_connect(&st->url, e);
    if (st->db == NULL)
        return -1;
    if (rp_position_init(st->db, e) != 0 ||
        rp_position_get(st->db, st->cfg.replica, st->uuid, &st->applied,
                        e) != 0) {
        disconnect(st);
        return -1;
    }
    st->ap = rp_apply_new(st->db, &st->ts, st->j, &st->cfg, st->uuid);
    if (st->ap == NULL) {
        disconnect(st);
        return rp_fail(e, RP_E_FATAL, 0, "out of memory");
    }
    SL_LOG(SL_INFO, "replay.connected", "replica=%s applied_seq=%llu",
           st->cfg.replica, (unsigned long long)st->applied);
    return 0;
}

int rp_open(rp_state **out, const rp_cfg *cfg, jr_err *err)
{
    rp_state *st = calloc(1, sizeof(*st));
    jr_journal_opts o = JR_JOURNAL_OPTS_INIT;
    jr_info info;
    int rc;

    *out = NULL;
    if (st == NULL)
        return JR_ERR;
    st->cfg = *cfg;
    if ((rc = rp_url_parse(&st->url, cfg->target, err)) != JR_OK)
        goto fail;
    /* replay may start before capture made the journal: wait for it
    ** (--once: nothing to apply is an error worth reporting) */
    while ((rc = jr_journal_open(&st->j, cfg->journal, &o, err)) ==
               JR_ENOTFOUND && !cfg->once && !sl_stop) {
        if (!st->stats.groups) {
            SL_LOG(SL_WARN, "replay.waiting_for_journal", "journal=%s "
                   "hint=\"start sluice-capture; replay waits\"",
                   q(st, cfg->journal));
            st->stats.groups = 1;       /* logged once */
        }
        jr_err_clear(err);
        sl_sleep_ms(500);
    }
    st->stats.groups = 0;
    if (rc != JR_OK || sl_stop) {
        if (rc == JR_OK)
            rc = JR_ERR;                /* stopped while waiting */
        goto fail;
    }
    if ((rc = jr_journal_info(st->j, &info, err)) != JR_OK ||
        (rc = jr_replica_register(st->j, cfg->replica, err)) != JR_OK ||
        (rc = jr_reader_open(&st->rd, st->j, 1, err)) != JR_OK)
        goto fail;
    snprintf(st->uuid, sizeof(st->uuid), "%s", info.journal_uuid);
    st->last_ack_us = now_us();
    *out = st;
    return JR_OK;
fail:
    rp_close(st);
    return rc;
}

void rp_close(rp_state *st)
{
    if (st == NULL)
        return;
    if (st->j != NULL && st->applied > st->acked)
        jr_replica_ack(st->j, st->cfg.replica, st->applied, NULL);
    disconnect(st);
    jr_reader_close(st->rd);
    jr_journal_close(st->j);
    rp_url_free(&st->url);
    free(st);
}

const rp_stats *rp_get_stats(rp_state *st)
{
    st->stats.applied_seq = st->applied;
    st->stats.connected = st->db != NULL;
    st->stats.stuck = st->last_problem[0] != 0;
    return &st->stats;
}

static void ack(rp_state *st, int force)
{
    int64_t t = now_us();

    if (st->applied <= st->acked ||
        (!force && t - st->last_ack_us < 1000000))
        return;
    if (jr_replica_ack(st->j, st->cfg.replica, st->applied, NULL) ==
        JR_OK) {
        st->acked = st->applied;
        st->last_ack_us = t;
    }
}

/* Read the next record of the group; journal problems are FATAL. */
static int next(rp_state *st, jr_entry *e, rp_error *re)
{
    jr_err err = { 0 };
    int rc = jr_reader_next(st->rd, e, &err);

    if (rc == JR_OK)
        return 0;
    if (rc == JR_EAGAIN)
        return rp_fail(re, RP_E_FATAL, 0, "journal ends inside a group it "
                       "reported complete (seq %llu)",
                       (unsigned long long)st->applied + 1);
    if (rc == JR_ENOTFOUND)
        return rp_fail(re, RP_E_FATAL, 0, "seq %llu was pruned from the "
                       "journal before replica %s applied it: this target "
                       "needs a fresh snapshot (new journal)",
                       (unsigned long long)st->applied + 1,
                       st->cfg.replica);
    return rp_fail(re, RP_E_FATAL, 0, "journal: %s", err.msg);
}

static int next_cb(void *ctx, jr_entry *e, rp_error *re)
{
    return next(ctx, e, re);
}

/* After SNAP_BEGIN: stream the snapshot's rows through LOAD DATA. On
** return *ent is the last record consumed (SNAP_END, or the one row). */
static int load_snapshot(rp_state *st, jr_entry *ent, uint64_t *rows,
                         rp_error *e)
{
    char table[512];
    rp_table *t;
    jr_entry end;
    uint64_t n = 0;

    snprintf(table, sizeof(table), "%s", ent->rec.table);
    if (next(st, ent, e) != 0)
        return -1;
    if (ent->rec.kind != JR_K_INSERT || strcmp(ent->rec.table, table) != 0)
        return rp_apply_record(st->ap, ent, e);   /* empty snapshot */
    if (rp_apply_check(st->ap, ent, e) != 0)
        return -1;
    t = rp_table_get(&st->ts, st->db, table, e);
    if (t == NULL)
        return e->cls ? -1 : rp_fail(e, RP_E_CONFIG, 0, "target table %s "
                                     "does not exist (seq %llu)", table,
                                     (unsigned long long)ent->seq);
    memset(&end, 0, sizeof(end));
    if (rp_load_snapshot(st->ap, st->db, t, ent, next_cb, st, &end, &n,
                         e) != 0)
        return -1;
    *rows += n;
    *ent = end;
    return 0;
}

/* Apply the group starting at applied + 1. */
static int apply_group(rp_state *st, rp_error *e)
{
    uint64_t start = st->applied + 1, rows = 0;
    int ddl = 1;
    jr_entry ent;

    jr_reader_seek(st->rd, start);
    rp_apply_reset(st->ap);
    rp_apply_set_single(st->ap, st->single);
    for (;;) {
        if (next(st, &ent, e) != 0)
            goto fail;
        if (ent.seq == start && ent.group != start) {
            rp_fail(e, RP_E_FATAL, 0, "journal seq %llu belongs to group "
                    "%llu, but the position says a group starts there",
                    (unsigned long long)start,
                    (unsigned long long)ent.group);
            goto fail;
        }
        if (sl_stop) {
            rp_fail(e, RP_E_RETRY, 0, "stopping");
            goto fail;
        }
        if (ent.rec.kind == JR_K_ABORT) {
            /* a crashed capture left this group open: discard it */
            mysql_rollback(st->db);
            SL_LOG(SL_INFO, "replay.group_aborted", "group=%llu seq=%llu",
                   (unsigned long long)start, (unsigned long long)ent.seq);
        } else {
            if (ddl && ent.rec.kind != JR_K_SCHEMA &&
                ent.rec.kind != JR_K_DROP)
                ddl = 0;
            if (rp_apply_record(st->ap, &ent, e) != 0)
                goto fail;
            rows++;
            if (ent.rec.kind == JR_K_SNAP_BEGIN && !st->single &&
                !ent.group_end && load_snapshot(st, &ent, &rows, e) != 0)
                goto fail;
        }
        if (ent.group_end)
            break;
    }
    if (rp_apply_flush(st->ap, e) != 0 ||
        rp_position_set(st->db, st->cfg.replica, st->uuid, ent.seq, e))
        goto fail;
    if (mysql_commit(st->db) != 0) {
        rp_fail_mysql(e, st->db, "COMMIT");
        goto fail;
    }
    st->applied = ent.seq;
    st->stats.groups++;
    st->stats.records += rows;
    st->stats.rejected += rp_apply_rejected(st->ap);
    if (rp_apply_rejected(st->ap) > 0)
        SL_LOG(SL_WARN, "replay.rejected", "group=%llu rows=%llu "
               "hint=\"see table sluice_rejects\"", (unsigned long long)start,
               (unsigned long long)rp_apply_rejected(st->ap));
    SL_LOG(SL_DEBUG, "replay.group", "group=%llu last_seq=%llu records=%llu",
           (unsigned long long)start, (unsigned long long)ent.seq,
           (unsigned long long)rows);
    return 0;
fail:
    if (st->db != NULL)
        mysql_rollback(st->db);
    return -1;
}

/* Is the group after `applied` complete in the journal? */
static int group_ready(rp_state *st)
{
    jr_info info;

    if (st->complete > st->applied)
        return 1;
    if (jr_journal_info(st->j, &info, NULL) != JR_OK)
        return 0;
    st->complete = info.complete_seq;
    st->stats.head_seq = info.complete_seq;
    return st->complete > st->applied;
}

int rp_run(rp_state *st, jr_err *err)
{
    int64_t started = now_us();
    uint64_t seen_version = 0;
    rp_error e;

    while (!sl_stop) {
        memset(&e, 0, sizeof(e));
        if (st->tick != NULL)
            st->tick(st->tick_ctx);
        if (st->db == NULL) {
            if (connect_target(st, &e) != 0) {
                problem(st, &e, "replay.target_unavailable");
                if (e.cls == RP_E_FATAL ||
                    (st->cfg.once && (e.cls == RP_E_CONFIG ||
                     now_us() - started > st->cfg.once_timeout_s * 1000000)))
                    goto fatal;
                backoff(st);
                continue;
            }
            recovered(st);
        }
        if (!group_ready(st)) {
            ack(st, 1);
            if (st->cfg.once)
                break;
            /* wait for capture: cheap version poll */
            for (int i = 0; i < 200 && !sl_stop; i++) {
                uint64_t v = jr_journal_version(st->j);
                if (v != seen_version) {
                    seen_version = v;
                    break;
                }
                sl_sleep_ms(st->cfg.poll_ms);
            }
            continue;
        }
        if (apply_group(st, &e) == 0) {
            st->single = 0;
            recovered(st);
            ack(st, 0);
            continue;
        }
        if (sl_stop)
            break;
        switch (e.cls) {
        case RP_E_CONN:
            problem(st, &e, "replay.connection_lost");
            disconnect(st);
            backoff(st);
            break;
        case RP_E_DATA:
            if (!st->single) {
                st->single = 1;          /* pin the value on one seq */
                continue;
            }
            problem(st, &e, "replay.value_rejected");
            if (st->cfg.once)
                goto fatal;
            backoff(st);
            break;
        case RP_E_CONFIG:
            problem(st, &e, "replay.target_problem");
            if (st->cfg.once)
                goto fatal;
            rp_tables_clear(&st->ts);
            rp_apply_reset(st->ap);
            backoff(st);
            break;
        case RP_E_FATAL:
            goto fatal;
        default:
            problem(st, &e, "replay.retry");
            backoff(st);
            break;
        }
    }
    ack(st, 1);
    return JR_OK;
fatal:
    ack(st, 1);
    memcpy(err->msg, e.msg, sizeof(err->msg) - 1);  /* may cut it */
    err->msg[sizeof(err->msg) - 1] = 0;
    err->code = JR_ERR;
    return JR_ERR;
}
