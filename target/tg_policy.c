/*
** tg_policy.c -- the value policy: what one journal value becomes in one
** target column. sluice-replay writes exactly this, and sluice-verify
** compares exactly this, so the two can never disagree on a value.
**
** A value is read with SQLite's meaning (its storage class) and converted
** the way MariaDB itself converts a direct write of that value in strict
** mode. Where MariaDB drops fractional digits without an error, so does
** replay -- but it says so (tg_conv.altered, counted per table and column
** and logged once); where MariaDB would refuse, or would silently turn the
** value into something else, replay refuses with a reason:
**
**   INT, BOOL   integers as they are; a real is rounded to an integer
**               as MariaDB stores a double (rint: 2.5 -> 2, 3.5 -> 4),
**               numeric text as MariaDB converts a string (halves away
**               from zero: '2.5' -> 3), altered; 'true'/'false' into
**               TINYINT(1); other text, blobs, NaN, infinities refused
**   FLOAT/DOUBLE integers (beyond 2^53 only if a double holds them
**               exactly), reals as the shortest text that reads back to
**               the same double, numeric text; the rest refused
**   DECIMAL(p,s) integers, reals (their shortest text) and numeric text,
**               rounded half away from zero to s digits (altered when a
**               non-zero digit goes); more than p-s integer digits refused
**   DATETIME, TIMESTAMP, DATE
**               SQLite's date text (YYYY-MM-DD[( |T)HH:MM[:SS[.f]]] with an
**               optional Z or +HH:MM offset) in UTC; integers are Unix
**               time (seconds, or milliseconds when |v| >= 1e11); reals
**               between 1e6 and 1e7 are Julian days (SQLite's julianday()),
**               other reals Unix seconds; fractional seconds beyond the
**               column's digits are truncated, as MariaDB does (a DATE
**               drops the time of day), altered
**   TIME        text [-][D ]HH:MM[:SS[.f]] (hours up to 838); integers and
**               reals are seconds (3600 -> 01:00:00); reals between 1e6
**               and 1e7 look like Julian days and are refused, as is a
**               date with a time (its date would be lost); fraction
**               truncated to the column's digits, altered
**   text, JSON  text must be valid UTF-8 (a blob too, else refused);
**               integers in decimal, reals as their shortest text (0.1,
**               not 0.10000000000000001), NaN/Inf/-Inf spelled out
**   binary      text and blob bytes as they are; numbers as their text
** Too long, out of range: MariaDB's strict mode refuses and replay reports
** the server's message, pinned on one row.
**
** flags: TG_POL_STRICT (--strict-values) refuses every alteration;
** TG_POL_KEY refuses it for key and unique columns whatever the mode --
** rounding a key could land the change on another key's row.
**
** INVARIANT: a value is converted as MariaDB would, or refused with a
** reason; an alteration is always reported in cv->altered.
*/
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tg.h"
#include "sl_utf8.h"

static void set_num(tg_conv *cv, const char *text)
{
    cv->kind = TG_CV_NUM;
    snprintf(cv->buf, sizeof(cv->buf), "%s", text);
    cv->p = cv->buf;
    cv->n = strlen(cv->buf);
}

static void set_buf(tg_conv *cv, int kind)
{
    cv->kind = kind;
    cv->p = cv->buf;
    cv->n = strlen(cv->buf);
}

static void set_bytes(tg_conv *cv, int kind, const void *p, size_t n)
{
    cv->kind = kind;
    cv->p = p ? p : "";
    cv->n = n;
}

/* An alteration: allowed, or refused under `flags`. */
static int altered(tg_conv *cv, int flags, const char *what,
                   const tg_col *c, char *why, size_t cap)
{
    if (flags & TG_POL_KEY) {
        snprintf(why, cap, "%s (the %s column %s is part of a key: a key "
                 "is never altered, it could land on another key's row)",
                 what, c->data_type, c->name);
        return -1;
    }
    if (flags & TG_POL_STRICT) {
        snprintf(why, cap, "%s (refused: --strict-values)", what);
        return -1;
    }
    cv->altered = 1;
    return 0;
}

