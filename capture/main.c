/*
** main.c -- sluice-capture: parse options, run the capture loop.
** Everything else lives in cap_*.c so tests can link it.
**
** INVARIANTS:
**  (M1) exit status says what kind of end it was: 0 done (or stopped by
**       SIGTERM/SIGINT), 64 usage, 69 cannot start, 70 a failure retrying
**       cannot fix, 75 --once gave up waiting; every non-zero exit has
**       logged one line naming the problem first.
**  (M2) the /metrics thread never reads capture state: the loop renders
**       the exposition in tick() and publishes a copy (sl_metrics.h).
*/
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cap.h"
#include "sl_clock.h"
#include "sl_log.h"
#include "sl_metrics.h"
#include "sl_opts.h"
#include "sl_prom.h"
#include "sl_sig.h"

#define EX_USAGE       64
#define EX_UNAVAILABLE 69
#define EX_SOFTWARE    70
#define EX_TEMPFAIL    75

static const sl_opt g_opts[] = {
    { "source", SL_OPT_STR, 0, 0, offsetof(cap_cfg, source), "DB",
      "the SQLite database to capture (required)", NULL },
    { "journal", SL_OPT_STR, 0, 0, offsetof(cap_cfg, journal), "DIR",
      "the journal directory, created if missing (required)", NULL },
    { "tables", SL_OPT_STR, 0, 0, offsetof(cap_cfg, tables), "T1,T2",
      "capture only these tables (default: all)", NULL },
    { "exclude-tables", SL_OPT_STR, 0, 0, offsetof(cap_cfg, exclude_tables),
      "T3,T4", "never capture these tables", NULL },
    { "once", SL_OPT_FLAG, 0, 0, offsetof(cap_cfg, once), NULL,
      "journal everything committed so far, then exit 0", NULL },
    { "poll-ms", SL_OPT_INT, 1, 60000, offsetof(cap_cfg, poll_ms), "N",
      "check the source for commits every N ms", "5" },
    { "busy-timeout-ms", SL_OPT_INT, 1, 600000, offsetof(cap_cfg, busy_ms),
      "N", "reads wait up to N ms for a lock; --once and --pause/--resume/"
      "--uninstall wait up to N ms for a moment with no application "
      "transaction open to write to the source", "5000" },
    { "batch", SL_OPT_INT, 1, 1000000, offsetof(cap_cfg, batch), "N",
      "records per journal commit inside a large group", "10000" },
    { "map-max-mb", SL_OPT_INT, 16, 1 << 24, offsetof(cap_cfg, map_max_mb),
      "N", "cap on the journal's size in MiB, 16 or more; at the cap "
      "capture waits for replicas", "65536" },
    { "retention-s", SL_OPT_INT, 0, 100LL * 365 * 86400,
      offsetof(cap_cfg, retention_s), "N",
      "keep records every replica has applied for N seconds, so a target "
      "restored from a backup catches up from its own position; older "
      "applied records go first when the journal reaches --map-max-mb "
      "(604800: 7 days)", "604800" },
    { "trim-rows", SL_OPT_INT, 1, 1LL << 40, offsetof(cap_cfg, trim_rows),
      "N", "delete journaled change-log rows from the source once a table's "
      "log holds N of them", "10000" },
    { "trim-age-s", SL_OPT_INT, 1, 100LL * 365 * 86400,
      offsetof(cap_cfg, trim_age_s), "N", "... or once the oldest has "
      "waited N seconds", "300" },
    { "keep-journal-mode", SL_OPT_FLAG, 0, 0,
      offsetof(cap_cfg, keep_journal_mode), NULL,
      "do not switch the source to WAL (see README)", NULL },
    { "pause", SL_OPT_FLAG, 0, 0, offsetof(cap_cfg, pause), NULL,
      "remove the capture triggers for a migration, then exit", NULL },
    { "resume", SL_OPT_FLAG, 0, 0, offsetof(cap_cfg, resume), NULL,
      "end a pause (tables are re-snapshotted), then exit", NULL },
    { "uninstall", SL_OPT_FLAG, 0, 0, offsetof(cap_cfg, uninstall), NULL,
      "remove every trigger and table sluice added, then exit", NULL },
    { "metrics", SL_OPT_STR, 0, 0, offsetof(cap_cfg, metrics), "HOST:PORT",
      "serve Prometheus metrics at http://HOST:PORT/metrics (e.g. "
      "127.0.0.1:9464)", NULL },
    { "log-level", SL_OPT_STR, 0, 0, offsetof(cap_cfg, log_level), "LEVEL",
      "debug, info, warn or error", "info" },
    { NULL, 0, 0, 0, 0, NULL, NULL, NULL }
};

