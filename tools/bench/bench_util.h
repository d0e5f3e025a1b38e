/*
** bench_util.h -- what the sluice-bench-* programs share (library
** sluice_bench_util): fatal errors, memory, time, sample statistics,
** child processes, /proc readings and scratch files.
**
** Every bu_ function that can fail calls bu_die() (a benchmark that
** cannot set itself up has nothing to report), unless its comment says
** it returns -1. The clock is runtime's sl_mono_us() (sl_clock.h):
** monotonic microseconds; bu_now_s() is the same clock in seconds.
*/
#ifndef SLUICE_BENCH_UTIL_H
#define SLUICE_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>

#define BU_NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define BU_PICK(a, r) ((a)[(r) % BU_NELEM(a)])

/* ---- bench_util.c: errors, memory, time, statistics ---------------- */

/* Name bu_die() prints before its message ("NAME: message") and the exit
** status it ends with. Call first thing in main(); the default is
** "sluice-bench", 2. The name is copied. */
void bu_prog(const char *name, int status);

/* Flush stdout, print "NAME: <message>\n" to stderr and exit. */
void bu_die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/* malloc / realloc, or bu_die. A size of 0 allocates 1 byte. */
void *bu_xmalloc(size_t n);
void *bu_xrealloc(void *p, size_t n);

/* Monotonic seconds (sl_mono_us() / 1e6), for interval timers. */
double bu_now_s(void);

/* Sleep us microseconds; a signal does not cut it short. */
void bu_sleep_us(int64_t us);

/* Sleep until sl_mono_us() reaches deadline_us (absolute, so a loop of
** them keeps its schedule however long each step took). */
void bu_sleep_until_us(int64_t deadline_us);

/* tv in seconds. */
double bu_tv_s(struct timeval tv);

/* CPU seconds (user + system) of this process. */
double bu_self_cpu_s(void);

/* Busy CPU seconds of the whole machine since boot (/proc/stat: all but
** idle and iowait, all CPUs), -1 if unreadable. */
double bu_machine_busy_s(void);

/* Sort v[0..n) ascending. */
void bu_sort_i64(int64_t *v, size_t n);

/* Nearest-rank percentile p (0..100) of sorted v: v[ceil(p/100 n) - 1];
** 0 when n is 0. */
int64_t bu_pct(const int64_t *v, size_t n, double p);

/* Percentile p (0..100) of sorted v as the element nearest to position
** p/100 (n - 1): v[round(p/100 (n - 1))]; 0 when n is 0. */
int64_t bu_pct_nearest(const int64_t *v, size_t n, double p);

/* Median of v[0..n) (the mean of the middle two when n is even; 0 when n
** is 0); v is left as it is. */
double bu_median(const double *v, size_t n);

/* x rounded to an integer with thousands separators ("1,234,567") into
** buf; returns buf. */
const char *bu_thousands(char *buf, size_t cap, double x);

/* splitmix64: the next number of the sequence *state (deterministic). */
uint64_t bu_rng(uint64_t *state);

/* ---- bench_proc.c: child processes and /proc ----------------------- */

/* Start argv[0] (execvp) with argv (NULL-terminated). log: its stdout and
** stderr go to that file, truncated (append 0) or appended to (append 1);
** NULL: it inherits ours. The child gets SIGTERM when this process dies.
** Returns its pid; bu_die()s if fork fails; a child that cannot open log
** or exec exits 126 / 127. */
pid_t bu_spawn(const char *log, int append, char *const argv[]);

/* Wait for child pid to end: timeout_ms < 0 without limit, 0 only checks.
** Returns 0 with *status (and *ru when not NULL) set, 1 if it is still
** running at the timeout, -1 on error (errno set). */
int bu_wait(pid_t pid, int timeout_ms, int *status, struct rusage *ru);

/* SIGTERM pid, wait up to timeout_ms, then SIGKILL it and wait. Returns
** its wait status (-1 if waiting failed). */
int bu_stop(pid_t pid, int timeout_ms, struct rusage *ru);

/* 1 if a wait status says the child exited with status 0. */
int bu_exited_ok(int status);

/* Value in kB of the field ("VmHWM", "VmRSS", "RssAnon", ...) of
** /proc/PID/status, -1 if unreadable or absent. */
long bu_proc_status_kb(pid_t pid, const char *field);

/* CPU seconds (utime + stime) of pid from /proc/PID/stat, -1 if
** unreadable. */
double bu_proc_cpu_s(pid_t pid);

/* ---- bench_fs.c: file descriptors and scratch files ---------------- */

/* read / write exactly n bytes, retrying on EINTR; 0 ok, -1 on error or
** end of file. */
int bu_read_full(int fd, void *buf, size_t n);
int bu_write_full(int fd, const void *buf, size_t n);

/* Remove a file or a directory tree; a path that does not exist is fine. */
void bu_rm_rf(const char *path);

/* Remove an SQLite database and its -wal, -shm and -journal files. */
void bu_rm_db(const char *path);

/* mkdir -p. */
void bu_mkdir_p(const char *dir);

#endif /* SLUICE_BENCH_UTIL_H */
