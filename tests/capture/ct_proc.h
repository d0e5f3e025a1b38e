/*
** ct_proc.h -- fixtures and processes of the capture test suites.
**
** Every suite uses `TestSuite(capture_x, .init = ct_setup,
** .fini = ct_teardown)`: each test gets a fresh temporary directory
** ct_base with the paths ct_src = ct_base/src.db (the first ct_app()
** creates it, in rollback-journal mode as an application would) and
** ct_jdir = ct_base/journal (sluice-capture creates it).
** ct_teardown kills and reaps every child still running, then removes
** ct_base (unless CT_KEEP is set in the environment: to inspect a failed
** test's source, journal and capture logs).
**
** Three kinds of child processes:
**   the APPLICATION  ct_app() runs a list of SQL scripts in a child with
**                    its own connection and busy_timeout 5000, like an
**                    application would (PRAGMAs such as foreign_keys or
**                    recursive_triggers go in the list, they apply to
**                    that connection);
**   sluice-capture   ct_cap_run() runs it to completion, ct_cap_start()
**                    leaves it running (ct_cap_stop() sends SIGTERM);
**                    its stdout and stderr go to a fresh log file;
**   anything else    ct_fork(), for writers with their own loop.
** Helpers assert with Criterion and may only be called from the test
** process; code in a forked child leaves with _exit().
*/
#ifndef CT_PROC_H
#define CT_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "testlib.h"     /* tl_slurp, tl_count, tl_proc.h */

#define CT_PATH 512

extern char ct_base[CT_PATH];   /* this test's temporary directory */
extern char ct_src[CT_PATH];    /* ct_base/src.db */
extern char ct_jdir[CT_PATH];   /* ct_base/journal */
/* When > 0, sluice-capture processes started from now on run with this
** RLIMIT_FSIZE (bytes) and SIGXFSZ ignored: a disk that is full for them.
** ct_setup() resets it to 0. */
extern long ct_fsize_limit;

void ct_setup(void);
void ct_teardown(void);

/* out = ct_base/name. Returns out. */
char *ct_path(char *out, size_t cap, const char *name);


/* Value of the first sample `name{...}` in a /metrics text; -1 if absent. */
double ct_metric_sample(const char *text, const char *name);
/* key=N of the capture.stopped line of a capture log; -1 if absent. */
long long ct_stopped_field(const char *log, const char *key);

/* ---- processes ---- */

/* tl_fork(), asserting it worked; ct_teardown() kills what is left.
** Clocks, waits and kills are testlib's: tl_now_us, tl_sleep_ms,
** tl_wait, tl_kill (tl_proc.h). */
pid_t ct_fork(void);

/* ---- sluice-capture ---- */

typedef struct ct_proc {
    pid_t pid;
    char log[CT_PATH];          /* its stdout + stderr */
} ct_proc;

/* The binary: $SLUICE_BUILD_DIR/capture/sluice-capture. */
const char *ct_capture_bin(void);

/* Run sluice-capture with the NULL-terminated arguments, as user `uid`
** when uid >= 0 (tests run as root: a real unprivileged user is the only
** way to get a read-only file). Waits up to timeout_ms; returns the exit
** status as tl_wait() does. p->log names its output. */
int ct_cap_runv(ct_proc *p, int timeout_ms, int uid,
                const char *const *args);
int ct_cap_run(ct_proc *p, int timeout_ms, ...);   /* args, NULL */
/* Start it and return at once. */
void ct_cap_startv(ct_proc *p, const char *const *args);
void ct_cap_start(ct_proc *p, ...);                /* args, NULL */
/* SIGTERM, then wait up to timeout_ms; returns the exit status. */
int ct_cap_stop(ct_proc *p, int timeout_ms);
/* `--source ct_src --journal ct_jdir --once`, asserting exit 0. */
void ct_cap_once(void);
/* Continuous capture of ct_src into ct_jdir (default poll). */
void ct_cap_start_default(ct_proc *p);
/* Its log so far (malloc'd). */
char *ct_cap_log(const ct_proc *p);
/* Assert exit status rc == want, showing p's log only when it is not. */
void ct_assert_status(const ct_proc *p, int rc, int want);
/* SIGTERM capture and assert it exits 0 (its log shown when not). */
void ct_cap_stop_ok(ct_proc *p);

/* ---- the application ---- */

/* Run each SQL script (NULL-terminated list) with sqlite3_exec in a child
** process that opens `db` with busy_timeout 5000. Returns 0; on the first
** failure -1, with "script N: message" in err. */
int ct_appv(const char *db, char *err, size_t cap,
            const char *const *scripts);
int ct_app(const char *db, char *err, size_t cap, ...);  /* scripts, NULL */
/* ct_app on ct_src, asserting success. */
#define CT_APP(...)                                                      \
    do {                                                                 \
        char ct_e_[600];                                                 \
        cr_assert_eq(ct_app(ct_src, ct_e_, sizeof(ct_e_), __VA_ARGS__,   \
                            (const char *)NULL), 0,                      \
                     "application write failed: %s", ct_e_);             \
    } while (0)

/* Query one integer from db (in the test process, its own connection).
** Asserts the query works. */
int64_t ct_query_int(const char *db, const char *sql);
/* Number of schema objects of the source named _sluice*. */
int64_t ct_sluice_objects(const char *db);

/* ---- deterministic PRNG (xorshift64*) ---- */
typedef struct ct_rng {
    uint64_t s;
} ct_rng;
void ct_rng_seed(ct_rng *r, uint64_t seed);
uint64_t ct_rng_below(ct_rng *r, uint64_t n);   /* 0..n-1, n > 0 */

#endif /* CT_PROC_H */
