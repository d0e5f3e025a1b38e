/*
** rt_compare.c -- the replay suites' comparator (see rt_util.h):
** a SQLite table against a MariaDB table, row by row and value by value,
** and table checksums.
**
** INVARIANTS
**  (C1) the comparator never trusts replay's own conversions: dates are
**       parsed here with timegm(), numbers compared by value, reals by
**       their bits, roundings MariaDB makes (a double into an integer
**       column: rint; into DECIMAL(p,s): its shortest text rounded half
**       away from zero) computed here; replay's code is not linked.
**  (C2) rows are paired by canonical forms of their key (or whole-row
**       forms for tables without a primary key); the per-value
**       comparison, rt_value_eq(), is the only judge of equality.
**  (C3) differences are reported, up to eight, with the row's key, the
**       column, both values and the reason.
*/
#include "rt_util.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

/* ------------------------------------------------------------------ */
/* values                                                             */
/* ------------------------------------------------------------------ */

enum { K_INT, K_BOOL, K_DBL, K_DEC, K_DT, K_DATE, K_TIME, K_STR };

static int kind(const rt_mcol *c)
{
    static const char *const ints[] = { "tinyint", "smallint", "mediumint",
                                        "int", "bigint", "year" };
    const char *t = c->data_type;

    if (strcmp(t, "tinyint") == 0 &&
        strncasecmp(c->column_type, "tinyint(1)", 10) == 0)
        return K_BOOL;
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
        if (strcmp(t, ints[i]) == 0)
            return K_INT;
    if (strcmp(t, "double") == 0 || strcmp(t, "float") == 0)
        return K_DBL;
    if (strcmp(t, "decimal") == 0)
        return K_DEC;
    if (strcmp(t, "datetime") == 0 || strcmp(t, "timestamp") == 0)
        return K_DT;
    if (strcmp(t, "date") == 0)
        return K_DATE;
    if (strcmp(t, "time") == 0)
        return K_TIME;
    return K_STR;
}

int rt_date_utc(const char *s, size_t n, char *out, size_t cap)
{
    char buf[80];
    struct tm tm;
    int y, mo, d, h = 0, mi = 0, sec = 0, k = 0;
    long us = 0;
    int off = 0;
    const char *p, *e;
    time_t t;

    if (n >= sizeof(buf))
        return -1;
    memcpy(buf, s, n);
    buf[n] = 0;
    p = buf;
    e = buf + n;
    if (sscanf(p, "%4d-%2d-%2d%n", &y, &mo, &d, &k) != 3 || k != 10)
        return -1;
    p += 10;
    if (p < e && (*p == ' ' || *p == 'T')) {
        p++;
        if (sscanf(p, "%2d:%2d%n", &h, &mi, &k) != 2 || k != 5)
            return -1;
        p += 5;
        if (p < e && *p == ':') {
            if (sscanf(p + 1, "%2d%n", &sec, &k) != 1 || k != 2)
                return -1;
            p += 3;
            if (p < e && *p == '.') {
                int nd = 0;
                for (p++; p < e && isdigit((unsigned char)*p); p++, nd++)
                    if (nd < 6)
                        us = us * 10 + (*p - '0');
                if (nd == 0)
                    return -1;
                for (; nd < 6; nd++)
                    us *= 10;
            }
        }
        while (p < e && *p == ' ')
            p++;
        if (p < e && *p == 'Z') {
            p++;
        } else if (p < e && (*p == '+' || *p == '-')) {
            int sign = *p == '-' ? -1 : 1, oh, om;
            if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &k) == 2 && k == 5)
                p += 6;
            else if (sscanf(p + 1, "%2d%2d%n", &oh, &om, &k) == 2 && k == 4)
                p += 5;
            else
                return -1;
            off = sign * (oh * 3600 + om * 60);
        }
    }
    if (p != e)
        return -1;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    t = timegm(&tm) - off;
    if (gmtime_r(&t, &tm) == NULL)
        return -1;
    snprintf(out, cap, "%04d-%02d-%02d %02d:%02d:%02d.%06ld",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, us);
    return 0;
}

/* epoch seconds (or milliseconds when |v| >= 1e11) as UTC text */
static void epoch_utc(int64_t v, char *out, size_t cap)
{
    int64_t secs = v, us = 0;
    struct tm tm;
    time_t t;

    if (v >= 100000000000LL || v <= -100000000000LL) {
        secs = v / 1000;
        us = (v % 1000) * 1000;
        if (us < 0) {
            us += 1000000;
            secs--;
        }
    }
    t = (time_t)secs;
    gmtime_r(&t, &tm);
    snprintf(out, cap, "%04d-%02d-%02d %02d:%02d:%02d.%06" PRId64,
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, us);
}

/* a real in a date column: a Julian day number between 1e6 and 1e7
** (SQLite's julianday()), else Unix seconds with a fraction -- the
** conversion replay documents (target/tg_value.c). */
static void real_utc(double r, char *out, size_t cap)
{
    double secs = r > 1e6 && r < 1e7 ? (r - 2440587.5) * 86400.0 : r;
    int64_t us = (int64_t)llround(secs * 1e6);
    int64_t s = us / 1000000, f = us % 1000000;
    struct tm tm;
    time_t t;

    if (f < 0) {
        f += 1000000;
        s--;
    }
    t = (time_t)s;
    gmtime_r(&t, &tm);
    snprintf(out, cap, "%04d-%02d-%02d %02d:%02d:%02d.%06" PRId64,
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, f);
}

