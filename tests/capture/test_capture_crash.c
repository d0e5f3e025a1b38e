/*
** test_capture_crash.c -- kill -9 sluice-capture at random moments while
** an application commits continuously (invariants 1, 2, 4 and 6).
**
** The application numbers its transactions 1, 2, 3, ... Transaction t
** inserts txlog(t), changes rows of three other tables (rowid table,
** keyless table, WITHOUT ROWID upserts) tagging them with t, and ends by
** writing into txlog(t).n how many row changes it made (statement by
** statement, sqlite3_changes()). Capture runs with a tiny --batch so its
** groups span several LMDB commits and a kill often leaves one open (the
** next writer closes it with ABORT).
**
** Kills land where capture is seen working, not at times calibrated on
** one machine: of every four rounds, two wait until the journal's head
** seq has moved past a target (capture is journaling, however loaded the
** box) and one until a group has been completed, each then striking 0..3
** ms later; the fourth strikes 0..20 ms after the start (opening,
** reconciling). The test asserts that most rounds saw capture
** journal before the kill, so restarting from a killed capture really
** was exercised.
**
** After CRASH_ROUNDS kills and a final --once, the journal must be clean
** (jr_journal_check: checksums, dense seqs) and replay to the source, and
** the change records of the complete groups must show:
**   - txlog inserts 1..N exactly once each, in order (N = last commit);
**   - each transaction whole in one group (its txlog insert and update,
**     and every record tagged with it);
**   - per group, exactly the number of changes its transactions made;
**   - per table, transaction tags never going backwards.
*/
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

#include "ct_model.h"
#include "ct_proc.h"

TestSuite(capture_crash, .init = ct_setup, .fini = ct_teardown,
          .timeout = 240);

#define CRASH_ROUNDS 30

static volatile sig_atomic_t g_stop;

static void on_term(int sig)
{
    (void)sig;
    g_stop = 1;
}

static int run(sqlite3 *db, const char *sql, int *changes)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

    if (rc == SQLITE_OK && changes != NULL)
        *changes += sqlite3_changes(db);
    return rc;
}

/* The application. Exits 0 after SIGTERM, 1 on any error. */
static void crash_writer(void)
{
    sqlite3 *db;
    int rc;

    signal(SIGTERM, on_term);
    rc = sqlite3_open(ct_src, &db);
    sqlite3_busy_timeout(db, 5000);
    for (int t = 1; rc == SQLITE_OK && !g_stop; t++) {
        char sql[400];
        int k = 0;

        rc = run(db, "BEGIN IMMEDIATE", NULL);
        snprintf(sql, sizeof(sql), "INSERT INTO txlog(txn) VALUES (%d)", t);
        if (rc == SQLITE_OK)
            rc = run(db, sql, NULL);
        for (int i = 0; rc == SQLITE_OK && i < 1 + t % 4; i++) {
            snprintf(sql, sizeof(sql), "INSERT INTO c(txn, v) VALUES (%d, "
                     "randomblob(%d))", t, 1 + t % 50);
            rc = run(db, sql, &k);
        }
        snprintf(sql, sizeof(sql), "UPDATE c SET txn = %d, v = 'upd' WHERE "
                 "id = %d * 7 %% (SELECT max(id) FROM c) + 1", t, t);
        if (rc == SQLITE_OK)
            rc = run(db, sql, &k);
        snprintf(sql, sizeof(sql), "DELETE FROM c WHERE id = %d * 13 %% "
                 "(SELECT max(id) FROM c) + 1", t);
        if (rc == SQLITE_OK && t % 5 == 0)
            rc = run(db, sql, &k);
        snprintf(sql, sizeof(sql), "INSERT INTO kl VALUES (%d, 'k%d')", t, t);
        if (rc == SQLITE_OK)
            rc = run(db, sql, &k);
        snprintf(sql, sizeof(sql), "UPDATE kl SET txn = %d WHERE rowid = "
                 "%d * 5 %% (SELECT max(rowid) FROM kl) + 1", t, t);
        if (rc == SQLITE_OK && t % 3 == 0)
            rc = run(db, sql, &k);
        snprintf(sql, sizeof(sql), "DELETE FROM kl WHERE rowid = %d * 11 %% "
                 "(SELECT max(rowid) FROM kl) + 1", t);
        if (rc == SQLITE_OK && t % 7 == 0)
            rc = run(db, sql, &k);
        snprintf(sql, sizeof(sql), "INSERT INTO w VALUES ('k%d', %d) ON "
                 "CONFLICT(k) DO UPDATE SET txn = excluded.txn", t % 50, t);
        if (rc == SQLITE_OK)
            rc = run(db, sql, &k);
        snprintf(sql, sizeof(sql), "UPDATE txlog SET n = %d WHERE txn = %d",
                 k + 2, t);
        if (rc == SQLITE_OK)
            rc = run(db, sql, NULL);
        if (rc == SQLITE_OK)
            rc = run(db, "COMMIT", NULL);
        if (t % 4 == 0)
            tl_sleep_ms(1);         /* a busy application, not a flood */
    }
    sqlite3_close(db);
    _exit(rc == SQLITE_OK ? 0 : 1);
}

