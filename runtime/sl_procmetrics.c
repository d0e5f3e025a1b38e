/*
** sl_procmetrics.c -- process_* metrics from /proc/self in the Prometheus
** text format (libc only, like the rest of the runtime).
** INVARIANTS:
**  (P1) only reads /proc; never fails the caller: a value it cannot read
**       is left out of the exposition (an absent series, not a zero).
*/
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "sl_procmetrics.h"
#include "sl_prom.h"

/* Boot time in seconds since the epoch (btime in /proc/stat). */
static long long boot_time(void)
{
    FILE *p = fopen("/proc/stat", "r");
    char line[256];
    long long bt = -1;

    if (p == NULL)
        return -1;
    while (fgets(line, sizeof(line), p) != NULL)
        if (strncmp(line, "btime ", 6) == 0) {
            bt = strtoll(line + 6, NULL, 10);
            break;
        }
    fclose(p);
    return bt;
}

/* Fields of /proc/self/stat after the command name (which may hold
** spaces and parentheses: start after the last ')'). */
static int self_stat(unsigned long long *utime, unsigned long long *stime,
                     unsigned long long *start, unsigned long long *vsize,
                     long long *rss)
{
    FILE *p = fopen("/proc/self/stat", "r");
    char buf[1024], *s;
    size_t n;
    int got;

    if (p == NULL)
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, p);
    fclose(p);
    buf[n] = 0;
    if ((s = strrchr(buf, ')')) == NULL)
        return -1;
    /* state(3) ... utime(14) stime(15) ... starttime(22) vsize(23)
    ** rss(24) */
    got = sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
                 "%llu %llu %*d %*d %*d %*d %*d %*d %llu %llu %lld",
                 utime, stime, start, vsize, rss);
    return got == 5 ? 0 : -1;
}

static long open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    long n = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1;            /* the descriptor opendir itself holds */
}

void sl_procmetrics_write(FILE *f)
{
    unsigned long long ut, stt, start, vsize;
    long long rss, bt;
    long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE), fds;
    struct rlimit rl;

    if (tck > 0 && page > 0 && self_stat(&ut, &stt, &start, &vsize,
                                         &rss) == 0) {
        sl_prom_family(f, "process_cpu_seconds_total", "counter",
                       "Total user and system CPU time spent in seconds.");
        fprintf(f, "process_cpu_seconds_total %.2f\n",
                (double)(ut + stt) / (double)tck);
        sl_prom_family(f, "process_resident_memory_bytes", "gauge",
                       "Resident memory size in bytes.");
        fprintf(f, "process_resident_memory_bytes %lld\n", rss * page);
        sl_prom_family(f, "process_virtual_memory_bytes", "gauge",
                       "Virtual memory size in bytes.");
        fprintf(f, "process_virtual_memory_bytes %llu\n", vsize);
        if ((bt = boot_time()) > 0) {
            sl_prom_family(f, "process_start_time_seconds", "gauge",
                           "Start time of the process since unix epoch "
                           "in seconds.");
            fprintf(f, "process_start_time_seconds %.2f\n",
                    (double)bt + (double)start / (double)tck);
        }
    }
    if ((fds = open_fds()) >= 0) {
        sl_prom_family(f, "process_open_fds", "gauge",
                       "Number of open file descriptors.");
        fprintf(f, "process_open_fds %ld\n", fds);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        sl_prom_family(f, "process_max_fds", "gauge",
                       "Maximum number of open file descriptors.");
        fprintf(f, "process_max_fds %llu\n", (unsigned long long)rl.rlim_cur);
    }
}
