/*
** tg_text.c -- parsing and normalising the text forms of numbers,
** decimals, dates and times: SQLite's (what applications write) and
** MariaDB's (what the target returns). The value policy (tg_policy.c)
** and sluice-verify both use them, so both read a value the same way.
**
** Every function here is pure: it reads (p, n) -- never NUL-terminated
** by assumption -- and writes a canonical form into a caller buffer.
**
** INVARIANTS:
**  (T1) two texts that stand for the same value in a column normalise to
**       the same bytes, and different values to different bytes (at the
**       column's precision: DECIMAL scale, DATETIME/TIME digits).
**  (T2) rounding and truncation follow MariaDB: DECIMAL rounds half away
**       from zero; fractional seconds beyond the column's digits are
**       truncated.
**  (T3) anything not in the accepted form is refused (-1), never guessed.
*/
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg.h"

/* A decimal number split into its parts: value = sign * digits * 10^exp,
** digits without leading zeros ("" for zero). */
typedef struct dnum {
    int neg;
    char digits[160];
    size_t nd;
    long exp;
} dnum;

static int dnum_parse(const char *p, size_t n, dnum *d)
{
    const char *end = p + n;
    int seen = 0, frac = 0;
    long e = 0;

    memset(d, 0, sizeof(*d));
    if (p < end && (*p == '-' || *p == '+'))
        d->neg = *p++ == '-';
    for (; p < end; p++) {
        if (*p == '.' && !frac) {
            frac = 1;
            continue;
        }
        if (!isdigit((unsigned char)*p))
            break;
        seen = 1;
        if (d->nd == 0 && *p == '0') {
            if (frac)
                d->exp--;
            continue;
        }
        if (d->nd >= sizeof(d->digits) - 1)
            return -1;
        d->digits[d->nd++] = *p;
        if (frac)
            d->exp--;
    }
    if (!seen)
        return -1;
    if (p < end && (*p == 'e' || *p == 'E')) {
        int eneg = 0, edig = 0;
        p++;
        if (p < end && (*p == '-' || *p == '+'))
            eneg = *p++ == '-';
        for (; p < end && isdigit((unsigned char)*p); p++) {
            if (e < 100000)
                e = e * 10 + (*p - '0');
            edig = 1;
        }
        if (!edig)
            return -1;
        d->exp += eneg ? -e : e;
    }
    if (p != end)
        return -1;
    /* trailing zeros of the digits go into the exponent */
    while (d->nd > 0 && d->digits[d->nd - 1] == '0') {
        d->nd--;
        d->exp++;
    }
    d->digits[d->nd] = 0;
    return 0;
}

int tg_is_number(const char *p, size_t n)
{
    dnum d;
    return dnum_parse(p, n, &d) == 0;
}

int tg_parse_i64(const char *p, size_t n, int64_t *out)
{
    char b[32];
    char *e;
    long long v;
    size_t i = 0;

    if (n == 0 || n >= sizeof(b))
        return -1;
    if (p[0] == '-' || p[0] == '+')
        i = 1;
    if (i == n)
        return -1;
    for (; i < n; i++)
        if (!isdigit((unsigned char)p[i]))
            return -1;
    memcpy(b, p, n);
    b[n] = 0;
    errno = 0;
    v = strtoll(b, &e, 10);
    if (errno != 0 || *e != 0)
        return -1;
    *out = v;
    return 0;
}

int tg_dec_norm(const char *p, size_t n, int scale, char *out, size_t cap)
{
    return tg_dec_round(p, n, scale, out, cap, NULL);
}

int tg_dec_round(const char *p, size_t n, int scale, char *out, size_t cap,
                 int *dropped)
{
    dnum d;
    char r[200];
    size_t nr = 0, o = 0;
    long shift;
    int zero = 1;

    if (dropped != NULL)
        *dropped = 0;
    if (scale < 0 || scale > 60 || dnum_parse(p, n, &d) != 0)
        return -1;
    /* r = round(digits * 10^(exp + scale)), as an integer */
    shift = d.exp + scale;
    if (shift >= 0) {
        if (d.nd + (size_t)shift >= sizeof(r) - 1)
            return -1;
        memcpy(r, d.digits, d.nd);
        nr = d.nd;
        if (nr > 0)
            for (long i = 0; i < shift; i++)
                r[nr++] = '0';
    } else {
        size_t drop = (size_t)-shift;
        int up;
        if (dropped != NULL)
            *dropped = d.nd > 0;      /* digits are non-zero at the end */
        if (drop > d.nd) {
            nr = 0;                             /* below half a unit */
        } else {
            nr = d.nd - drop;
            memcpy(r, d.digits, nr);
            up = d.digits[nr] >= '5';
            if (up) {
                long i = (long)nr - 1;
                for (; i >= 0 && r[i] == '9'; i--)
                    r[i] = '0';
                if (i >= 0) {
                    r[i]++;
                } else {
                    memmove(r + 1, r, nr);
                    r[0] = '1';
                    nr++;
                }
            }
        }
    }
    for (size_t i = 0; i < nr; i++)
        if (r[i] != '0')
            zero = 0;
    /* pad to at least scale + 1 digits so there is an integer part */
    if (nr < (size_t)scale + 1) {
        size_t pad = (size_t)scale + 1 - nr;
        memmove(r + pad, r, nr);
        memset(r, '0', pad);
        nr += pad;
    }
    if (nr + 3 > cap)
        return -1;
    if (d.neg && !zero)
        out[o++] = '-';
    memcpy(out + o, r, nr - (size_t)scale);
    o += nr - (size_t)scale;
    if (scale > 0) {
        out[o++] = '.';
        memcpy(out + o, r + nr - (size_t)scale, (size_t)scale);
        o += (size_t)scale;
    }
    out[o] = 0;
    return 0;
}

