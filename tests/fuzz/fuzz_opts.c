/*
** fuzz_opts.c -- the option parser every program uses
** (runtime/sl_opts.c): sl_opts_parse over an argv made from the
** input (NUL-separated arguments), with a table of every option type, then
** sl_cli_parse (--help, --version, --log-level), sl_list_has and
** sl_parse_ll on the same arguments.
**
** Checked beyond "no crash, no leak": a refusal carries a message; after
** success every integer option holds a value inside its [min, max], every
** string option and positional points at one of the arguments (or at the
** text after its '='), and the positionals are the non-option arguments
** in order; sl_parse_ll accepts only what strtoll reads whole, in range.
*/
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_log.h"
#include "sl_opts.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)
#define MAXARG 32

typedef struct cfg {
    int once, flag2;
    const char *name, *list, *log_level;
    long long n, big;
} cfg;

static const sl_opt g_tab[] = {
    { "once", SL_OPT_FLAG, 0, 0, offsetof(cfg, once), NULL, "flag", NULL },
    { "flag-two", SL_OPT_FLAG, 0, 0, offsetof(cfg, flag2), NULL, "flag",
    NULL },
    { "name", SL_OPT_STR, 0, 0, offsetof(cfg, name), "NAME", "string", NULL },
    { "tables", SL_OPT_STR, 0, 0, offsetof(cfg, list), "T1,T2", "list", NULL },
    { "poll-ms", SL_OPT_INT, 1, 60000, offsetof(cfg, n), "N", "int", NULL },
    { "from", SL_OPT_INT, 0, INT64_MAX, offsetof(cfg, big), "SEQ", "int",
    NULL },
    { "log-level", SL_OPT_STR, 0, 0, offsetof(cfg, log_level), "LEVEL",
      "level", NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL, NULL }
};

/* p points at argv[k] or inside it, after its '='. */
static int in_args(const char *p, char **argv, int argc)
{
    for (int k = 1; k < argc; k++) {
        const char *eq = strchr(argv[k], '=');
        if (p == argv[k] || (eq != NULL && p == eq + 1))
            return 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1), *argv[MAXARG + 2], *pos[MAXARG + 2];
    char errbuf[300];
    int argc = 1, npos = -1, rc;
    cfg c;
    sl_cli cli = { "fuzz-opts", g_tab, "Usage: fuzz-opts\n", NULL,
                   "fuzz-opts 0" };

    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    argv[0] = "fuzz-opts";
    for (size_t i = 0; i <= size && argc <= MAXARG; ) {
        argv[argc++] = buf + i;
        i += strlen(buf + i) + 1;
    }
    argv[argc] = NULL;

    memset(&c, 0, sizeof(c));
    errbuf[0] = 0;
    rc = sl_opts_parse(g_tab, &c, argc, argv, pos, &npos, errbuf,
                       sizeof(errbuf));
    CHECK(npos >= 0 && npos < argc);
    if (rc == SL_OPTS_ERR) {
        CHECK(errbuf[0] != 0);
    } else if (rc == SL_OPTS_OK) {
        int k = 0;
        CHECK(c.n == 0 || (c.n >= 1 && c.n <= 60000));
        CHECK(c.big >= 0);
        CHECK(c.once == 0 || c.once == 1);
        CHECK(c.name == NULL || in_args(c.name, argv, argc));
        CHECK(c.list == NULL || in_args(c.list, argv, argc));
        for (int i = 0; i < npos; i++) {
            CHECK(in_args(pos[i], argv, argc));
            /* in order */
            while (k < argc && argv[k] != pos[i])
                k++;
            CHECK(k < argc);
        }
        if (c.list != NULL)
            for (int i = 1; i < argc; i++)
                (void)sl_list_has(c.list, argv[i]);
    } else {
        CHECK(rc == SL_OPTS_HELP || rc == SL_OPTS_VERSION);
    }
    for (int i = 1; i < argc; i++) {
        long long v = 0, w;
        char *end;
        if (sl_parse_ll(argv[i], -1000, 1000, &v) == 0) {
            errno = 0;
            w = strtoll(argv[i], &end, 10);
            CHECK(errno == 0 && *end == 0 && argv[i][0] != 0 && w == v &&
                  v >= -1000 && v <= 1000);
        }
    }
    /* the program-level wrapper: help to stdout, errors to stderr */
    memset(&c, 0, sizeof(c));
    {
        rc = sl_cli_parse(&cli, &c, &c.log_level, argc, argv);
        CHECK(rc == -1 || rc == 0 || rc == 64);
        if (rc == -1)
            CHECK(npos == 0);
        sl_log_level = SL_INFO;
    }
    free(buf);
    return 0;
}
