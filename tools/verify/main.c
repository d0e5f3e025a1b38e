/*
** main.c -- sluice-verify: parse options, open both sides, compare each
** table, print the results, exit with what they add up to.
**
** INVARIANT: the exit status is 0 only when every table compared
** completely and matched (vf_report_end); a usage error is 64 before
** anything is opened; a side that cannot be opened or is lost is 69;
** live mode (--journal, vf_live.c) waiting in vain is 75.
*/
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_log.h"
#include "sl_opts.h"
#include "vf.h"

static const sl_opt g_opts[] = {
    { "source", SL_OPT_STR, 0, 0, offsetof(vf_cfg, source), "DB",
      "the SQLite database (required; opened read-only)", NULL },
    { "target", SL_OPT_STR, 0, 0, offsetof(vf_cfg, target), "URL",
      "mariadb://USER@HOST[:PORT]/DB[?socket=PATH&tls=MODE&tls_ca=PATH] "
      "(required, as for sluice-replay); password from "
      "SLUICE_TARGET_PASSWORD or --password-file", NULL },
    { "password-file", SL_OPT_STR, 0, 0, offsetof(vf_cfg, password_file),
      "PATH", "read the MariaDB password from the first line of PATH", NULL },
    { "tables", SL_OPT_STR, 0, 0, offsetof(vf_cfg, tables), "T1,T2",
      "compare only these tables (default: every table capture takes)", NULL },
    { "exclude-tables", SL_OPT_STR, 0, 0,
      offsetof(vf_cfg, exclude_tables), "T3,T4",
      "skip these tables (as given to sluice-capture)", NULL },
    { "json", SL_OPT_FLAG, 0, 0, offsetof(vf_cfg, json), NULL,
      "print one JSON document instead of lines", NULL },
    { "show", SL_OPT_INT, 0, 1000, offsetof(vf_cfg, show), "N",
      "differences shown per table", "5" },
    { "hash-rows", SL_OPT_INT, 1, 1000000000,
      offsetof(vf_cfg, hash_rows), "N",
      "tables compared as multisets: rows per side held in memory per "
      "pass", "250000" },
    { "journal", SL_OPT_STR, 0, 0, offsetof(vf_cfg, journal), "DIR",
      "live mode: the pipeline's journal (opened read-only); compare the "
      "source at one snapshot with the target at the seq replay has "
      "applied, leaving out the keys changed in between (in_flux)", NULL },
    { "replica", SL_OPT_STR, 0, 0, offsetof(vf_cfg, replica), "NAME",
      "live mode: replay's --replica, whose position the target snapshot "
      "is read at (default 'default')", NULL },
    { "wait-s", SL_OPT_INT, 0, 86400, offsetof(vf_cfg, wait_s), "N",
      "live mode: wait at most N seconds in all for capture to journal the "
      "source snapshot and replay to apply it, else exit 75 (default 60)",
      NULL },
    { "log-level", SL_OPT_STR, 0, 0, offsetof(vf_cfg, log_level), "LEVEL",
      "debug, info, warn or error", "warn" },
    { NULL, 0, 0, 0, 0, NULL, NULL, NULL }
};

static const char g_usage[] =
    "Usage: sluice-verify --source DB --target URL [--tables T1,T2] "
    "[--json]\n"
    "       sluice-verify --source DB --target URL --journal DIR "
    "[--replica NAME] [--wait-s N]\n"
    "\n"
    "Compare every captured table of an SQLite database with its MariaDB\n"
    "copy, row by row and value by value, the way sluice-replay converts\n"
    "values (dates as UTC, booleans, reals bit-exact, DECIMAL at its\n"
    "scale). Both sides are streamed in key order, so memory does not "
    "grow\nwith the tables. Prints one line per table:\n"
    "  table=T source_rows=N target_rows=M missing=A extra=B differing=C\n"
    "  status=ok|DIFF|ERROR|skipped\n"
    "then the first differing keys with the column and both values, and a\n"
    "summary line. Values are compared as replay writes them (its value\n"
    "policy: MariaDB's roundings, UTC dates, ...), so a value changed\n"
    "behind sluice's back differs. Tables capture skips (virtual and\n"
    "shadow tables, too wide) are reported as skipped.\n"
    "\n"
    "Without --journal, compare a quiet pipeline (replay caught up): rows\n"
    "still in flight count as differences. With --journal (live mode) the\n"
    "application, capture and replay keep running: the source is read in\n"
    "one snapshot (it must be in WAL mode; capture defers its own writes\n"
    "to it meanwhile, the application is never blocked), verify waits for\n"
    "capture to journal that snapshot and for replay to apply it, then\n"
    "reads the target in one snapshot at replay's position. Keys changed\n"
    "by the journal records between the two snapshots are left out on\n"
    "both sides and counted (in_flux=N per table and in the summary); a\n"
    "table with a schema change, re-snapshot, truncation, drop or keyless\n"
    "change in between is reported as skipped. Every other row must be\n"
    "equal.\n";

static const char g_footer[] =
    "\nExit status: 0 every table matches, 1 a difference (or a table that\n"
    "could not be compared, or no table to compare at all), 64 usage\n"
    "error, 69 cannot open the source, the journal or reach the target,\n"
    "70 internal error (out of memory), 75 live mode: capture or replay\n"
    "did not catch up within --wait-s.\n";

static int usage_error(const char *msg)
{
    return sl_usage_error("sluice-verify", msg);
}

static int fatal_exit(const jr_err *e)
{
    fprintf(stderr, "sluice-verify: %s\n", e->msg);
    return e->cls == VF_FATAL_SW ? VF_EX_SOFTWARE
           : e->cls == VF_FATAL_WAIT ? VF_EX_TEMPFAIL : VF_EX_UNAVAILABLE;
}