/* utc "YYYY-MM-DD HH:MM:SS.ffffff" cut to what column c shows */
static void cut_to_column(char *utc, const rt_mcol *c, int k)
{
    if (k == K_DATE)
        utc[10] = 0;
    else if (c->precision <= 0)
        utc[19] = 0;
    else
        utc[20 + (c->precision > 6 ? 6 : c->precision)] = 0;
}

/* whole string is a number strtod accepts */
static int parse_double(const char *m, size_t n, double *out)
{
    char buf[400];
    char *end;

    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, m, n);
    buf[n] = 0;
    errno = 0;
    *out = strtod(buf, &end);
    return *end == 0 ? 0 : -1;
}

static int same_double(double a, double b)
{
    if (a == 0 && b == 0)
        return 1;       /* MariaDB prints -0 as 0 */
    return memcmp(&a, &b, sizeof(a)) == 0;
}

/* decimal text m (e.g. "-12.50") equals integer i exactly? */
static int dec_is_int(const char *m, size_t n, int64_t i)
{
    char buf[80], ib[32];
    const char *dot;
    size_t ilen;

    if (n >= sizeof(buf))
        return 0;
    memcpy(buf, m, n);
    buf[n] = 0;
    dot = strchr(buf, '.');
    ilen = dot ? (size_t)(dot - buf) : n;
    if (dot)
        for (const char *q = dot + 1; *q; q++)
            if (*q != '0')
                return 0;
    snprintf(ib, sizeof(ib), "%" PRId64, i);
    if (strlen(ib) == ilen && memcmp(ib, buf, ilen) == 0)
        return 1;
    return i == 0 && ilen == 2 && memcmp(buf, "-0", 2) == 0;
}


/* ---- what MariaDB stores for a number in an INT or DECIMAL column ----
** Written here independently of replay (C1): a double goes into an
** integer column through rint() (2.5 -> 2), into a DECIMAL(p,s) through
** its shortest round-trip text rounded half away from zero at s (the
** server's double2decimal); numeric text rounds half away from zero. */

static int dec_scale(const rt_mcol *c)
{
    const char *comma = strchr(c->column_type, ',');
    return comma ? (int)strtol(comma + 1, NULL, 10) : 0;
}

static void shortest_text(double r, char *out, size_t cap)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, cap, "%.*g", prec, r);
        if (strtod(out, NULL) == r)
            return;
    }
}

/* Decimal text (plain or with an exponent) rounded half away from zero
** to `scale` digits, as "-12.35". -1 if not a number. */
static int round_text(const char *in, size_t n, int scale, char *out,
                      size_t cap)
{
    char dig[400];
    size_t nd = 0, i = 0;
    long point = 0, exp = 0;
    int neg = 0, seen_point = 0, any = 0;

    if (n > 0 && (in[0] == '-' || in[0] == '+')) {
        neg = in[0] == '-';
        i = 1;
    }
    for (; i < n; i++) {
        if (in[i] == '.' && !seen_point) {
            seen_point = 1;
            continue;
        }
        if (!isdigit((unsigned char)in[i]))
            break;
        any = 1;
        if (nd < 300)
            dig[nd++] = in[i];
        if (!seen_point)
            point++;
    }
    if (!any)
        return -1;
    if (i < n && (in[i] == 'e' || in[i] == 'E')) {
        char *end;
        char e[32];
        size_t l = n - i - 1 < 31 ? n - i - 1 : 31;
        memcpy(e, in + i + 1, l);
        e[l] = 0;
        exp = strtol(e, &end, 10);
        if (*end != 0 || l == 0)
            return -1;
        i = n;
    }
    if (i != n)
        return -1;
    point += exp;                  /* digits before the decimal point */
    /* pad so that dig has `point + scale + 1` digits from the left */
    while (point < 1) {
        if (nd >= 390)
            return -1;
        memmove(dig + 1, dig, nd++);
        dig[0] = '0';
        point++;
    }
    while ((long)nd < point + scale + 1) {
        if (nd >= 390)
            return -1;
        dig[nd++] = '0';
    }
    {
        long keep = point + scale, k;
        int up = dig[keep] >= '5';
        nd = (size_t)keep;
        for (k = keep - 1; up && k >= 0; k--) {
            if (dig[k] == '9') {
                dig[k] = '0';
            } else {
                dig[k]++;
                up = 0;
            }
        }
        if (up) {
            memmove(dig + 1, dig, nd++);
            dig[0] = '1';
            point++;
        }
    }
    {
        size_t o = 0, first = 0;
        int zero = 1;
        while (first + 1 < (size_t)point && dig[first] == '0')
            first++;
        for (size_t k = 0; k < nd; k++)
            if (dig[k] != '0')
                zero = 0;
        if (neg && !zero && o + 1 < cap)
            out[o++] = '-';
        for (size_t k = first; k < (size_t)point && o + 1 < cap; k++)
            out[o++] = dig[k];
        if (scale > 0 && o + 1 < cap)
            out[o++] = '.';
        for (long k = point; k < point + scale && o + 1 < cap; k++)
            out[o++] = dig[k];
        out[o] = 0;
    }
    return 0;
}

