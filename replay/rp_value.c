/*
** rp_value.c -- one journal value as an SQL literal for one target column.
**
** The server's strict sql_mode is the judge of ranges and lengths (a text
** longer than its VARCHAR, an integer beyond INT fail with an error, never
** a truncation); this file only translates what MariaDB would otherwise
** refuse although the value is meaningful:
**   dates   SQLite text forms YYYY-MM-DD[( |T)HH:MM[:SS[.fff...]]] with an
**           optional Z or [ ]+HH:MM / -HH:MM / +HHMM offset -> UTC
**           'YYYY-MM-DD HH:MM:SS.ffffff'; integers in a date column are
**           Unix time (seconds, or milliseconds when |v| >= 1e11); reals
**           are Julian day numbers when between 1e6 and 1e7 (SQLite's
**           julianday()), else Unix seconds with a fraction.
**   booleans 'true'/'false' text into a BOOLEAN (TINYINT(1)) column.
**   reals   written with 17 significant digits, which MariaDB parses back
**           to the same double; NaN and infinities cannot be stored.
**   blobs   as X'..' hex; into a text column only when valid UTF-8.
** INVARIANT: a value is either converted without loss of meaning or
** refused with a reason; never silently altered.
*/
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rp.h"
#include "sl_utf8.h"

/* days since 1970-01-01 of a civil date (Howard Hinnant's algorithm) */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    int64_t era;
    unsigned doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* Does day d of month mo exist in year y? (Feb 30 does not; a text date
** naming it is not a date, with or without a time.) */
static int day_exists(int y, int mo, int d)
{
    int yy;
    unsigned mm, dd;

    civil_from_days(days_from_civil(y, (unsigned)mo, (unsigned)d), &yy, &mm,
                    &dd);
    return yy == y && (int)mm == mo && (int)dd == d;
}

static int digits(const char **p, const char *end, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (*p >= end || !isdigit((unsigned char)**p))
            return -1;
        v = v * 10 + (**p - '0');
    }
    *out = v;
    return 0;
}

static void format_us(char *out, size_t cap, int64_t us)
{
    int64_t days = us >= 0 ? us / 86400000000LL
                           : -((-us + 86400000000LL - 1) / 86400000000LL);
    int64_t rem = us - days * 86400000000LL;
    int y;
    unsigned m, d;

    civil_from_days(days, &y, &m, &d);
    snprintf(out, cap, "%04d-%02u-%02u %02d:%02d:%02d.%06d", y, m, d,
             (int)(rem / 3600000000LL), (int)(rem / 60000000 % 60),
             (int)(rem / 1000000 % 60), (int)(rem % 1000000));
}

int rp_parse_datetime(const char *s, size_t n, char *out, size_t cap,
                      int *date_only)
{
    const char *p = s, *end = s + n;
    int y, mo, d, h = 0, mi = 0, sec = 0, us = 0, off = 0;
    int64_t t;

    while (p < end && *p == ' ')
        p++;
    while (end > p && end[-1] == ' ')
        end--;
    *date_only = 0;
    if (digits(&p, end, 4, &y) || p >= end || *p++ != '-' ||
        digits(&p, end, 2, &mo) || p >= end || *p++ != '-' ||
        digits(&p, end, 2, &d))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || !day_exists(y, mo, d))
        return -1;
    if (p == end) {
        *date_only = 1;
        snprintf(out, cap, "%04d-%02d-%02d", y, mo, d);
        return 0;
    }
    if (*p != ' ' && *p != 'T' && *p != 't')
        return -1;
    p++;
    if (digits(&p, end, 2, &h) || p >= end || *p++ != ':' ||
        digits(&p, end, 2, &mi))
        return -1;
    if (p < end && *p == ':') {
        p++;
        if (digits(&p, end, 2, &sec))
            return -1;
        if (p < end && *p == '.') {
            int nd = 0;
            p++;
            while (p < end && isdigit((unsigned char)*p)) {
                if (nd < 6) {
                    us = us * 10 + (*p - '0');
                    nd++;
                }
                p++;
            }
            if (nd == 0)
                return -1;
            while (nd++ < 6)
                us *= 10;
        }
    }
    if (h > 23 || mi > 59 || sec > 59)
        return -1;
    while (p < end && *p == ' ')
        p++;
    if (p < end && (*p == 'Z' || *p == 'z')) {
        p++;
    } else if (p < end && (*p == '+' || *p == '-')) {
        int sign = *p++ == '-' ? -1 : 1, oh, om;
        if (digits(&p, end, 2, &oh))
            return -1;
        if (p < end && *p == ':')
            p++;
        if (digits(&p, end, 2, &om) || oh > 23 || om > 59)
            return -1;
        off = sign * (oh * 60 + om);
    }
    if (p != end)
        return -1;
    t = days_from_civil(y, (unsigned)mo, (unsigned)d);
    t = (t * 86400 + h * 3600 + mi * 60 + sec - (int64_t)off * 60) *
            1000000 + us;
    /* an offset can carry 0000-01-01 or 9999-12-31 out of the 4-digit
    ** years a DATETIME holds: refuse rather than write "-001" or "10000" */
    if (t < days_from_civil(0, 1, 1) * 86400000000LL ||
        t >= days_from_civil(10000, 1, 1) * 86400000000LL)
        return -1;
    format_us(out, cap, t);
    return 0;
}

