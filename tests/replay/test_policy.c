/*
** test_policy.c -- target/tg_policy.c, the value policy, without a server:
** what each journal value becomes in each kind of target column, what is
** counted as altered, and what is refused (and why). The expectations are
** MariaDB 10.11's own results for the same direct writes (checked by hand
** against the server; the integration suites check them end to end).
*/
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>

#include "tg.h"

static tg_col col(int kind, const char *type, int p, int s, int frac)
{
    tg_col c;

    memset(&c, 0, sizeof(c));
    c.name = (char *)"c";
    c.kind = kind;
    c.data_type = (char *)type;
    c.precision = p;
    c.scale = s;
    c.frac = frac;
    return c;
}

static jr_value ival(int64_t i)
{
    jr_value v = { .type = JR_INT };
    v.u.i = i;
    return v;
}

static jr_value rval(double r)
{
    jr_value v = { .type = JR_REAL };
    v.u.r = r;
    return v;
}

static jr_value tval(const char *t)
{
    jr_value v = { .type = JR_TEXT };
    v.u.b.p = t;
    v.u.b.n = strlen(t);
    return v;
}

static jr_value bval(const void *p, size_t n)
{
    jr_value v = { .type = JR_BLOB };
    v.u.b.p = p;
    v.u.b.n = n;
    return v;
}

static char g_why[300];
static int g_altered;

/* The converted text, or "REFUSED". */
static const char *conv(const tg_col *c, jr_value v, int flags)
{
    static char out[200];
    tg_conv cv;

    g_why[0] = 0;
    if (tg_convert(&cv, c, &v, flags, g_why, sizeof(g_why)) != 0)
        return "REFUSED";
    g_altered = cv.altered;
    if (cv.kind == TG_CV_NULL)
        return "NULL";
    memcpy(out, cv.p, cv.n);
    out[cv.n] = 0;
    return out;
}

Test(replay_policy, decimals_keep_what_mariadb_keeps_and_say_so)
{
    tg_col d = col(TG_T_DECIMAL, "decimal", 20, 6, 0);
    tg_col d2 = col(TG_T_DECIMAL, "decimal", 10, 2, 0);

    cr_expect_str_eq(conv(&d, rval(93457.28571428571), 0), "93457.285714");
    cr_expect(g_altered);
    cr_expect_str_eq(conv(&d2, rval(2.675), 0), "2.68");
    cr_expect_str_eq(conv(&d2, rval(1.005), 0), "1.01");
    cr_expect_str_eq(conv(&d2, rval(0.1), 0), "0.10");
    cr_expect(!g_altered, "no digit was dropped");
    cr_expect_str_eq(conv(&d2, tval("12.345"), 0), "12.35");
    cr_expect_str_eq(conv(&d2, tval("-1e-3"), 0), "0.00");
    cr_expect_str_eq(conv(&d2, ival(42), 0), "42.00");
    cr_expect_str_eq(conv(&d2, ival(123456789), 0), "REFUSED");
    cr_expect(strstr(g_why, "integer digits") != NULL, "%s", g_why);
    cr_expect_str_eq(conv(&d2, tval("abc"), 0), "REFUSED");
    cr_expect_str_eq(conv(&d2, bval("1", 1), 0), "REFUSED");
    cr_expect_str_eq(conv(&d2, rval(NAN), 0), "REFUSED");
}

Test(replay_policy, strict_values_and_keys_refuse_any_alteration)
{
    tg_col d = col(TG_T_DECIMAL, "decimal", 20, 6, 0);
    tg_col dt = col(TG_T_DATETIME, "datetime", 0, 0, 0);

    cr_expect_str_eq(conv(&d, rval(1.0000005), TG_POL_STRICT), "REFUSED");
    cr_expect(strstr(g_why, "strict") != NULL, "%s", g_why);
    cr_expect_str_eq(conv(&d, rval(1.5), TG_POL_STRICT), "1.500000");
    cr_expect_str_eq(conv(&dt, tval("2024-01-01 10:00:00.7"), TG_POL_KEY),
                     "REFUSED");
    cr_expect(strstr(g_why, "key") != NULL, "%s", g_why);
    cr_expect_str_eq(conv(&dt, tval("2024-01-01 10:00:00"), TG_POL_KEY),
                     "2024-01-01 10:00:00");
}

Test(replay_policy, integers_take_doubles_by_rint_and_text_half_away_from_zero)
{
    tg_col i = col(TG_T_INT, "int", 0, 0, 0);
    tg_col b = col(TG_T_BOOL, "tinyint", 0, 0, 0);

    cr_expect_str_eq(conv(&i, rval(2.5), 0), "2");
    cr_expect(g_altered);
    cr_expect_str_eq(conv(&i, rval(3.5), 0), "4");
    cr_expect_str_eq(conv(&i, rval(-2.5), 0), "-2");
    cr_expect_str_eq(conv(&i, rval(7.0), 0), "7");
    cr_expect(!g_altered);
    cr_expect_str_eq(conv(&i, tval("2.5"), 0), "3");
    cr_expect_str_eq(conv(&i, tval("-2.5"), 0), "-3");
    cr_expect_str_eq(conv(&i, tval("abc"), 0), "REFUSED");
    cr_expect(strstr(g_why, "integer") != NULL, "%s", g_why);
    cr_expect_str_eq(conv(&i, bval("1", 1), 0), "REFUSED");
    cr_expect_str_eq(conv(&i, rval(1e30), 0), "REFUSED");
    cr_expect_str_eq(conv(&b, tval("TRUE"), 0), "1");
    cr_expect_str_eq(conv(&b, tval("false"), 0), "0");
}