/* The DECIMAL text MariaDB stores for source value s; -1 if none. */
static int expect_dec(const rt_sval *s, const rt_mcol *c, char *out,
                      size_t cap)
{
    char b[64];

    if (s->type == SQLITE_INTEGER) {
        snprintf(b, sizeof(b), "%" PRId64, s->i);
        return round_text(b, strlen(b), dec_scale(c), out, cap);
    }
    if (s->type == SQLITE_FLOAT) {
        shortest_text(s->r, b, sizeof(b));
        return round_text(b, strlen(b), dec_scale(c), out, cap);
    }
    if (s->type == SQLITE_TEXT)
        return round_text((const char *)s->p, s->n, dec_scale(c), out, cap);
    return -1;
}

/* Equal as numbers ("12.30" and "12.3")? */
static int same_number(const char *a, const char *m, size_t n)
{
    double x = strtod(a, NULL), y;
    char b[80];
    size_t l = n < 79 ? n : 79;
    memcpy(b, m, l);
    b[l] = 0;
    y = strtod(b, NULL);
    return x == y && strlen(a) > 0;
}

static int why_set(char *why, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int why_set(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;

    if (why != NULL && cap > 0) {
        va_start(ap, fmt);
        vsnprintf(why, cap, fmt, ap);
        va_end(ap);
    }
    return 0;
}

static int bytes_eq(const void *a, size_t an, const char *m, size_t n)
{
    return an == n && (n == 0 || memcmp(a, m, n) == 0);
}

int rt_value_eq(const rt_sval *s, const rt_mcol *c, const char *m,
                size_t n, char *why, size_t cap)
{
    int k = kind(c);
    char b[64];
    double d;

    if (why && cap)
        why[0] = 0;
    if (s->type == SQLITE_NULL)
        return m == NULL ? 1 : why_set(why, cap, "source NULL, target not");
    if (m == NULL)
        return why_set(why, cap, "target NULL, source not");
    switch (k) {
    case K_BOOL:
        if (s->type == SQLITE_TEXT) {
            if (s->n == 4 && strncasecmp((const char *)s->p, "true", 4) == 0)
                return bytes_eq("1", 1, m, n) ||
                       why_set(why, cap, "'true' is not 1");
            if (s->n == 5 && strncasecmp((const char *)s->p, "false", 5) == 0)
                return bytes_eq("0", 1, m, n) ||
                       why_set(why, cap, "'false' is not 0");
        }
        __attribute__((fallthrough));
    case K_INT:
        if (s->type == SQLITE_INTEGER) {
            snprintf(b, sizeof(b), "%" PRId64, s->i);
            return bytes_eq(b, strlen(b), m, n) ||
                   why_set(why, cap, "integer differs");
        }
        if (s->type == SQLITE_FLOAT && fabs(s->r) < 9.2e18) {
            snprintf(b, sizeof(b), "%" PRId64, (int64_t)rint(s->r));
            return bytes_eq(b, strlen(b), m, n) ||
                   why_set(why, cap, "real differs from rint(real)");
        }
        if (s->type == SQLITE_TEXT) {
            char r[80];
            if (round_text((const char *)s->p, s->n, 0, r, sizeof(r)) == 0)
                return bytes_eq(r, strlen(r), m, n) ||
                       why_set(why, cap, "numeric text differs");
        }
        return why_set(why, cap, "source %s in an integer column",
                       s->type == SQLITE_FLOAT ? "huge real"
                       : s->type == SQLITE_TEXT ? "text" : "blob");
    case K_DBL:
        if (parse_double(m, n, &d) != 0)
            return why_set(why, cap, "target is not a number");
        if (s->type == SQLITE_FLOAT)
            return same_double(s->r, d) ||
                   why_set(why, cap, "double bits differ");
        if (s->type == SQLITE_INTEGER)
            return (long double)d == (long double)s->i ||
                   why_set(why, cap, "integer not held exactly by DOUBLE");
        return why_set(why, cap, "source text/blob in a DOUBLE column");
    case K_DEC: {
        char r[400];
        if (s->type == SQLITE_INTEGER)
            return dec_is_int(m, n, s->i) ||
                   why_set(why, cap, "integer differs from DECIMAL");
        if (expect_dec(s, c, r, sizeof(r)) == 0)
            return same_number(r, m, n) ||
                   why_set(why, cap, "DECIMAL differs from the source "
                           "rounded at its scale (%s)", r);
        return why_set(why, cap, "source text/blob in a DECIMAL column");
    }
    case K_DT:
    case K_DATE: {
        char utc[48];
        if (s->type == SQLITE_TEXT) {
            if (rt_date_utc((const char *)s->p, s->n, utc, sizeof(utc)) != 0)
                return why_set(why, cap, "source text is not a date");
        } else if (s->type == SQLITE_INTEGER) {
            epoch_utc(s->i, utc, sizeof(utc));
        } else if (s->type == SQLITE_FLOAT) {
            real_utc(s->r, utc, sizeof(utc));
        } else {
            return why_set(why, cap, "source blob in a date column");
        }
        cut_to_column(utc, c, k);
        return bytes_eq(utc, strlen(utc), m, n) ||
               why_set(why, cap, "date differs (expected '%s' UTC)", utc);
    }
    case K_TIME:
        if (s->type == SQLITE_TEXT) {
            char t[40] = "";
            size_t l = s->n < 20 ? s->n : 20;
            memcpy(t, s->p, l);
            t[l] = 0;
            if (l == 5)
                memcpy(t + 5, ":00", 4);
            if (c->precision > 0) {
                size_t tl = strlen(t);
                if (strchr(t, '.') == NULL)
                    t[tl++] = '.';
                while (tl < 9 + (size_t)c->precision)
                    t[tl++] = '0';
                t[9 + c->precision] = 0;
            }
            return bytes_eq(t, strlen(t), m, n) ||
                   why_set(why, cap, "time differs");
        }
        return why_set(why, cap, "source non-text in a TIME column");
    default:
        if (s->type == SQLITE_TEXT || s->type == SQLITE_BLOB)
            return bytes_eq(s->p, s->n, m, n) ||
                   why_set(why, cap, "bytes differ");
        if (s->type == SQLITE_INTEGER) {
            snprintf(b, sizeof(b), "%" PRId64, s->i);
            return bytes_eq(b, strlen(b), m, n) ||
                   why_set(why, cap, "integer as text differs");
        }
        if (parse_double(m, n, &d) != 0)
            return why_set(why, cap, "real stored as non-numeric text");
        return same_double(s->r, d) ||
               why_set(why, cap, "real as text differs");
    }
}

int rt_my_columns(MYSQL *my, const char *table, rt_mcol **out)
{
    char et[600], sql[1000];
    MYSQL_RES *r;
    MYSQL_ROW row;
    rt_mcol *v;
    int n = 0;

    *out = NULL;
    mysql_real_escape_string(my, et, table, (unsigned long)strlen(table));
    snprintf(sql, sizeof(sql),
             "SELECT COLUMN_NAME, LOWER(DATA_TYPE), COLUMN_TYPE, "
             "COALESCE(DATETIME_PRECISION, 0) FROM information_schema."
             "COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = "
             "BINARY '%s' ORDER BY ORDINAL_POSITION", et);
    cr_assert_eq(mysql_query(my, sql), 0, "%s", mysql_error(my));
    r = mysql_store_result(my);
    cr_assert_not_null(r);
    v = calloc(mysql_num_rows(r) + 1, sizeof(*v));
    cr_assert_not_null(v);
    while ((row = mysql_fetch_row(r)) != NULL) {
        snprintf(v[n].name, sizeof(v[n].name), "%s", row[0]);
        snprintf(v[n].data_type, sizeof(v[n].data_type), "%s", row[1]);
        snprintf(v[n].column_type, sizeof(v[n].column_type), "%s", row[2]);
        v[n].precision = (int)strtol(row[3], NULL, 10);
        n++;
    }
    mysql_free_result(r);
    *out = v;
    return n;
}

/* ------------------------------------------------------------------ */
/* comparing tables                                                   */
/* ------------------------------------------------------------------ */

typedef struct cell {
    int null;
    int type;                    /* source storage class */
    int64_t i;
    double r;
    char *p;                     /* bytes (text/blob, or target text) */
    size_t n;
} cell;

typedef struct rows {
    int ncols;
    size_t n, cap;
    cell *v;                     /* n * ncols */
    char **key;                  /* canonical pairing key per row */
    size_t *keylen;
} rows;

static void rows_free(rows *r)
{
    for (size_t i = 0; i < r->n * (size_t)r->ncols; i++)
        free(r->v[i].p);
    for (size_t i = 0; i < r->n; i++)
        free(r->key[i]);
    free(r->v);
    free(r->key);
    free(r->keylen);
    memset(r, 0, sizeof(*r));
}

static cell *rows_add(rows *r)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 256;
        r->v = realloc(r->v, r->cap * (size_t)r->ncols * sizeof(cell));
        r->key = realloc(r->key, r->cap * sizeof(char *));
        r->keylen = realloc(r->keylen, r->cap * sizeof(size_t));
        cr_assert(r->v && r->key && r->keylen, "out of memory");
    }
    memset(&r->v[r->n * (size_t)r->ncols], 0,
           (size_t)r->ncols * sizeof(cell));
    r->key[r->n] = NULL;
    return &r->v[r->n++ * (size_t)r->ncols];
}