static void real_text(char *b, size_t cap, double r)
{
    snprintf(b, cap, "%.17g", r);
}

/* Shortest %g form that reads back as the same double. */
static void shortest(char *b, size_t cap, double r)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(b, cap, "%.*g", prec, r);
        if (strtod(b, NULL) == r)
            return;
    }
}

/* Significant digits after the decimal point of a number's text
** ("12.340" -> 2, "1e-3" -> 3, "12" -> 0). */
static int frac_digits(const char *t)
{
    const char *dot = strchr(t, '.'), *e = strpbrk(t, "eE");
    int n = 0, exp = e ? (int)strtol(e + 1, NULL, 10) : 0;

    if (dot != NULL) {
        const char *end = e ? e : dot + strlen(dot);
        while (end > dot + 1 && end[-1] == '0')
            end--;
        n = (int)(end - dot - 1);
    }
    n -= exp;
    return n < 0 ? 0 : n;
}

/* A value after conversion, before it is written as SQL or TSV. */
enum { CV_NULL, CV_NUM, CV_STR, CV_BIN };

typedef struct conv {
    int kind;
    const char *p;               /* CV_STR/CV_BIN bytes, CV_NUM text */
    size_t n;
    char buf[64];                /* storage for numbers and dates */
} conv;

static void num(conv *cv, const char *fmt_result)
{
    cv->kind = CV_NUM;
    snprintf(cv->buf, sizeof(cv->buf), "%s", fmt_result);
    cv->p = cv->buf;
    cv->n = strlen(cv->buf);
}

static void str_buf(conv *cv)
{
    cv->kind = CV_STR;
    cv->p = cv->buf;
    cv->n = strlen(cv->buf);
}

/* Integer or real stored in a date column. */
static int epoch_value(conv *cv, const jr_value *v, int date, char *why,
                       size_t cap)
{
    int64_t us;

    if (v->type == JR_INT) {
        int64_t x = v->u.i;
        if (x > 253402300799000LL || x < -62135596800000LL) {
            snprintf(why, cap, "integer %" PRId64 " is not a Unix time",
                     x);
            return -1;
        }
        us = (x >= 100000000000LL || x <= -100000000000LL) ? x * 1000
                                                           : x * 1000000;
    } else {
        double r = v->u.r;
        if (!isfinite(r)) {
            snprintf(why, cap, "%g is not a date", r);
            return -1;
        }
        if (r > 1e6 && r < 1e7)
            r = (r - 2440587.5) * 86400.0;     /* Julian day */
        if (r > 253402300799.0 || r < -62135596800.0) {
            snprintf(why, cap, "real %.17g is not a date", v->u.r);
            return -1;
        }
        us = (int64_t)llround(r * 1e6);
    }
    format_us(cv->buf, sizeof(cv->buf), us);
    if (date)
        cv->buf[10] = 0;
    str_buf(cv);
    return 0;
}

