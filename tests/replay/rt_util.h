/*
** rt_util.h -- fixtures, child processes and comparators of the replay
** suites (tests/replay/test_*.c).
**
** Every suite uses `TestSuite(replay_x, .init = rt_setup,
** .fini = rt_teardown)`. rt_setup() gives each test:
**   rt_base   a fresh temporary directory
**   rt_src    rt_base/src.db, the SQLite source (the test writes it with
**             rt_sql(), in its own short-lived connection, like an
**             application would)
**   rt_jdir   rt_base/journal (sluice-capture creates it)
**   rt_db     a MariaDB database of its own on the shared fixture server,
**             named after the test ("rt_<test name>_<hash>"), created
**             fresh and dropped by rt_teardown(), so suites run in
**             parallel under ctest -j2
**   rt_url    mariadb://sluice@localhost/<rt_db>?socket=... WITHOUT the
**             password: rt_spawnv() passes it as SLUICE_TARGET_PASSWORD,
**             as an operator would.
** rt_teardown() SIGKILLs and reaps every child still running, stops every
** private server started with rt_server("start", ...), drops the
** databases the test created and removes rt_base (RT_KEEP=1 in the
** environment keeps the directory and the databases for a post-mortem).
**
** The real binaries run as child processes (fork + exec), each with its
** own log file (stdout + stderr) under rt_base; every child gets
** PR_SET_PDEATHSIG, so a test killed by its timeout leaves none behind.
**
** COMPARATOR (rt_compare_table, in rt_compare.c): a SQLite table against a MariaDB table,
** columns matched by name (case-insensitive; target columns the source
** lacks are ignored), rows paired by the source's primary key (tables
** without one: as multisets of whole rows), values compared by meaning
** for the target column's type:
**   integers exactly (an INTEGER in a DOUBLE column only if the double
**   holds it exactly), reals bit-exact (MariaDB prints the shortest text
**   that reads back to the same double; -0.0 is not distinguished),
**   text and blobs byte-exact, NULL distinct from '' and from X'',
**   SQLite date text (YYYY-MM-DD[ |T]HH:MM[:SS[.fff]][Z|[ ]+-HH[:]MM])
**   against DATETIME/TIMESTAMP/DATE at the column's precision in UTC
**   (connections run with time_zone '+00:00'), 'true'/'false' against
**   TINYINT(1), numbers against DECIMAL by value.
** The date parser here is the test's own oracle, written independently of
** target/tg_value.c.
**
** Helpers assert with Criterion (a failure ends the test with a message)
** unless their comment says they return a code. They may only be called
** from the test process, never from an rt_fork() child.
*/
#ifndef RT_UTIL_H
#define RT_UTIL_H

#include <mysql.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "testlib.h"     /* tl_slurp, tl_count, tl_proc.h */

#define RT_PATH 512

extern char rt_base[RT_PATH];
extern char rt_src[RT_PATH];
extern char rt_jdir[RT_PATH];
extern char rt_db[65];
extern char rt_url[RT_PATH + 200];

void rt_setup(void);
void rt_teardown(void);

/* out = rt_base/name; returns out. */
char *rt_path(char *out, size_t cap, const char *name);

/* ---- MariaDB ---- */