static int replica_name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 63)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || strchr("_.-", *s) != NULL))
            return 0;
    return 1;
}

static char *g_target;           /* the URL, when argv's is scrubbed */

static void free_target(void)
{
    free(g_target);
}

/* 0 to go on, -1 after --help/--version, else the exit status. */
static int parse_args(vf_cfg *cfg, int argc, char **argv)
{
    char errbuf[600], version[160];
    sl_cli cli = { "sluice-verify", g_opts, g_usage, g_footer, version };
    tg_url u;
    jr_err je = { 0 };
    int rc;

    snprintf(version, sizeof(version), "sluice-verify " SLUICE_VERSION
             " (SQLite %s, MariaDB Connector/C %s)", sqlite3_libversion(),
             mysql_get_client_info());
    if ((rc = sl_cli_parse(&cli, cfg, &cfg->log_level, argc, argv)) >= 0)
        return rc == 0 ? -1 : rc;
    if (cfg->source == NULL)
        return usage_error("--source DB is required");
    if (cfg->target == NULL)
        return usage_error("--target URL is required");
    if (cfg->journal == NULL && cfg->replica != NULL)
        return usage_error("--replica belongs to live mode: give --journal "
                           "DIR too");
    if (cfg->journal == NULL && cfg->wait_s >= 0)
        return usage_error("--wait-s belongs to live mode: give --journal "
                           "DIR too");
    if (cfg->journal != NULL && cfg->journal[0] == 0)
        return usage_error("--journal: empty directory name");
    if (cfg->replica == NULL)
        cfg->replica = "default";
    if (!replica_name_ok(cfg->replica))
        return usage_error("--replica: a name is 1 to 63 characters of "
                           "A-Z a-z 0-9 _ . -");
    if (cfg->wait_s < 0)
        cfg->wait_s = 60;
    if (tg_url_parse(&u, cfg->target, &je) != JR_OK) {
        snprintf(errbuf, sizeof(errbuf), "--target: %s", je.msg);
        return usage_error(errbuf);
    }
    if (u.password_in_url) {
        if (cfg->password_file != NULL) {
            tg_url_free(&u);
            return usage_error("the --target URL carries a password and "
                               "--password-file gives another: use one");
        }
        SL_LOG(SL_WARN, "verify.password_in_url", "hint=\"a password in "
               "the target URL is visible in the process list and shell "
               "history: use SLUICE_TARGET_PASSWORD or --password-file\"");
        /* keep a copy to use; overwrite the one in the process list */
        if ((g_target = strdup(cfg->target)) == NULL) {
            tg_url_free(&u);
            return VF_EX_SOFTWARE;
        }
        atexit(free_target);
        cfg->target = g_target;
        for (int i = 1; i < argc; i++)
            if (strstr(argv[i], "://") != NULL)
                tg_url_scrub(argv[i]);
    }
    tg_url_free(&u);
    return 0;
}

int main(int argc, char **argv)
{
    vf_cfg cfg;
    vf_ctx x;
    vf_live live;
    jr_err e = { 0 };
    vf_report rep;
    char **names = NULL, **bad = NULL, **skip = NULL;
    int n = 0, rc;

    memset(&cfg, 0, sizeof(cfg));
    memset(&x, 0, sizeof(x));
    memset(&live, 0, sizeof(live));
    cfg.wait_s = -1;                      /* not given */
    sl_log_init(argv[0]);
    rc = parse_args(&cfg, argc, argv);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    x.cfg = &cfg;
    if (vf_src_open(&x.sdb, cfg.source, &e) != 0)
        return fatal_exit(&e);
    if (cfg.journal != NULL)
        x.live = &live;
    if (vf_tgt_open(&x.tdb, cfg.target, cfg.password_file, &e) != 0 ||
        (x.live != NULL && vf_live_begin(&x, x.live, &e) != 0) ||
        vf_src_tables(x.sdb, cfg.tables, cfg.exclude_tables, &names, &bad,
                      &skip, &n, &e) != 0) {
        vf_live_end(&x, x.live);
        sqlite3_close(x.sdb);
        if (x.tdb != NULL)
            mysql_close(x.tdb);
        return fatal_exit(&e);
    }
    vf_report_begin(&rep, stdout, cfg.json);
    if (x.live != NULL) {
        rep.live = 1;
        rep.from_seq = live.from_seq;
        rep.applied_seq = live.applied_seq;
    }
    for (int i = 0; i < n && e.code == JR_OK; i++) {
        vf_result r;
        if (vf_result_init(&r, names[i], (int)cfg.show) != 0) {
            vf_fail(&e, VF_FATAL_SW, "out of memory");
            break;
        }
        if (bad[i] != NULL) {
            vf_result_note(&r, "%s", bad[i]);
            r.status = VF_ST_ERROR;
        } else if (skip[i] != NULL) {
            vf_result_note(&r, "%s", skip[i]);
            r.status = VF_ST_SKIPPED;
            r.live = x.live != NULL;
        } else if (vf_run_table(&x, names[i], &r, &e) != 0) {
            vf_result_free(&r);
            break;
        }
        vf_report_table(&rep, &r);
        vf_result_free(&r);
    }
    vf_strv_free(names, n);
    vf_strv_free(bad, n);
    vf_strv_free(skip, n);
    vf_live_end(&x, x.live);
    tg_tables_clear(&x.ts);
    mysql_close(x.tdb);
    sqlite3_close(x.sdb);
    if (e.code != JR_OK)
        return fatal_exit(&e);
    return vf_report_end(&rep);
}
