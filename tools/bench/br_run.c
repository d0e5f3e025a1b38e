/*
** br_run.c -- run: sluice-bench-replay's timer for the programs the bench
** script measures (sluice-capture, sluice-replay): wall clock, getrusage
** of the child, and the peaks of its RssAnon and RssFile.
** INVARIANTS:
**  (T1) the child's exit status is passed on, so the script sees a
**       failure as it would without the timer.
**  (T2) getrusage gives one peak of anon + file-backed pages together;
**       the split (LMDB's map counts as file-backed) is sampled every
**       20 ms, so a shorter peak can be missed.
*/
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "br.h"

int br_cmd_run(void)
{
    const char *out = br_req("out");
    int i, status, w;
    pid_t pid;
    struct rusage ru;
    long anon, file, max_anon = 0, max_file = 0;
    double t0;
    FILE *f;

    for (i = 2; i < br_argc && strcmp(br_argv[i], "--") != 0; i++)
        ;
    if (i + 1 >= br_argc)
        bu_die("usage: run --out FILE -- CMD [ARG...]");
    t0 = bu_now_s();
    pid = bu_spawn(NULL, 0, br_argv + i + 1);
    while ((w = bu_wait(pid, 0, &status, &ru)) == 1) {
        anon = bu_proc_status_kb(pid, "RssAnon");
        file = bu_proc_status_kb(pid, "RssFile");
        if (anon > max_anon)
            max_anon = anon;
        if (file > max_file)
            max_file = file;
        usleep(20000);
    }
    if (w < 0)
        bu_die("wait4: %s", strerror(errno));
    if ((f = fopen(out, "w")) == NULL)
        bu_die("%s: %s", out, strerror(errno));
    fprintf(f, "seconds=%.3f maxrss_kb=%ld exit=%d user_s=%.2f sys_s=%.2f "
            "peak_anon_kb=%ld peak_file_kb=%ld\n", bu_now_s() - t0,
            ru.ru_maxrss,
            WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
            bu_tv_s(ru.ru_utime), bu_tv_s(ru.ru_stime), max_anon, max_file);
    fclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
