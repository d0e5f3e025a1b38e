/*
** main.c -- sluice-replay: parse options, run the replay loop.
**
** INVARIANTS:
**  (M1) exit status says what kind of end it was: 0 done (or stopped by
**       SIGTERM/SIGINT), 1 --unregister found no such replica, 64 usage,
**       69 cannot start, 70 a failure retrying cannot fix; every non-zero
**       exit has logged one line naming the problem first.
**  (M2) the /metrics thread never reads replay state: the loop renders
**       the exposition in tick() and publishes a copy (sl_metrics.h).
*/
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rp_run.h"
#include "sl_prom.h"
#include "sl_log.h"
#include "sl_metrics.h"
#include "sl_opts.h"
#include "sl_sig.h"

#define EX_USAGE       64
#define EX_UNAVAILABLE 69
#define EX_SOFTWARE    70

static const sl_opt g_opts[] = {
    { "journal", SL_OPT_STR, 0, 0, offsetof(rp_cfg, journal), "DIR",
      "the journal directory written by sluice-capture (required)", NULL },
    { "target", SL_OPT_STR, 0, 0, offsetof(rp_cfg, target), "URL",
      "mariadb://USER@HOST[:PORT]/DB[?socket=PATH&tls=MODE&tls_ca=PATH] "
      "(required); TLS modes disabled, preferred, required (certificate "
      "verified), verify-full (and its host name); the password comes "
      "from SLUICE_TARGET_PASSWORD or --password-file. A Galera cluster: "
      "HOST:PORT,HOST:PORT,... (written through one Synced node at a "
      "time), &timeout=S (read/write timeout; default 60 with several "
      "hosts), &ws_fragment=BYTES (streaming-replication fragment size, "
      "default 16777216, 0 off)", NULL },
    { "password-file", SL_OPT_STR, 0, 0, offsetof(rp_cfg, password_file),
      "PATH", "read the MariaDB password from the first line of PATH", NULL },
    { "replica", SL_OPT_STR, 0, 0, offsetof(rp_cfg, replica), "NAME",
      "this replica's name in the journal and sqlite_sluice_position",
      "default" },
    { "once", SL_OPT_FLAG, 0, 0, offsetof(rp_cfg, once), NULL,
      "apply everything journaled so far, then exit 0", NULL },
    { "on-error", SL_OPT_STR, 0, 0, offsetof(rp_cfg, on_error),
      "stop|skip", "a value the target refuses: stop and retry, or skip: "
      "record it in sqlite_sluice_rejects and go on", "stop" },
    { "strict-values", SL_OPT_FLAG, 0, 0, offsetof(rp_cfg, strict_values),
      NULL, "refuse a value MariaDB would round or truncate (default: "
      "store what MariaDB stores, counted and logged once per column)", NULL },
    { "tables", SL_OPT_STR, 0, 0, offsetof(rp_cfg, tables), "T1,T2",
      "apply only these source tables", NULL },
    { "exclude-tables", SL_OPT_STR, 0, 0, offsetof(rp_cfg, exclude_tables),
      "T3,T4", "never apply these source tables", NULL },
    { "map", SL_OPT_STR, 0, 0, offsetof(rp_cfg, map), "SRC=DST,...",
      "apply source table SRC to target table DST", NULL },
    { "unregister", SL_OPT_FLAG, 0, 0, offsetof(rp_cfg, unregister), NULL,
      "remove --replica from the journal (pruning stops waiting for it), "
      "then exit; needs no --target", NULL },
    { "batch-rows", SL_OPT_INT, 1, 100000, offsetof(rp_cfg, batch_rows),
      "N", "rows per multi-row statement", "1000" },
    { "txn-groups", SL_OPT_INT, 1, 100000, offsetof(rp_cfg, txn_groups),
      "N", "when behind, apply up to N waiting groups in one MariaDB "
      "transaction (one fsync for all; 1: a transaction per group)",
      "1000" },
    { "retry-max-ms", SL_OPT_INT, 100, 3600000,
      offsetof(rp_cfg, retry_max_ms), "N",
      "cap of the reconnect backoff", "30000" },
    { "once-timeout-s", SL_OPT_INT, 0, 86400,
      offsetof(rp_cfg, once_timeout_s), "N",
      "--once: give up on a transient error (MariaDB unreachable, lock "
      "waits, ...) lasting N seconds", "60" },
    { "poll-ms", SL_OPT_INT, 1, 60000, offsetof(rp_cfg, poll_ms), "N",
      "check the journal for new groups every N ms", "5" },
    { "metrics", SL_OPT_STR, 0, 0, offsetof(rp_cfg, metrics), "HOST:PORT",
      "serve Prometheus metrics at http://HOST:PORT/metrics (e.g. "
      "127.0.0.1:9465)", NULL },
    { "log-level", SL_OPT_STR, 0, 0, offsetof(rp_cfg, log_level), "LEVEL",
      "debug, info, warn or error", "info" },
    { NULL, 0, 0, 0, 0, NULL, NULL, NULL }
};