/* The harness password of the test user (for SLUICE_TARGET_PASSWORD). */
const char *rt_password(void);
/* mariadb://sluice@localhost/<db>?socket=<socket> (no password). */
void rt_url_for(char *out, size_t cap, const char *socket, const char *db);
/* Create (drop first) another database on the fixture server, dropped
** again by rt_teardown(). name is used as given. */
void rt_db_create(const char *name);
/* A connection to database `db` of the fixture server (time_zone UTC,
** autocommit on, utf8mb4). Closed by rt_teardown(). */
MYSQL *rt_my_db(const char *db);
/* rt_my_db(rt_db), cached. */
MYSQL *rt_my(void);
/* Run one statement built printf-style (any result is discarded). */
void rt_my_exec(MYSQL *db, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* First column of the first row as an integer; asserts one exists. */
int64_t rt_my_int(MYSQL *db, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Does table `name` exist in the connection's database? */
int rt_my_table_exists(MYSQL *db, const char *name);
int rt_my_column_exists(MYSQL *db, const char *table, const char *col);
/* sqlite_sluice_position.seq of `replica`, -1 when there is no row (or no
** table). */
int64_t rt_position(MYSQL *db, const char *replica);
/* First column of the first row as text (kept until teardown); NULL for
** SQL NULL, "(no row)" when there is none. */
const char *rt_my_str(MYSQL *db, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- SQLite (the application) ---- */

/* Run a script on `path` in a fresh connection (busy_timeout 5000), or
** fail the test naming the script. rt_sqlf builds it printf-style. */
void rt_sql(const char *path, const char *sql);
void rt_sqlf(const char *path, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Same, returning 0 or -1 with the message in err. */
int rt_sql_try(const char *path, char *err, size_t cap, const char *sql);
int64_t rt_sqlite_int(const char *path, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- child processes ---- */

typedef struct rt_proc {
    pid_t pid;
    int status;                  /* after rt_wait: exit status */
    char log[RT_PATH + 64];      /* stdout + stderr of this run */
} rt_proc;

const char *rt_capture_bin(void);
const char *rt_replay_bin(void);
const char *rt_inspect_bin(void);

/* Start bin with argv (argv[0] is set to bin; args NULL-terminated) and
** SLUICE_TARGET_PASSWORD=password when password != NULL. The child is
** remembered so rt_teardown() can kill it. Asserts the spawn works. */
void rt_spawnv(rt_proc *p, const char *bin, const char *const *args,
               const char *password);
/* Exit status, 128 + signal when killed; on timeout the child is
** SIGKILLed and -2 returned. timeout_ms < 0: wait forever. */
int rt_wait(rt_proc *p, int timeout_ms);
/* Is it still running (not reaped, not a zombie we could reap)? */
int rt_alive(rt_proc *p);
/* SIGTERM, then rt_wait(timeout_ms). */
int rt_stop(rt_proc *p, int timeout_ms);
/* SIGKILL and reap. */
void rt_kill(rt_proc *p);
/* Wait until the process's log holds `needle` at least n times (what it
** was seen doing, however slow the machine); asserts it stays alive and
** gets there within timeout_ms. */
void rt_wait_log(rt_proc *p, const char *needle, int n, int timeout_ms);
/* Its log so far; never NULL. The string belongs to the fixture (freed
** by rt_teardown()), so it can go straight into an assertion message. */
const char *rt_log(const rt_proc *p);
/* tl_fork(), asserting it worked; the child is killed by rt_teardown()
** if still there. The child must leave with _exit() and must not call
** Criterion (no cr_* at all). Clocks, waits and kills are testlib's:
** tl_now_ms, tl_sleep_ms, tl_wait, tl_kill (tl_proc.h). */
pid_t rt_fork(void);

/* sluice-capture --source rt_src --journal rt_jdir [args] --once:
** asserts exit 0 within 60 s. */
void rt_capture_once(void);
/* The same with extra arguments (NULL-terminated). */
void rt_capture_once_with(const char *arg, ...);
/* sluice-replay --journal rt_jdir --target url --once [args...]: exit
** status (run to completion; -2 when still running after 120 s); p receives the log. */
int rt_replay_run(rt_proc *p, const char *url, ...);   /* args, NULL */
/* rt_replay_run(rt_url) asserting exit 0. */
void rt_replay_once(void);
/* rt_capture_once() + rt_replay_once(). */
void rt_sync(void);
/* Start a long-running sluice-capture / sluice-replay (no --once).
** rt_capture_start returns once capture has created the journal and
** attached to the source (logged event=capture.started). */
void rt_capture_start(rt_proc *p, ...);                /* extra args */
void rt_replay_start(rt_proc *p, const char *url, ...); /* extra args */

/* ---- metrics ---- */

/* GET path from 127.0.0.1:port: the whole response (kept), or NULL. */
const char *rt_http_get(int port, const char *path);
/* Port of the /metrics endpoint a child started with --metrics
** 127.0.0.1:0 logged (waits up to timeout_ms; asserts). */
int rt_metrics_port(const rt_proc *p, int timeout_ms);
/* Value of the first sample of metric `name` whose labels contain
** `labels` (may be NULL); -1 when there is none. */
double rt_metric(const char *text, const char *name, const char *labels);

/* `sluice-inspect --json jdir stat` output (kept until teardown). */
const char *rt_inspect_stat_json(const char *jdir);
/* complete_seq of the journal (asserts it can be read). */
int64_t rt_journal_complete_seq(const char *jdir);
/* Seq of the first record `sluice-inspect list` shows for table with a
** key rendered exactly as key_text (e.g. "key(id=11)"); -1 if none. */
int64_t rt_find_seq(const char *jdir, const char *table,
                    const char *key_text);
/* Poll until sqlite_sluice_position of replica (on db) reaches the journal's
** complete_seq; returns 0, or -1 on timeout (at least 120 s: a limit for
** reporting a failure, not an expectation). */
int rt_wait_applied(MYSQL *db, const char *replica, const char *jdir,
                    int timeout_ms);

/* ---- private MariaDB servers (tests/harness/mariadb.sh) ---- */

/* Run `mariadb.sh action dir`; returns its exit status. start/stop are
** tracked: rt_teardown() stops every server started here. */
int rt_server(const char *action, const char *dir);
/* Output of the last mariadb.sh run (kept until teardown). */
const char *rt_server_log(void);
/* Socket path mariadb.sh uses for dir (dir must be short). */
void rt_server_socket(char *out, size_t cap, const char *dir);
/* A connection to database db of the server in dir (reads dir/env). */
MYSQL *rt_server_connect(const char *dir, const char *db);

/* ---- comparing ---- */

/* Compare SQLite table stable of sqlite_path with MariaDB table mtable on
** my. Returns 0 when equal; else 1 with the first differences in why. */
int rt_compare_table(const char *sqlite_path, const char *stable, MYSQL *my,
                     const char *mtable, char *why, size_t cap);
/* Every application table of rt_src (not _sluice*, not sqlite_*) against
** the table of the same name on my, and the target holds no other table
** than those and sluice_*: 0 or 1 with why. */
int rt_compare_all(const char *sqlite_path, MYSQL *my, char *why,
                   size_t cap);

#define RT_ASSERT_SAME_TABLE(my, table)                                   \
    do {                                                                  \
        char rt_w_[4096];                                                 \
        cr_assert_eq(rt_compare_table(rt_src, (table), (my), (table),     \
                                      rt_w_, sizeof(rt_w_)), 0,           \
                     "table %s differs: %s", (table), rt_w_);             \
    } while (0)

#define RT_ASSERT_SAME_ALL(my)                                            \
    do {                                                                  \
        char rt_w_[4096];                                                 \
        cr_assert_eq(rt_compare_all(rt_src, (my), rt_w_, sizeof(rt_w_)),  \
                     0, "source and target differ: %s", rt_w_);           \
    } while (0)

/* One SQLite value, as the comparator sees it. */
typedef struct rt_sval {
    int type;                    /* SQLITE_INTEGER ... SQLITE_NULL */
    int64_t i;
    double r;
    const unsigned char *p;      /* text/blob bytes */
    size_t n;
} rt_sval;

/* One MariaDB column's type (information_schema.COLUMNS). */
typedef struct rt_mcol {
    char name[130];
    char data_type[40];          /* DATA_TYPE, lowercase */
    char column_type[200];       /* COLUMN_TYPE */
    int precision;               /* DATETIME_PRECISION (0 if none) */
} rt_mcol;

/* Is target value m (NULL when SQL NULL; n bytes) the source value s, for
** column c? 1 yes, 0 no (why says how). */
int rt_value_eq(const rt_sval *s, const rt_mcol *c, const char *m,
                size_t n, char *why, size_t cap);
/* Columns of table on my; returns the count (0: no such table). *out is
** malloc'd. */
int rt_my_columns(MYSQL *my, const char *table, rt_mcol **out);

/* Parse SQLite date text into UTC "YYYY-MM-DD HH:MM:SS.ffffff"; 0 or -1. */
int rt_date_utc(const char *s, size_t n, char *out, size_t cap);

/* ---- checksums ---- */

typedef struct rt_sum {
    uint64_t rows;
    uint64_t sum;                /* order-independent: sum of row hashes */
    uint64_t x;                  /* and their xor */
} rt_sum;

/* Hash of every row of table (all columns, text protocol). */
rt_sum rt_checksum(MYSQL *my, const char *table);
/* CHECKSUM TABLE's value (0 when the table is missing). */
uint64_t rt_checksum_table(MYSQL *my, const char *table);

/* ---- deterministic PRNG (xorshift64*) ---- */
typedef struct rt_rng {
    uint64_t s;
} rt_rng;
void rt_rng_seed(rt_rng *r, uint64_t seed);
uint64_t rt_rng_below(rt_rng *r, uint64_t n);

#endif /* RT_UTIL_H */