Test(replay_policy, datetimes_are_utc_and_truncated_to_the_column)
{
    tg_col dt0 = col(TG_T_DATETIME, "datetime", 0, 0, 0);
    tg_col dt3 = col(TG_T_DATETIME, "datetime", 0, 0, 3);
    tg_col d = col(TG_T_DATE, "date", 0, 0, 0);

    cr_expect_str_eq(conv(&dt0, tval("2024-01-01 10:00:00.7"), 0),
                     "2024-01-01 10:00:00");
    cr_expect(g_altered);
    cr_expect_str_eq(conv(&dt3, tval("2026-04-16 22:41:27.4909 +02:00"), 0),
                     "2026-04-16 20:41:27.490");
    cr_expect_str_eq(conv(&dt3, tval("2024-01-01"), 0),
                     "2024-01-01 00:00:00.000");
    cr_expect(!g_altered);
    cr_expect_str_eq(conv(&d, tval("2024-01-01T23:30:00-01:00"), 0),
                     "2024-01-02");
    cr_expect(g_altered, "the time of day was dropped");
    cr_expect_str_eq(conv(&dt0, ival(0), 0), "1970-01-01 00:00:00");
    cr_expect_str_eq(conv(&dt0, rval(2440587.5), 0), "1970-01-01 00:00:00");
    cr_expect_str_eq(conv(&dt0, tval("yesterday"), 0), "REFUSED");
}

Test(replay_policy, time_columns_follow_the_documented_rule)
{
    tg_col t = col(TG_T_TIME, "time", 0, 0, 0);
    tg_col t3 = col(TG_T_TIME, "time", 0, 0, 3);

    cr_expect_str_eq(conv(&t, tval("10:30"), 0), "10:30:00");
    cr_expect_str_eq(conv(&t, ival(3600), 0), "01:00:00");
    cr_expect_str_eq(conv(&t3, rval(5400.25), 0), "01:30:00.250");
    cr_expect_str_eq(conv(&t3, ival(-90), 0), "-00:01:30.000");
    cr_expect_str_eq(conv(&t3, tval("10:30:15.123456"), 0), "10:30:15.123");
    cr_expect(g_altered);
    cr_expect_str_eq(conv(&t, tval("838:59:59"), 0), "838:59:59");
    cr_expect_str_eq(conv(&t, tval("839:00:00"), 0), "REFUSED");
    cr_expect_str_eq(conv(&t, tval("2024-01-01 10:00"), 0), "REFUSED");
    cr_expect(strstr(g_why, "date and time") != NULL, "%s", g_why);
    cr_expect_str_eq(conv(&t, rval(2460000.5), 0), "REFUSED");
    cr_expect(strstr(g_why, "Julian") != NULL, "%s", g_why);
    cr_expect_str_eq(conv(&t, ival(4000000), 0), "REFUSED");
    cr_expect_str_eq(conv(&t, tval("3600"), 0), "REFUSED");
}

Test(replay_policy, text_gets_reals_as_their_shortest_text_and_only_utf8)
{
    tg_col x = col(TG_T_TEXT, "varchar", 0, 0, 0);
    tg_col j = col(TG_T_JSON, "longtext", 0, 0, 0);
    tg_col bin = col(TG_T_BINARY, "varbinary", 0, 0, 0);

    cr_expect_str_eq(conv(&j, rval(0.1), 0), "0.1");
    cr_expect_str_eq(conv(&x, rval(0.30000000000000004), 0),
                     "0.30000000000000004");
    cr_expect_str_eq(conv(&x, rval(1e300), 0), "1e+300");
    cr_expect_str_eq(conv(&x, rval(-INFINITY), 0), "-Inf");
    cr_expect_str_eq(conv(&x, bval("\xff", 1), 0), "REFUSED");
    cr_expect_str_eq(conv(&x, tval("\xc3\x28"), 0), "REFUSED");
    cr_expect(strstr(g_why, "UTF-8") != NULL, "%s", g_why);
    cr_expect_str_eq(conv(&bin, bval("\xff", 1), 0), "\xff");
    cr_expect_str_eq(conv(&bin, ival(12), 0), "12");
}

Test(replay_policy, shown_values_are_always_valid_utf8)
{
    char buf[120];
    jr_value v = tval("ok \xff\xfe\x01 \xc3\xa9");

    tg_value_show(buf, sizeof(buf), &v);
    cr_expect_str_eq(buf, "'ok \\xff\\xfe\\x01 \xc3\xa9'");
}
