/*
** vf_text.c -- parsing and normalising the text forms both sides use for
** numbers, decimals, dates and times.
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

#include "vf.h"

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

int vf_is_number(const char *p, size_t n)
{
    dnum d;
    return dnum_parse(p, n, &d) == 0;
}

int vf_parse_i64(const char *p, size_t n, int64_t *out)
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

int vf_dec_norm(const char *p, size_t n, int scale, char *out, size_t cap)
{
    dnum d;
    char r[200];
    size_t nr = 0, o = 0;
    long shift;
    int zero = 1;

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

int vf_dec_cmp(const char *a, size_t an, const char *b, size_t bn)
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

/* ".f..." -> microseconds, digits past frac zeroed. */
static int fraction(const char **p, const char *end, int frac, int *us)
{
    int nd = 0;

    *us = 0;
    if (*p >= end || **p != '.')
        return 0;
    (*p)++;
    while (*p < end && isdigit((unsigned char)**p)) {
        if (nd < 6) {
            *us = *us * 10 + (nd < frac ? **p - '0' : 0);
            nd++;
        }
        (*p)++;
    }
    if (nd == 0)
        return -1;
    while (nd++ < 6)
        *us *= 10;
    return 0;
}

int vf_datetime_norm(const char *p, size_t n, int frac, int date_only,
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
            digits(&p, end, 2, &s) || fraction(&p, end, frac, &us))
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

int vf_time_norm(const char *p, size_t n, int frac, char *out, size_t cap)
{
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
        if (digits(&p, end, 2, &s) || fraction(&p, end, frac, &us))
            return -1;
    }
    if (p != end || mi > 59 || s > 59)
        return -1;
    hours += days * 24;
    if (hours == 0 && mi == 0 && s == 0 && us == 0)
        neg = 0;
    snprintf(out, cap, "%s%02lld:%02d:%02d.%06d", neg ? "-" : "", hours, mi,
             s, us);
    return 0;
}