/* Text of number v (integer or real) or numeric text, into b. -1 if v
** is not a number. */
static int number_text(const jr_value *v, char *b, size_t cap)
{
    if (v->type == JR_INT) {
        snprintf(b, cap, "%" PRId64, v->u.i);
        return 0;
    }
    if (v->type == JR_REAL) {
        if (!isfinite(v->u.r))
            return -1;
        tg_shortest(b, cap, v->u.r);
        return 0;
    }
    if (v->type == JR_TEXT && v->u.b.n > 0 && v->u.b.n < cap &&
        tg_is_number(v->u.b.p, v->u.b.n)) {
        memcpy(b, v->u.b.p, v->u.b.n);
        b[v->u.b.n] = 0;
        return 0;
    }
    return -1;
}

static int not_a_number(const tg_col *c, const jr_value *v, char *why,
                        size_t cap)
{
    if (v->type == JR_BLOB)
        snprintf(why, cap, "a blob cannot be stored in a %s column",
                 c->data_type);
    else if (v->type == JR_REAL)
        snprintf(why, cap, "%s cannot be stored in a %s column",
                 isnan(v->u.r) ? "NaN" : "infinity", c->data_type);
    else
        snprintf(why, cap, "text that is not a number cannot be stored in "
                 "a%s %s column", c->kind == TG_T_INT || c->kind == TG_T_UINT
                 || c->kind == TG_T_BOOL ? "n integer" : "", c->data_type);
    return -1;
}

static int conv_int(tg_conv *cv, const tg_col *c, const jr_value *v,
                    int flags, char *why, size_t cap)
{
    char b[80], r[120];
    int dropped = 0;

    if (v->type == JR_INT) {
        snprintf(b, sizeof(b), "%" PRId64, v->u.i);
        set_num(cv, b);
        return 0;
    }
    if (c->kind == TG_T_BOOL && v->type == JR_TEXT) {
        if (v->u.b.n == 4 && strncasecmp(v->u.b.p, "true", 4) == 0) {
            set_num(cv, "1");
            return 0;
        }
        if (v->u.b.n == 5 && strncasecmp(v->u.b.p, "false", 5) == 0) {
            set_num(cv, "0");
            return 0;
        }
    }
    if (number_text(v, b, sizeof(b)) != 0)
        return not_a_number(c, v, why, cap);
    if (v->type == JR_REAL) {
        /* MariaDB stores a double into an integer column with rint():
        ** halves to even (2.5 -> 2, 3.5 -> 4) */
        double x = rint(v->u.r);
        if (fabs(x) >= 9223372036854775808.0) {
            snprintf(why, cap, "%s is out of range for a %s column", b,
                     c->data_type);
            return -1;
        }
        snprintf(r, sizeof(r), "%.0f", x);
        dropped = x != v->u.r;
    } else if (tg_dec_round(b, strlen(b), 0, r, sizeof(r), &dropped) != 0 ||
               strlen(r) > 20) {
        /* numeric text: decimal rounding, halves away from zero */
        snprintf(why, cap, "%s is out of range for a %s column", b,
                 c->data_type);
        return -1;
    }
    if (dropped) {
        char what[400];
        snprintf(what, sizeof(what), "%s has a fraction a %s column cannot "
                 "hold (it becomes %s)", b, c->data_type, r);
        if (altered(cv, flags, what, c, why, cap) != 0)
            return -1;
    }
    set_num(cv, r);
    return 0;
}

static int conv_float(tg_conv *cv, const tg_col *c, const jr_value *v,
                      char *why, size_t cap)
{
    char b[80];

    /* a double holds integers exactly only up to 2^53 */
    if (v->type == JR_INT && (v->u.i > (1LL << 53) ||
                              v->u.i < -(1LL << 53)) &&
        ((double)v->u.i >= 9223372036854775808.0 ||
         (int64_t)(double)v->u.i != v->u.i)) {
        snprintf(why, cap, "integer %" PRId64 " cannot be held exactly by "
                 "a %s column", v->u.i, c->data_type);
        return -1;
    }
    if (v->type == JR_REAL && isfinite(v->u.r)) {
        /* 17 digits read back to the same double; cheaper than the
        ** shortest form, and a DOUBLE column holds the double itself */
        snprintf(b, sizeof(b), "%.17g", v->u.r);
    } else if (number_text(v, b, sizeof(b)) != 0) {
        return not_a_number(c, v, why, cap);
    }
    set_num(cv, b);
    return 0;
}

