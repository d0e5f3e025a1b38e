/*
** tl_proc.c -- clock, sleep and child processes for the test suites
** (see tl_proc.h).
**
** INVARIANTS:
**  (P1) a pid is in the table from the fork that made it until the
**       waitpid() that reaps it: tl_kill_all() never signals a pid that
**       may have been reused.
**  (P2) nothing here calls Criterion or exits the test process.
*/
#include "tl_proc.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CHILDREN 128

static pid_t g_children[MAX_CHILDREN];
static int g_nchildren;

int64_t tl_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t tl_now_ms(void)
{
    return tl_now_us() / 1000;
}

void tl_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int tl_child_add(pid_t pid)
{
    for (int i = 0; i < g_nchildren; i++)
        if (g_children[i] == 0) {
            g_children[i] = pid;
            return 0;
        }
    if (g_nchildren == MAX_CHILDREN)
        return -1;
    g_children[g_nchildren++] = pid;
    return 0;
}

static void forget(pid_t pid)
{
    for (int i = 0; i < g_nchildren; i++)
        if (g_children[i] == pid)
            g_children[i] = 0;
}

pid_t tl_fork(void)
{
    pid_t pid, parent = getpid();

    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        /* die with the test: a Criterion timeout skips the teardown */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(120);
        g_nchildren = 0;
        return 0;
    }
    if (pid > 0 && tl_child_add(pid) != 0) {
        tl_kill(pid);
        errno = EAGAIN;
        return -1;
    }
    return pid;
}

static int decode(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
}

int tl_wait(pid_t pid, int timeout_ms)
{
    int64_t deadline = tl_now_ms() + timeout_ms;
    int st = 0, nap = 1;

    for (;;) {
        pid_t r = waitpid(pid, &st, timeout_ms < 0 ? 0 : WNOHANG);
        if (r == pid) {
            forget(pid);
            return decode(st);
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            forget(pid);
            return -1;
        }
        if (tl_now_ms() >= deadline) {
            tl_kill(pid);
            return -2;
        }
        tl_sleep_ms(nap);
        if (nap < 20)
            nap++;
    }
}

int tl_reaped(pid_t pid, int *status)
{
    int st = 0;
    pid_t r;

    while ((r = waitpid(pid, &st, WNOHANG)) < 0 && errno == EINTR)
        ;
    if (r == 0)
        return 0;
    forget(pid);
    *status = r == pid ? decode(st) : -1;
    return 1;
}

void tl_kill(pid_t pid)
{
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    forget(pid);
}

void tl_kill_all(void)
{
    for (int i = 0; i < g_nchildren; i++)
        if (g_children[i] > 0)
            tl_kill(g_children[i]);
    g_nchildren = 0;
}