static int convert(conv *cv, const rp_col *c, const jr_value *v, char *why,
                   size_t cap)
{
    char b[64];

    cv->kind = CV_NULL;
    cv->p = NULL;
    cv->n = 0;
    if (v->type == JR_NULL)
        return 0;
    if (v->type == JR_REAL && !isfinite(v->u.r) && c->kind != RP_T_TEXT &&
        c->kind != RP_T_BINARY && c->kind != RP_T_JSON) {
        snprintf(why, cap, "%s cannot be stored in a %s column",
                 isnan(v->u.r) ? "NaN" : "infinity", c->data_type);
        return -1;
    }
    switch (c->kind) {
    case RP_T_INT:
    case RP_T_UINT:
    case RP_T_BOOL:
        /* MariaDB would round a real into an integer column silently */
        if (v->type == JR_REAL) {
            if (v->u.r != floor(v->u.r) || fabs(v->u.r) >= 9.2e18) {
                snprintf(why, cap, "real %.17g would be rounded to fit a "
                         "%s column", v->u.r, c->data_type);
                return -1;
            }
            snprintf(cv->buf, sizeof(cv->buf), "%.0f", v->u.r);
            cv->kind = CV_NUM;
            cv->p = cv->buf;
            cv->n = strlen(cv->buf);
            return 0;
        }
        if (c->kind != RP_T_BOOL || v->type != JR_TEXT)
            break;
        if (v->u.b.n == 4 && strncasecmp(v->u.b.p, "true", 4) == 0) {
            num(cv, "1");
            return 0;
        }
        if (v->u.b.n == 5 && strncasecmp(v->u.b.p, "false", 5) == 0) {
            num(cv, "0");
            return 0;
        }
        break;
    case RP_T_FLOAT:
        /* a double holds integers exactly only up to 2^53 */
        if (v->type == JR_INT && (v->u.i > (1LL << 53) ||
                                  v->u.i < -(1LL << 53)) &&
            ((double)v->u.i >= 9223372036854775808.0 ||
             (int64_t)(double)v->u.i != v->u.i)) {
            snprintf(why, cap, "integer %" PRId64 " cannot be held exactly "
                     "by a %s column", v->u.i, c->data_type);
            return -1;
        }
        break;
    case RP_T_DECIMAL:
        /* MariaDB rounds extra decimals with a mere note: refuse them */
        if (v->type == JR_REAL) {
            shortest(b, sizeof(b), v->u.r);
            if (frac_digits(b) > c->scale) {
                snprintf(why, cap, "%s has more than the %d decimals of a "
                         "%s column: it would be rounded", b, c->scale,
                         c->data_type);
                return -1;
            }
            num(cv, b);
            return 0;
        }
        if (v->type == JR_TEXT && v->u.b.n < 64) {
            char t[64];
            memcpy(t, v->u.b.p, v->u.b.n);
            t[v->u.b.n] = 0;
            if (frac_digits(t) > c->scale) {
                snprintf(why, cap, "%s has more than the %d decimals of a "
                         "%s column: it would be rounded", t, c->scale,
                         c->data_type);
                return -1;
            }
        }
        break;
    case RP_T_DATETIME:
    case RP_T_DATE:
        if (v->type == JR_TEXT) {
            int date_only;
            if (rp_parse_datetime(v->u.b.p, v->u.b.n, cv->buf,
                                  sizeof(cv->buf), &date_only) != 0) {
                snprintf(why, cap, "text is not a date/time in a form "
                         "SQLite writes (YYYY-MM-DD[ HH:MM[:SS[.fff]]][Z|"
                         "+HH:MM])");
                return -1;
            }
            if (c->kind == RP_T_DATE)
                cv->buf[10] = 0;
            str_buf(cv);
            return 0;
        }
        if (v->type == JR_INT || v->type == JR_REAL)
            return epoch_value(cv, v, c->kind == RP_T_DATE, why, cap);
        snprintf(why, cap, "a blob cannot be stored in a %s column",
                 c->data_type);
        return -1;
    case RP_T_TEXT:
    case RP_T_JSON:
        if (v->type == JR_BLOB && !sl_utf8_valid(v->u.b.p, v->u.b.n, 0)) {
            snprintf(why, cap, "a blob that is not valid UTF-8 cannot be "
                     "stored in a %s column", c->data_type);
            return -1;
        }
        if (v->type == JR_INT) {
            snprintf(cv->buf, sizeof(cv->buf), "%" PRId64, v->u.i);
            str_buf(cv);
            return 0;
        }
        if (v->type == JR_REAL) {
            if (isnan(v->u.r))
                snprintf(cv->buf, sizeof(cv->buf), "NaN");
            else if (isinf(v->u.r))
                snprintf(cv->buf, sizeof(cv->buf), v->u.r > 0 ? "Inf"
                                                             : "-Inf");
            else
                real_text(cv->buf, sizeof(cv->buf), v->u.r);
            str_buf(cv);
            return 0;
        }
        cv->kind = CV_STR;
        cv->p = v->u.b.p;
        cv->n = v->u.b.n;
        return 0;
    case RP_T_BINARY:
        if (v->type == JR_TEXT || v->type == JR_BLOB) {
            cv->kind = CV_BIN;
            cv->p = v->u.b.p;
            cv->n = v->u.b.n;
            return 0;
        }
        if (v->type == JR_INT)
            snprintf(cv->buf, sizeof(cv->buf), "%" PRId64, v->u.i);
        else
            real_text(cv->buf, sizeof(cv->buf), v->u.r);
        cv->kind = CV_BIN;
        cv->p = cv->buf;
        cv->n = strlen(cv->buf);
        return 0;
    default:
        break;
    }
    switch (v->type) {
    case JR_INT:
        snprintf(b, sizeof(b), "%" PRId64, v->u.i);
        num(cv, b);
        return 0;
    case JR_REAL:
        real_text(b, sizeof(b), v->u.r);
        num(cv, b);
        return 0;
    case JR_TEXT:
        cv->kind = CV_STR;
        cv->p = v->u.b.p;
        cv->n = v->u.b.n;
        return 0;
    default:
        cv->kind = CV_BIN;
        cv->p = v->u.b.p;
        cv->n = v->u.b.n;
        return 0;
    }
}