static int conv_decimal(tg_conv *cv, const tg_col *c, const jr_value *v,
                        int flags, char *why, size_t cap)
{
    char b[80];
    int dropped = 0;
    size_t intdig;
    const char *r;

    if (number_text(v, b, sizeof(b)) != 0)
        return not_a_number(c, v, why, cap);
    if (tg_dec_round(b, strlen(b), c->scale, cv->buf, sizeof(cv->buf),
                     &dropped) != 0) {
        snprintf(why, cap, "%s is out of range for a %s column", b,
                 c->data_type);
        return -1;
    }
    r = cv->buf[0] == '-' ? cv->buf + 1 : cv->buf;
    intdig = strcspn(r, ".");
    if (c->precision > 0 && !(intdig == 1 && r[0] == '0') &&
        intdig > (size_t)(c->precision - c->scale)) {
        snprintf(why, cap, "%s has more integer digits than a DECIMAL(%d,%d)"
                 " column holds", b, c->precision, c->scale);
        return -1;
    }
    set_buf(cv, TG_CV_NUM);
    if (dropped) {
        char what[400];
        snprintf(what, sizeof(what), "%s has more than the %d decimals of a "
                 "DECIMAL(%d,%d) column (it becomes %s)", b, c->scale,
                 c->precision, c->scale, cv->buf);
        return altered(cv, flags, what, c, why, cap);
    }
    return 0;
}

/* Integer or real stored in a date column. */
static int epoch_us(const tg_col *c, const jr_value *v, int64_t *us,
                    char *why, size_t cap)
{
    if (v->type == JR_INT) {
        int64_t x = v->u.i;
        if (x > 253402300799000LL || x < -62135596800000LL) {
            snprintf(why, cap, "integer %" PRId64 " is not a Unix time",
                     x);
            return -1;
        }
        *us = (x >= 100000000000LL || x <= -100000000000LL) ? x * 1000
                                                            : x * 1000000;
        return 0;
    }
    {
        double r = v->u.r;
        if (!isfinite(r)) {
            snprintf(why, cap, "%g cannot be stored in a %s column", r,
                     c->data_type);
            return -1;
        }
        if (r > 1e6 && r < 1e7)
            r = (r - 2440587.5) * 86400.0;     /* Julian day */
        if (r > 253402300799.0 || r < -62135596800.0) {
            snprintf(why, cap, "real %.17g is not a date", v->u.r);
            return -1;
        }
        *us = (int64_t)llround(r * 1e6);
    }
    return 0;
}

/* buf holds "YYYY-MM-DD HH:MM:SS.ffffff": cut it to the column. */
static int fit_datetime(tg_conv *cv, const tg_col *c, int flags,
                        const jr_value *v, char *why, size_t cap)
{
    int frac = c->frac < 0 ? 0 : c->frac > 6 ? 6 : c->frac, lost = 0;
    char *f = cv->buf + 20;                 /* first fraction digit */

    if (c->kind == TG_T_DATE) {
        lost = strcmp(cv->buf + 10, " 00:00:00.000000") != 0;
        cv->buf[10] = 0;
    } else {
        for (int i = frac; i < 6; i++)
            if (f[i] != '0')
                lost = 1;
        if (frac == 0)
            cv->buf[19] = 0;
        else
            f[frac] = 0;
    }
    set_buf(cv, TG_CV_STR);
    if (lost) {
        char what[400], shown[120];
        tg_value_show(shown, sizeof(shown), v);
        snprintf(what, sizeof(what), "%s has more time detail than a %s(%d) "
                 "column keeps (it becomes %s)", shown, c->data_type,
                 c->kind == TG_T_DATE ? 0 : frac, cv->buf);
        return altered(cv, flags, what, c, why, cap);
    }
    return 0;
}