static const char g_usage[] =
    "Usage: sluice-replay --journal DIR --target URL [--replica NAME] "
    "[--once]\n"
    "                     [--on-error stop|skip] [--metrics HOST:PORT]\n"
    "       sluice-replay --journal DIR --replica NAME --unregister\n"
    "\n"
    "Apply a sluice journal to MariaDB, whole journal groups per transaction\n"
    "(several when behind), recording the applied seq in table\n"
    "sqlite_sluice_position in the same transaction. Starts and keeps running while MariaDB is down: the\n"
    "outage is lag that drains when it is back. Runs until SIGTERM/SIGINT\n"
    "(exit 0) unless --once.\n";

static const char g_footer[] =
    "\nEvery error is transient (retried with backoff, logged once) or\n"
    "permanent (one message naming the fix; a running replay shows\n"
    "sluice_replay_stuck 1 and retries slowly, so a fixed target converges\n"
    "without a restart). --once always ends.\n"
    "\nExit status: 0 ok, 1 --unregister found no such replica, 64 usage\n"
    "error, 69 cannot start, 70 a failure retrying cannot fix (with --once:\n"
    "also any permanent error, or a transient one lasting --once-timeout-s).\n";

typedef struct round_ctx {
    FILE *f;
    const char *db, *replica;
} round_ctx;

static void one_round(void *arg, const char *table, const char *column,
                      uint64_t n)
{
    round_ctx *r = arg;

    fputs("sluice_replay_values_rounded_total{db=\"", r->f);
    sl_prom_label(r->f, r->db);
    fputs("\",replica=\"", r->f);
    sl_prom_label(r->f, r->replica);
    fputs("\",table=\"", r->f);
    sl_prom_label(r->f, table);
    fputs("\",column=\"", r->f);
    sl_prom_label(r->f, column);
    fprintf(r->f, "\"} %llu\n", (unsigned long long)n);
}

typedef struct tick_ctx {
    sl_metrics *m;
    rp_state *st;
    const rp_cfg *cfg;
    char db[256];
    time_t last;
} tick_ctx;