static char *dupmem(const void *p, size_t n)
{
    char *d = malloc(n + 1);
    cr_assert_not_null(d);
    if (n)
        memcpy(d, p, n);
    d[n] = 0;
    return d;
}

static void sval_of(const cell *c, rt_sval *s)
{
    s->type = c->type;
    s->i = c->i;
    s->r = c->r;
    s->p = (const unsigned char *)c->p;
    s->n = c->n;
}

/* Canonical pairing form of a cell for target column mc: equal values
** get equal forms on both sides (the per-cell comparison that follows is
** the judge; this only pairs rows). Returns 'N' for NULL, else 'v' with
** the form in (*pp, *pn), which may point into out or into the cell. */
static char canon_src(const cell *c, const rt_mcol *mc, char *out,
                      size_t cap, const char **pp, size_t *pn)
{
    int k = kind(mc);
    char utc[48];

    *pp = out;
    *pn = 0;
    if (c->type == SQLITE_NULL)
        return 'N';
    switch (k) {
    case K_INT:
    case K_BOOL:
        if (c->type == SQLITE_FLOAT && fabs(c->r) < 9.2e18) {
            *pn = (size_t)snprintf(out, cap, "%" PRId64, (int64_t)rint(c->r));
            return 'v';
        }
        if (k == K_BOOL && c->type == SQLITE_TEXT && c->n == 4 &&
            strncasecmp(c->p, "true", 4) == 0) {
            *pn = (size_t)snprintf(out, cap, "1");
            return 'v';
        }
        if (k == K_BOOL && c->type == SQLITE_TEXT && c->n == 5 &&
            strncasecmp(c->p, "false", 5) == 0) {
            *pn = (size_t)snprintf(out, cap, "0");
            return 'v';
        }
        break;
    case K_DEC: {
        rt_sval sv;
        char r[400];
        sval_of(c, &sv);
        if (expect_dec(&sv, mc, r, sizeof(r)) == 0) {
            double d = strtod(r, NULL);
            *pn = (size_t)snprintf(out, cap, "%a", d == 0 ? 0.0 : d);
            return 'v';
        }
        break;
    }
    case K_DBL:
        if (c->type == SQLITE_INTEGER || c->type == SQLITE_FLOAT) {
            double d = c->type == SQLITE_INTEGER ? (double)c->i : c->r;
            *pn = (size_t)snprintf(out, cap, "%a", d == 0 ? 0.0 : d);
            return 'v';
        }
        break;
    case K_DT:
    case K_DATE:
        if (c->type == SQLITE_TEXT &&
            rt_date_utc(c->p, c->n, utc, sizeof(utc)) == 0) {
            cut_to_column(utc, mc, k);
            *pn = (size_t)snprintf(out, cap, "%s", utc);
            return 'v';
        }
        if (c->type == SQLITE_INTEGER || c->type == SQLITE_FLOAT) {
            if (c->type == SQLITE_INTEGER)
                epoch_utc(c->i, utc, sizeof(utc));
            else
                real_utc(c->r, utc, sizeof(utc));
            cut_to_column(utc, mc, k);
            *pn = (size_t)snprintf(out, cap, "%s", utc);
            return 'v';
        }
        break;
    default:
        break;
    }
    if (c->type == SQLITE_INTEGER) {
        *pn = (size_t)snprintf(out, cap, "%" PRId64, c->i);
        return 'v';
    }
    if (c->type == SQLITE_FLOAT) {
        *pn = (size_t)snprintf(out, cap, "%.17g", c->r);
        return 'v';
    }
    *pp = c->p;                      /* text and blobs: their bytes */
    *pn = c->n;
    return 'v';
}