int tg_dec_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int na = an > 0 && a[0] == '-', nb = bn > 0 && b[0] == '-', c;
    size_t ia, ib;

    if (na != nb)
        return na ? -1 : 1;
    a += na; an -= (size_t)na;
    b += nb; bn -= (size_t)nb;
    ia = memchr(a, '.', an) ? (size_t)((const char *)memchr(a, '.', an) - a)
                             : an;
    ib = memchr(b, '.', bn) ? (size_t)((const char *)memchr(b, '.', bn) - b)
                             : bn;
    if (ia != ib)
        c = ia < ib ? -1 : 1;
    else {
        size_t m = an < bn ? an : bn;
        c = memcmp(a, b, m);
        if (c == 0 && an != bn)
            c = an < bn ? -1 : 1;
        c = c < 0 ? -1 : c > 0;
    }
    return na ? -c : c;
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

/* ".f..." -> microseconds, digits past frac zeroed (*dropped set when
** one of them was not 0). */
static int fraction(const char **p, const char *end, int frac, int *us,
                    int *dropped)
{
    int nd = 0, seen = 0;

    *us = 0;
    if (*p >= end || **p != '.')
        return 0;
    (*p)++;
    while (*p < end && isdigit((unsigned char)**p)) {
        if (seen >= frac && **p != '0' && dropped != NULL)
            *dropped = 1;
        if (nd < 6) {
            *us = *us * 10 + (nd < frac ? **p - '0' : 0);
            nd++;
        }
        seen++;
        (*p)++;
    }
    if (nd == 0)
        return -1;
    while (nd++ < 6)
        *us *= 10;
    return 0;
}

int tg_datetime_norm(const char *p, size_t n, int frac, int date_only,
                     char *out, size_t cap)
{
    const char *end = p + n;
    int y, mo, d, h = 0, mi = 0, s = 0, us = 0;

    if (digits(&p, end, 4, &y) || p >= end || *p++ != '-' ||
        digits(&p, end, 2, &mo) || p >= end || *p++ != '-' ||
        digits(&p, end, 2, &d))
        return -1;
    if (p < end) {
        if (*p != ' ' && *p != 'T')
            return -1;
        p++;
        if (digits(&p, end, 2, &h) || p >= end || *p++ != ':' ||
            digits(&p, end, 2, &mi) || p >= end || *p++ != ':' ||
            digits(&p, end, 2, &s) || fraction(&p, end, frac, &us, NULL))
            return -1;
        if (p != end)
            return -1;
    }
    if (date_only)
        snprintf(out, cap, "%04d-%02d-%02d", y, mo, d);
    else
        snprintf(out, cap, "%04d-%02d-%02d %02d:%02d:%02d.%06d", y, mo, d,
                 h, mi, s, us);
    return 0;
}

int tg_time_norm(const char *p, size_t n, int frac, char *out, size_t cap)
{
    return tg_time_round(p, n, frac, out, cap, NULL, NULL);
}

int tg_time_round(const char *p, size_t n, int frac, char *out, size_t cap,
                  int *dropped, double *seconds)
{
    if (dropped != NULL)
        *dropped = 0;
    const char *end = p + n, *q;
    long long days = 0, hours = 0;
    int neg = 0, mi = 0, s = 0, us = 0, nh = 0;

    if (p < end && *p == '-') {
        neg = 1;
        p++;
    }
    /* optional "D " day count */
    q = p;
    while (q < end && isdigit((unsigned char)*q))
        q++;
    if (q < end && *q == ' ' && q > p) {
        for (; p < q; p++)
            days = days * 10 + (*p - '0');
        p++;
    }
    while (p < end && isdigit((unsigned char)*p) && nh < 9) {
        hours = hours * 10 + (*p++ - '0');
        nh++;
    }
    if (nh == 0 || p >= end || *p++ != ':' || digits(&p, end, 2, &mi))
        return -1;
    if (p < end && *p == ':') {
        p++;
        if (digits(&p, end, 2, &s) || fraction(&p, end, frac, &us, dropped))
            return -1;
    }
    if (p != end || mi > 59 || s > 59)
        return -1;
    hours += days * 24;
    if (seconds != NULL)
        *seconds = (neg ? -1.0 : 1.0) *
                   ((double)hours * 3600 + mi * 60 + s + us / 1e6);
    if (hours == 0 && mi == 0 && s == 0 && us == 0)
        neg = 0;
    snprintf(out, cap, "%s%02lld:%02d:%02d.%06d", neg ? "-" : "", hours, mi,
             s, us);
    return 0;
}

/* ---- SQLite's date/time text ---- */

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

void tg_format_us(char *out, size_t cap, int64_t us)
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

int tg_parse_datetime(const char *s, size_t n, char *out, size_t cap,
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
    tg_format_us(out, cap, t);
    return 0;
}

/* Shortest %g form that reads back as the same double. */
void tg_shortest(char *b, size_t cap, double r)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(b, cap, "%.*g", prec, r);
        if (strtod(b, NULL) == r)
            return;
    }
}

