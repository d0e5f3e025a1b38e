/*
** test_sl_opts.c -- the option table (runtime/sl_opts.c) is the one place
** a default is written: parsing sets it before reading argv, a value on
** the command line replaces it, --help shows it, and a default that does
** not fit its own option is reported (a program bug caught at start).
*/
#include <criterion/criterion.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_opts.h"

typedef struct cfg {
    long long poll_ms, batch;
    const char *level, *name;
} cfg;

static const sl_opt g_tab[] = {
    { "poll-ms", SL_OPT_INT, 1, 60000, offsetof(cfg, poll_ms), "N",
      "poll every N ms", "5" },
    { "batch", SL_OPT_INT, 1, 100, offsetof(cfg, batch), "N", "no default",
      NULL },
    { "log-level", SL_OPT_STR, 0, 0, offsetof(cfg, level), "LEVEL",
      "how much to say", "info" },
    { "name", SL_OPT_STR, 0, 0, offsetof(cfg, name), "NAME", "a name",
      NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL, NULL }
};

static int parse(cfg *c, int argc, char **argv, char *err, size_t cap)
{
    char *pos[8];
    int npos;

    memset(c, 0, sizeof(*c));
    return sl_opts_parse(g_tab, c, argc, argv, pos, &npos, err, cap);
}

Test(sl_opts, defaults_are_set_before_the_command_line_is_read)
{
    char *argv[] = { "prog", NULL };
    char err[200];
    cfg c;

    cr_assert_eq(parse(&c, 1, argv, err, sizeof(err)), SL_OPTS_OK, "%s",
                 err);
    cr_expect_eq(c.poll_ms, 5);
    cr_expect_eq(c.batch, 0, "an option without a default stays unset");
    cr_expect_str_eq(c.level, "info");
    cr_expect_null(c.name);
}

Test(sl_opts, a_value_given_replaces_the_default)
{
    char *argv[] = { "prog", "--poll-ms", "250", "--log-level=debug",
                     NULL };
    char err[200];
    cfg c;

    cr_assert_eq(parse(&c, 4, argv, err, sizeof(err)), SL_OPTS_OK, "%s",
                 err);
    cr_expect_eq(c.poll_ms, 250);
    cr_expect_str_eq(c.level, "debug");
}

Test(sl_opts, help_shows_each_default_from_the_table)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    cr_assert_not_null(f);
    sl_opts_help(f, "Usage: prog\n", g_tab, NULL);
    fclose(f);
    cr_expect_not_null(strstr(text, "poll every N ms (default 5)\n"),
                       "%s", text);
    cr_expect_not_null(strstr(text, "how much to say (default 'info')\n"),
                       "%s", text);
    cr_expect_not_null(strstr(text, "no default\n"), "%s", text);
    cr_expect_null(strstr(text, "a name (default"), "%s", text);
    free(text);
}

Test(sl_opts, a_default_outside_its_own_range_is_a_reported_bug)
{
    static const sl_opt bad[] = {
        { "n", SL_OPT_INT, 1, 10, 0, "N", "n", "11" },
        { NULL, 0, 0, 0, 0, NULL, NULL, NULL }
    };
    char *argv[] = { "prog", NULL }, *pos[2], err[200];
    long long v = 0;
    int npos;

    cr_assert_eq(sl_opts_parse(bad, &v, 1, argv, pos, &npos, err,
                               sizeof(err)), SL_OPTS_ERR);
    cr_expect_not_null(strstr(err, "default '11' of --n"), "%s", err);
}
