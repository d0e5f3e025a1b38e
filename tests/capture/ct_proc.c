/*
** ct_proc.c -- fixtures and child processes of the capture suites (see
** ct_proc.h).
**
** INVARIANTS:
**  (P1) every child is forked through ct_fork() and remembered until it
**       is reaped, so ct_teardown() never leaves one running (a leftover
**       sluice-capture would keep writing a journal we delete).
**  (P2) a child never calls Criterion (even a passing assertion is a
**       message to the runner, which rejects a stranger's PID) and never
**       returns into it: it ends with _exit() or exec.
**  (P3) each sluice-capture run gets its own log file, so a test reads
**       exactly the output of the run it asserts on.
*/
#include "ct_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

#include "testlib.h"

#define MAX_ARGS     64

char ct_base[CT_PATH];
char ct_src[CT_PATH];
char ct_jdir[CT_PATH];
long ct_fsize_limit;

static int g_nlogs;

void ct_setup(void)
{
    cr_assert_eq(tl_tmpdir_make(ct_base, sizeof(ct_base)), 0,
                 "mkdtemp: %s", strerror(errno));
    ct_path(ct_src, sizeof(ct_src), "src.db");
    ct_path(ct_jdir, sizeof(ct_jdir), "journal");
    tl_kill_all();
    g_nlogs = 0;
    ct_fsize_limit = 0;
}

void ct_teardown(void)
{
    tl_kill_all();
    if (ct_base[0] != '\0' && getenv("CT_KEEP") == NULL)
        tl_rm_rf(ct_base);
}

char *ct_path(char *out, size_t cap, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", ct_base, name);

    cr_assert(n > 0 && (size_t)n < cap, "path too long: %s/%s", ct_base,
              name);
    return out;
}

/* ---------------------------------------------------------------- */
/* Processes                                                        */
/* ---------------------------------------------------------------- */

pid_t ct_fork(void)
{
    pid_t pid = tl_fork();

    if (pid < 0)            /* never assert in the child, even passing */
        cr_assert_fail("fork: %s", strerror(errno));
    return pid;
}

/* ---------------------------------------------------------------- */
/* sluice-capture                                                   */
/* ---------------------------------------------------------------- */

const char *ct_capture_bin(void)
{
    static char bin[CT_PATH];

    if (bin[0] == '\0')
        snprintf(bin, sizeof(bin), "%s/capture/sluice-capture",
                 tl_build_dir());
    return bin;
}