static char canon_tgt(const cell *c, const rt_mcol *mc, char *out,
                      size_t cap, const char **pp, size_t *pn)
{
    int k = kind(mc);
    double d;

    *pp = out;
    *pn = 0;
    if (c->null)
        return 'N';
    if ((k == K_DBL || k == K_DEC) && parse_double(c->p, c->n, &d) == 0) {
        *pn = (size_t)snprintf(out, cap, "%a", d == 0 ? 0.0 : d);
        return 'v';
    }
    if (k == K_DT || k == K_DATE) {
        *pn = (size_t)snprintf(out, cap, "%.*s", (int)c->n, c->p);
        return 'v';
    }
    *pp = c->p;
    *pn = c->n;
    return 'v';
}

static void key_append(char **k, size_t *kl, size_t *kc, const char *p,
                       size_t n, char tag)
{
    uint32_t n32 = (uint32_t)n;

    if (*kl + n + 8 > *kc) {
        *kc = (*kl + n + 8) * 2;
        *k = realloc(*k, *kc);
        cr_assert_not_null(*k);
    }
    (*k)[(*kl)++] = tag;
    memcpy(*k + *kl, &n32, sizeof(n32));   /* length prefix */
    *kl += sizeof(n32);
    if (n)
        memcpy(*k + *kl, p, n);
    *kl += n;
}

static void make_key(rows *r, size_t row, const int *kcols, int nk,
                     const rt_mcol *mcols, const int *map, int target)
{
    char buf[128];
    char *k = NULL;
    size_t kl = 0, kc = 0;

    for (int j = 0; j < nk; j++) {
        const cell *c = &r->v[row * (size_t)r->ncols + (size_t)kcols[j]];
        const rt_mcol *mc = &mcols[map[kcols[j]]];
        const char *p;
        size_t n;
        char tag = target ? canon_tgt(c, mc, buf, sizeof(buf), &p, &n)
                          : canon_src(c, mc, buf, sizeof(buf), &p, &n);
        key_append(&k, &kl, &kc, p, n, tag);
    }
    r->key[row] = k ? k : dupmem("", 0);
    r->keylen[row] = kl;
}

static const rows *g_sort_rows;

static int cmp_idx(const void *a, const void *b)
{
    size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
    size_t la = g_sort_rows->keylen[ia], lb = g_sort_rows->keylen[ib];
    int c = memcmp(g_sort_rows->key[ia], g_sort_rows->key[ib],
                   la < lb ? la : lb);

    if (c != 0)
        return c;
    return la < lb ? -1 : la > lb ? 1 : 0;
}

static size_t *sorted(const rows *r)
{
    size_t *ix = malloc((r->n + 1) * sizeof(size_t));

    cr_assert_not_null(ix);
    for (size_t i = 0; i < r->n; i++)
        ix[i] = i;
    g_sort_rows = r;
    qsort(ix, r->n, sizeof(size_t), cmp_idx);
    return ix;
}