static const char g_usage[] =
    "Usage: sluice-capture --source DB --journal DIR [--tables T1,T2]\n"
    "                      [--exclude-tables T3] [--once] [--poll-ms N]\n"
    "                      [--metrics HOST:PORT]\n"
    "       sluice-capture --source DB --pause | --resume | --uninstall\n"
    "\n"
    "Capture every committed change of an SQLite database into a sluice\n"
    "journal: installs triggers and _sluice* change-log tables in DB, "
    "takes\n"
    "a consistent snapshot of each table, then journals changes as they\n"
    "commit. Runs until SIGTERM/SIGINT (exit 0) unless --once.\n";

static const char g_footer[] =
    "\nExit status: 0 ok, 64 usage error, 69 cannot start (bad source or\n"
    "journal), 70 failed while running, 75 (--once) the source stayed busy\n"
    "too long for a write capture needed: run it again. Logs go to stderr,\n"
    "one logfmt line per event.\n";

static int usage_error(const char *msg)
{
    return sl_usage_error("sluice-capture", msg);
}

/* Render and publish the /metrics text (at most once a second). */
static void publish(sl_metrics *m, cap_state *st, const char *db,
                    int force)
{
    static int64_t last_s = -1;
    int64_t now_s;
    const cap_stats *s = cap_get_stats(st);
    char *text = NULL;
    size_t len = 0;
    FILE *f;

    if (m == NULL)
        return;
    now_s = sl_mono_us() / 1000000;
    if (!force && now_s == last_s)
        return;
    last_s = now_s;
    if ((f = open_memstream(&text, &len)) == NULL)
        return;
    jr_metrics_write(f, cap_journal(st), db, NULL, 0, NULL);
#define M(name, type, help, fmt, val)                                     \
    do {                                                                  \
        sl_prom_family(f, name, type, help);                              \
        sl_prom_sample(f, name, db, NULL);                                \
        fprintf(f, " " fmt "\n", val);                                    \
    } while (0)
    M("sluice_capture_changes_total", "counter",
      "Row changes journaled since start.", "%llu",
      (unsigned long long)s->changes);
    M("sluice_capture_snapshot_rows_total", "counter",
      "Rows journaled by table snapshots since start.", "%llu",
      (unsigned long long)s->snapshot_rows);
    M("sluice_capture_groups_total", "counter",
      "Journal groups committed since start.", "%llu",
      (unsigned long long)s->groups);
    M("sluice_capture_backpressure", "gauge",
      "1 while capture waits for space in a full journal.", "%d",
      s->backpressure);
    M("sluice_capture_gaps_total", "counter",
      "Change-log gaps found (rows gone before they were journaled); each "
      "re-snapshots its table.", "%llu", (unsigned long long)s->gaps);
    M("sluice_capture_trimmed_rows_total", "counter",
      "Journaled change-log rows deleted from the source.", "%llu",
      (unsigned long long)s->trimmed);
    M("sluice_capture_source_commits_total", "counter",
      "Commits capture made to the source (installs, trims).", "%llu",
      (unsigned long long)s->source_commits);
    M("sluice_capture_source_writes_deferred_total", "counter",
      "Source writes put off because another process had a transaction "
      "open.", "%llu", (unsigned long long)s->writes_deferred);
    M("sluice_capture_schema_change_waiting_seconds", "gauge",
      "How long a schema change has waited for a moment without "
      "application transactions (0 if none waits).", "%.3f",
      s->waiting_since_us ? (double)(sl_mono_us() - s->waiting_since_us)
                            / 1e6 : 0.0);
    M("sluice_capture_paused", "gauge",
      "1 while capture is paused (sluice-capture --pause).", "%d",
      cap_paused(st));
    M("sluice_capture_last_change_timestamp_seconds", "gauge",
      "Source change time of the newest journaled change.", "%.3f",
      (double)s->last_change_us / 1e6);
#undef M
    cap_metrics_write(f, st, db);       /* backlog, end-to-end lag, process */
    fclose(f);
    sl_metrics_publish(m, text, len);
    free(text);
}

