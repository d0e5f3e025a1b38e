/*
** sl_prom.c -- the Prometheus text format: family headers, sample line
** starts, label values. libc only; the journal's metrics writer
** (journal/metrics.c) and the programs' own metrics all go through it.
** INVARIANTS:
**  (P1) every label value written is valid UTF-8 with \\, \" and newline
**       escaped, whatever bytes it was given (a directory or table name
**       can hold any), so the exposition always parses.
**  (P2) nothing here allocates or fails: output errors are the FILE's.
**  (P3) histogram buckets are written cumulative and in increasing `le`,
**       ending with +Inf equal to _count (what promtool checks).
*/
#include <string.h>

#include "sl_prom.h"
#include "sl_utf8.h"

void sl_prom_family(FILE *f, const char *name, const char *type,
                    const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Label value: the text format wants UTF-8 with \\, \" and \n escaped; a
** byte that is not part of valid UTF-8 (a directory name can hold any)
** becomes U+FFFD, so the exposition stays valid. */
void sl_prom_label(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);

    while (n > 0) {
        size_t k = 1;

        if (*p >= 0x80) {
            k = (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3
                : (*p & 0xf8) == 0xf0 ? 4 : 0;
            if (k == 0 || k > n || !sl_utf8_valid(p, k, 0)) {
                fputs("\xef\xbf\xbd", f);
                p++;
                n--;
                continue;
            }
            fwrite(p, 1, k, f);
        } else if (*p == '\\' || *p == '"') {
            fputc('\\', f);
            fputc(*p, f);
        } else if (*p == '\n') {
            fputs("\\n", f);
        } else {
            fputc(*p, f);
        }
        p += k;
        n -= k;
    }
}

void sl_prom_sample(FILE *f, const char *name, const char *db,
                    const char *replica)
{
    fprintf(f, "%s{db=\"", name);
    sl_prom_label(f, db);
    if (replica != NULL) {
        fputs("\",replica=\"", f);
        sl_prom_label(f, replica);
    }
    fputs("\"}", f);
}

const double sl_hist_bounds[SL_HIST_N] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
    10, 60
};

void sl_hist_observe(sl_hist *h, double seconds)
{
    int i = 0;

    while (i < SL_HIST_N && seconds > sl_hist_bounds[i])
        i++;
    h->bucket[i]++;
    h->count++;
    h->sum += seconds;
}

void sl_hist_write(FILE *f, const sl_hist *h, const char *name,
                   const char *help, const char *labels)
{
    uint64_t cum = 0;
    const char *sep = labels[0] ? "," : "";

    sl_prom_family(f, name, "histogram", help);
    for (int i = 0; i < SL_HIST_N; i++) {
        cum += h->bucket[i];
        fprintf(f, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep,
                sl_hist_bounds[i], (unsigned long long)cum);
    }
    cum += h->bucket[SL_HIST_N];
    fprintf(f, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
            (unsigned long long)cum);
    fprintf(f, "%s_sum{%s} %.6f\n", name, labels, h->sum);
    fprintf(f, "%s_count{%s} %llu\n", name, labels,
            (unsigned long long)h->count);
}