static int conv_date(tg_conv *cv, const tg_col *c, const jr_value *v,
                     int flags, char *why, size_t cap)
{
    int64_t us;

    if (v->type == JR_TEXT) {
        int date_only;
        if (tg_parse_datetime(v->u.b.p, v->u.b.n, cv->buf, sizeof(cv->buf),
                              &date_only) != 0) {
            snprintf(why, cap, "text is not a date/time in a form SQLite "
                     "writes (YYYY-MM-DD[ HH:MM[:SS[.fff]]][Z|+HH:MM])");
            return -1;
        }
        if (date_only)
            snprintf(cv->buf + 10, sizeof(cv->buf) - 10, " 00:00:00.000000");
        return fit_datetime(cv, c, flags, v, why, cap);
    }
    if (v->type == JR_INT || v->type == JR_REAL) {
        if (epoch_us(c, v, &us, why, cap) != 0)
            return -1;
        tg_format_us(cv->buf, sizeof(cv->buf), us);
        return fit_datetime(cv, c, flags, v, why, cap);
    }
    snprintf(why, cap, "a blob cannot be stored in a %s column",
             c->data_type);
    return -1;
}

#define TIME_MAX_S 3020399.999999          /* 838:59:59.999999 */

static int conv_time(tg_conv *cv, const tg_col *c, const jr_value *v,
                     int flags, char *why, size_t cap)
{
    int frac = c->frac < 0 ? 0 : c->frac > 6 ? 6 : c->frac, dropped = 0;
    double secs = 0;
    char shown[120], t[64];

    /* for messages only: refusals and alterations are rare */
#define SHOWN (tg_value_show(shown, sizeof(shown), v), shown)
    if (v->type == JR_TEXT) {
        char dt[40];
        int d_only;
        if (tg_parse_datetime(v->u.b.p, v->u.b.n, dt, sizeof(dt),
                              &d_only) == 0) {
            snprintf(why, cap, "a date%s is not a time: a TIME column would "
                     "keep only part of it", d_only ? "" : " and time");
            return -1;
        }
        if (v->u.b.n >= sizeof(t) ||
            tg_time_round(v->u.b.p, v->u.b.n, frac, t, sizeof(t), &dropped,
                          &secs) != 0) {
            snprintf(why, cap, "text is not a time ([-]HH:MM[:SS[.fff]])");
            return -1;
        }
    } else if (v->type == JR_INT || v->type == JR_REAL) {
        double r = v->type == JR_INT ? (double)v->u.i : v->u.r;
        int64_t us, a;
        if (!isfinite(r) || fabs(r) > TIME_MAX_S) {
            snprintf(why, cap, "%s seconds is beyond the range of a TIME "
                     "column (838:59:59)", SHOWN);
            return -1;
        }
        if (v->type == JR_REAL && fabs(r) >= 1e6) {
            snprintf(why, cap, "real %s looks like a Julian day (a date), "
                     "not seconds: refused for a TIME column", SHOWN);
            return -1;
        }
        us = v->type == JR_INT ? v->u.i * 1000000 : (int64_t)llround(r * 1e6);
        a = us < 0 ? -us : us;
        snprintf(t, sizeof(t), "%s%02lld:%02d:%02d.%06d", us < 0 ? "-" : "",
                 (long long)(a / 3600000000LL), (int)(a / 60000000 % 60),
                 (int)(a / 1000000 % 60), (int)(a % 1000000));
        secs = r;
        if (tg_time_round(t, strlen(t), frac, t, sizeof(t), &dropped,
                          NULL) != 0) {
            snprintf(why, cap, "%s cannot be stored as a time", SHOWN);
            return -1;
        }
    } else {
        snprintf(why, cap, "a blob cannot be stored in a %s column",
                 c->data_type);
        return -1;
    }
    if (fabs(secs) >= 3020400.0) {
        snprintf(why, cap, "%s is beyond the range of a TIME column "
                 "(838:59:59)", SHOWN);
        return -1;
    }
    /* "[-]HH:MM:SS.ffffff" with the column's digits */
    {
        char *dot = strchr(t, '.');
        if (dot != NULL)
            dot[frac ? frac + 1 : 0] = 0;
    }
    snprintf(cv->buf, sizeof(cv->buf), "%s", t);
    set_buf(cv, TG_CV_STR);
    if (dropped) {
        char what[400];
        snprintf(what, sizeof(what), "%s has more fractional digits than a "
                 "TIME(%d) column keeps (it becomes %s)", SHOWN, frac,
                 cv->buf);
        return altered(cv, flags, what, c, why, cap);
    }
    return 0;
#undef SHOWN
}

