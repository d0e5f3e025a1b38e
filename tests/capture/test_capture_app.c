/*
** test_capture_app.c -- capture beside an application written the way
** ORMs and drivers write SQLite by default: ONE connection, a busy
** timeout of 1 s, transactions that BEGIN DEFERRED, read, think a few
** milliseconds, then write (find-or-create, read-modify-write). Such a
** transaction fails with SQLITE_BUSY_SNAPSHOT if anybody commits between
** its read and its write, and with SQLITE_BUSY if anybody holds the write
** lock when it upgrades; no busy timeout retries either. Invariant 3:
** never because of capture.
**
** The application counts every error by kind and exits with the total;
** the tests assert 0, and that capture did write to the source meanwhile
** (installs, trims: else the test proved nothing).
**
** SLUICE_APP_TEST_S sets the length of the long test (default 120 s; 45 s
** under a sanitizer); the README's figures come from longer runs.
*/
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

#include "ct_model.h"
#include "ct_proc.h"

TestSuite(capture_app, .init = ct_setup, .fini = ct_teardown);

#if defined(__SANITIZE_ADDRESS__)
#define DEFAULT_SECS 45
#else
#define DEFAULT_SECS 120
#endif

typedef struct app_result {
    long txns, busy, busy_snapshot, other;
    char first_error[200];
} app_result;

static int app_secs(void)
{
    const char *e = getenv("SLUICE_APP_TEST_S");
    int v = e ? (int)strtol(e, NULL, 10) : 0;
    return v > 0 ? v : DEFAULT_SECS;
}

static void count_error(sqlite3 *db, app_result *r, const char *what)
{
    int x = sqlite3_extended_errcode(db);

    if (x == SQLITE_BUSY_SNAPSHOT)
        r->busy_snapshot++;
    else if ((x & 0xff) == SQLITE_BUSY || (x & 0xff) == SQLITE_LOCKED)
        r->busy++;
    else
        r->other++;
    if (!r->first_error[0]) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        snprintf(r->first_error, sizeof(r->first_error), "%s (%d) in %s at "
                 "%lld.%06ld", sqlite3_errmsg(db), x, what,
                 (long long)ts.tv_sec, ts.tv_nsec / 1000);
    }
}

/* One ORM-style transaction; `alter` adds a column first (a migration
** the application itself runs, as ORMs do at start-up). */
static void app_txn(sqlite3 *db, unsigned *seed, int *altered, int alter,
                    app_result *r)
{
    char sql[300];
    const char *what;
    int rc, think_us = 1000 + (int)(rand_r(seed) % 3000);
    int op = (int)(rand_r(seed) % 10);
    long key = 1 + (long)(rand_r(seed) % 5000);

    if (alter && !*altered) {
        rc = sqlite3_exec(db, "ALTER TABLE orders ADD COLUMN note TEXT",
                          NULL, NULL, NULL);
        if (rc != SQLITE_OK)
            count_error(db, r, "ALTER");
        else
            *altered = 1;
    }
    r->txns++;
    what = "BEGIN";
    rc = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    /* read first (the ORM loads the row, or looks for it) */
    snprintf(sql, sizeof(sql), "SELECT count(*), max(qty) FROM orders "
             "WHERE customer = %ld", key % 500);
    if (rc == SQLITE_OK && (what = "read") != NULL)
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    usleep((useconds_t)think_us);         /* application logic */
    if (op < 5)
        snprintf(sql, sizeof(sql), "INSERT INTO orders(customer, qty, "
                 "price, at) VALUES (%ld, %d, %d.25, "
                 "'2026-04-16 22:41:27.490 +00:00')", key % 500,
                 (int)(rand_r(seed) % 100), (int)(rand_r(seed) % 1000));
    else if (op < 8)
        snprintf(sql, sizeof(sql), "UPDATE orders SET qty = qty + 1%s "
                 "WHERE id = %ld", *altered ? ", note = 'updated'" : "",
                 key);
    else if (op < 9)
        snprintf(sql, sizeof(sql), "DELETE FROM orders WHERE id = %ld",
                 key + 5000);
    else
        snprintf(sql, sizeof(sql), "INSERT INTO customers(id, name) "
                 "VALUES (%ld, 'c%ld') ON CONFLICT(id) DO UPDATE SET "
                 "visits = visits + 1", key % 700, key % 700);
    if (rc == SQLITE_OK && (what = "write") != NULL)
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    if (rc == SQLITE_OK && (what = "COMMIT") != NULL)
        rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        count_error(db, r, what);
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    }
}