static void spawn(ct_proc *p, int uid, const char *const *args)
{
    const char *argv[MAX_ARGS + 2];
    char name[32];
    int n = 0;

    argv[n++] = ct_capture_bin();
    for (; args[n - 1] != NULL; n++) {
        cr_assert(n <= MAX_ARGS, "too many arguments");
        argv[n] = args[n - 1];
    }
    argv[n] = NULL;
    snprintf(name, sizeof(name), "capture-%02d.log", ++g_nlogs);
    ct_path(p->log, sizeof(p->log), name);
    p->pid = ct_fork();
    if (p->pid == 0) {
        int fd = open(p->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                      0666);
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(126);
        if (uid >= 0 && (fchmod(fd, 0666) != 0 || setgid((gid_t)uid) != 0 ||
                         setuid((uid_t)uid) != 0))
            _exit(125);
        if (ct_fsize_limit > 0) {
            /* a full disk, as the process sees it: EFBIG past the limit */
            struct rlimit rl = { (rlim_t)ct_fsize_limit,
                                 (rlim_t)ct_fsize_limit };
            signal(SIGXFSZ, SIG_IGN);
            if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
                _exit(124);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
}

int ct_cap_runv(ct_proc *p, int timeout_ms, int uid,
                const char *const *args)
{
    spawn(p, uid, args);
    return tl_wait(p->pid, timeout_ms);
}

static void collect(va_list ap, const char **args)
{
    int n = 0;
    const char *a;

    while ((a = va_arg(ap, const char *)) != NULL) {
        cr_assert(n < MAX_ARGS, "too many arguments");
        args[n++] = a;
    }
    args[n] = NULL;
}

int ct_cap_run(ct_proc *p, int timeout_ms, ...)
{
    const char *args[MAX_ARGS + 1];
    va_list ap;

    va_start(ap, timeout_ms);
    collect(ap, args);
    va_end(ap);
    return ct_cap_runv(p, timeout_ms, -1, args);
}

void ct_cap_startv(ct_proc *p, const char *const *args)
{
    spawn(p, -1, args);
}

void ct_cap_start(ct_proc *p, ...)
{
    const char *args[MAX_ARGS + 1];
    va_list ap;

    va_start(ap, p);
    collect(ap, args);
    va_end(ap);
    spawn(p, -1, args);
}

void ct_assert_status(const ct_proc *p, int rc, int want)
{
    if (rc != want) {
        char *log = ct_cap_log(p);     /* read only when failing */
        cr_assert_fail("sluice-capture exited %d, expected %d:\n%s", rc,
                       want, log);
    }
}

int ct_cap_stop(ct_proc *p, int timeout_ms)
{
    kill(p->pid, SIGTERM);
    return tl_wait(p->pid, timeout_ms);
}

void ct_cap_stop_ok(ct_proc *p)
{
    /* 120 s: a limit for reporting a hang, not an expectation (an ASan
    ** build on a loaded 2-core machine can take seconds to finish a pass) */
    ct_assert_status(p, ct_cap_stop(p, 120000), 0);
}

char *ct_cap_log(const ct_proc *p)
{
    char *s = tl_slurp(p->log, NULL);

    return s ? s : strdup("(no log)");
}

void ct_cap_once(void)
{
    ct_proc p;
    int rc = ct_cap_run(&p, 120000, "--source", ct_src, "--journal",
                        ct_jdir, "--once", NULL);

    if (rc != 0) {
        char *log = ct_cap_log(&p);
        cr_log_error("sluice-capture --once output:\n%s", log);
        free(log);
    }
    cr_assert_eq(rc, 0, "sluice-capture --once exited with %d", rc);
}

void ct_cap_start_default(ct_proc *p)
{
    ct_cap_start(p, "--source", ct_src, "--journal", ct_jdir, NULL);
}

/* ---------------------------------------------------------------- */
/* The application                                                  */
/* ---------------------------------------------------------------- */

static void app_child(const char *db, int fd, const char *const *scripts)
{
    sqlite3 *h = NULL;
    char msg[1024];
    int rc = sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE |
                             SQLITE_OPEN_CREATE, NULL);

    if (rc == SQLITE_OK)
        sqlite3_busy_timeout(h, 5000);
    for (int i = 0; rc == SQLITE_OK && scripts[i] != NULL; i++) {
        char *e = NULL;
        rc = sqlite3_exec(h, scripts[i], NULL, NULL, &e);
        if (rc != SQLITE_OK) {
            int n = snprintf(msg, sizeof(msg), "script %d (%.200s): %s "
                             "(code %d)", i, scripts[i],
                             e ? e : sqlite3_errstr(rc), rc);
            if (write(fd, msg, (size_t)n) < 0)
                _exit(3);
        }
        sqlite3_free(e);
    }
    if (rc != SQLITE_OK && h == NULL) {
        int n = snprintf(msg, sizeof(msg), "cannot open %s", db);
        if (write(fd, msg, (size_t)n) < 0)
            _exit(3);
    }
    sqlite3_close(h);
    _exit(rc == SQLITE_OK ? 0 : 1);
}

int ct_appv(const char *db, char *err, size_t cap,
            const char *const *scripts)
{
    int fds[2], st;
    size_t len = 0;
    pid_t pid;

    err[0] = '\0';
    cr_assert_eq(pipe(fds), 0, "pipe: %s", strerror(errno));
    pid = ct_fork();
    if (pid == 0) {
        close(fds[0]);
        app_child(db, fds[1], scripts);
    }
    close(fds[1]);
    for (;;) {
        ssize_t k = read(fds[0], err + len, cap - 1 - len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        len += (size_t)k;
        if (len == cap - 1)
            break;
    }
    err[len] = '\0';
    close(fds[0]);
    st = tl_wait(pid, 120000);
    if (st != 0 && err[0] == '\0')
        snprintf(err, cap, "application process exited with %d", st);
    return st == 0 ? 0 : -1;
}

int ct_app(const char *db, char *err, size_t cap, ...)
{
    const char *scripts[MAX_ARGS + 1];
    va_list ap;

    va_start(ap, cap);
    collect(ap, scripts);
    va_end(ap);
    return ct_appv(db, err, cap, scripts);
}

int64_t ct_query_int(const char *db, const char *sql)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = 0;
    int rc = sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL);

    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(h, 5000);
        rc = sqlite3_prepare_v2(h, sql, -1, &st, NULL);
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            v = sqlite3_column_int64(st, 0);
            rc = SQLITE_OK;
        }
    }
    if (rc != SQLITE_OK) {
        char msg[300];
        snprintf(msg, sizeof(msg), "%s", h ? sqlite3_errmsg(h) : "open");
        sqlite3_finalize(st);
        sqlite3_close(h);
        cr_assert_fail("query %s on %s: %s", sql, db, msg);
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

int64_t ct_sluice_objects(const char *db)
{
    return ct_query_int(db, "SELECT count(*) FROM sqlite_schema WHERE "
                        "name LIKE '\\_sluice%' ESCAPE '\\' OR tbl_name "
                        "LIKE '\\_sluice%' ESCAPE '\\'");
}

/* ---------------------------------------------------------------- */
/* PRNG                                                             */
/* ---------------------------------------------------------------- */

void ct_rng_seed(ct_rng *r, uint64_t seed)
{
    r->s = seed ? seed : 0x9e3779b97f4a7c15ull;
}

uint64_t ct_rng_below(ct_rng *r, uint64_t n)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return (r->s * 2685821657736338717ull) % n;
}

double ct_metric_sample(const char *text, const char *name)
{
    char pat[128];
    const char *p;

    snprintf(pat, sizeof(pat), "\n%s{", name);
    p = strstr(text, pat);
    if (p == NULL)
        return -1;
    p = strchr(p + 1, '}');
    return p ? strtod(p + 1, NULL) : -1;
}

long long ct_stopped_field(const char *log, const char *key)
{
    const char *p = strstr(log, "event=capture.stopped");
    char k[64];

    snprintf(k, sizeof(k), " %s=", key);
    p = p ? strstr(p, k) : NULL;
    return p ? atoll(p + strlen(k)) : -1;
}
