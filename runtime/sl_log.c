/*
** sl_log.c -- logfmt logging for the sluice programs.
** INVARIANTS:
**  (L1) one event is one line of at most SL_LOG_LINE_MAX bytes, written
**       with a single write(2), so lines from concurrent processes sharing
**       stderr never interleave mid-line.
**  (L2) never called from a signal handler (handlers only set flags).
**  (L3) every line written follows the grammar of sl_log.h: the fields a
**       caller formatted are checked (sl_logfmt_valid) and, if they break
**       it, written as one escaped value instead; a line too long is cut
**       after a complete field. Nothing reaches stderr unescaped.
*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "sl_log.h"
#include "sl_utf8.h"

int sl_log_level = SL_INFO;
static char g_prog[128] = "sluice";

void sl_log_init(const char *prog)
{
    const char *slash = strrchr(prog, '/');
    sl_q(g_prog, sizeof(g_prog), slash ? slash + 1 : prog);
}

int sl_log_parse_level(const char *s)
{
    static const char *const names[] = { "debug", "info", "warn", "error" };
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

/* ---- the grammar ---------------------------------------------------- */

/* Length of the well-formed UTF-8 character at p (1..4), 0 if the bytes
** there are not one. */
static size_t u8len(const unsigned char *p, size_t left)
{
    size_t k;

    if (p[0] < 0x80)
        k = 1;
    else if ((p[0] & 0xe0) == 0xc0)
        k = 2;
    else if ((p[0] & 0xf0) == 0xe0)
        k = 3;
    else if ((p[0] & 0xf8) == 0xf0)
        k = 4;
    else
        return 0;
    if (k > left || (k > 1 && !sl_utf8_valid(p, k, 0)))
        return 0;
    return k;
}

static int is_ctl(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

static int is_keychar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

static int is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
           (c >= 'A' && c <= 'F');
}

/* Scan fields; *good = end of the last complete field, *cut = end of the
** last complete field ending at or before `limit`. 1 if all of s[0..n)
** is well-formed. */
static int scan(const char *s, size_t n, size_t *good, size_t limit,
                size_t *cut)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, k;

    *good = *cut = 0;
    if (n == 0)
        return 0;
    for (;;) {
        size_t start = i;

        while (i < n && is_keychar(p[i]))
            i++;
        if (i == start || i >= n || p[i] != '=')
            return 0;
        i++;
        if (i < n && p[i] == '"') {
            for (i++;;) {
                if (i >= n)
                    return 0;
                if (p[i] == '"') {
                    i++;
                    break;
                }
                if (p[i] == '\\') {
                    if (i + 1 >= n)
                        return 0;
                    if (strchr("\"\\nrt", p[i + 1]) != NULL && p[i + 1]) {
                        i += 2;
                    } else if (p[i + 1] == 'x' && i + 3 < n &&
                               is_hex(p[i + 2]) && is_hex(p[i + 3])) {
                        i += 4;
                    } else {
                        return 0;
                    }
                    continue;
                }
                if (is_ctl(p[i]) || (k = u8len(p + i, n - i)) == 0)
                    return 0;
                i += k;
            }
        } else {
            while (i < n && p[i] != ' ') {
                if (is_ctl(p[i]) || p[i] == '"' || p[i] == '=' ||
                    p[i] == '\\' || (k = u8len(p + i, n - i)) == 0)
                    return 0;
                i += k;
            }
        }
        *good = i;
        if (i <= limit)
            *cut = i;
        if (i == n)
            return 1;
        if (p[i] != ' ')
            return 0;
        i++;
    }
}

int sl_logfmt_valid(const char *line, size_t n, size_t *good)
{
    size_t g, cut;
    int ok = scan(line, n, &g, n, &cut);

    if (good != NULL)
        *good = g;
    return ok;
}

/* ---- the one escaping function --------------------------------------- */