static int key_cmp(const rows *a, size_t ia, const rows *b, size_t ib)
{
    size_t la = a->keylen[ia], lb = b->keylen[ib];
    int c = memcmp(a->key[ia], b->key[ib], la < lb ? la : lb);

    if (c != 0)
        return c;
    return la < lb ? -1 : la > lb ? 1 : 0;
}

/* human form of a source cell */
static void show_cell(char *out, size_t cap, const cell *c, int target)
{
    size_t o = 0;

    if (target ? c->null : c->type == SQLITE_NULL) {
        snprintf(out, cap, "NULL");
        return;
    }
    if (!target && c->type == SQLITE_INTEGER) {
        snprintf(out, cap, "%" PRId64, c->i);
        return;
    }
    if (!target && c->type == SQLITE_FLOAT) {
        snprintf(out, cap, "%.17g", c->r);
        return;
    }
    o += (size_t)snprintf(out, cap, "%s'", !target && c->type ==
                          SQLITE_BLOB ? "x" : "");
    for (size_t i = 0; i < c->n && i < 48 && o + 6 < cap; i++) {
        unsigned char ch = (unsigned char)c->p[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '\\')
            out[o++] = (char)ch;
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", ch);
    }
    snprintf(out + o, cap - o, "'%s%s", c->n > 48 ? "..." : "",
             !target && c->type == SQLITE_BLOB ? "(blob)" : "");
}

static void show_key(char *out, size_t cap, const rows *r, size_t row,
                     const int *kcols, int nk, char **names, int target)
{
    size_t o = 0;

    out[0] = 0;
    for (int j = 0; j < nk && j < 6 && o + 10 < cap; j++) {
        char v[200];
        show_cell(v, sizeof(v), &r->v[row * (size_t)r->ncols +
                                      (size_t)kcols[j]], target);
        o += (size_t)snprintf(out + o, cap - o, "%s%s=%s", j ? "," : "",
                              names[kcols[j]], v);
    }
}

