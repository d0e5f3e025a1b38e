/*
** tl_proc.h -- clock, sleep and child-process helpers shared by every
** test suite (journal, capture, replay, verify) and the benchmarks.
**
** libc only, like the rest of testlib: nothing here calls Criterion, so
** a failure is a return value the caller asserts on (the suites' own
** ct_fork/jt_fork/rt_fork do, in one line each).
**
** Children: tl_fork() remembers every child it makes (tl_child_add() a
** child made another way) until tl_wait() or tl_kill() reaps it;
** tl_kill_all() in a suite's teardown SIGKILLs and reaps what is left, so
** a failing test never leaves a process behind. A child tl_fork() made
** dies with the test process (PR_SET_PDEATHSIG), starts with an empty
** table (its own teardown never kills its siblings) and must not call
** Criterion, not even a passing assert.
*/
#ifndef SLUICE_TL_PROC_H
#define SLUICE_TL_PROC_H

#include <stdint.h>
#include <sys/types.h>

/* CLOCK_MONOTONIC in microseconds / milliseconds. */
int64_t tl_now_us(void);
int64_t tl_now_ms(void);

/* Sleep ms milliseconds, through signals. */
void tl_sleep_ms(int ms);

/* fork() after flushing stdio. Parent: the child's pid; child: 0;
** failure: -1 with errno (EAGAIN too when the table of children is
** full, after killing the child). */
pid_t tl_fork(void);

/* Remember a child made without tl_fork(); 0, or -1 (table full). */
int tl_child_add(pid_t pid);

/* Wait up to timeout_ms (< 0: forever) for pid. Returns its exit status,
** 128 + the signal that ended it, -1 on a waitpid error, or -2 when the
** time ran out (it is then SIGKILLed and reaped). */
int tl_wait(pid_t pid, int timeout_ms);

/* Has pid ended? 0: still running; 1: ended, *status as tl_wait's. */
int tl_reaped(pid_t pid, int *status);

/* SIGKILL pid and reap it. */
void tl_kill(pid_t pid);

/* SIGKILL and reap every remembered child. */
void tl_kill_all(void);

#endif /* SLUICE_TL_PROC_H */
