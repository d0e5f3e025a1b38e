/*
** sl_opts.c -- table-driven command-line parsing and --help.
** INVARIANT: every rejected argument produces a message naming it and
** what would be accepted; nothing is silently ignored.
*/
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sl_log.h"
#include "sl_opts.h"

int sl_parse_ll(const char *s, long long min, long long max, long long *out)
{
    char *end;
    long long v;

    if (s == NULL || *s == 0)
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != 0 || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static const sl_opt *find(const sl_opt *tab, const char *name, size_t len)
{
    for (; tab->name != NULL; tab++)
        if (strlen(tab->name) == len && strncmp(tab->name, name, len) == 0)
            return tab;
    return NULL;
}

/* A default that does not parse is the program's bug, not the user's:
** it is reported as one, naming the option. */
static int set_defaults(const sl_opt *tab, void *cfg, char *errbuf,
                        size_t cap)
{
    for (; tab->name != NULL; tab++) {
        long long v;
        if (tab->def == NULL)
            continue;
        if (tab->type == SL_OPT_STR) {
            *(const char **)((char *)cfg + tab->offset) = tab->def;
        } else if (tab->type == SL_OPT_INT &&
                   sl_parse_ll(tab->def, tab->min, tab->max, &v) == 0) {
            *(long long *)((char *)cfg + tab->offset) = v;
        } else {
            snprintf(errbuf, cap, "internal error: the default '%s' of "
                     "--%s is not valid", tab->def, tab->name);
            return SL_OPTS_ERR;
        }
    }
    return SL_OPTS_OK;
}

int sl_opts_parse(const sl_opt *tab, void *cfg, int argc, char **argv,
                  char **pos, int *npos, char *errbuf, size_t cap)
{
    int only_pos = 0;

    *npos = 0;
    if (set_defaults(tab, cfg, errbuf, cap) != SL_OPTS_OK)
        return SL_OPTS_ERR;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = NULL, *eq;
        const sl_opt *o;
        size_t len;

        if (only_pos || a[0] != '-' || a[1] == 0) {
            pos[(*npos)++] = argv[i];
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
            return SL_OPTS_HELP;
        if (strcmp(a, "--version") == 0)
            return SL_OPTS_VERSION;
        if (a[1] != '-') {
            snprintf(errbuf, cap, "unknown option '%s' (options are "
                     "--long-names; see --help)", a);
            return SL_OPTS_ERR;
        }
        a += 2;
        eq = strchr(a, '=');
        len = eq ? (size_t)(eq - a) : strlen(a);
        o = find(tab, a, len);
        if (o == NULL) {
            snprintf(errbuf, cap, "unknown option '--%.*s' (see --help)",
                     (int)len, a);
            return SL_OPTS_ERR;
        }
        if (o->type == SL_OPT_FLAG) {
            if (eq != NULL) {
                snprintf(errbuf, cap, "option '--%s' takes no value",
                         o->name);
                return SL_OPTS_ERR;
            }
            *(int *)((char *)cfg + o->offset) = 1;
            continue;
        }
        if (eq != NULL)
            val = eq + 1;
        else if (i + 1 < argc)
            val = argv[++i];
        if (val == NULL) {
            snprintf(errbuf, cap, "option '--%s' needs a value (%s)",
                     o->name, o->metavar ? o->metavar : "VALUE");
            return SL_OPTS_ERR;
        }
        if (o->type == SL_OPT_STR) {
            *(const char **)((char *)cfg + o->offset) = val;
        } else {
            long long v;
            if (sl_parse_ll(val, o->min, o->max, &v) != 0) {
                snprintf(errbuf, cap, "option '--%s': '%s' is not an "
                         "integer from %lld to %lld", o->name, val,
                         o->min, o->max);
                return SL_OPTS_ERR;
            }
            *(long long *)((char *)cfg + o->offset) = v;
        }
    }
    return SL_OPTS_OK;
}

void sl_opts_help(FILE *f, const char *usage, const sl_opt *tab,
                  const char *footer)
{
    fputs(usage, f);
    if (tab->name != NULL)
        fputs("\nOptions:\n", f);
    for (; tab->name != NULL; tab++) {
        char left[64];
        snprintf(left, sizeof(left), "--%s%s%s", tab->name,
                 tab->metavar ? " " : "", tab->metavar ? tab->metavar : "");
        if (tab->def == NULL)
            fprintf(f, "  %-24s %s\n", left, tab->help);
        else if (tab->type == SL_OPT_STR)
            fprintf(f, "  %-24s %s (default '%s')\n", left, tab->help,
                    tab->def);
        else
            fprintf(f, "  %-24s %s (default %s)\n", left, tab->help,
                    tab->def);
    }
    fprintf(f, "  %-24s %s\n", "-h, --help", "show this help and exit");
    if (footer != NULL)
        fputs(footer, f);
}

int sl_usage_error(const char *prog, const char *msg)
{
    fprintf(stderr, "%s: %s\nRun '%s --help' for usage.\n", prog, msg,
            prog);
    return 64;
}

int sl_cli_parse(const sl_cli *cli, void *cfg, const char *const *log_level,
                 int argc, char **argv)
{
    char errbuf[300];
    char **pos = calloc((size_t)argc + 1, sizeof(char *));
    int npos = 0, rc;

    if (pos == NULL)
        return sl_usage_error(cli->prog, "out of memory");
    rc = sl_opts_parse(cli->opts, cfg, argc, argv, pos, &npos, errbuf,
                       sizeof(errbuf));
    free(pos);
    if (rc == SL_OPTS_HELP) {
        sl_opts_help(stdout, cli->usage, cli->opts, cli->footer);
        return 0;
    }
    if (rc == SL_OPTS_VERSION) {
        printf("%s\n", cli->version);
        return 0;
    }
    if (rc != SL_OPTS_OK)
        return sl_usage_error(cli->prog, errbuf);
    if (npos > 0)
        return sl_usage_error(cli->prog, "unexpected argument (all options "
                              "are --name VALUE)");
    if (log_level != NULL && *log_level != NULL) {
        int lv = sl_log_parse_level(*log_level);
        if (lv < 0)
            return sl_usage_error(cli->prog, "--log-level must be debug, "
                                  "info, warn or error");
        sl_log_level = lv;
    }
    return -1;
}

int sl_list_has(const char *list, const char *name)
{
    size_t n = strlen(name);
    const char *p = list;

    while (p != NULL && *p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return 1;
        p = comma ? comma + 1 : NULL;
    }
    return 0;
}
