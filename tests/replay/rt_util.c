/*
** rt_util.c -- fixtures, processes, MariaDB and SQLite helpers and
** private servers of the replay suites (see rt_util.h; the comparator
** and checksums are in rt_compare.c).
**
** INVARIANTS
**  (U1) every child (spawned binary or forked writer) is remembered until
**       it is reaped, so rt_teardown() never leaves one running against
**       a journal or database it is about to delete.
**  (U2) every private server started through rt_server() is stopped by
**       rt_teardown(), even when the test failed; the shared fixture
**       server is only ever used through per-test databases.
**  (U3) a child never returns into Criterion: it execs or _exit()s, and
**       never calls a Criterion function, not even a passing assertion
**       (ctest runs suites with --full-stats, which reports those too).
*/
#include "rt_util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

#include "testdb.h"
#include "testlib.h"

extern char **environ;

#define MAX_CONNS    32
#define MAX_DBS      8
#define MAX_SERVERS  4
#define MAX_ARGS     48

char rt_base[RT_PATH];
char rt_src[RT_PATH];
char rt_jdir[RT_PATH];
char rt_db[65];
char rt_url[RT_PATH + 200];

static int g_nlogs;
static MYSQL *g_conns[MAX_CONNS];
static int g_nconns;
static MYSQL *g_my;
static char g_dbs[MAX_DBS][65];
static int g_ndbs;
static char g_servers[MAX_SERVERS][RT_PATH];
static int g_nservers;
static char **g_kept;            /* strings handed out until teardown */
static size_t g_nkept, g_capkept;

/* Keep s (malloc'd; NULL becomes "") until rt_teardown(). */
static const char *keep(char *s)
{
    if (s == NULL)
        s = strdup("");
    cr_assert_not_null(s);
    if (g_nkept == g_capkept) {
        char **n = realloc(g_kept, (g_capkept ? g_capkept * 2 : 32) *
                                       sizeof(char *));
        cr_assert_not_null(n);
        g_kept = n;
        g_capkept = g_capkept ? g_capkept * 2 : 32;
    }
    g_kept[g_nkept++] = s;
    return s;
}

/* ------------------------------------------------------------------ */
/* small things                                                       */
/* ------------------------------------------------------------------ */

char *rt_path(char *out, size_t cap, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", rt_base, name);
    cr_assert(n > 0 && (size_t)n < cap, "path too long: %s/%s", rt_base,
              name);
    return out;
}

void rt_rng_seed(rt_rng *r, uint64_t seed)
{
    r->s = seed ? seed : 0x9e3779b97f4a7c15ULL;
}

uint64_t rt_rng_below(rt_rng *r, uint64_t n)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return (r->s * 2685821657736338717ULL) % n;
}

/* ------------------------------------------------------------------ */
/* MariaDB                                                            */
/* ------------------------------------------------------------------ */

const char *rt_password(void)
{
    return tdb_config_get()->password;
}

void rt_url_for(char *out, size_t cap, const char *socket, const char *db)
{
    size_t o;
    int n = snprintf(out, cap, "mariadb://%s@localhost/%s?socket=",
                     tdb_config_get()->user, db);

    cr_assert(n > 0 && (size_t)n < cap);
    o = (size_t)n;
    for (const unsigned char *p = (const unsigned char *)socket; *p; p++) {
        cr_assert(o + 4 < cap, "URL too long");
        if (isalnum(*p) || strchr("/._~-", *p))
            out[o++] = (char)*p;
        else
            o += (size_t)snprintf(out + o, cap - o, "%%%02X", *p);
    }
    out[o] = 0;
}

static void track_conn(MYSQL *db)
{
    cr_assert(g_nconns < MAX_CONNS, "too many MariaDB connections");
    g_conns[g_nconns++] = db;
}

static void session_setup(MYSQL *db)
{
    rt_my_exec(db, "SET SESSION time_zone = '+00:00', autocommit = 1");
}