static void add_why(char *why, size_t cap, int *nd, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add_why(char *why, size_t cap, int *nd, const char *fmt, ...)
{
    va_list ap;
    size_t o = strlen(why);

    (*nd)++;
    if (*nd > 8) {
        if (*nd == 9 && o + 5 < cap)
            snprintf(why + o, cap - o, " ...");
        return;
    }
    if (o + 4 >= cap)
        return;
    if (o)
        why[o++] = ';', why[o++] = ' ', why[o] = 0;
    va_start(ap, fmt);
    vsnprintf(why + o, cap - o, fmt, ap);
    va_end(ap);
}

static char *qident_sqlite(const char *name)
{
    char *s = sqlite3_mprintf("\"%w\"", name);
    cr_assert_not_null(s);
    return s;
}

static void qident_my(char *out, size_t cap, const char *name)
{
    size_t o = 0;

    out[o++] = '`';
    for (; *name && o + 3 < cap; name++) {
        if (*name == '`')
            out[o++] = '`';
        out[o++] = *name;
    }
    out[o++] = '`';
    out[o] = 0;
}

int rt_compare_table(const char *sqlite_path, const char *stable, MYSQL *my,
                     const char *mtable, char *why, size_t cap)
{
    sqlite3 *sdb = NULL;
    sqlite3_stmt *st = NULL;
    char *sql, *qt = qident_sqlite(stable);
    rt_mcol *mcols = NULL;
    int nm, ncols = 0, nk = 0, nd = 0, rc;
    char **names = NULL, *knames[64];
    int *map = NULL, *kcols = NULL, nknames = 0;
    rows sr = { 0 }, tr = { 0 };
    size_t *si = NULL, *ti = NULL, a = 0, b = 0;
    char *msql = NULL;
    size_t mlen = 0, mcap = 0;
    MYSQL_RES *res;
    MYSQL_ROW row;

    why[0] = 0;
    nm = rt_my_columns(my, mtable, &mcols);
    if (nm == 0) {
        snprintf(why, cap, "target has no table %s", mtable);
        free(mcols);
        sqlite3_free(qt);
        return 1;
    }
    cr_assert_eq(sqlite3_open_v2(sqlite_path, &sdb, SQLITE_OPEN_READONLY,
                                 NULL), SQLITE_OK);
    sqlite3_busy_timeout(sdb, 5000);
    /* key columns, in key order */
    sql = sqlite3_mprintf("SELECT name, pk FROM pragma_table_info(%Q) "
                          "WHERE pk > 0 ORDER BY pk", stable);
    cr_assert_eq(sqlite3_prepare_v2(sdb, sql, -1, &st, NULL), SQLITE_OK,
                 "%s", sqlite3_errmsg(sdb));
    sqlite3_free(sql);
    while (sqlite3_step(st) == SQLITE_ROW && nk < 64)
        knames[nk++] = strdup((const char *)sqlite3_column_text(st, 0));
    nknames = nk;
    sqlite3_finalize(st);
    sql = sqlite3_mprintf("SELECT * FROM %s", qt);
    rc = sqlite3_prepare_v2(sdb, sql, -1, &st, NULL);
    sqlite3_free(sql);
    cr_assert_eq(rc, SQLITE_OK, "source table %s: %s", stable,
                 sqlite3_errmsg(sdb));
    ncols = sqlite3_column_count(st);
    names = calloc((size_t)ncols, sizeof(char *));
    map = calloc((size_t)ncols, sizeof(int));
    kcols = calloc((size_t)ncols + 1, sizeof(int));
    cr_assert(names && map && kcols);
    for (int i = 0; i < ncols; i++) {
        names[i] = strdup(sqlite3_column_name(st, i));
        map[i] = -1;
        for (int j = 0; j < nm; j++)
            if (strcasecmp(mcols[j].name, names[i]) == 0)
                map[i] = j;
        if (map[i] < 0)
            add_why(why, cap, &nd, "target table %s has no column %s",
                    mtable, names[i]);
    }
    if (nd > 0)
        goto out;
    if (nk > 0) {
        for (int j = 0; j < nk; j++) {
            kcols[j] = -1;
            for (int i = 0; i < ncols; i++)
                if (strcmp(names[i], knames[j]) == 0)
                    kcols[j] = i;
            cr_assert(kcols[j] >= 0, "key column %s not selected",
                      knames[j]);
        }
    } else {                       /* no primary key: rows as multisets */
        nk = ncols;
        for (int i = 0; i < ncols; i++)
            kcols[i] = i;
    }
    sr.ncols = tr.ncols = ncols;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        cell *c = rows_add(&sr);
        for (int i = 0; i < ncols; i++) {
            c[i].type = sqlite3_column_type(st, i);
            switch (c[i].type) {
            case SQLITE_INTEGER:
                c[i].i = sqlite3_column_int64(st, i);
                break;
            case SQLITE_FLOAT:
                c[i].r = sqlite3_column_double(st, i);
                break;
            case SQLITE_TEXT:
            case SQLITE_BLOB: {
                const void *p = c[i].type == SQLITE_TEXT
                                    ? (const void *)sqlite3_column_text(st, i)
                                    : sqlite3_column_blob(st, i);
                c[i].n = (size_t)sqlite3_column_bytes(st, i);
                c[i].p = dupmem(p, c[i].n);
                break;
            }
            default:
                c[i].null = 1;
            }
        }
        make_key(&sr, sr.n - 1, kcols, nk, mcols, map, 0);
    }
    cr_assert_eq(rc, SQLITE_DONE, "reading %s: %s", stable,
                 sqlite3_errmsg(sdb));
    /* the target, same columns in the same order */
    {
        char q[400];
        msql = malloc(mcap = 1024);
        cr_assert_not_null(msql);
        mlen = (size_t)snprintf(msql, mcap, "SELECT ");
        for (int i = 0; i < ncols; i++) {
            qident_my(q, sizeof(q), mcols[map[i]].name);
            if (mlen + strlen(q) + 700 > mcap) {
                mcap = (mlen + strlen(q) + 700) * 2;
                msql = realloc(msql, mcap);
                cr_assert_not_null(msql);
            }
            mlen += (size_t)snprintf(msql + mlen, mcap - mlen, "%s%s",
                                     i ? ", " : "", q);
        }
        qident_my(q, sizeof(q), mtable);
        mlen += (size_t)snprintf(msql + mlen, mcap - mlen, " FROM %s", q);
    }
    cr_assert_eq(mysql_real_query(my, msql, mlen), 0, "%s: %s", msql,
                 mysql_error(my));
    res = mysql_use_result(my);
    cr_assert_not_null(res, "%s", mysql_error(my));
    while ((row = mysql_fetch_row(res)) != NULL) {
        unsigned long *len = mysql_fetch_lengths(res);
        cell *c = rows_add(&tr);
        for (int i = 0; i < ncols; i++) {
            if (row[i] == NULL) {
                c[i].null = 1;
                continue;
            }
            c[i].n = len[i];
            c[i].p = dupmem(row[i], len[i]);
        }
        make_key(&tr, tr.n - 1, kcols, nk, mcols, map, 1);
    }
    mysql_free_result(res);
    si = sorted(&sr);
    ti = sorted(&tr);
    while (a < sr.n || b < tr.n) {
        int c = a >= sr.n ? 1 : b >= tr.n ? -1 : key_cmp(&sr, si[a], &tr,
                                                          ti[b]);
        char kt[600];
        if (c < 0) {
            show_key(kt, sizeof(kt), &sr, si[a], kcols, nk, names, 0);
            add_why(why, cap, &nd, "row (%s) missing from the target", kt);
            a++;
            continue;
        }
        if (c > 0) {
            show_key(kt, sizeof(kt), &tr, ti[b], kcols, nk, names, 1);
            add_why(why, cap, &nd, "row (%s) in the target only", kt);
            b++;
            continue;
        }
        for (int i = 0; i < ncols; i++) {
            const cell *sc = &sr.v[si[a] * (size_t)ncols + (size_t)i];
            const cell *tc = &tr.v[ti[b] * (size_t)ncols + (size_t)i];
            char w[200], sv[200], tv[200];
            rt_sval s;
            sval_of(sc, &s);
            if (!rt_value_eq(&s, &mcols[map[i]], tc->null ? NULL : tc->p,
                             tc->n, w, sizeof(w))) {
                show_key(kt, sizeof(kt), &sr, si[a], kcols, nk, names, 0);
                show_cell(sv, sizeof(sv), sc, 0);
                show_cell(tv, sizeof(tv), tc, 1);
                add_why(why, cap, &nd, "row (%s) column %s: source %s, "
                        "target %s (%s %s)", kt, names[i], sv, tv,
                        mcols[map[i]].column_type, w);
            }
        }
        a++;
        b++;
    }
    if (nd > 0) {
        size_t o = strlen(why);
        snprintf(why + o, cap - o, " [source %zu rows, target %zu rows]",
                 sr.n, tr.n);
    }
out:
    sqlite3_finalize(st);
    sqlite3_close(sdb);
    sqlite3_free(qt);
    for (int i = 0; i < ncols; i++)
        free(names[i]);
    free(names);
    free(map);
    free(kcols);
    free(mcols);
    free(si);
    free(ti);
    free(msql);
    rows_free(&sr);
    rows_free(&tr);
    for (int j = 0; j < nknames; j++)
        free(knames[j]);
    return nd > 0;
}