/* The journal's committed head seq, or (complete) the last seq that ends
** a group. */
static uint64_t journal_seq(int complete)
{
    jr_journal *j = ct_journal_open(ct_jdir);
    jr_info info;
    jr_err err = { 0 };

    cr_assert_eq(jr_journal_info(j, &info, &err), JR_OK, "%s", err.msg);
    jr_journal_close(j);
    return complete ? info.complete_seq : info.head_seq;
}

static uint64_t journal_head(void)
{
    return journal_seq(0);
}

/* Wait until the last complete group reaches `complete` or the head
** reaches `head`: capture journaling the application's commits. Asserts
** capture stays alive meanwhile. */
static void wait_seq(const ct_proc *cap, uint64_t complete, uint64_t head)
{
    int64_t deadline = tl_now_us() + 120000000;

    while (journal_seq(1) < complete && journal_head() < head) {
        int st;
        if (waitpid(cap->pid, &st, WNOHANG) == cap->pid ||
            tl_now_us() > deadline) {
            static char tail[16384];     /* the message outlives the log */
            char *log = ct_cap_log(cap);
            size_t n = log ? strlen(log) : 0;

            snprintf(tail, sizeof(tail), "%s",
                     log ? log + (n > sizeof(tail) - 1
                                      ? n - (sizeof(tail) - 1) : 0) : "");
            free(log);
            cr_assert_fail("capture did not journal up to seq %llu nor "
                           "complete a group up to %llu (head %llu):\n%s",
                           (unsigned long long)head,
                           (unsigned long long)complete,
                           (unsigned long long)journal_head(), tail);
        }
        tl_sleep_ms(1);
    }
}

/* ---------------------------------------------------------------- */
/* Checking the decoded journal                                     */
/* ---------------------------------------------------------------- */

typedef struct crash_ctx {
    int64_t ntx;                /* transactions committed (source) */
    int64_t *n;                 /* txlog.n by txn (source) */
    int64_t *group;             /* group of txlog insert by txn */
    int64_t next_txn;           /* next txlog insert expected */
    int64_t last_tag[4];        /* per table: c, kl, w, txlog */
    uint64_t cur_group;
    int64_t group_changes, group_expected;
    int pass;                   /* 1: txlog inserts, 2: everything else */
    int snapshots;
    char snap[64];
    char problem[400];
} crash_ctx;

static int table_index(const char *t)
{
    return strcmp(t, "c") == 0 ? 0 : strcmp(t, "kl") == 0 ? 1
           : strcmp(t, "w") == 0 ? 2 : strcmp(t, "txlog") == 0 ? 3 : -1;
}

static void close_group(crash_ctx *c)
{
    if (c->cur_group != 0 && c->group_changes != c->group_expected &&
        !c->problem[0])
        snprintf(c->problem, sizeof(c->problem), "group %llu holds %lld "
                 "changes; its transactions made %lld",
                 (unsigned long long)c->cur_group,
                 (long long)c->group_changes, (long long)c->group_expected);
    c->group_changes = c->group_expected = 0;
}