/* Publish /metrics at most once a second. */
static void tick(void *arg)
{
    tick_ctx *t = arg;
    const rp_stats *s;
    char *text = NULL;
    size_t len = 0;
    FILE *f;
    time_t now = time(NULL);

    if (t->m == NULL || now == t->last)
        return;
    t->last = now;
    s = rp_get_stats(t->st);
    if ((f = open_memstream(&text, &len)) == NULL)
        return;
    jr_metrics_write(f, rp_journal(t->st), t->db, t->cfg->replica,
                      s->applied_seq, NULL);
#define M(name, type, help, fmt, val)                                     \
    do {                                                                  \
        sl_prom_family(f, name, type, help);                              \
        sl_prom_sample(f, name, t->db, t->cfg->replica);              \
        fprintf(f, " " fmt "\n", val);                                    \
    } while (0)
    M("sluice_replay_connected", "gauge",
      "1 while connected to MariaDB.", "%d", s->connected);
    M("sluice_replay_stuck", "gauge",
      "1 while the next group keeps failing (see the logs).", "%d",
      s->stuck);
    M("sluice_replay_groups_total", "counter",
      "Groups applied since start.", "%llu",
      (unsigned long long)s->groups);
    M("sluice_replay_transactions_total", "counter",
      "MariaDB transactions committed since start (several waiting groups "
      "go in one).", "%llu", (unsigned long long)s->transactions);
    M("sluice_replay_records_total", "counter",
      "Records applied since start.", "%llu",
      (unsigned long long)s->records);
    M("sluice_replay_rejected_total", "counter",
      "Changes recorded in sqlite_sluice_rejects since start.", "%llu",
      (unsigned long long)s->rejected);
    /* cluster targets (rp_cluster.c); a single server is a 1-node list */
    M("sluice_replay_node", "gauge",
      "Position in the target URL's host list (1-based) of the node "
      "replay writes through; 0 while none.", "%d", s->cluster->node + 1);
    M("sluice_replay_galera", "gauge",
      "1 when the node in use is a Galera node (wsrep_on).", "%d",
      s->cluster->galera);
    M("sluice_replay_failovers_total", "counter",
      "Connections to another node of the host list than before.", "%llu",
      (unsigned long long)s->cluster->failovers);
    M("sluice_replay_nodes_passed_over_total", "counter",
      "Nodes refused at connect: down, not Synced, or not in the "
      "primary component.", "%llu",
      (unsigned long long)s->cluster->passed_over);
    M("sluice_replay_conflicts_total", "counter",
      "Groups retried after a certification failure, brute-force abort "
      "or deadlock (1213) or a lock wait timeout (1205).", "%llu",
      (unsigned long long)s->cluster->conflicts);
    M("sluice_replay_commit_unknown_total", "counter",
      "COMMITs cut off by a connection failure (outcome unknown).", "%llu",
      (unsigned long long)s->cluster->unknown_commits);
    M("sluice_replay_commit_settled_committed_total", "counter",
      "Unknown COMMITs found committed by the cluster.", "%llu",
      (unsigned long long)s->cluster->settled_committed);
    M("sluice_replay_commit_settled_rolled_back_total", "counter",
      "Unknown COMMITs found not committed (the group was retried).",
      "%llu", (unsigned long long)s->cluster->settled_rolled_back);
    M("sluice_replay_position_behind_total", "counter",
      "Connects that found the target's position behind what replay had "
      "applied.", "%llu", (unsigned long long)s->cluster->position_behind);
#undef M
    rp_metrics_write(f, s, t->db, t->cfg->replica); /* errors, apply time,
                                                    ** target, process */
    {
        round_ctx rc = { f, t->db, t->cfg->replica };
        sl_prom_family(f, "sluice_replay_values_rounded_total",
                           "counter", "Values MariaDB's conversion rounded "
                           "or truncated (fractional digits beyond the "
                           "column's), per table and column.");
        rp_rounds_each(t->st, one_round, &rc);
    }
    fclose(f);
    sl_metrics_publish(t->m, text, len);
    free(text);
}

static int usage_error(const char *msg)
{
    return sl_usage_error("sluice-replay", msg);
}

/* --unregister: drop the replica from the journal, nothing else. */
static int unregister(const rp_cfg *cfg)
{
    jr_journal_opts o = JR_JOURNAL_OPTS_INIT;
    jr_journal *j = NULL;
    jr_err err = { 0 };
    char q[600], q2[300];
    int rc;

    if (cfg->target != NULL)
        return usage_error("--unregister takes no --target");
    if ((rc = jr_journal_open(&j, cfg->journal, &o, &err)) != JR_OK) {
        SL_LOG(SL_ERROR, "replay.unregister_failed", "msg=%s",
               sl_q(q, sizeof(q), err.msg));
        return EX_UNAVAILABLE;
    }
    rc = jr_replica_unregister(j, cfg->replica, &err);
    jr_journal_close(j);
    if (rc == JR_ENOTFOUND) {
        SL_LOG(SL_ERROR, "replay.unregister_failed", "journal=%s "
               "replica=%s msg=\"the journal has no such replica\" "
               "hint=\"sluice-inspect DIR replicas lists them\"",
               sl_q(q, sizeof(q), cfg->journal),
               sl_q(q2, sizeof(q2), cfg->replica));
        return 1;
    }
    if (rc != JR_OK) {
        SL_LOG(SL_ERROR, "replay.unregister_failed", "msg=%s",
               sl_q(q, sizeof(q), err.msg));
        return EX_UNAVAILABLE;
    }
    SL_LOG(SL_INFO, "replay.unregistered", "replica=%s journal=%s "
           "hint=\"pruning no longer waits for it\"",
           sl_q(q2, sizeof(q2), cfg->replica),
           sl_q(q, sizeof(q), cfg->journal));
    return 0;
}

