/*
** rp_run.c -- the replay loop.
**
**   connect (retrying with capped exponential backoff; MariaDB being down
**   at start is normal) -> read the replica's applied seq from
**   sqlite_sluice_position -> check the journal still holds the next seq
**   -> register the replica in the journal (only now: a replay that never
**   started must not hold back pruning) -> for each COMPLETE group after
**   it: run its leading DDL records, apply the rest in one transaction
**   together with the new position, COMMIT, acknowledge to the journal
**   (batched) -> wait for more (poll jr_journal_version).
**
** Catching up: several complete groups waiting are applied in ONE MariaDB
** transaction (up to --txn-groups groups / MERGE_RECORDS records), which
** ends, with its position, at the last group's end. A durable COMMIT costs
** an fsync: one per group held replay to about a hundred groups a second,
** while capture makes a group per drain pass. Merging stops before a group
** that leads with DDL (MariaDB commits DDL implicitly), after a snapshot,
** and in single-row mode; a later group that turns out to end in ABORT
** makes the attempt start over, stopping before that group.
**
** Failure handling, by class (rp.h):
**   CONN    transient: drop the connection, reconnect with backoff, retry
**           the group
**   RETRY   transient: roll back, retry the group after a pause
**   DATA    retry the group in single-row mode to pin the value (or the
**           merged key) on one seq; then --on-error=skip records it in
**           sqlite_sluice_rejects and goes on, --on-error=stop is stuck:
**           logged once, sluice_replay_stuck 1, retried slowly (a fixed
**           target converges without a restart); never a partial group
**   CONFIG  permanent: stuck, logged once, retried slowly
**   FATAL   journal corruption: exit non-zero
** --once always ends: a permanent error exits at once, a transient one
** after --once-timeout-s. Log lines about problems are rate-limited: one
** per distinct message, and at most one per event every 30 s
** (suppressed=N counts the rest).
**
** A group that ends in ABORT (capture stopped inside it, also inside a
** snapshot) is discarded: rolled back, and the position moves past it.
**
** INVARIANTS:
**  (L1) a group is applied only once it is complete in the journal
**       (complete_seq >= its first seq), so no transaction waits on capture.
**  (L2) the position row moves in the same transaction as the group's
**       changes; the journal ack only ever trails it.
**  (L3) a group is never skipped: after any error the same group is
**       retried from its first record.
**  (L4) DDL (SCHEMA, DROP) only leads a group: MariaDB commits DDL
**       implicitly, so one after row changes would commit half a group
**       without its position -- such a journal is refused as corrupt.
**  (L5) a transaction holds whole groups only: it commits at a group's
**       end, so the target only ever shows a state the source had.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rp_cluster.h"
#include "rp_run.h"
#include "sl_clock.h"
#include "sl_log.h"
#include "sl_sig.h"

typedef struct round {
    char *table, *column;
    uint64_t total, pending;
    uint64_t seq;                /* first seen */
    char example[120];
    int logged;
    struct round *next;
} round;

struct rp_rounds {
    round *head;
};

