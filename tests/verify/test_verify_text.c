/*
** test_verify_text.c -- tools/verify/vf_text.c: the canonical forms
** verify compares numbers, decimals, dates and times in. No server.
**
** INVARIANT: every expectation here is what MariaDB 10.11 itself does
** (checked by hand against the server: DECIMAL rounds half away from
** zero, fractional seconds are truncated, TIME may exceed 24 hours).
*/
#include <string.h>

#include <criterion/criterion.h>

#include "vf.h"
#include "sl_utf8.h"

static const char *dec(const char *in, int scale)
{
    static char out[160];
    if (tg_dec_norm(in, strlen(in), scale, out, sizeof(out)) != 0)
        return "ERR";
    return out;
}

Test(verify_text, decimals_round_half_away_from_zero_at_the_scale)
{
    cr_expect_str_eq(dec("12.345", 2), "12.35");
    cr_expect_str_eq(dec("-0.125", 2), "-0.13");
    cr_expect_str_eq(dec("0.125", 2), "0.13");
    cr_expect_str_eq(dec("12.344999", 2), "12.34");
    cr_expect_str_eq(dec("9.995", 2), "10.00");
    cr_expect_str_eq(dec("-9.995", 2), "-10.00");
    cr_expect_str_eq(dec("100", 2), "100.00");
    cr_expect_str_eq(dec("7", 0), "7");
    cr_expect_str_eq(dec("0.5", 0), "1");
    cr_expect_str_eq(dec("0.05", 0), "0");
    cr_expect_str_eq(dec("0.10000000000000001", 2), "0.10");
    cr_expect_str_eq(dec("1.4999999999999999e-07", 9), "0.000000150");
    cr_expect_str_eq(dec("1e+20", 0), "100000000000000000000");
    cr_expect_str_eq(dec("-0.001", 2), "0.00");
    cr_expect_str_eq(dec("-0", 3), "0.000");
    cr_expect_str_eq(dec("000123.4500", 1), "123.5");
    cr_expect_str_eq(dec(".5", 1), "0.5");
}

Test(verify_text, text_that_is_not_a_number_is_refused)
{
    cr_expect_str_eq(dec("", 2), "ERR");
    cr_expect_str_eq(dec("abc", 2), "ERR");
    cr_expect_str_eq(dec("1.2.3", 2), "ERR");
    cr_expect_str_eq(dec(" 1", 2), "ERR");
    cr_expect_str_eq(dec("1e", 2), "ERR");
    cr_expect_str_eq(dec("0x10", 2), "ERR");
    cr_expect_str_eq(dec("inf", 2), "ERR");
    cr_expect_not(tg_is_number("NaN", 3));
    cr_expect(tg_is_number("-1.5E-3", 7));
}

Test(verify_text, decimals_compare_by_value)
{
    cr_expect_lt(tg_dec_cmp("-10.00", 6, "-9.99", 5), 0);
    cr_expect_lt(tg_dec_cmp("9.99", 4, "10.00", 5), 0);
    cr_expect_gt(tg_dec_cmp("0.01", 4, "-0.01", 5), 0);
    cr_expect_eq(tg_dec_cmp("12.35", 5, "12.35", 5), 0);
    cr_expect_lt(tg_dec_cmp("12.34", 5, "12.35", 5), 0);
}

Test(verify_text, integers_are_parsed_strictly_within_int64)
{
    int64_t v = 0;

    cr_expect_eq(tg_parse_i64("-9223372036854775808", 20, &v), 0);
    cr_expect_eq(v, INT64_MIN);
    cr_expect_eq(tg_parse_i64("9223372036854775808", 19, &v), -1);
    cr_expect_eq(tg_parse_i64("12a", 3, &v), -1);
    cr_expect_eq(tg_parse_i64("+", 1, &v), -1);
    cr_expect_eq(tg_parse_i64("", 0, &v), -1);
}

static const char *dt(const char *in, int frac, int date_only)
{
    static char out[64];
    if (tg_datetime_norm(in, strlen(in), frac, date_only, out,
                         sizeof(out)) != 0)
        return "ERR";
    return out;
}

Test(verify_text, datetimes_keep_the_columns_digits_and_truncate_the_rest)
{
    cr_expect_str_eq(dt("2026-04-16 20:41:27.490000", 6, 0),
                     "2026-04-16 20:41:27.490000");
    cr_expect_str_eq(dt("2026-04-16 20:41:27.491", 3, 0),
                     "2026-04-16 20:41:27.491000");
    cr_expect_str_eq(dt("2026-04-16 20:41:27.999999", 3, 0),
                     "2026-04-16 20:41:27.999000");
    cr_expect_str_eq(dt("2026-04-16 20:41:27", 0, 0),
                     "2026-04-16 20:41:27.000000");
    cr_expect_str_eq(dt("2026-04-16", 6, 0), "2026-04-16 00:00:00.000000");
    cr_expect_str_eq(dt("2026-04-16 20:41:27.5", 6, 1), "2026-04-16");
    cr_expect_str_eq(dt("2026-04-16 20:41", 6, 0), "ERR");
    cr_expect_str_eq(dt("yesterday", 6, 0), "ERR");
}

static const char *tm(const char *in, int frac)
{
    static char out[64];
    if (tg_time_norm(in, strlen(in), frac, out, sizeof(out)) != 0)
        return "ERR";
    return out;
}

Test(verify_text, times_may_be_negative_long_or_written_with_days)
{
    cr_expect_str_eq(tm("12:34:56.7891", 3), "12:34:56.789000");
    cr_expect_str_eq(tm("12:34:56.789000", 6), "12:34:56.789000");
    cr_expect_str_eq(tm("-838:59:59", 0), "-838:59:59.000000");
    cr_expect_str_eq(tm("1 02:00:00", 6), "26:00:00.000000");
    cr_expect_str_eq(tm("12:34", 6), "12:34:00.000000");
    cr_expect_str_eq(tm("-00:00:00", 6), "00:00:00.000000");
    cr_expect_str_eq(tm("12:61", 6), "ERR");
    cr_expect_str_eq(tm("noon", 6), "ERR");
}

Test(verify_text, utf8_validity_is_checked_byte_by_byte)
{
    cr_expect(sl_utf8_valid("\xc3\xa9", 2, 0));
    cr_expect_not(sl_utf8_valid("\xc3", 1, 0));
    cr_expect_not(sl_utf8_valid("\xed\xa0\x80", 3, 0));
    cr_expect_not(sl_utf8_valid("\xff", 1, 0));
}
