/*
** bench_util.c -- errors, memory, time and sample statistics for the
** sluice-bench-* programs (see bench_util.h).
** INVARIANTS:
**  (U1) one clock: every time here is runtime's sl_mono_us() (monotonic),
**       so an interval never jumps when the wall clock is set.
**  (U2) the statistics never reorder a caller's array unless asked to
**       (bu_sort_i64); bu_median() sorts a copy.
**  (U3) bu_die() is the only way out on a setup failure: it flushes
**       stdout first, so a report cut short is not lost in a buffer.
*/
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "sl_clock.h"

static char g_prog[128] = "sluice-bench";
static int g_status = 2;

void bu_prog(const char *name, int status)
{
    snprintf(g_prog, sizeof(g_prog), "%s", name);
    g_status = status;
}

void bu_die(const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fprintf(stderr, "%s: ", g_prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(g_status);
}

void *bu_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (p == NULL)
        bu_die("out of memory (%zu bytes)", n);
    return p;
}

void *bu_xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (p == NULL)
        bu_die("out of memory (%zu bytes)", n);
    return p;
}

/* ------------------------------------------------------------------ */
/* Time                                                               */
/* ------------------------------------------------------------------ */

double bu_now_s(void)
{
    return (double)sl_mono_us() / 1e6;
}

void bu_sleep_us(int64_t us)
{
    struct timespec ts = { (time_t)(us / 1000000),
                           (long)(us % 1000000) * 1000 };

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void bu_sleep_until_us(int64_t deadline_us)
{
    struct timespec ts = { (time_t)(deadline_us / 1000000),
                           (long)(deadline_us % 1000000) * 1000 };

    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
           EINTR)
        ;
}

double bu_tv_s(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

double bu_self_cpu_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return bu_tv_s(ru.ru_utime) + bu_tv_s(ru.ru_stime);
}

double bu_machine_busy_s(void)
{
    unsigned long long v[10] = { 0 };
    FILE *f = fopen("/proc/stat", "r");
    int n;

    if (f == NULL)
        return -1;
    n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
               &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (n < 8)
        return -1;
    return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) /
           (double)sysconf(_SC_CLK_TCK);
}

/* ------------------------------------------------------------------ */
/* Statistics                                                         */
/* ------------------------------------------------------------------ */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

void bu_sort_i64(int64_t *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_i64);
}

int64_t bu_pct(const int64_t *v, size_t n, double p)
{
    size_t k = (size_t)ceil(p / 100.0 * (double)n);

    if (n == 0)
        return 0;
    if (k < 1)
        k = 1;
    return v[k > n ? n - 1 : k - 1];
}

int64_t bu_pct_nearest(const int64_t *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    return v[(size_t)(p / 100.0 * (double)(n - 1) + 0.5)];
}

double bu_median(const double *v, size_t n)
{
    double *t, med;

    if (n == 0)
        return 0;
    t = bu_xmalloc(n * sizeof(*t));
    memcpy(t, v, n * sizeof(*t));
    qsort(t, n, sizeof(*t), cmp_dbl);
    med = n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
    free(t);
    return med;
}

const char *bu_thousands(char *buf, size_t cap, double x)
{
    char raw[48], *o = buf;
    int len, lead;

    snprintf(raw, sizeof(raw), "%.0f", x);
    len = (int)strlen(raw);
    lead = len % 3 ? len % 3 : 3;
    for (int i = 0; i < len && (size_t)(o - buf) + 2 < cap; i++) {
        if (i > 0 && (i - lead) % 3 == 0 && raw[i - 1] != '-')
            *o++ = ',';
        *o++ = raw[i];
    }
    *o = 0;
    return buf;
}

uint64_t bu_rng(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