static int conv_text(tg_conv *cv, const tg_col *c, const jr_value *v,
                     char *why, size_t cap)
{
    switch (v->type) {
    case JR_INT:
        snprintf(cv->buf, sizeof(cv->buf), "%" PRId64, v->u.i);
        set_buf(cv, TG_CV_STR);
        return 0;
    case JR_REAL:
        if (isnan(v->u.r))
            snprintf(cv->buf, sizeof(cv->buf), "NaN");
        else if (isinf(v->u.r))
            snprintf(cv->buf, sizeof(cv->buf), v->u.r > 0 ? "Inf" : "-Inf");
        else
            tg_shortest(cv->buf, sizeof(cv->buf), v->u.r);
        set_buf(cv, TG_CV_STR);
        return 0;
    default:
        if (!sl_utf8_valid(v->u.b.p, v->u.b.n, 0)) {
            snprintf(why, cap, "%s that is not valid UTF-8 cannot be stored "
                     "in a %s column", v->type == JR_BLOB ? "a blob" : "text",
                     c->data_type);
            return -1;
        }
        set_bytes(cv, TG_CV_STR, v->u.b.p, v->u.b.n);
        return 0;
    }
}

int tg_convert(tg_conv *cv, const tg_col *c, const jr_value *v, int flags,
               char *why, size_t cap)
{
    cv->kind = TG_CV_NULL;
    cv->p = NULL;
    cv->n = 0;
    cv->altered = 0;
    cv->buf[0] = 0;
    if (v->type == JR_NULL)
        return 0;
    switch (c->kind) {
    case TG_T_INT:
    case TG_T_UINT:
    case TG_T_BOOL:
        return conv_int(cv, c, v, flags, why, cap);
    case TG_T_FLOAT:
        return conv_float(cv, c, v, why, cap);
    case TG_T_DECIMAL:
        return conv_decimal(cv, c, v, flags, why, cap);
    case TG_T_DATETIME:
    case TG_T_DATE:
        return conv_date(cv, c, v, flags, why, cap);
    case TG_T_TIME:
        return conv_time(cv, c, v, flags, why, cap);
    case TG_T_TEXT:
    case TG_T_JSON:
        return conv_text(cv, c, v, why, cap);
    case TG_T_BINARY:
        if (v->type == JR_TEXT || v->type == JR_BLOB) {
            set_bytes(cv, TG_CV_BIN, v->u.b.p, v->u.b.n);
            return 0;
        }
        if (conv_text(cv, c, v, why, cap) != 0)
            return -1;
        cv->kind = TG_CV_BIN;
        return 0;
    default:
        break;
    }
    /* YEAR, BIT, ENUM, SET, ...: MariaDB's own conversion judges */
    switch (v->type) {
    case JR_INT:
    case JR_REAL:
        if (number_text(v, cv->buf, sizeof(cv->buf)) != 0)
            return not_a_number(c, v, why, cap);
        set_buf(cv, TG_CV_NUM);
        return 0;
    case JR_TEXT:
        return conv_text(cv, c, v, why, cap);
    default:
        set_bytes(cv, TG_CV_BIN, v->u.b.p, v->u.b.n);
        return 0;
    }
}