/* Parse the URL once to report its mistakes as usage errors; a password
** in it is visible in the process list: warn, and overwrite it in argv
** (after taking a copy to use). */
static int check_target(const rp_cfg *cfg, int argc, char **argv,
                        char **copy)
{
    tg_url u;
    jr_err je = { 0 };
    char msg[sizeof(je.msg) + 16];
    int in_url;

    if (tg_url_parse(&u, cfg->target, &je) != JR_OK) {
        snprintf(msg, sizeof(msg), "--target: %s", je.msg);
        return usage_error(msg);
    }
    in_url = u.password_in_url;
    tg_url_free(&u);
    if (in_url && cfg->password_file != NULL)
        return usage_error("the --target URL carries a password and "
                           "--password-file gives another: use one");
    if ((*copy = strdup(cfg->target)) == NULL)
        return EX_SOFTWARE;
    if (in_url) {
        SL_LOG(SL_WARN, "replay.password_in_url", "hint=\"a password in "
               "the target URL is visible in the process list and shell "
               "history: use SLUICE_TARGET_PASSWORD or --password-file\"");
        for (int i = 1; i < argc; i++)
            if (strstr(argv[i], "://") != NULL)
                tg_url_scrub(argv[i]);
    }
    return 0;
}

int main(int argc, char **argv)
{
    rp_cfg cfg;
    rp_state *st;
    tick_ctx tc;
    jr_err err = { 0 };
    char errbuf[300], version[120], q[600], *target = NULL;
    sl_cli cli = { "sluice-replay", g_opts, g_usage, g_footer, version };
    int rc;

    memset(&cfg, 0, sizeof(cfg));
    sl_log_init(argv[0]);
    snprintf(version, sizeof(version), "sluice-replay " SLUICE_VERSION
             " (MariaDB Connector/C %s)", mysql_get_client_info());
    if ((rc = sl_cli_parse(&cli, &cfg, &cfg.log_level, argc, argv)) >= 0)
        return rc;
    if (cfg.journal == NULL)
        return usage_error("--journal DIR is required");
    if (cfg.unregister)
        return unregister(&cfg);
    if (cfg.target == NULL)
        return usage_error("--target URL is required");
    if (strcmp(cfg.on_error, "stop") != 0 && strcmp(cfg.on_error, "skip"))
        return usage_error("--on-error must be stop or skip");
    if ((rc = check_target(&cfg, argc, argv, &target)) != 0)
        return rc;
    cfg.target = target;
    sl_sig_install();
    rc = rp_open(&st, &cfg, &err);
    if (rc != JR_OK) {
        free(target);
        if (sl_stop)
            return 0;                   /* stopped while waiting */
        SL_LOG(SL_ERROR, "replay.start_failed", "msg=%s",
               sl_q(q, sizeof(q), err.msg));
        return EX_UNAVAILABLE;
    }
    memset(&tc, 0, sizeof(tc));
    tc.st = st;
    tc.cfg = &cfg;
    {
        const char *base = strrchr(cfg.journal, '/');
        snprintf(tc.db, sizeof(tc.db), "%s", base && base[1] ? base + 1
                                                             : cfg.journal);
    }
    if (cfg.metrics != NULL) {
        if (sl_metrics_start(&tc.m, cfg.metrics, errbuf,
                             sizeof(errbuf)) != 0) {
            SL_LOG(SL_ERROR, "replay.usage", "msg=%s",
                   sl_q(q, sizeof(q), errbuf));
            rp_close(st);
            free(target);
            return EX_USAGE;
        }
        char url[300];
        snprintf(url, sizeof(url), "http://%s/metrics", cfg.metrics);
        SL_LOG(SL_INFO, "replay.metrics", "url=%s port=%u",
               sl_q(q, sizeof(q), url), sl_metrics_port(tc.m));
        rp_set_tick(st, tick, &tc);
    }
    rc = rp_run(st, &err);
    {
        const rp_stats *s = rp_get_stats(st);
        SL_LOG(rc == JR_OK ? SL_INFO : SL_ERROR, "replay.stopped",
               "applied_seq=%llu groups=%llu transactions=%llu "
               "records=%llu rejected=%llu",
               (unsigned long long)s->applied_seq,
               (unsigned long long)s->groups,
               (unsigned long long)s->transactions,
               (unsigned long long)s->records,
               (unsigned long long)s->rejected);
    }
    rp_close(st);
    sl_metrics_stop(tc.m);
    free(target);
    if (rc != JR_OK) {
        SL_LOG(SL_ERROR, "replay.failed", "msg=%s",
               sl_q(q, sizeof(q), err.msg));
        return EX_SOFTWARE;
    }
    return 0;
}
