/*
** sl_opts.h -- one option table per program drives parsing and --help
** (the Redis static_configs[] idea, reduced to what a CLI needs).
**
**   static const sl_opt opts[] = {
**       { "once", SL_OPT_FLAG, 0, 0, offsetof(cfg, once), NULL,
**         "drain what is there, then exit 0" },
**       { "poll-ms", SL_OPT_INT, 1, 60000, offsetof(cfg, poll_ms), "N",
**         "poll interval in milliseconds", "5" },
**       { NULL }
**   };
** Options are --name VALUE or --name=VALUE and may appear anywhere; the
** rest are positional arguments, in order ("--" ends the options).
*/
#ifndef SLUICE_SL_OPTS_H
#define SLUICE_SL_OPTS_H

#include <stddef.h>
#include <stdio.h>

enum {
    SL_OPT_FLAG,   /* int field set to 1 */
    SL_OPT_STR,    /* const char * field, points into argv */
    SL_OPT_INT     /* long long field, checked against [min, max] */
};

typedef struct sl_opt {
    const char *name;
    int type;
    long long min, max;
    size_t offset;
    const char *metavar;
    const char *help;
    const char *def;   /* the default, or NULL: set before argv is read
                          and shown by --help as "(default DEF)"; the
                          only place a default is written */
} sl_opt;

enum { SL_OPTS_OK = 0, SL_OPTS_HELP = 1, SL_OPTS_VERSION = 2,
       SL_OPTS_ERR = -1 };

/* Parse argv[1..] into cfg, after setting every option that has a
** default to it. Positionals are stored in pos[] (argv
** pointers; pos must hold argc entries) and counted in *npos. Returns
** SL_OPTS_OK, SL_OPTS_HELP (--help/-h), SL_OPTS_VERSION (--version) or
** SL_OPTS_ERR with a message for the user in errbuf. */
int sl_opts_parse(const sl_opt *tab, void *cfg, int argc, char **argv,
                  char **pos, int *npos, char *errbuf, size_t cap);

/* Print usage, then the option table, then footer (may be NULL). */
void sl_opts_help(FILE *f, const char *usage, const sl_opt *tab,
                  const char *footer);

/* The command line of a long-running program: what sl_cli_parse() needs
** beyond the option table. */
typedef struct sl_cli {
    const char *prog;            /* "sluice-capture" */
    const sl_opt *opts;
    const char *usage, *footer;  /* --help text around the table */
    const char *version;         /* the --version line */
} sl_cli;

/* Print "PROG: msg" and the --help hint to stderr; returns 64
** (EX_USAGE), the exit status of a usage error. */
int sl_usage_error(const char *prog, const char *msg);

/* Parse argv into cfg (no positional arguments allowed), answer --help
** and --version, and apply *log_level (a field of cfg, may be NULL).
** Returns -1 to go on, or the exit status main() should return (0 after
** --help/--version, 64 after a usage error, already reported). */
int sl_cli_parse(const sl_cli *cli, void *cfg, const char *const *log_level,
                 int argc, char **argv);

/* Is `name` an item of the comma-separated `list` (--tables A,B)? */
int sl_list_has(const char *list, const char *name);

/* Strict integer parse of s into [min, max]. 0 on success, -1 if not. */
int sl_parse_ll(const char *s, long long min, long long max, long long *out);

#endif
