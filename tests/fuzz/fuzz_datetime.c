/*
** fuzz_datetime.c -- the SQLite date/time text parser of replay
** (tg_parse_datetime in target/tg_text.c): any text a source column
** holds reaches it.
**
** Checked beyond "no crash": an accepted value is written as exactly
** YYYY-MM-DD (date only) or YYYY-MM-DD HH:MM:SS.ffffff with a year of
** 0000..9999, a month of 1..12, a day that exists in that month and
** year, 00..23:00..59:00..59; and parsing that output again gives it
** back unchanged (it is already UTC and normal).
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static int num(const char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        CHECK(p[i] >= '0' && p[i] <= '9');
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

static void check_date(const char *o)
{
    static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
                                 31 };
    int y = num(o, 4), m, d, leap;

    CHECK(o[4] == '-' && o[7] == '-');
    m = num(o + 5, 2);
    d = num(o + 8, 2);
    leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    CHECK(m >= 1 && m <= 12);
    CHECK(d >= 1 && d <= mdays[m - 1] + (m == 2 && leap));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char out[64], again[64];
    int date_only = -1, d2 = -1;

    memset(out, 'Z', sizeof(out));
    if (tg_parse_datetime((const char *)data, size, out, sizeof(out),
                          &date_only) != 0)
        return 0;
    CHECK(date_only == 0 || date_only == 1);
    if (date_only) {
        CHECK(strlen(out) == 10);
    } else {
        CHECK(strlen(out) == 26);
        CHECK(out[10] == ' ' && out[13] == ':' && out[16] == ':' &&
              out[19] == '.');
        CHECK(num(out + 11, 2) <= 23 && num(out + 14, 2) <= 59 &&
              num(out + 17, 2) <= 59);
        (void)num(out + 20, 6);
    }
    check_date(out);
    CHECK(tg_parse_datetime(out, strlen(out), again, sizeof(again), &d2) == 0);
    CHECK(d2 == date_only && strcmp(out, again) == 0);
    return 0;
}