static void hex_into(rp_str *s, const unsigned char *p, size_t n)
{
    static const char hx[] = "0123456789ABCDEF";
    size_t at = s->len;

    rp_str_add(s, (const char *)p, n);          /* reserve n ... */
    rp_str_add(s, (const char *)p, n);          /* ... and n more */
    if (s->oom)
        return;
    for (size_t i = 0; i < n; i++) {
        s->p[at + 2 * i] = hx[p[i] >> 4];
        s->p[at + 2 * i + 1] = hx[p[i] & 15];
    }
}

int rp_value_sql(rp_str *s, MYSQL *db, const rp_col *c, const jr_value *v,
                 char *why, size_t cap)
{
    conv cv;

    if (convert(&cv, c, v, why, cap) != 0)
        return -1;
    switch (cv.kind) {
    case CV_NULL:
        rp_str_adds(s, "NULL");
        break;
    case CV_NUM:
        rp_str_add(s, cv.p, cv.n);
        break;
    case CV_STR:
        rp_str_quote(s, db, cv.p, cv.n);
        break;
    default:
        if (cv.n == 0) {
            rp_str_adds(s, "''");
        } else {
            rp_str_adds(s, "X'");
            hex_into(s, (const unsigned char *)cv.p, cv.n);
            rp_str_adds(s, "'");
        }
    }
    return 0;
}

int rp_value_tsv(rp_str *s, const rp_col *c, const jr_value *v, char *why,
                 size_t cap)
{
    conv cv;

    if (convert(&cv, c, v, why, cap) != 0)
        return -1;
    switch (cv.kind) {
    case CV_NULL:
        rp_str_add(s, "\\N", 2);
        break;
    case CV_NUM:
        rp_str_add(s, cv.p, cv.n);
        break;
    case CV_BIN:
        hex_into(s, (const unsigned char *)cv.p, cv.n);  /* UNHEX()ed */
        break;
    default: {
        /* escape \t \n \\ and NUL; everything else verbatim */
        const char *p = cv.p, *end = p + cv.n, *run = p;
        for (; p < end; p++) {
            char e = 0;
            switch (*p) {
            case '\t': e = 't'; break;
            case '\n': e = 'n'; break;
            case '\\': e = '\\'; break;
            case '\0': e = '0'; break;
            case '\r': e = 'r'; break;
            default: continue;
            }
            rp_str_add(s, run, (size_t)(p - run));
            rp_str_add(s, "\\", 1);
            rp_str_add(s, &e, 1);
            run = p + 1;
        }
        rp_str_add(s, run, (size_t)(end - run));
    }
    }
    return 0;
}

void rp_value_show(char *buf, size_t cap, const jr_value *v)
{
    size_t n;

    switch (v->type) {
    case JR_NULL:
        snprintf(buf, cap, "NULL");
        break;
    case JR_INT:
        snprintf(buf, cap, "%" PRId64, v->u.i);
        break;
    case JR_REAL:
        snprintf(buf, cap, "%.17g", v->u.r);
        break;
    case JR_TEXT:
        n = v->u.b.n > 80 ? 80 : v->u.b.n;
        snprintf(buf, cap, "'%.*s'%s", (int)n, (const char *)v->u.b.p,
                 n < v->u.b.n ? "..." : "");
        for (char *p = buf; *p; p++)
            if ((unsigned char)*p < 0x20)
                *p = ' ';
        break;
    default: {
        size_t o = (size_t)snprintf(buf, cap, "x'");
        const unsigned char *p = v->u.b.p;
        for (size_t i = 0; i < v->u.b.n && i < 32 && o + 3 < cap; i++)
            o += (size_t)snprintf(buf + o, cap - o, "%02x", p[i]);
        snprintf(buf + o, cap - o, "'%s", v->u.b.n > 32 ? "..." : "");
    }
    }
}