typedef struct tick_ctx {
    sl_metrics *m;
    cap_state *st;
    const char *db;
} tick_ctx;

static void tick(void *arg)
{
    tick_ctx *t = arg;

    publish(t->m, t->st, t->db, 0);
}

static int run(const cap_cfg *cfg)
{
    cap_state *st;
    sl_metrics *m = NULL;
    jr_err err = { 0 };
    char db[256], merr[200], q[600];
    const char *base = strrchr(cfg->journal, '/');
    int rc = JR_OK, status = EX_SOFTWARE;
    int64_t pending_since = 0;

    snprintf(db, sizeof(db), "%s", base && base[1] ? base + 1
                                                   : cfg->journal);
    if (cfg->metrics != NULL &&
        sl_metrics_start(&m, cfg->metrics, merr, sizeof(merr)) != 0) {
        SL_LOG(SL_ERROR, "capture.usage", "msg=%s", sl_q(q, sizeof(q), merr));
        return EX_USAGE;
    }
    if ((rc = cap_open(&st, cfg, (volatile int *)&sl_stop, &err)) !=
        JR_OK) {
        SL_LOG(SL_ERROR, "capture.start_failed", "msg=%s",
               sl_q(q, sizeof(q), err.msg));
        sl_metrics_stop(m);
        if (sl_stop)
            return 0;
        return rc == JR_EAGAIN ? EX_TEMPFAIL : EX_UNAVAILABLE;
    }
    if (m != NULL) {
        char url[300];
        snprintf(url, sizeof(url), "http://%s/metrics", cfg->metrics);
        SL_LOG(SL_INFO, "capture.metrics", "url=%s port=%u",
               sl_q(q, sizeof(q), url), sl_metrics_port(m));
    }
    publish(m, st, db, 1);
    {
        static tick_ctx tc;
        tc.m = m; tc.st = st; tc.db = db;
        cap_set_tick(st, tick, &tc);
    }
    while (!sl_stop) {
        publish(m, st, db, 0);
        rc = cap_step(st, (volatile int *)&sl_stop, &err);
        if (rc == JR_OK) {
            if ((rc = cap_housekeep(st, 0, &err)) != JR_OK)
                break;
            continue;
        }
        if (rc == JR_EFULL) {
            jr_err_clear(&err);
            sl_sleep_ms(500);
            continue;
        }
        if (rc != JR_EAGAIN)
            break;
        if (cfg->once && cap_pending(st)) {
            /* --once must not end before a schema change is captured,
            ** nor wait forever for a moment to install its triggers */
            if (pending_since == 0)
                pending_since = sl_mono_us();
            if (sl_mono_us() - pending_since > cfg->busy_ms * 1000) {
                cap_fail(&err, "once", "a schema change could not be "
                         "captured within --busy-timeout-ms=%lld: the "
                         "source always had an application transaction "
                         "open; run sluice-capture again",
                         (long long)cfg->busy_ms);
                status = EX_TEMPFAIL;
                rc = JR_ERR;
                break;
            }
            sl_sleep_ms(cfg->poll_ms);
            continue;
        }
        if ((rc = cap_housekeep(st, cfg->once, &err)) != JR_OK || cfg->once)
            break;
        cap_wait(st, (volatile int *)&sl_stop);
    }
    if (rc == JR_EAGAIN || sl_stop)
        rc = JR_OK;
    if (rc == JR_OK) {
        const cap_stats *s;
        if (!cfg->once && cap_housekeep(st, 1, &err) != JR_OK)
            jr_err_clear(&err);         /* best effort at exit */
        s = cap_get_stats(st);          /* after the exit trims: counted */
        SL_LOG(SL_INFO, "capture.stopped", "head_seq=%llu changes=%llu "
               "snapshot_rows=%llu groups=%llu source_commits=%llu "
               "writes_deferred=%llu trimmed=%llu gaps=%llu logs_read=%llu "
               "logs_skipped=%llu",
               (unsigned long long)s->head_seq,
               (unsigned long long)s->changes,
               (unsigned long long)s->snapshot_rows,
               (unsigned long long)s->groups,
               (unsigned long long)s->source_commits,
               (unsigned long long)s->writes_deferred,
               (unsigned long long)s->trimmed,
               (unsigned long long)s->gaps,
               (unsigned long long)s->logs_read,
               (unsigned long long)s->logs_skipped);
    } else {
        const char *msg = err.msg[0] ? err.msg : jr_strerror(rc);
        SL_LOG(SL_ERROR, "capture.failed", "msg=%s", sl_q(q, sizeof(q), msg));
    }
    cap_close(st);
    sl_metrics_stop(m);
    return rc == JR_OK ? 0 : status;
}

