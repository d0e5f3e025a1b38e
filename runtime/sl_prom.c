/*
** sl_prom.c -- the Prometheus text format: family headers, sample line
** starts, label values. libc only; the journal's metrics writer
** (journal/metrics.c) and the programs' own metrics all go through it.
** INVARIANTS:
**  (P1) every label value written is valid UTF-8 with \\, \" and newline
**       escaped, whatever bytes it was given (a directory or table name
**       can hold any), so the exposition always parses.
**  (P2) nothing here allocates or fails: output errors are the FILE's.
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