static volatile sig_atomic_t g_app_stop;

static void app_on_term(int sig)
{
    (void)sig;
    g_app_stop = 1;
}

/* The application process: runs `secs` seconds or until SIGTERM (adding
** a column at `alter_at` seconds, if > 0) and reports through fd. */
static void app_main(int secs, int alter_at, int fd, unsigned seed)
{
    sqlite3 *db;
    app_result r;
    int64_t t0 = tl_now_us(), end = t0 + (int64_t)secs * 1000000;
    int altered = 0;

    memset(&r, 0, sizeof(r));
    signal(SIGTERM, app_on_term);
    if (sqlite3_open(ct_src, &db) != SQLITE_OK)
        _exit(101);
    sqlite3_busy_timeout(db, 1000);
    while (tl_now_us() < end && !g_app_stop)
        app_txn(db, &seed, &altered, alter_at > 0 &&
                tl_now_us() - t0 > (int64_t)alter_at * 1000000, &r);
    sqlite3_close(db);
    if (write(fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
        _exit(102);
    _exit(0);
}

typedef struct app {
    pid_t pid;
    int fd;
} app;

static void app_start(app *a, int secs, int alter_at, unsigned seed)
{
    int fds[2];

    cr_assert_eq(pipe(fds), 0);
    a->pid = ct_fork();
    if (a->pid == 0) {
        close(fds[0]);
        app_main(secs, alter_at, fds[1], seed);
    }
    close(fds[1]);
    a->fd = fds[0];
}

static app_result app_wait(app *a, int timeout_ms)
{
    app_result r;

    memset(&r, 0, sizeof(r));
    cr_assert_eq(read(a->fd, &r, sizeof(r)), (ssize_t)sizeof(r),
                 "the application did not report");
    close(a->fd);
    cr_assert_eq(tl_wait(a->pid, timeout_ms), 0, "the application failed");
    return r;
}

static void assert_no_app_error(const app_result *r)
{
    cr_log_info("application: %ld transactions, busy=%ld busy_snapshot=%ld "
                "other=%ld", r->txns, r->busy, r->busy_snapshot, r->other);
    cr_assert_eq(r->busy + r->busy_snapshot + r->other, 0, "the application "
                 "failed %ld times in %ld transactions (busy %ld, "
                 "busy_snapshot %ld, other %ld); first: %s",
                 r->busy + r->busy_snapshot + r->other, r->txns, r->busy,
                 r->busy_snapshot, r->other, r->first_error);
}

/* SIGTERM capture (exit 0) and add up what it says it did. */
static void stop_and_count(ct_proc *cap, long long *commits,
                           long long *deferred, long long *trimmed)
{
    char *log;

    ct_assert_status(cap, ct_cap_stop(cap, 120000), 0);
    log = ct_cap_log(cap);
    *commits += ct_stopped_field(log, "source_commits");
    *deferred += ct_stopped_field(log, "writes_deferred");
    *trimmed += ct_stopped_field(log, "trimmed");
    free(log);
}

static const char g_schema[] =
    "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT, "
    " visits INT DEFAULT 0);"
    "CREATE TABLE orders(id INTEGER PRIMARY KEY, customer INT, qty INT, "
    " price DECIMAL(10,2), at DATETIME);"
    "CREATE INDEX orders_customer ON orders(customer);"
    "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n "
    " WHERE x < 20000) INSERT INTO orders(customer, qty, price, at) "
    " SELECT x % 500, x % 7, x * 1.5, '2026-01-01 00:00:00' FROM n;";

/*
** Several minutes (SLUICE_APP_TEST_S) of the application beside capture,
** through: capture attaching to the database in rollback-journal mode
** (its switch to WAL) with the application running, the first snapshot,
** drains, frequent trims (small --trim-rows/--trim-age-s, so capture
** writes to the source hundreds of times), a column added by the
** application, and a capture restart. 0 application errors, and the
** journal replays to exactly the source.
*/
Test(capture_app, orm_application_beside_capture_sees_no_error,
     .timeout = 1800)
{
    int secs = app_secs();
    ct_model *m = ct_model_new();
    const char *args[] = { "--source", ct_src, "--journal", ct_jdir,
                           "--trim-rows", "50", "--trim-age-s", "1", NULL };
    long long commits = 0, deferred = 0, trimmed = 0;
    char why[1024];
    ct_proc cap;
    app a;
    app_result r;

    CT_APP(g_schema);                   /* rollback-journal mode */
    app_start(&a, secs, secs / 2, 12345);
    tl_sleep_ms(300);
    ct_cap_startv(&cap, args);          /* attaches to the busy source */
    tl_sleep_ms(secs * 350);
    stop_and_count(&cap, &commits, &deferred, &trimmed);
    ct_cap_startv(&cap, args);          /* restart, the application runs */
    r = app_wait(&a, secs * 1000 + 60000);
    cr_assert_eq(ct_converge(m, ct_jdir, ct_src, 60000, why, sizeof(why)),
                 0, "%s", why);
    stop_and_count(&cap, &commits, &deferred, &trimmed);
    ct_model_free(m);
    cr_log_info("capture: %lld commits to the source, %lld writes put off, "
                "%lld log rows trimmed", commits, deferred, trimmed);
    assert_no_app_error(&r);
    cr_assert_gt(r.txns, secs * 50L, "the application barely ran (%ld "
                 "transactions): the test proved nothing", r.txns);
    /* how often capture finds a moment without an application transaction
    ** depends on the machine: 22 commits in 120 s on a loaded CI machine,
    ** hundreds on an idle one. A few are enough to have proved something */
    cr_assert_geq(commits, secs / 12 > 5 ? secs / 12 : 5, "capture hardly "
                  "wrote to the source (%lld commits, %lld put off): the "
                  "test proved nothing", commits, deferred);
    cr_assert_geq(trimmed, secs * 5L, "capture trimmed only %lld rows",
                  trimmed);
    cr_assert_eq(ct_query_int(ct_src, "SELECT count(*) FROM "
                              "pragma_table_xinfo('orders') WHERE name = "
                              "'note'"), 1, "the column was never added");
    ct_assert_model_equals_source(ct_jdir, ct_src);
}

/*
** A new user's first run: the application runs in rollback-journal mode,
** capture attaches (switches to WAL, installs, snapshots) with --once.
** Every start must succeed -- capture waits for a moment without an
** application transaction instead of exiting -- and the application must
** never fail. Repeated on fresh databases.
*/
Test(capture_app, first_attach_to_a_busy_rollback_journal_database,
     .timeout = 600)
{
    for (int i = 0; i < 8; i++) {
        app a;
        app_result r;
        ct_proc p;
        int rc;
        char ddir[4 * CT_PATH + 64];

        /* fresh source and journal each round */
        snprintf(ddir, sizeof(ddir), "rm -rf '%s' '%s' '%s-wal' '%s-shm'",
                 ct_jdir, ct_src, ct_src, ct_src);
        cr_assert_eq(system(ddir), 0);
        CT_APP(g_schema);
        /* the application runs until capture has attached and ended
        ** (however long that takes on this machine), then a little more */
        app_start(&a, 600, 0, 777u + (unsigned)i);
        tl_sleep_ms(200 + 100 * (i % 4));
        rc = ct_cap_run(&p, 120000, "--source", ct_src, "--journal",
                        ct_jdir, "--once", "--busy-timeout-ms", "30000",
                        NULL);
        cr_log_info("start %d", i);
        ct_assert_status(&p, rc, 0);
        tl_sleep_ms(200);
        kill(a.pid, SIGTERM);
        r = app_wait(&a, 60000);
        assert_no_app_error(&r);
        cr_assert_gt(r.txns, 10, "the application barely ran (%ld "
                     "transactions)", r.txns);
        cr_assert_eq(ct_query_int(ct_src, "SELECT count(*) FROM "
                                  "pragma_journal_mode WHERE journal_mode "
                                  "= 'wal'"), 1);
        ct_cap_once();
        ct_assert_model_equals_source(ct_jdir, ct_src);
    }
}