/* --tables/--exclude-tables: a comma list of non-empty names. */
static const char *bad_list(const char *opt, const char *list)
{
    static char msg[200];
    const char *p = list;

    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 0) {
            snprintf(msg, sizeof(msg), "%s has an empty table name (an "
                     "empty list, two commas, or a comma at either end): "
                     "give a comma-separated list of table names", opt);
            return msg;
        }
        if (comma == NULL)
            return NULL;
        p = comma + 1;
    }
}

int main(int argc, char **argv)
{
    cap_cfg cfg;
    char version[80];
    sl_cli cli = { "sluice-capture", g_opts, g_usage, g_footer, version };
    int rc, nadmin;

    memset(&cfg, 0, sizeof(cfg));
    sl_log_init(argv[0]);
    snprintf(version, sizeof(version), "sluice-capture " SLUICE_VERSION
             " (SQLite %s)", sqlite3_libversion());
    if ((rc = sl_cli_parse(&cli, &cfg, &cfg.log_level, argc, argv)) >= 0)
        return rc;
    if (cfg.source == NULL)
        return usage_error("--source DB is required");
    if (cfg.tables != NULL && bad_list("--tables", cfg.tables) != NULL)
        return usage_error(bad_list("--tables", cfg.tables));
    if (cfg.exclude_tables != NULL &&
        bad_list("--exclude-tables", cfg.exclude_tables) != NULL)
        return usage_error(bad_list("--exclude-tables", cfg.exclude_tables));
    nadmin = cfg.pause + cfg.resume + cfg.uninstall;
    if (nadmin > 1)
        return usage_error("--pause, --resume and --uninstall are "
                           "exclusive");
    if (nadmin == 1) {
        jr_err err = { 0 };
        char q[600];
        if (cap_admin(&cfg, &err) != JR_OK) {
            SL_LOG(SL_ERROR, "capture.admin_failed", "msg=%s",
                   sl_q(q, sizeof(q), err.msg));
            return EX_UNAVAILABLE;
        }
        return 0;
    }
    if (cfg.journal == NULL)
        return usage_error("--journal DIR is required");
    sl_sig_install();
    return run(&cfg);
}