/* Pass 1: the txlog inserts -- 1..N once each, in order; the group of
** each transaction. Pass 2: every other change record against those. */
static int check_crash(const jr_entry *e, void *ctx)
{
    crash_ctx *c = ctx;
    const jr_record *r = &e->rec;
    int ti = table_index(r->table);
    int64_t tag;

    if (c->pass == 2 && e->group != c->cur_group) {
        close_group(c);
        c->cur_group = e->group;
    }
    if (r->kind == JR_K_SNAP_BEGIN) {
        c->snapshots++;
        snprintf(c->snap, sizeof(c->snap), "%s", r->table);
        if (c->pass == 1 && c->next_txn > 1 && !c->problem[0])
            snprintf(c->problem, sizeof(c->problem), "table %s "
                     "re-snapshotted at seq %llu with no schema change",
                     r->table, (unsigned long long)e->seq);
    }
    if (r->kind == JR_K_SNAP_END)
        c->snap[0] = '\0';
    if ((r->kind != JR_K_INSERT && r->kind != JR_K_UPDATE &&
         r->kind != JR_K_DELETE) || c->snap[0] != '\0' || ti < 0)
        return 0;
    if (c->pass == 1) {
        int64_t t = ct_row_int(&r->key, "txn", -1);
        if (ti != 3 || r->kind != JR_K_INSERT)
            return 0;
        if (t != c->next_txn) {
            snprintf(c->problem, sizeof(c->problem), "txlog insert of "
                     "transaction %lld where %lld was due (seq %llu)",
                     (long long)t, (long long)c->next_txn,
                     (unsigned long long)e->seq);
            return 1;
        }
        if (t < 1 || t > c->ntx) {
            snprintf(c->problem, sizeof(c->problem), "transaction %lld "
                     "journaled but never committed", (long long)t);
            return 1;
        }
        c->group[t] = (int64_t)e->group;
        c->next_txn++;
        return 0;
    }
    c->group_changes++;
    if (ti == 3) {
        int64_t t = ct_row_int(&r->key, "txn", -1);
        if (t < 1 || t > c->ntx || c->group[t] != (int64_t)e->group) {
            snprintf(c->problem, sizeof(c->problem), "transaction %lld "
                     "split: its txlog %s is in group %llu, its insert in "
                     "%lld", (long long)t, jr_kind_name(r->kind),
                     (unsigned long long)e->group,
                     (long long)(t >= 1 && t <= c->ntx ? c->group[t] : -1));
            return 1;
        }
        if (r->kind == JR_K_INSERT)
            c->group_expected += c->n[t];
        return 0;
    }
    if (r->kind == JR_K_DELETE)
        return 0;
    tag = ct_row_int(&r->new_row, "txn", -1);
    if (tag < 1 || tag > c->ntx || c->group[tag] != (int64_t)e->group) {
        snprintf(c->problem, sizeof(c->problem), "%s %s of transaction "
                 "%lld (seq %llu, group %llu) is not in the group of that "
                 "transaction's txlog insert (%lld)", jr_kind_name(r->kind),
                 r->table, (long long)tag, (unsigned long long)e->seq,
                 (unsigned long long)e->group,
                 (long long)(tag >= 1 && tag <= c->ntx ? c->group[tag] : -1));
        return 1;
    }
    if (tag < c->last_tag[ti]) {
        snprintf(c->problem, sizeof(c->problem), "table %s: transaction "
                 "%lld journaled after %lld (seq %llu)", r->table,
                 (long long)tag, (long long)c->last_tag[ti],
                 (unsigned long long)e->seq);
        return 1;
    }
    c->last_tag[ti] = tag;
    return 0;
}

static void load_txlog(crash_ctx *c)
{
    sqlite3 *db;
    sqlite3_stmt *s;

    c->ntx = ct_query_int(ct_src, "SELECT coalesce(max(txn), 0) FROM txlog");
    cr_assert_eq(ct_query_int(ct_src, "SELECT count(*) FROM txlog"), c->ntx);
    c->n = calloc((size_t)c->ntx + 1, sizeof(int64_t));
    c->group = calloc((size_t)c->ntx + 1, sizeof(int64_t));
    cr_assert(c->n != NULL && c->group != NULL);
    cr_assert_eq(sqlite3_open(ct_src, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT txn, n FROM txlog", -1, &s,
                                    NULL), SQLITE_OK);
    while (sqlite3_step(s) == SQLITE_ROW)
        c->n[sqlite3_column_int64(s, 0)] = sqlite3_column_int64(s, 1);
    sqlite3_finalize(s);
    sqlite3_close(db);
}