struct rp_state {
    rp_cfg cfg;
    tg_url url;
    rp_cluster *cl;              /* node choice, Galera checks */
    int connected_once;
    rp_names *names;
    jr_journal *j;
    char uuid[40];
    MYSQL *db;
    unsigned long max_packet;
    tg_tables ts;
    rp_apply *ap;
    jr_reader *rd;
    rp_rounds rounds;
    uint64_t applied, reported, complete;
    int64_t last_ack_us;
    long backoff_ms;
    int single;
    uint64_t merge_limit;        /* no group starting here or later joins */
    uint64_t merge_off_until;    /* no merging while applied < this */
    uint64_t tried_groups;       /* groups in the last attempt */
    uint64_t tried_last;         /* last seq the last attempt read */
    int registered;
    char last_problem[600];
    char last_event[64];
    int64_t last_log_us;
    uint64_t suppressed;
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

static const char *q(rp_state *st, const char *s)
{
    return sl_q(st->q, sizeof(st->q), s);
}

/* ---- roundings ---- */

void rp__rounds_note(rp_rounds *r, const char *table, const char *column,
                     uint64_t seq, const jr_value *v)
{
    round *x;

    if (r == NULL)
        return;
    for (x = r->head; x; x = x->next)
        if (strcmp(x->table, table) == 0 && strcmp(x->column, column) == 0)
            break;
    if (x == NULL) {
        if ((x = calloc(1, sizeof(*x))) == NULL)
            return;
        x->table = strdup(table);
        x->column = strdup(column);
        if (x->table == NULL || x->column == NULL) {
            free(x->table);
            free(x->column);
            free(x);
            return;
        }
        x->next = r->head;
        r->head = x;
    }
    if (x->pending == 0 && !x->logged) {
        x->seq = seq;
        tg_value_show(x->example, sizeof(x->example), v);
    }
    x->pending++;
}

static void rounds_discard(rp_rounds *r)
{
    for (round *x = r->head; x; x = x->next)
        x->pending = 0;
}

static void rounds_commit(rp_state *st)
{
    for (round *x = st->rounds.head; x; x = x->next) {
        x->total += x->pending;
        x->pending = 0;
        if (x->total > 0 && !x->logged) {
            char t[300], c[300];
            x->logged = 1;
            SL_LOG(SL_WARN, "replay.value_rounded", "table=%s column=%s "
                   "seq=%llu value=%s hint=\"MariaDB keeps fewer digits in "
                   "this column: values are rounded or truncated as a "
                   "direct write would be, counted in "
                   "sluice_replay_values_rounded_total; logged once per "
                   "column (--strict-values refuses them instead)\"",
                   sl_q(t, sizeof(t), x->table),
                   sl_q(c, sizeof(c), x->column),
                   (unsigned long long)x->seq,
                   q(st, x->example));
        }
    }
}

void rp_rounds_each(rp_state *st, rp_round_fn fn, void *ctx)
{
    for (round *x = st->rounds.head; x; x = x->next)
        if (x->total > 0)
            fn(ctx, x->table, x->column, x->total);
}

static void rounds_free(rp_rounds *r)
{
    while (r->head) {
        round *n = r->head->next;
        free(r->head->table);
        free(r->head->column);
        free(r->head);
        r->head = n;
    }
}

/* ---- problems ---- */

/* Log a problem once per distinct message, and the same event at most
** once every 30 s. */
static void problem(rp_state *st, const jr_err *e, const char *event)
{
    int64_t t = sl_now_us();
    int same_event = strcmp(st->last_event, event) == 0;

    if (e->cls >= 0 && e->cls <= TG_E_FATAL)
        st->stats.errors[e->cls]++;      /* every one, logged or not */

    if (strcmp(st->last_problem, e->msg) == 0 ||
        (same_event && t - st->last_log_us < 30000000)) {
        st->suppressed++;
        snprintf(st->last_problem, sizeof(st->last_problem), "%s", e->msg);
        return;
    }
    snprintf(st->last_problem, sizeof(st->last_problem), "%s", e->msg);
    snprintf(st->last_event, sizeof(st->last_event), "%s", event);
    st->last_log_us = t;
    SL_LOG(tg_class_transient(e->cls) ? SL_WARN : SL_ERROR, event,
           "class=%s kind=%s applied_seq=%llu suppressed=%llu msg=%s",
           tg_class_name(e->cls),
           tg_class_transient(e->cls) ? "transient" : "permanent",
           (unsigned long long)st->applied,
           (unsigned long long)st->suppressed, q(st, e->msg));
    st->suppressed = 0;
}

static void recovered(rp_state *st)
{
    if (st->last_problem[0]) {
        SL_LOG(SL_INFO, "replay.recovered", "applied_seq=%llu "
               "suppressed=%llu", (unsigned long long)st->applied,
               (unsigned long long)st->suppressed);  /* repeats unlogged */
        st->last_problem[0] = 0;
        st->last_event[0] = 0;
        st->suppressed = 0;
    }
    st->backoff_ms = 0;
}

static void backoff(rp_state *st)
{
    long delay;

    st->backoff_ms = st->backoff_ms ? st->backoff_ms * 2 : 100;
    if (st->backoff_ms > st->cfg.retry_max_ms)
        st->backoff_ms = (long)st->cfg.retry_max_ms;
    /* jitter (half to all of the delay): retries of groups that
    ** conflicted in a cluster do not meet again in step */
    delay = st->backoff_ms / 2 + (st->backoff_ms > 1
                ? (long)((unsigned long)rand() %
                         (unsigned long)(st->backoff_ms / 2 + 1)) : 0);
    /* one line per retry at debug level (tests count them) */
    SL_LOG(SL_DEBUG, "replay.backoff", "delay_ms=%ld", delay);
    for (long left = delay; left > 0 && !sl_stop; left -= 1000) {
        sl_sleep_ms(left < 1000 ? left : 1000);
        if (st->tick != NULL)
            st->tick(st->tick_ctx);      /* metrics stay fresh */
    }
}

/* ---- connection ---- */

static void disconnect(rp_state *st)
{
    rp__apply_free(st->ap);
    st->ap = NULL;
    tg_tables_clear(&st->ts);
    if (st->db != NULL)
        mysql_close(st->db);
    st->db = NULL;
}

/* The journal still holds the seq after `applied` (or nothing is there
** yet)? Else no retry can help: a fresh snapshot (new journal) is due. */
static int start_readable(rp_state *st, jr_err *e)
{
    jr_info info;

    if (jr_journal_info(st->j, &info, NULL) != JR_OK)
        return 0;
    if (info.first_seq > 0 && info.first_seq > st->applied + 1 &&
        info.complete_seq > st->applied)
        return tg_fail(e, TG_E_FATAL, 0, "seq %llu was pruned from the "
                       "journal before replica %s applied it (the oldest "
                       "stored seq is %llu; applied records are kept "
                       "for sluice-capture's --retention-s, 7 days by "
                       "default): this target needs a fresh snapshot "
                       "(new journal)",
                       (unsigned long long)st->applied + 1, st->cfg.replica,
                       (unsigned long long)info.first_seq);
    return 0;
}

static int connect_target(rp_state *st, jr_err *e)
{
    jr_err je = { 0 };
    uint64_t before = st->connected_once ? st->applied : 0;

    st->db = rp__cluster_connect(st->cl, e);
    if (st->db == NULL)
        return -1;
    st->max_packet = tg_db_max_packet(st->db);
    /* the position is read causally on a Synced node (wsrep_sync_wait,
    ** rp_cluster.c): it settles a COMMIT whose outcome was unknown */
    if (rp__position_init(st->db, e) != 0 ||
        rp__position_get(st->db, st->cfg.replica, st->uuid, &st->applied,
                        e) != 0 ||
        rp__cluster_sync_reads(st->cl, st->db, 0, e) != 0 ||
        start_readable(st, e) != 0) {
        disconnect(st);
        rp__cluster_lost(st->cl);
        return -1;
    }
    rp__cluster_settle(st->cl, before, st->applied);
    st->connected_once = 1;
    if (!st->registered) {
        if (jr_replica_register(st->j, st->cfg.replica, &je) != JR_OK) {
            disconnect(st);
            return tg_fail(e, TG_E_FATAL, 0, "registering replica %s in the "
                           "journal: %s", st->cfg.replica, je.msg);
        }
        st->registered = 1;
    }
    st->ap = rp__apply_new(st->db, &st->ts, st->j, &st->cfg, st->uuid,
                           &st->rounds, st->max_packet);
    if (st->ap == NULL) {
        disconnect(st);
        return tg_fail(e, TG_E_FATAL, 0, "out of memory");
    }
    {
        char qr[300], qn[700];
        SL_LOG(SL_INFO, "replay.connected", "replica=%s applied_seq=%llu "
               "max_allowed_packet=%lu node=%s galera=%d tls=%s",
               sl_q(qr, sizeof(qr), st->cfg.replica),
               (unsigned long long)st->applied, st->max_packet,
               sl_q(qn, sizeof(qn), rp__cluster_get_stats(st->cl)->node_name),
               rp__cluster_get_stats(st->cl)->galera,
               mysql_get_ssl_cipher(st->db) ? mysql_get_ssl_cipher(st->db)
                                            : "none");
    }
    return 0;
}

int rp_open(rp_state **out, const rp_cfg *cfg, jr_err *err)
{
    rp_state *st = calloc(1, sizeof(*st));
    jr_journal_opts o = JR_JOURNAL_OPTS_INIT;
    jr_info info;
    jr_replica reps[64];
    uint32_t nrep = 0;
    char why[300];
    int rc, waited = 0;

    *out = NULL;
    if (st == NULL)
        return JR_ERR;
    st->cfg = *cfg;
    if ((rc = tg_url_parse(&st->url, cfg->target, err)) != JR_OK)
        goto fail;
    if ((st->cl = rp__cluster_new(&st->url)) == NULL) {
        rc = JR_ERR;
        goto fail;
    }
    srand((unsigned)sl_now_us() ^ (unsigned)getpid());
    if (cfg->password_file != NULL &&
        (rc = tg_url_password_file(&st->url, cfg->password_file, err)) !=
            JR_OK)
        goto fail;
    if ((st->names = rp__names_new(cfg->tables, cfg->exclude_tables,
                                   cfg->map, why, sizeof(why))) == NULL) {
        snprintf(err->msg, sizeof(err->msg), "%s", why);
        err->code = rc = JR_ERR;
        goto fail;
    }
    /* replay may start before capture made the journal: wait for it
    ** (--once: nothing to apply is an error worth reporting) */
    while ((rc = jr_journal_open(&st->j, cfg->journal, &o, err)) ==
               JR_ENOTFOUND && !cfg->once && !sl_stop) {
        if (!waited) {
            SL_LOG(SL_WARN, "replay.waiting_for_journal", "journal=%s "
                   "hint=\"start sluice-capture; replay waits\"",
                   q(st, cfg->journal));
            waited = 1;                 /* logged once */
        }
        jr_err_clear(err);
        sl_sleep_ms(500);
    }
    if (rc != JR_OK || sl_stop) {
        if (rc == JR_OK)
            rc = JR_ERR;                /* stopped while waiting */
        goto fail;
    }
    if ((rc = jr_journal_info(st->j, &info, err)) != JR_OK ||
        (rc = jr_replica_list(st->j, reps, 64, &nrep, err)) != JR_OK ||
        (rc = jr_reader_open(&st->rd, st->j, 1, err)) != JR_OK)
        goto fail;
    /* until connected, the journal's ack stands for this replica (lag) */
    for (uint32_t i = 0; i < nrep && i < 64; i++)
        if (strcmp(reps[i].name, cfg->replica) == 0) {
            st->applied = st->reported = reps[i].applied_seq;
            st->registered = 1;
        }
    snprintf(st->uuid, sizeof(st->uuid), "%s", info.journal_uuid);
    st->last_ack_us = sl_now_us();
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
    if (st->j != NULL && st->registered && st->applied > st->reported)
        jr_replica_ack(st->j, st->cfg.replica, st->applied, NULL);
    disconnect(st);
    jr_reader_close(st->rd);
    jr_journal_close(st->j);
    rp__cluster_free(st->cl);
    tg_url_free(&st->url);
    rp__names_free(st->names);
    rounds_free(&st->rounds);
    free(st);
}

const rp_stats *rp_get_stats(rp_state *st)
{
    st->stats.applied_seq = st->applied;
    st->stats.connected = st->db != NULL;
    st->stats.stuck = st->last_problem[0] != 0;
    st->stats.cluster = rp__cluster_get_stats(st->cl);
    if (st->stats.cluster->node_name[0])       /* the node in use */
        snprintf(st->stats.host, sizeof(st->stats.host), "%s",
                 st->stats.cluster->node_name);
    else if (st->url.socket != NULL)
        snprintf(st->stats.host, sizeof(st->stats.host), "%s",
                 st->url.socket);
    else
        snprintf(st->stats.host, sizeof(st->stats.host), "%s:%u",
                 st->url.host ? st->url.host : "", st->url.port ? st->url.port
                                                                 : 3306);
    return &st->stats;
}

/* Acknowledge the applied seq to the journal: a durable LMDB commit (an
** fsync, under the writer lock capture also needs), so at most once a
** second while applying and every ACK_IDLE_US while caught up (at a high
** commit rate replay is caught up between most groups); `force` at exit. */
enum { ACK_IDLE = 1, ACK_FORCE = 2 };
#define ACK_IDLE_US 100000

static void ack(rp_state *st, int how)
{
    int64_t t = sl_now_us();
    int64_t every = how == ACK_FORCE ? 0
                    : how == ACK_IDLE ? ACK_IDLE_US : 1000000;

    if (!st->registered || st->applied <= st->reported ||
        t - st->last_ack_us < every)
        return;
    if (jr_replica_ack(st->j, st->cfg.replica, st->applied, NULL) ==
        JR_OK) {
        st->reported = st->applied;
        st->last_ack_us = t;
    }
}

/* ---- applying ---- */

/* Read the next record of the group; journal problems are FATAL. */
static int next(rp_state *st, jr_entry *e, jr_err *re)
{
    jr_err err = { 0 };
    int rc = jr_reader_next(st->rd, e, &err);

    if (rc == JR_OK)
        return 0;
    if (rc == JR_EAGAIN)
        return tg_fail(re, TG_E_FATAL, 0, "journal ends inside a group it "
                       "reported complete (seq %llu)",
                       (unsigned long long)st->applied + 1);
    if (rc == JR_ENOTFOUND)
        return tg_fail(re, TG_E_FATAL, 0, "seq %llu was pruned from the "
                       "journal before replica %s applied it: this target "
                       "needs a fresh snapshot (new journal)",
                       (unsigned long long)st->applied + 1,
                       st->cfg.replica);
    return tg_fail(re, TG_E_FATAL, 0, "journal: %s", err.msg);
}

static int next_cb(void *ctx, jr_entry *e, jr_err *re)
{
    return next(ctx, e, re);
}

/* After SNAP_BEGIN: stream the snapshot's rows through LOAD DATA. On
** return *ent is the last record consumed (SNAP_END, ABORT, or the one
** record after SNAP_BEGIN). 0, -1, or RP_LOAD_ABORTED. */
static int load_snapshot(rp_state *st, jr_entry *ent, const char *target,
                         uint64_t *rows, jr_err *e)
{
    char src[512];
    tg_table *t;
    jr_entry end;
    uint64_t n = 0;
    int rc;

    snprintf(src, sizeof(src), "%s", ent->rec.table);
    if (next(st, ent, e) != 0)
        return -1;
    if (ent->rec.kind == JR_K_ABORT)
        return RP_LOAD_ABORTED;
    if (ent->rec.kind != JR_K_INSERT || strcmp(ent->rec.table, src) != 0) {
        /* an empty snapshot: this is its SNAP_END */
        if (ent->rec.kind != JR_K_SNAP_END || strcmp(ent->rec.table, src))
            return tg_fail(e, TG_E_FATAL, 0, "seq %llu: unexpected %s record "
                           "of table %s inside the snapshot of table %s: "
                           "the journal is corrupt",
                           (unsigned long long)ent->seq,
                           jr_kind_name(ent->rec.kind), ent->rec.table, src);
        return rp__apply_record(st->ap, ent, target, e);
    }
    if (rp__apply_check(st->ap, ent, target, e) != 0)
        return -1;
    t = tg_table_get(&st->ts, st->db, target, e);
    if (t == NULL)
        return e->cls ? -1 : tg_fail(e, TG_E_CONFIG, 0, "target table %s "
                                     "does not exist (seq %llu)", target,
                                     (unsigned long long)ent->seq);
    memset(&end, 0, sizeof(end));
    rc = rp__load_snapshot(st->ap, st->db, t, src, ent, next_cb, st, &end,
                           &n, e);
    if (rc == -1)
        return -1;
    *rows += n;
    *ent = end;
    return rc;
}

/* A group that ends in ABORT: nothing of it is applied. */
static void discard_group(rp_state *st, uint64_t start, uint64_t seq)
{
    mysql_rollback(st->db);
    rp__apply_reset(st->ap);
    rounds_discard(&st->rounds);
    SL_LOG(SL_INFO, "replay.group_aborted", "group=%llu seq=%llu "
           "reason=\"capture stopped inside this group; it is discarded "
           "(capture journals those changes again)\"",
           (unsigned long long)start, (unsigned long long)seq);
}

static int is_ddl(int kind)
{
    return kind == JR_K_SCHEMA || kind == JR_K_DROP;
}

enum { MERGE_RECORDS = 20000, RP_MERGE_AGAIN = 2 };

/* The group that began at gstart ended in ABORT (a crashed capture left
** it open, or its snapshot was abandoned). Alone in the transaction it is
** discarded (0); joined to earlier groups, everything is rolled back and
** RP_MERGE_AGAIN tells the caller to start over without it. */
static int abort_group(rp_state *st, uint64_t start, uint64_t gstart,
                       uint64_t seq)
{
    if (gstart != start) {
        mysql_rollback(st->db);
        rounds_discard(&st->rounds);
        st->merge_limit = gstart;
        return RP_MERGE_AGAIN;
    }
    discard_group(st, start, seq);
    return 0;
}

/* May the group after `last` (its last seq) join the open transaction? */
static int may_merge(rp_state *st, uint64_t last, uint64_t groups,
                     uint64_t rows, int loaded)
{
    if (st->single || loaded || groups >= (uint64_t)st->cfg.txn_groups ||
        rows >= MERGE_RECORDS || sl_stop)
        return 0;
    if ((st->merge_limit != 0 && last + 1 >= st->merge_limit) ||
        st->applied < st->merge_off_until)
        return 0;
    if (st->complete <= last) {
        jr_info info;
        if (jr_journal_info(st->j, &info, NULL) == JR_OK)
            st->complete = info.complete_seq;
    }
    return st->complete > last;          /* complete: (L1) */
}

/* Apply the group starting at applied + 1, and the complete groups after
** it while they may join (see the header). 0, -1 (e filled), or
** RP_MERGE_AGAIN: a joined group ended in ABORT; all is rolled back and
** st->merge_limit set, so the next attempt stops before it. */
static int apply_groups(rp_state *st, jr_err *e)
{
    uint64_t start = st->applied + 1, gstart = start, rows = 0, groups = 1;
    int ddl = 1, aborted = 0, loaded = 0;
    jr_entry ent;

    jr_reader_seek(st->rd, start);
    rp__apply_reset(st->ap);
    rp__apply_set_single(st->ap, st->single);
    rounds_discard(&st->rounds);
    for (;;) {
        const char *target, *clash;
        st->tried_groups = groups;
        if (next(st, &ent, e) != 0)
            goto fail;
        st->tried_last = ent.seq;
        if (ent.seq == gstart && ent.group != gstart) {
            tg_fail(e, TG_E_FATAL, 0, "journal seq %llu belongs to group "
                    "%llu, but the position says a group starts there",
                    (unsigned long long)gstart,
                    (unsigned long long)ent.group);
            goto fail;
        }
        if (sl_stop) {
            tg_fail(e, TG_E_RETRY, 0, "stopping");
            goto fail;
        }
        if (ent.rec.kind == JR_K_ABORT) {
            if (abort_group(st, start, gstart, ent.seq) == RP_MERGE_AGAIN)
                return RP_MERGE_AGAIN;
            aborted = 1;
            goto end;
        }
        if (is_ddl(ent.rec.kind) && !ddl) {
            tg_fail(e, TG_E_FATAL, 0, "seq %llu: a %s record of table %s "
                    "follows row changes inside group %llu; MariaDB commits "
                    "DDL implicitly, so applying it would commit part of "
                    "the group without its position: the journal is "
                    "corrupt (no capture writes this; check it with "
                    "sluice-inspect DIR check)", (unsigned long long)ent.seq,
                    jr_kind_name(ent.rec.kind), ent.rec.table,
                    (unsigned long long)gstart);
            goto fail;
        }
        if (!is_ddl(ent.rec.kind))
            ddl = 0;
        target = rp__names_target(st->names, ent.rec.table);
        if (target == NULL)
            goto end;                    /* left out: --tables/--exclude */
        if ((clash = rp__names_clash(st->names, ent.rec.table)) != NULL) {
            tg_fail(e, TG_E_CONFIG, 0, "source tables %s and %s would both "
                    "land in target table %s: change --map", ent.rec.table,
                    clash, target);
            goto fail;
        }
        if (!is_ddl(ent.rec.kind) &&
            rp__cluster_check_table(st->cl, st->db, target, e) != 0)
            goto fail;
        if (rp__apply_record(st->ap, &ent, target, e) != 0)
            goto fail;
        rows++;
        if (ent.rec.kind == JR_K_SNAP_BEGIN && !st->single &&
            !ent.group_end) {
            int rc = load_snapshot(st, &ent, target, &rows, e);
            loaded = 1;
            if (rc == RP_LOAD_ABORTED) {
                if (abort_group(st, start, gstart, ent.seq) ==
                    RP_MERGE_AGAIN)
                    return RP_MERGE_AGAIN;
                aborted = 1;
            } else if (rc != 0) {
                goto fail;
            }
        }
    end:
        if (ent.group_end) {
            jr_entry peek;
            jr_err pe = { 0 };
            if (aborted || !may_merge(st, ent.seq, groups, rows, loaded))
                break;
            /* the next group joins unless it leads with DDL; reading
            ** ahead is harmless: every attempt seeks to its start */
            if (jr_reader_next(st->rd, &peek, &pe) != JR_OK ||
                peek.seq != ent.seq + 1 || peek.group != peek.seq ||
                is_ddl(peek.rec.kind) || peek.rec.kind == JR_K_ABORT)
                break;
            jr_reader_seek(st->rd, peek.seq);
            gstart = peek.seq;
            groups++;
            continue;
        }
        if (aborted) {
            tg_fail(e, TG_E_FATAL, 0, "seq %llu: the journal goes on after "
                    "an ABORT record inside group %llu: it is corrupt",
                    (unsigned long long)ent.seq, (unsigned long long)gstart);
            goto fail;
        }
    }
    if (!aborted && rp__apply_flush(st->ap, e) != 0)
        goto fail;
    if (rp__position_set(st->db, st->cfg.replica, st->uuid, st->applied,
                         ent.seq, e))
        goto fail;
    if (mysql_commit(st->db) != 0) {
        tg_fail_mysql(e, st->db, "COMMIT");
        if (e->cls == TG_E_CONN)         /* cut off: outcome unknown */
            rp__cluster_commit_unknown(st->cl, st->applied, ent.seq);
        goto fail;
    }
    st->applied = ent.seq;
    st->merge_limit = 0;
    st->stats.groups += groups;
    st->stats.transactions++;
    st->stats.records += rows;
    st->stats.rejected += rp__apply_rejected(st->ap);
    rounds_commit(st);
    if (rp__apply_rejected(st->ap) > 0)
        SL_LOG(SL_WARN, "replay.rejected", "group=%llu rows=%llu "
               "hint=\"see table " TG_REJECTS_TABLE "\"",
               (unsigned long long)start,
               (unsigned long long)rp__apply_rejected(st->ap));
    SL_LOG(SL_DEBUG, "replay.group", "group=%llu last_seq=%llu groups=%llu "
           "records=%llu", (unsigned long long)start,
           (unsigned long long)ent.seq, (unsigned long long)groups,
           (unsigned long long)rows);
    return 0;
fail:
    rounds_discard(&st->rounds);
    if (st->db != NULL)
        mysql_rollback(st->db);
    return -1;
}

static int apply_group(rp_state *st, jr_err *e)
{
    int rc;

    while ((rc = apply_groups(st, e)) == RP_MERGE_AGAIN)
        ;
    return rc;
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
    int64_t started = sl_now_us();
    uint64_t seen_version = 0;
    int64_t t0;
    jr_err e;

    while (!sl_stop) {
        int once_over = st->cfg.once &&
            sl_now_us() - started > st->cfg.once_timeout_s * 1000000;
        memset(&e, 0, sizeof(e));
        if (st->tick != NULL)
            st->tick(st->tick_ctx);
        if (st->db == NULL) {
            if (connect_target(st, &e) != 0) {
                problem(st, &e, "replay.target_unavailable");
                if (e.cls == TG_E_FATAL ||
                    (st->cfg.once && (!tg_class_transient(e.cls) || once_over)))
                    goto fatal;
                backoff(st);
                continue;
            }
            recovered(st);
        }
        if (!group_ready(st)) {
            ack(st, st->cfg.once ? ACK_FORCE : ACK_IDLE);
            if (st->cfg.once)
                break;
            /* wait for capture: cheap version poll */
            for (int i = 0; i < 200 && !sl_stop; i++) {
                uint64_t v = jr_journal_version(st->j);
                ack(st, ACK_IDLE);       /* one put off above */
                if (v != seen_version) {
                    seen_version = v;
                    break;
                }
                sl_sleep_ms(st->cfg.poll_ms);
            }
            continue;
        }
        t0 = sl_mono_us();
        if (apply_group(st, &e) == 0) {
            sl_hist_observe(&st->stats.apply,
                            (double)(sl_mono_us() - t0) / 1e6);
            st->single = 0;
            recovered(st);
            ack(st, 0);
            continue;
        }
        if (sl_stop)
            break;
        if (st->tried_groups > 1 && !tg_class_transient(e.cls)) {
            /* which of the joined groups? One at a time up to the last
            ** record read: the good ones before it land, and the error
            ** names (or single-row mode pins) the group it is in */
            st->merge_off_until = st->tried_last;
            continue;
        }
        switch (e.cls) {
        case TG_E_CONN:
            problem(st, &e, "replay.connection_lost");
            disconnect(st);
            rp__cluster_lost(st->cl);     /* next connect: the next node */
            if (once_over)
                goto fatal;
            backoff(st);
            break;
        case TG_E_DATA:
            if (!st->single) {
                st->single = 1;          /* pin the value on one seq */
                continue;
            }
            problem(st, &e, "replay.value_rejected");
            if (st->cfg.once)
                goto fatal;
            tg_tables_clear(&st->ts);
            rp__apply_reset(st->ap);
            backoff(st);
            break;
        case TG_E_CONFIG:
            problem(st, &e, "replay.target_problem");
            if (st->cfg.once)
                goto fatal;
            tg_tables_clear(&st->ts);
            rp__apply_reset(st->ap);
            backoff(st);
            break;
        case TG_E_FATAL:
            goto fatal;
        default:
            if (e.domain == JR_D_MARIADB &&
                (e.cause == 1213 || e.cause == 1205))
                rp__cluster_conflict(st->cl);  /* certification, BF abort */
            problem(st, &e, "replay.retry");
            if (once_over)
                goto fatal;
            backoff(st);
            break;
        }
    }
    ack(st, ACK_FORCE);
    return JR_OK;
fatal:
    ack(st, ACK_FORCE);
    memcpy(err->msg, e.msg, sizeof(err->msg) - 1);  /* may cut it */
    err->msg[sizeof(err->msg) - 1] = 0;
    err->code = JR_ERR;
    return JR_ERR;
}
