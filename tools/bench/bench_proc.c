/*
** bench_proc.c -- child processes and /proc readings for the
** sluice-bench-* programs: start a program with its output in a log,
** wait for it or stop it (SIGTERM, then SIGKILL after a timeout), and
** read a process's memory (/proc/PID/status) and CPU time
** (/proc/PID/stat). See bench_util.h.
** INVARIANTS:
**  (P1) a child started by bu_spawn() dies with us (PR_SET_PDEATHSIG), so
**       a benchmark that bu_die()s leaves no sluice-capture running.
**  (P2) bu_stop() returns: after its timeout the child gets SIGKILL,
**       which cannot be caught.
**  (P3) the /proc readers only read; a value they cannot read is -1,
**       never a made-up 0.
*/
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"

pid_t bu_spawn(const char *log, int append, char *const argv[])
{
    pid_t pid = fork();

    if (pid < 0)
        bu_die("fork: %s", strerror(errno));
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (log != NULL) {
            int fd = open(log, O_WRONLY | O_CREAT |
                          (append ? O_APPEND : O_TRUNC), 0644);
            if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
                _exit(126);
            close(fd);
        }
        execvp(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

int bu_wait(pid_t pid, int timeout_ms, int *status, struct rusage *ru)
{
    struct rusage dummy;
    int st;

    for (int waited = 0;; waited++) {
        pid_t w = wait4(pid, &st, timeout_ms < 0 ? 0 : WNOHANG,
                        ru != NULL ? ru : &dummy);
        if (w == pid) {
            if (status != NULL)
                *status = st;
            return 0;
        }
        if (w < 0 && errno != EINTR)
            return -1;
        if (w == 0 && waited >= timeout_ms)
            return 1;
        if (w == 0)
            bu_sleep_us(1000);
    }
}

int bu_stop(pid_t pid, int timeout_ms, struct rusage *ru)
{
    int st;

    kill(pid, SIGTERM);
    switch (bu_wait(pid, timeout_ms, &st, ru)) {
    case 0:
        return st;
    case 1:
        kill(pid, SIGKILL);
        return bu_wait(pid, -1, &st, ru) == 0 ? st : -1;
    default:
        return -1;
    }
}

int bu_exited_ok(int status)
{
    return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

long bu_proc_status_kb(pid_t pid, const char *field)
{
    char path[64], line[256];
    size_t n = strlen(field);
    long kb = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            kb = strtol(line + n + 1, NULL, 10);
    fclose(f);
    return kb;
}

double bu_proc_cpu_s(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long long ut = 0, stt = 0;
    FILE *f;
    int ok;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    ok = fgets(buf, sizeof(buf), f) != NULL;
    fclose(f);
    /* the command name may hold spaces and ')': fields start after the
    ** last ')': state(3) ... utime(14) stime(15) */
    if (!ok || (p = strrchr(buf, ')')) == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu "
               "%llu", &ut, &stt) != 2)
        return -1;
    return (double)(ut + stt) / (double)sysconf(_SC_CLK_TCK);
}
