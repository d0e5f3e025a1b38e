/*
** sl_log.c -- logfmt logging for the sluice programs.
** INVARIANTS:
**  (L1) one event is one line, written with a single write(2) so lines from
**       concurrent processes sharing stderr never interleave mid-line.
**  (L2) never called from a signal handler (handlers only set flags).
*/
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "sl_log.h"

int sl_log_level = SL_INFO;
static const char *g_prog = "sluice";

void sl_log_init(const char *prog)
{
    const char *slash = strrchr(prog, '/');
    g_prog = slash ? slash + 1 : prog;
}

int sl_log_parse_level(const char *s)
{
    static const char *const names[] = { "debug", "info", "warn", "error" };
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

void sl_log_emit(int level, const char *event, const char *fmt, ...)
{
    static const char *const names[] = { "debug", "info", "warn", "error" };
    char line[4096];
    struct timeval tv;
    struct tm tm;
    va_list ap;
    int n;

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    n = snprintf(line, sizeof(line),
                 "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s prog=%s "
                 "event=%s", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                 tm.tm_hour, tm.tm_min, tm.tm_sec, (long)tv.tv_usec / 1000,
                 names[level & 3], g_prog, event);
    if (fmt != NULL && fmt[0] != 0 && n < (int)sizeof(line) - 2) {
        line[n++] = ' ';
        va_start(ap, fmt);
        n += vsnprintf(line + n, sizeof(line) - n, fmt, ap);
        va_end(ap);
    }
    if (n > (int)sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    if (write(STDERR_FILENO, line, (size_t)n) < 0) {
        /* nowhere left to report it */
    }
}

const char *sl_q(char *buf, size_t cap, const char *s)
{
    size_t o = 0;
    int plain = s[0] != 0;

    for (const char *p = s; *p; p++)
        if (*p == ' ' || *p == '"' || *p == '=' || *p == '\\' ||
            (unsigned char)*p < 0x20)
            plain = 0;
    if (plain) {
        snprintf(buf, cap, "%s", s);
        return buf;
    }
    if (cap < 3) {
        buf[0] = 0;
        return buf;
    }
    buf[o++] = '"';
    for (const char *p = s; *p && o + 3 < cap; p++) {
        if (*p == '"' || *p == '\\') {
            buf[o++] = '\\';
            buf[o++] = *p;
        } else if (*p == '\n') {
            buf[o++] = '\\';
            buf[o++] = 'n';
        } else if ((unsigned char)*p < 0x20) {
            buf[o++] = ' ';
        } else {
            buf[o++] = *p;
        }
    }
    buf[o++] = '"';
    buf[o] = 0;
    return buf;
}