int rt_compare_all(const char *sqlite_path, MYSQL *my, char *why,
                   size_t cap)
{
    sqlite3 *sdb = NULL;
    sqlite3_stmt *st = NULL;
    char *src[256];
    int ns = 0, bad = 0;
    MYSQL_RES *res;
    MYSQL_ROW row;
    size_t o;

    why[0] = 0;
    cr_assert_eq(sqlite3_open_v2(sqlite_path, &sdb, SQLITE_OPEN_READONLY,
                                 NULL), SQLITE_OK);
    sqlite3_busy_timeout(sdb, 5000);
    cr_assert_eq(sqlite3_prepare_v2(sdb, "SELECT name FROM sqlite_master "
                                    "WHERE type = 'table' AND name NOT LIKE "
                                    "'\\_sluice%' ESCAPE '\\' AND name NOT "
                                    "LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY "
                                    "name", -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW && ns < 256)
        src[ns++] = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(sdb);
    /* the target's tables must be exactly those (plus sqlite_sluice_*) */
    cr_assert_eq(mysql_query(my, "SELECT TABLE_NAME FROM information_schema."
                             "TABLES WHERE TABLE_SCHEMA = DATABASE() AND "
                             "TABLE_NAME NOT LIKE 'sqlite\\_sluice\\_%'"), 0, "%s",
                 mysql_error(my));
    res = mysql_store_result(my);
    cr_assert_not_null(res);
    while ((row = mysql_fetch_row(res)) != NULL) {
        int found = 0;
        for (int i = 0; i < ns; i++)
            found |= strcmp(src[i], row[0]) == 0;
        if (!found) {
            o = strlen(why);
            snprintf(why + o, cap - o, "%starget has table %s that the "
                     "source does not", o ? "; " : "", row[0]);
            bad = 1;
        }
    }
    mysql_free_result(res);
    for (int i = 0; i < ns; i++) {
        char w[2048];
        if (!bad && rt_compare_table(sqlite_path, src[i], my, src[i], w,
                                     sizeof(w)) != 0) {
            o = strlen(why);
            snprintf(why + o, cap - o, "%stable %s: %s", o ? "; " : "",
                     src[i], w);
            bad = 1;
        }
        free(src[i]);
    }
    return bad;
}

/* ------------------------------------------------------------------ */
/* checksums                                                          */
/* ------------------------------------------------------------------ */

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

rt_sum rt_checksum(MYSQL *my, const char *table)
{
    rt_sum s = { 0, 0, 0 };
    char q[400], sql[500];
    MYSQL_RES *res;
    MYSQL_ROW row;
    unsigned nf;

    qident_my(q, sizeof(q), table);
    snprintf(sql, sizeof(sql), "SELECT * FROM %s", q);
    cr_assert_eq(mysql_query(my, sql), 0, "%s: %s", sql, mysql_error(my));
    res = mysql_use_result(my);
    cr_assert_not_null(res);
    nf = mysql_num_fields(res);
    while ((row = mysql_fetch_row(res)) != NULL) {
        unsigned long *len = mysql_fetch_lengths(res);
        uint64_t h = 1469598103934665603ULL;
        for (unsigned i = 0; i < nf; i++) {
            uint64_t l = row[i] ? len[i] : UINT64_MAX;
            for (int k = 0; k < 8; k++)
                h = (h ^ ((l >> (8 * k)) & 0xff)) * 1099511628211ULL;
            for (unsigned long k = 0; row[i] && k < len[i]; k++)
                h = (h ^ (unsigned char)row[i][k]) * 1099511628211ULL;
        }
        h = mix64(h);
        s.rows++;
        s.sum += h;
        s.x ^= h;
    }
    mysql_free_result(res);
    return s;
}

uint64_t rt_checksum_table(MYSQL *my, const char *table)
{
    char q[400], sql[500];
    MYSQL_RES *res;
    MYSQL_ROW row;
    uint64_t v = 0;

    qident_my(q, sizeof(q), table);
    snprintf(sql, sizeof(sql), "CHECKSUM TABLE %s EXTENDED", q);
    cr_assert_eq(mysql_query(my, sql), 0, "%s: %s", sql, mysql_error(my));
    res = mysql_store_result(my);
    cr_assert_not_null(res);
    if ((row = mysql_fetch_row(res)) != NULL && row[1] != NULL)
        v = strtoull(row[1], NULL, 10);
    mysql_free_result(res);
    return v;
}