const char *sl_qn(char *buf, size_t cap, const void *vp, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = vp ? vp : (const void *)"", *end = p + n;
    const unsigned char *q;
    int bare = n > 0;
    size_t o = 0, k;

    if (cap == 0)
        return buf;
    for (q = p; bare && q < end; q += k) {
        k = u8len(q, (size_t)(end - q));
        if (k == 0 || (k == 1 && (is_ctl(*q) || *q == ' ' || *q == '"' ||
                                  *q == '=' || *q == '\\')))
            bare = 0;
    }
    if (bare && n < cap) {
        memcpy(buf, p, n);
        buf[n] = 0;
        return buf;
    }
    if (cap < 6) {                       /* no room for `"..."`: "" */
        if (cap >= 3)
            memcpy(buf, "\"\"", 3);
        else
            buf[0] = 0;
        return buf;
    }
    /* invariant: o + 5 <= cap before each piece (room for `..."` + NUL) */
    buf[o++] = '"';
    for (q = p; q < end; q += k) {
        char piece[4];
        size_t pl;

        k = u8len(q, (size_t)(end - q));
        if (k == 0) {                     /* not UTF-8: one raw byte */
            k = 1;
            piece[0] = '\\';
            piece[1] = 'x';
            piece[2] = hex[*q >> 4];
            piece[3] = hex[*q & 15];
            pl = 4;
        } else if (k > 1) {
            memcpy(piece, q, k);
            pl = k;
        } else if (*q == '"' || *q == '\\') {
            piece[0] = '\\';
            piece[1] = (char)*q;
            pl = 2;
        } else if (*q == '\n' || *q == '\r' || *q == '\t') {
            piece[0] = '\\';
            piece[1] = *q == '\n' ? 'n' : *q == '\r' ? 'r' : 't';
            pl = 2;
        } else if (is_ctl(*q)) {
            piece[0] = '\\';
            piece[1] = 'x';
            piece[2] = hex[*q >> 4];
            piece[3] = hex[*q & 15];
            pl = 4;
        } else {
            piece[0] = (char)*q;
            pl = 1;
        }
        /* the last piece only needs its closing quote and NUL */
        if (o + pl + (q + k < end ? 5 : 2) > cap) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        memcpy(buf + o, piece, pl);
        o += pl;
    }
    buf[o++] = '"';
    buf[o] = 0;
    return buf;
}

const char *sl_q(char *buf, size_t cap, const char *s)
{
    return sl_qn(buf, cap, s, s ? strlen(s) : 0);
}

/* ---- writing --------------------------------------------------------- */

void sl_log_emit(int level, const char *event, const char *fmt, ...)
{
    static const char *const names[] = { "debug", "info", "warn", "error" };
    static const char trunc[] = " truncated=true";
    char line[SL_LOG_LINE_MAX], fields[SL_LOG_LINE_MAX], ev[128];
    char *f = fields;
    struct timeval tv;
    struct tm tm;
    va_list ap;
    size_t n, room, good, cut;
    int m = 0;

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    n = (size_t)snprintf(line, sizeof(line),
                         "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s "
                         "prog=%s event=%s", tm.tm_year + 1900,
                         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                         tm.tm_sec, (long)tv.tv_usec / 1000,
                         names[level & 3], g_prog,
                         sl_q(ev, sizeof(ev), event));
    if (fmt != NULL && fmt[0] != 0) {
        va_start(ap, fmt);
        m = vsnprintf(fields, sizeof(fields), fmt, ap);
        va_end(ap);
        if (m >= (int)sizeof(fields) && (f = malloc((size_t)m + 1)) != NULL) {
            va_start(ap, fmt);
            vsnprintf(f, (size_t)m + 1, fmt, ap);
            va_end(ap);
        } else if (m >= (int)sizeof(fields)) {
            f = fields;
            m = (int)sizeof(fields) - 1;
        }
    }
    /* room for " " + fields + "\n" */
    room = sizeof(line) - n - 2;
    if (m > 0) {
        line[n++] = ' ';
        if (!scan(f, (size_t)m, &good, room - (sizeof(trunc) - 1), &cut)) {
            char *q = line + n;
            memcpy(q, "fields=", 7);
            sl_qn(q + 7, room - 7, f, (size_t)m);
            n += 7 + strlen(q + 7);
        } else if ((size_t)m <= room) {
            memcpy(line + n, f, (size_t)m);
            n += (size_t)m;
        } else {
            memcpy(line + n, f, cut);
            n += cut;
            if (cut == 0)
                n--;                              /* no field fits */
            memcpy(line + n, trunc, sizeof(trunc) - 1);
            n += sizeof(trunc) - 1;
        }
    }
    if (f != fields)
        free(f);
    line[n++] = '\n';
    if (write(STDERR_FILENO, line, n) < 0) {
        /* nowhere left to report it */
    }
}