MYSQL *rt_my_db(const char *dbname)
{
    MYSQL *db = tdb_connect();

    track_conn(db);
    cr_assert_eq(mysql_select_db(db, dbname), 0, "USE %s: %s", dbname,
                 mysql_error(db));
    session_setup(db);
    return db;
}

MYSQL *rt_my(void)
{
    if (g_my == NULL)
        g_my = rt_my_db(rt_db);
    return g_my;
}

static char *vfmt(const char *fmt, va_list ap)
{
    va_list ap2;
    char *s;
    int n;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    cr_assert(n >= 0);
    s = malloc((size_t)n + 1);
    cr_assert_not_null(s);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

void rt_my_exec(MYSQL *db, const char *fmt, ...)
{
    va_list ap;
    char *sql;
    char msg[1200];
    MYSQL_RES *r;

    va_start(ap, fmt);
    sql = vfmt(fmt, ap);
    va_end(ap);
    if (mysql_real_query(db, sql, strlen(sql)) != 0) {
        snprintf(msg, sizeof(msg), "MariaDB error %u (%s) from: %.700s",
                 mysql_errno(db), mysql_error(db), sql);
        free(sql);
        cr_assert_fail("%s", msg);
    }
    free(sql);
    r = mysql_store_result(db);
    mysql_free_result(r);
}

int64_t rt_my_int(MYSQL *db, const char *fmt, ...)
{
    va_list ap;
    char *sql;
    char msg[1200];
    MYSQL_RES *r;
    MYSQL_ROW row;
    int64_t v;

    va_start(ap, fmt);
    sql = vfmt(fmt, ap);
    va_end(ap);
    if (mysql_real_query(db, sql, strlen(sql)) != 0 ||
        (r = mysql_store_result(db)) == NULL) {
        snprintf(msg, sizeof(msg), "MariaDB error %u (%s) from: %.700s",
                 mysql_errno(db), mysql_error(db), sql);
        free(sql);
        cr_assert_fail("%s", msg);
    }
    row = mysql_fetch_row(r);
    if (row == NULL || row[0] == NULL) {
        mysql_free_result(r);
        snprintf(msg, sizeof(msg), "no value from: %.700s", sql);
        free(sql);
        cr_assert_fail("%s", msg);
    }
    v = strtoll(row[0], NULL, 10);
    mysql_free_result(r);
    free(sql);
    return v;
}

static int my_count_escaped(MYSQL *db, const char *pre, const char *a,
                            const char *mid, const char *b)
{
    char ea[600], eb[600];

    mysql_real_escape_string(db, ea, a, (unsigned long)strlen(a));
    if (b != NULL)
        mysql_real_escape_string(db, eb, b, (unsigned long)strlen(b));
    return (int)rt_my_int(db, "%s'%s'%s%s%s%s", pre, ea, mid ? mid : "",
                          b ? "'" : "", b ? eb : "", b ? "'" : "");
}

int rt_my_table_exists(MYSQL *db, const char *name)
{
    return my_count_escaped(db, "SELECT COUNT(*) FROM information_schema."
                            "TABLES WHERE TABLE_SCHEMA = DATABASE() AND "
                            "TABLE_NAME = BINARY ", name, NULL, NULL) > 0;
}

int rt_my_column_exists(MYSQL *db, const char *table, const char *col)
{
    return my_count_escaped(db, "SELECT COUNT(*) FROM information_schema."
                            "COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND "
                            "TABLE_NAME = BINARY ", table,
                            " AND COLUMN_NAME = ", col) > 0;
}

int64_t rt_position(MYSQL *db, const char *replica)
{
    char er[200], sql[400];
    MYSQL_RES *r;
    MYSQL_ROW row;
    int64_t v = -1;

    if (!rt_my_table_exists(db, "sqlite_sluice_position"))
        return -1;
    mysql_real_escape_string(db, er, replica, (unsigned long)strlen(replica));
    snprintf(sql, sizeof(sql), "SELECT seq FROM sqlite_sluice_position WHERE "
             "replica = '%s'", er);
    cr_assert_eq(mysql_query(db, sql), 0, "%s", mysql_error(db));
    r = mysql_store_result(db);
    cr_assert_not_null(r);
    if ((row = mysql_fetch_row(r)) != NULL && row[0] != NULL)
        v = strtoll(row[0], NULL, 10);
    mysql_free_result(r);
    return v;
}

const char *rt_my_str(MYSQL *db, const char *fmt, ...)
{
    va_list ap;
    char *sql;
    MYSQL_RES *r;
    MYSQL_ROW row;
    const char *out;

    va_start(ap, fmt);
    sql = vfmt(fmt, ap);
    va_end(ap);
    cr_assert_eq(mysql_query(db, sql), 0, "%s: %s", sql, mysql_error(db));
    r = mysql_store_result(db);
    cr_assert_not_null(r, "%s: no result", sql);
    free(sql);
    row = mysql_fetch_row(r);
    if (row == NULL)
        out = keep(strdup("(no row)"));
    else if (row[0] == NULL)
        out = NULL;
    else
        out = keep(strdup(row[0]));
    mysql_free_result(r);
    return out;
}

void rt_db_create(const char *name)
{
    MYSQL *db = tdb_connect();

    tdb_exec_or_fail(db, "DROP DATABASE IF EXISTS `%s`", name);
    tdb_exec_or_fail(db, "CREATE DATABASE `%s` CHARACTER SET utf8mb4",
                     name);
    tdb_close(db);
    for (int i = 0; i < g_ndbs; i++)
        if (strcmp(g_dbs[i], name) == 0)
            return;
    cr_assert(g_ndbs < MAX_DBS);
    snprintf(g_dbs[g_ndbs++], sizeof(g_dbs[0]), "%s", name);
}

/* ------------------------------------------------------------------ */
/* fixture                                                            */
/* ------------------------------------------------------------------ */

static void name_db(void)
{
    const char *suite = criterion_current_suite ?
                        criterion_current_suite->name : "s";
    const char *test = criterion_current_test ?
                       criterion_current_test->name : "t";
    uint64_t h = 1469598103934665603ULL;
    size_t o;

    for (const char *p = suite; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    for (const char *p = test; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    o = (size_t)snprintf(rt_db, sizeof(rt_db), "rt_");
    for (const char *p = test; *p && o < 44; p++)
        rt_db[o++] = isalnum((unsigned char)*p)
                         ? (char)tolower((unsigned char)*p) : '_';
    snprintf(rt_db + o, sizeof(rt_db) - o, "_%08x", (unsigned)(h >> 32));
}

void rt_setup(void)
{
    cr_assert_eq(tl_tmpdir_make(rt_base, sizeof(rt_base)), 0, "mkdtemp: %s",
                 strerror(errno));
    rt_path(rt_src, sizeof(rt_src), "src.db");
    rt_path(rt_jdir, sizeof(rt_jdir), "journal");
    tl_kill_all();
    g_nlogs = 0;
    g_nconns = 0;
    g_my = NULL;
    g_ndbs = 0;
    g_nservers = 0;
    name_db();
    rt_db_create(rt_db);
    rt_url_for(rt_url, sizeof(rt_url), tdb_config_get()->socket, rt_db);
}

void rt_teardown(void)
{
    tl_kill_all();
    for (int i = 0; i < g_nconns; i++)
        mysql_close(g_conns[i]);
    g_nconns = 0;
    g_my = NULL;
    for (int i = g_nservers - 1; i >= 0; i--)
        if (g_servers[i][0]) {
            char dir[RT_PATH];
            snprintf(dir, sizeof(dir), "%s", g_servers[i]);
            rt_server("stop", dir);
        }
    g_nservers = 0;
    if (g_ndbs > 0 && getenv("RT_KEEP") == NULL) {
        const tdb_config *cfg = tdb_config_get();
        MYSQL *db = NULL;
        if (tdb_open(&db, cfg, NULL, NULL, TDB_VIA_SOCKET, NULL, 0) == 0) {
            for (int i = 0; i < g_ndbs; i++)
                tdb_exec(db, "DROP DATABASE IF EXISTS `%s`", g_dbs[i]);
            tdb_close(db);
        }
    }
    g_ndbs = 0;
    if (rt_base[0] && getenv("RT_KEEP") == NULL)
        tl_rm_rf(rt_base);
    for (size_t i = 0; i < g_nkept; i++)
        free(g_kept[i]);
    free(g_kept);
    g_kept = NULL;
    g_nkept = g_capkept = 0;
}

/* ------------------------------------------------------------------ */
/* SQLite                                                             */
/* ------------------------------------------------------------------ */

int rt_sql_try(const char *path, char *err, size_t cap, const char *sql)
{
    sqlite3 *db = NULL;
    char *msg = NULL;
    int rc;

    rc = sqlite3_open(path, &db);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    }
    if (rc != SQLITE_OK && err != NULL)
        snprintf(err, cap, "%s", msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -1;
}

void rt_sql(const char *path, const char *sql)
{
    char err[600], msg[1400];

    if (rt_sql_try(path, err, sizeof(err), sql) != 0) {
        snprintf(msg, sizeof(msg), "SQLite: %s, in: %.700s", err, sql);
        cr_assert_fail("%s", msg);
    }
}

void rt_sqlf(const char *path, const char *fmt, ...)
{
    va_list ap;
    char *sql, err[600], msg[1400];

    va_start(ap, fmt);
    sql = vfmt(fmt, ap);
    va_end(ap);
    if (rt_sql_try(path, err, sizeof(err), sql) != 0) {
        snprintf(msg, sizeof(msg), "SQLite: %s, in: %.700s", err, sql);
        free(sql);
        cr_assert_fail("%s", msg);
    }
    free(sql);
}

int64_t rt_sqlite_int(const char *path, const char *fmt, ...)
{
    va_list ap;
    char *sql;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = 0;
    int rc;

    va_start(ap, fmt);
    sql = vfmt(fmt, ap);
    va_end(ap);
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    cr_assert_eq(rc, SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(db));
    rc = sqlite3_step(st);
    cr_assert_eq(rc, SQLITE_ROW, "%s: no row (%s)", sql, sqlite3_errmsg(db));
    v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    free(sql);
    return v;
}

/* ------------------------------------------------------------------ */
/* processes                                                          */
/* ------------------------------------------------------------------ */

static const char *bin_path(char *buf, size_t cap, const char *rel)
{
    snprintf(buf, cap, "%s/%s", tl_build_dir(), rel);
    return buf;
}

const char *rt_capture_bin(void)
{
    static char b[RT_PATH];
    return bin_path(b, sizeof(b), "capture/sluice-capture");
}

const char *rt_replay_bin(void)
{
    static char b[RT_PATH];
    return bin_path(b, sizeof(b), "replay/sluice-replay");
}

const char *rt_inspect_bin(void)
{
    static char b[RT_PATH];
    return bin_path(b, sizeof(b), "tools/inspect/sluice-inspect");
}

void rt_spawnv(rt_proc *p, const char *bin, const char *const *args,
               const char *password)
{
    char *argv[MAX_ARGS + 2];
    char **envp;
    char pwvar[300];
    const char *base = strrchr(bin, '/');
    pid_t pid;
    size_t nenv = 0, k = 0;
    int n = 0, fd, in;

    memset(p, 0, sizeof(*p));
    snprintf(p->log, sizeof(p->log), "%s/log-%03d-%s.txt", rt_base,
             g_nlogs++, base ? base + 1 : bin);
    argv[n++] = (char *)bin;
    for (; args != NULL && args[n - 1] != NULL; n++) {
        cr_assert(n <= MAX_ARGS, "too many arguments");
        argv[n] = (char *)args[n - 1];
    }
    argv[n] = NULL;
    while (environ[nenv] != NULL)
        nenv++;
    envp = calloc(nenv + 2, sizeof(char *));
    cr_assert_not_null(envp);
    for (size_t i = 0; i < nenv; i++)
        if (strncmp(environ[i], "SLUICE_TARGET_PASSWORD=", 23) != 0)
            envp[k++] = environ[i];
    if (password != NULL) {
        snprintf(pwvar, sizeof(pwvar), "SLUICE_TARGET_PASSWORD=%s",
                 password);
        envp[k++] = pwvar;
    }
    envp[k] = NULL;
    /* everything is prepared before fork(): the child only does
    ** async-signal-safe calls */
    fd = open(p->log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC,
              0644);
    in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    cr_assert(fd >= 0 && in >= 0, "%s: %s", p->log, strerror(errno));
    pid = tl_fork();            /* dies with the test, remembered */
    if (pid == 0) {
        if (dup2(in, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(127);
        execve(bin, argv, envp);
        _exit(127);
    }
    close(fd);
    close(in);
    free(envp);
    cr_assert(pid > 0, "fork: %s", strerror(errno));
    p->pid = pid;
}

int rt_wait(rt_proc *p, int timeout_ms)
{
    if (p->pid <= 0)
        return p->status;
    p->status = tl_wait(p->pid, timeout_ms);
    p->pid = 0;
    return p->status;
}

int rt_alive(rt_proc *p)
{
    if (p->pid <= 0)
        return 0;
    if (!tl_reaped(p->pid, &p->status))
        return 1;
    p->pid = 0;
    return 0;
}

int rt_stop(rt_proc *p, int timeout_ms)
{
    if (p->pid > 0)
        kill(p->pid, SIGTERM);
    return rt_wait(p, timeout_ms);
}

void rt_kill(rt_proc *p)
{
    if (p->pid > 0)
        kill(p->pid, SIGKILL);
    rt_wait(p, -1);
}

void rt_wait_log(rt_proc *p, const char *needle, int n, int timeout_ms)
{
    int64_t deadline = tl_now_ms() + timeout_ms;

    for (;;) {
        char *log = tl_slurp(p->log, NULL);        /* not kept: polled often */
        int have = log ? tl_count(log, needle) : 0;

        free(log);
        if (have >= n)
            return;
        if (!rt_alive(p))                /* no assertion per poll */
            cr_assert_fail("exited (%d) before logging %s %d times:\n%s",
                           p->status, needle, n, rt_log(p));
        if (tl_now_ms() >= deadline)
            cr_assert_fail("%s not logged %d times in %d ms:\n%s", needle, n,
                           timeout_ms, rt_log(p));
        tl_sleep_ms(10);
    }
}

const char *rt_log(const rt_proc *p)
{
    return keep(tl_slurp(p->log, NULL));
}

pid_t rt_fork(void)
{
    pid_t pid = tl_fork();      /* the child: no Criterion call (U3) */

    if (pid < 0)            /* never assert in the child, even passing */
        cr_assert_fail("fork: %s", strerror(errno));
    return pid;
}

/* Collect variadic const char * arguments after `fixed` ones. */
static int collect(const char **argv, int n, va_list ap)
{
    const char *a;

    while ((a = va_arg(ap, const char *)) != NULL) {
        cr_assert(n < MAX_ARGS, "too many arguments");
        argv[n++] = a;
    }
    argv[n] = NULL;
    return n;
}

static void capture_once_v(const char *const *extra)
{
    const char *argv[MAX_ARGS + 1] = { "--source", rt_src, "--journal",
                                       rt_jdir, "--once" };
    rt_proc p;
    int rc, n = 5;

    for (; extra != NULL && *extra != NULL && n < MAX_ARGS; extra++)
        argv[n++] = *extra;
    argv[n] = NULL;
    rt_spawnv(&p, rt_capture_bin(), argv, NULL);
    rc = rt_wait(&p, 60000);
    if (rc != 0) {
        cr_assert_fail("sluice-capture --once exited %d:\n%.3000s", rc,
                       rt_log(&p));
    }
}

void rt_capture_once(void)
{
    capture_once_v(NULL);
}

void rt_capture_once_with(const char *arg, ...)
{
    const char *extra[MAX_ARGS + 1];
    va_list ap;
    int n = 0;

    va_start(ap, arg);
    for (const char *a = arg; a != NULL && n < MAX_ARGS;
         a = va_arg(ap, const char *))
        extra[n++] = a;
    va_end(ap);
    extra[n] = NULL;
    capture_once_v(extra);
}

int rt_replay_run(rt_proc *p, const char *url, ...)
{
    const char *argv[MAX_ARGS + 1] = { "--journal", rt_jdir, "--target",
                                       url, "--once" };
    va_list ap;

    va_start(ap, url);
    collect(argv, 5, ap);
    va_end(ap);
    rt_spawnv(p, rt_replay_bin(), argv, rt_password());
    return rt_wait(p, 120000);        /* a limit, not an expectation */
}

void rt_replay_once(void)
{
    rt_proc p;
    int rc = rt_replay_run(&p, rt_url, NULL);

    if (rc != 0) {
        cr_assert_fail("sluice-replay --once exited %d:\n%.3000s", rc,
                       rt_log(&p));
    }
}

void rt_sync(void)
{
    rt_capture_once();
    rt_replay_once();
}

void rt_capture_start(rt_proc *p, ...)
{
    const char *argv[MAX_ARGS + 1] = { "--source", rt_src, "--journal",
                                       rt_jdir };
    va_list ap;

    char mdb[RT_PATH + 20];
    struct stat sb;
    int64_t deadline;

    va_start(ap, p);
    collect(argv, 4, ap);
    va_end(ap);
    rt_spawnv(p, rt_capture_bin(), argv, NULL);
    /* sluice-replay refuses a journal that does not exist yet: let
    ** capture create it first, as an operator's start order would */
    snprintf(mdb, sizeof(mdb), "%s/data.mdb", rt_jdir);
    deadline = tl_now_ms() + 60000;
    while (stat(mdb, &sb) != 0) {
        if (!rt_alive(p))
            cr_assert_fail("sluice-capture exited %d:\n%s", p->status,
                           rt_log(p));
        if (tl_now_ms() >= deadline)
            cr_assert_fail("no journal after 60 s");
        tl_sleep_ms(5);
    }
    /* and attached: until then it needs the source's locks (switching it
    ** to WAL, installing triggers), which an application committing
    ** without pause can keep from it past its busy timeout on a loaded
    ** machine -- callers start their writers after this returns */
    rt_wait_log(p, "event=capture.started", 1, 60000);
}

void rt_replay_start(rt_proc *p, const char *url, ...)
{
    const char *argv[MAX_ARGS + 1] = { "--journal", rt_jdir, "--target",
                                       url };
    va_list ap;

    va_start(ap, url);
    collect(argv, 4, ap);
    va_end(ap);
    rt_spawnv(p, rt_replay_bin(), argv, rt_password());
}

const char *rt_http_get(int port, const char *path)
{
    char *buf = tl_http_get(port, path);
    return buf ? keep(buf) : NULL;
}

int rt_metrics_port(const rt_proc *p, int timeout_ms)
{
    int64_t deadline = tl_now_ms() + timeout_ms;

    for (;;) {
        char *log = tl_slurp(p->log, NULL);
        const char *m = log ? strstr(log, "event=replay.metrics") : NULL;
        const char *port = m ? strstr(m, "port=") : NULL;
        if (port != NULL) {
            int v = (int)strtol(port + 5, NULL, 10);
            free(log);
            return v;
        }
        free(log);
        cr_assert(tl_now_ms() < deadline, "no metrics endpoint logged:\n%s",
                  rt_log(p));
        tl_sleep_ms(20);
    }
}

double rt_metric(const char *text, const char *name, const char *labels)
{
    char pat[160];
    const char *p = text;

    snprintf(pat, sizeof(pat), "\n%s{", name);
    while (p != NULL && (p = strstr(p, pat)) != NULL) {
        const char *end = strchr(p + 1, '}'), *nl = strchr(p + 1, '\n');
        char lab[1024];
        size_t l;
        if (end == NULL || (nl != NULL && nl < end))
            return -1;
        l = (size_t)(end - p) < sizeof(lab) - 1 ? (size_t)(end - p)
                                                : sizeof(lab) - 1;
        memcpy(lab, p, l);
        lab[l] = 0;
        if (labels == NULL || strstr(lab, labels) != NULL)
            return strtod(end + 1, NULL);
        p = end;
    }
    return -1;
}

const char *rt_inspect_stat_json(const char *jdir)
{
    const char *argv[] = { "--json", jdir, "stat", NULL };
    rt_proc p;
    int rc;
    const char *out;

    rt_spawnv(&p, rt_inspect_bin(), argv, NULL);
    rc = rt_wait(&p, 30000);
    out = rt_log(&p);
    cr_assert_eq(rc, 0, "sluice-inspect stat exited %d: %s", rc, out);
    return out;
}

static int64_t json_int(const char *js, const char *key)
{
    char pat[80];
    const char *p;

    snprintf(pat, sizeof(pat), "\"%s\":", key);
    p = strstr(js, pat);
    if (p == NULL)
        return -1;
    return strtoll(p + strlen(pat), NULL, 10);
}

int64_t rt_journal_complete_seq(const char *jdir)
{
    const char *js = rt_inspect_stat_json(jdir);
    int64_t v = json_int(js, "complete_seq");

    cr_assert(v >= 0, "no complete_seq in: %s", js);
    return v;
}

int64_t rt_find_seq(const char *jdir, const char *table,
                    const char *key_text)
{
    const char *argv[] = { jdir, "list", NULL };
    char qt[300];
    rt_proc p;
    char *out, *line;
    int64_t seq = -1;
    int rc;

    snprintf(qt, sizeof(qt), "\"%s\"", table);
    rt_spawnv(&p, rt_inspect_bin(), argv, NULL);
    rc = rt_wait(&p, 30000);
    out = tl_slurp(p.log, NULL);
    cr_assert(rc == 0 && out != NULL, "sluice-inspect list exited %d", rc);
    for (line = out; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        if (strstr(line, qt) && strstr(line, key_text)) {
            seq = strtoll(line, NULL, 10);
            break;
        }
        line = nl ? nl + 1 : NULL;
    }
    free(out);
    return seq;
}

/* rt_position for polling: any error (no table yet, a lock wait or a
** deadlock on a node rejoining a cluster, a lost connection) is "not
** known now", -1, never a test failure. */
static int64_t position_try(MYSQL *db, const char *replica)
{
    char er[200], sql[400];
    MYSQL_RES *r;
    MYSQL_ROW row;
    int64_t v = -1;

    mysql_real_escape_string(db, er, replica, (unsigned long)strlen(replica));
    snprintf(sql, sizeof(sql), "SELECT seq FROM sqlite_sluice_position WHERE "
             "replica = '%s'", er);
    if (mysql_query(db, sql) != 0 || (r = mysql_store_result(db)) == NULL)
        return -1;
    if ((row = mysql_fetch_row(r)) != NULL && row[0] != NULL)
        v = strtoll(row[0], NULL, 10);
    mysql_free_result(r);
    return v;
}

int rt_wait_applied(MYSQL *db, const char *replica, const char *jdir,
                    int timeout_ms)
{
    int64_t want = rt_journal_complete_seq(jdir);
    int64_t deadline;

    /* a limit for reporting a failure, never an expectation: a loaded
    ** machine (ASan, other builds) may need far longer than the caller's
    ** idle-machine guess */
    if (timeout_ms < 120000)
        timeout_ms = 120000;
    deadline = tl_now_ms() + timeout_ms;

    for (;;) {
        if (position_try(db, replica) >= want)
            return 0;
        if (tl_now_ms() > deadline)
            return -1;
        tl_sleep_ms(20);
    }
}

/* ------------------------------------------------------------------ */
/* private servers                                                    */
/* ------------------------------------------------------------------ */

static char g_server_log[RT_PATH + 64];

const char *rt_server_log(void)
{
    char *s = g_server_log[0] ? tl_slurp(g_server_log, NULL) : NULL;
    return keep(s);
}

static const char *mariadb_sh(void)
{
    static char b[RT_PATH];
    const char *src = getenv("SLUICE_SOURCE_DIR");

    snprintf(b, sizeof(b), "%s/tests/harness/mariadb.sh",
             src && *src ? src : RT_SOURCE_DIR);
    return b;
}

/* Index of dir in g_servers, or -1. */
static int server_slot(const char *dir)
{
    for (int i = 0; i < g_nservers && i < MAX_SERVERS; i++)
        if (strcmp(g_servers[i], dir) == 0)
            return i;
    return -1;
}

int rt_server(const char *action, const char *dir)
{
    const char *argv[] = { mariadb_sh(), action, dir, NULL };
    rt_proc p;
    int rc, i;

    rt_spawnv(&p, "/bin/bash", argv, NULL);
    rc = rt_wait(&p, 180000);
    snprintf(g_server_log, sizeof(g_server_log), "%s", p.log);
    i = server_slot(dir);
    if (strcmp(action, "start") == 0 || strcmp(action, "restart") == 0) {
        if (i < 0 && g_nservers < MAX_SERVERS)
            snprintf(g_servers[g_nservers++], sizeof(g_servers[0]), "%s",
                     dir);
    } else if (strcmp(action, "stop") == 0 && i >= 0) {
        g_servers[i][0] = 0;
    }
    return rc;
}

void rt_server_socket(char *out, size_t cap, const char *dir)
{
    cr_assert(strlen(dir) + 12 <= 100, "server dir too long: %s", dir);
    snprintf(out, cap, "%s/mysqld.sock", dir);
}

MYSQL *rt_server_connect(const char *dir, const char *dbname)
{
    tdb_config cfg;
    char env[RT_PATH + 8], err[512];
    const char *old = getenv("SLUICE_TEST_MYSQL_ENV");
    char *saved = old ? strdup(old) : NULL;
    MYSQL *db = NULL;
    int rc;

    snprintf(env, sizeof(env), "%s/env", dir);
    setenv("SLUICE_TEST_MYSQL_ENV", env, 1);
    rc = tdb_config_load(&cfg, err, sizeof(err));
    if (saved) {
        setenv("SLUICE_TEST_MYSQL_ENV", saved, 1);
        free(saved);
    } else {
        unsetenv("SLUICE_TEST_MYSQL_ENV");
    }
    cr_assert_eq(rc, 0, "%s", err);
    rc = tdb_open(&db, &cfg, NULL, NULL, TDB_VIA_SOCKET, err, sizeof(err));
    cr_assert_eq(rc, 0, "connect to private server %s: %s", dir, err);
    track_conn(db);
    cr_assert_eq(mysql_select_db(db, dbname), 0, "%s", mysql_error(db));
    session_setup(db);
    return db;
}