Test(capture_crash, sigkill_at_random_moments_loses_and_duplicates_nothing)
{
    crash_ctx c;
    ct_model *m;
    ct_rng rng;
    uint64_t seed = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 16;
    /* a long busy timeout: the application commits without pause, and
    ** SQLite's busy handler is not fair, so on a loaded machine capture
    ** can wait seconds for a write lock at start (this test is about
    ** kills, not about that wait) */
    const char *args[] = { "--source", ct_src, "--journal", ct_jdir,
                           "--batch", "16", "--busy-timeout-ms", "120000",
                           NULL };
    char why[1024];
    pid_t w;
    int rc, exited = 0, journaled = 0;

    memset(&c, 0, sizeof(c));
    c.next_txn = 1;
    ct_rng_seed(&rng, seed);
    cr_log_info("crash test seed %llu", (unsigned long long)seed);
    CT_APP("CREATE TABLE txlog(txn INTEGER PRIMARY KEY, n INT);"
           "CREATE TABLE c(id INTEGER PRIMARY KEY, txn INT, v);"
           "CREATE TABLE kl(txn INT, v);"
           "CREATE TABLE w(k TEXT PRIMARY KEY, txn INT) WITHOUT ROWID;"
           "INSERT INTO c(txn, v) VALUES (0, 'seed'), (0, 'seed');"
           "INSERT INTO kl VALUES (0, 'seed');");
    ct_cap_once();                      /* initial snapshot, before load */
    w = ct_fork();
    if (w == 0)
        crash_writer();
    for (int i = 0; i < CRASH_ROUNDS; i++) {
        ct_proc cap;
        uint64_t h0 = journal_head();

        ct_cap_startv(&cap, args);
        if (i % 4 == 3) {                 /* opening, reconciling */
            tl_sleep_ms((int)ct_rng_below(&rng, 21));
        } else if (i % 4 == 1) {
            /* after a group it completed -- past h0 + 1: the ABORT a
            ** restart writes for a group the last kill left open
            ** completes nothing of capture's -- or, when capture cannot
            ** finish its backlog while the application keeps writing
            ** (a loaded machine), 2000 records into it */
            wait_seq(&cap, h0 + 2, h0 + 2000);
            tl_sleep_ms((int)ct_rng_below(&rng, 4));
        } else {                          /* while it journals */
            wait_seq(&cap, UINT64_MAX, h0 + 1 + ct_rng_below(&rng, 64));
            tl_sleep_ms((int)ct_rng_below(&rng, 4));
        }
        rc = tl_wait(cap.pid, 0);       /* -2: still running, now killed */
        if (journal_head() > h0)
            journaled++;
        if (rc != -2) {
            char *log = ct_cap_log(&cap);
            cr_log_error("capture exited by itself (%d) in round %d:\n%s",
                         rc, i, log);
            free(log);
            exited++;
        }
    }
    kill(w, SIGTERM);
    rc = tl_wait(w, 30000);
    cr_assert_eq(rc, 0, "the application failed while capture was killed "
                 "and restarted (%d)", rc);
    cr_expect_eq(exited, 0, "capture exited on its own %d times", exited);
    cr_expect_geq(journaled, CRASH_ROUNDS * 3 / 4, "capture journaled in "
                  "only %d of %d rounds before its kill", journaled,
                  CRASH_ROUNDS);
    cr_log_info("capture journaled before its kill in %d of %d rounds",
                journaled, CRASH_ROUNDS);
    ct_cap_once();

    ct_assert_journal_clean(ct_jdir);
    m = ct_model_new();
    rc = ct_model_sync(m, ct_jdir, why, sizeof(why));
    cr_assert_eq(rc, 0, "%s", why);
    rc = ct_compare(ct_src, m, NULL, why, sizeof(why));
    cr_log_info("%llu groups applied, %llu aborted groups discarded",
                (unsigned long long)ct_model_get_stats(m)->groups,
                (unsigned long long)ct_model_get_stats(m)->aborted);
    cr_assert_eq(ct_model_get_stats(m)->missing, 0);
    cr_assert_eq(ct_model_get_stats(m)->old_mismatch, 0);
    ct_model_free(m);
    cr_assert_eq(rc, 0, "model differs from source: %s", why);

    load_txlog(&c);
    cr_assert_gt(c.ntx, 50, "only %lld transactions committed: the test "
                 "proved little", (long long)c.ntx);
    c.pass = 1;
    ct_scan(ct_jdir, check_crash, &c);
    cr_assert_eq(c.problem[0], '\0', "%s", c.problem);
    cr_assert_eq(c.next_txn, c.ntx + 1, "journal holds transactions 1..%lld "
                 "of 1..%lld", (long long)c.next_txn - 1, (long long)c.ntx);
    c.pass = 2;
    ct_scan(ct_jdir, check_crash, &c);
    close_group(&c);
    cr_assert_eq(c.problem[0], '\0', "%s", c.problem);
    cr_log_info("%lld transactions checked", (long long)c.ntx);
    free(c.n);
    free(c.group);
}
