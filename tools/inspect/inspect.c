/*
** inspect.c -- sluice-inspect: read a journal without changing it.
**
**   sluice-inspect [--json] DIR stat | list [--from SEQ] [--limit N]
**                  | show SEQ | tail [--from SEQ] [--table T] [--op OPS]
**                  | history TABLE KEY... | check | metrics | replicas
**
** tail follows the journal until SIGINT/SIGTERM, or until its reader goes
** away (SIGPIPE is ignored and a failed write ends it quietly, exit 0).
** history is history.c.
**
** The journal is opened read-only; nothing here writes to it. `list`
** streams (bounded memory however long the journal). Exit codes: 0 ok,
** 1 failure (a pruned or missing seq included), 64 usage error, 65
** journal corrupt, 66 no journal at DIR.
** main() is inspect_main() (main.c), so tests/fuzz can drive the argument
** handling in process.
**
** INVARIANTS:
**  (N1) the journal is opened read-only (JR_JOURNAL_OPTS read_only): no
**       command can change it, prune it or hold back its writer.
**  (N2) memory does not grow with the journal: list and tail stream one
**       record at a time.
*/
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fmt.h"
#include "history.h"
#include "inspect.h"
#include "sl_opts.h"
#include "sl_sig.h"
#include "sluice/journal.h"

#define EX_USAGE   64
#define EX_DATAERR 65
#define EX_NOINPUT 66

typedef struct cfg {
    int json;
    long long from;
    long long limit;
    long long poll_ms;
    const char *table;           /* list/tail: only this table */
    const char *op;              /* list/tail: only these kinds */
    const char *index;           /* history: index file */
    int no_index;
    unsigned ops;                /* parsed --op: bit per jr_kind */
} cfg;

static const sl_opt g_opts[] = {
    { "json", SL_OPT_FLAG, 0, 0, offsetof(cfg, json), NULL,
      "one JSON object per line (stat, list, show, tail, check, replicas)",
      NULL
    },
    { "from", SL_OPT_INT, 1, INT64_MAX, offsetof(cfg, from), "SEQ",
      "list/tail: start at SEQ (list default: first stored seq)", NULL },
    { "limit", SL_OPT_INT, 0, INT64_MAX, offsetof(cfg, limit), "N",
      "list/tail: print at most N records (default: all, streamed)", NULL },
    { "poll-ms", SL_OPT_INT, 1, 60000, offsetof(cfg, poll_ms), "N",
      "tail: poll interval in milliseconds", "50" },
    { "table", SL_OPT_STR, 0, 0, offsetof(cfg, table), "NAME",
      "list/tail: only records of table NAME (exact, case-sensitive)", NULL },
    { "op", SL_OPT_STR, 0, 0, offsetof(cfg, op), "OPS",
      "list/tail: only these kinds, comma-separated: insert, update, "
      "delete, schema, snapshot_begin, snapshot_end, truncate, drop, abort",
      NULL
    },
    { "index", SL_OPT_STR, 0, 0, offsetof(cfg, index), "PATH",
      "history: the index file (default: "
      "$XDG_CACHE_HOME/sluice/history-<journal uuid>.idx, or ~/.cache)",
      NULL },
    { "no-index", SL_OPT_FLAG, 0, 0, offsetof(cfg, no_index), NULL,
      "history: read the whole journal, no index", NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL, NULL }
};

static const char g_usage[] =
    "Usage: sluice-inspect [--json] DIR COMMAND\n"
    "\n"
    "Read a sluice journal (an LMDB directory) without changing it.\n"
    "\n"
    "Commands:\n"
    "  stat               identity, seq range, size, replicas and lag\n"
    "  list               one line per record (--from SEQ, --limit N)\n"
    "  show SEQ           every column of one record\n"
    "  tail               print records as they are committed, like tail "
    "-f\n"
    "                     (--table, --op, --json; Ctrl-C or a closed "
    "pipe stops)\n"
    "  history TABLE KEY...\n"
    "                     every journaled change of one row, oldest "
    "first (seq,\n"
    "                     source change time, values); KEY per key "
    "column, as\n"
    "                     text: 42, 1.5, abc, x'00ff'. Uses an index "
    "file it keeps\n"
    "                     up to date (--index PATH, --no-index)\n"
    "  check              verify checksums, decoding and density of the "
    "whole\n"
    "                     journal; names the first bad seq\n"
    "  metrics            Prometheus text format (for a textfile "
    "collector)\n"
    "  replicas           the registered replicas: applied seq, lag, "
    "last report\n"
    "                     (drop one with sluice-replay --journal DIR "
    "--replica NAME\n"
    "                     --unregister)\n";

static const char g_footer[] =
    "\nExit status: 0 ok, 1 failure, 64 usage error, 65 journal corrupt,\n"
    "66 no journal at DIR.\n";


long inspect_tail_polls_max;
static int g_out_closed;             /* tail: stdout's reader is gone */

static int fail(const jr_err *err, int code)
{
    fprintf(stderr, "sluice-inspect: %s\n",
            err->msg[0] ? err->msg : jr_strerror(code));
    if (code == JR_ECORRUPT)
        return EX_DATAERR;
    if (code == JR_ENOTFOUND)
        return EX_NOINPUT;
    return 1;
}

static int usage_error(const char *msg)
{
    return sl_usage_error("sluice-inspect", msg);
}

/* Print source_pos as text if printable, else hex. */
static void print_pos(FILE *f, const unsigned char *p, size_t n)
{
    int printable = n > 0;
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x20 || p[i] >= 0x7f)
            printable = 0;
    if (printable)
        fprintf(f, "%.*s", (int)n, (const char *)p);
    else
        for (size_t i = 0; i < n; i++)
            fprintf(f, "%02x", p[i]);
}

static int cmd_stat(jr_journal *j, const cfg *c)
{
    jr_info in;
    jr_err err = { 0 };
    jr_replica reps[64];
    uint32_t nrep = 0;
    unsigned char pos[256];
    size_t plen = 0;
    char t[80];
    int rc;

    if ((rc = jr_journal_info(j, &in, &err)) != JR_OK ||
        (rc = jr_replica_list(j, reps, 64, &nrep, &err)) != JR_OK)
        return fail(&err, rc);
    rc = jr_journal_source_pos(j, pos, sizeof(pos), &plen, &err);
    if (rc != JR_OK && rc != JR_ENOTFOUND)
        return fail(&err, rc);
    if (plen > sizeof(pos))
        plen = sizeof(pos);
    fmt_time(t, sizeof(t), in.head_time_us);
    if (c->json) {
        printf("{\"journal_uuid\":");
        fmt_json_str(stdout, in.journal_uuid, strlen(in.journal_uuid));
        printf(",\"source_id\":");
        fmt_json_str(stdout, in.source_id, strlen(in.source_id));
        printf(",\"first_seq\":%" PRIu64 ",\"head_seq\":%" PRIu64
               ",\"complete_seq\":%" PRIu64 ",\"head_time_us\":%" PRId64
               ",\"batches\":%" PRIu64 ",\"stored_bytes\":%" PRIu64
               ",\"map_size\":%" PRIu64 ",\"map_used\":%" PRIu64
               ",\"replicas\":[", in.first_seq, in.head_seq,
               in.complete_seq, in.head_time_us, in.nbatches,
               in.stored_bytes, in.map_size, in.map_used);
        for (uint32_t i = 0; i < nrep && i < 64; i++)
            printf("%s{\"name\":\"%s\",\"applied_seq\":%" PRIu64
                   ",\"lag_records\":%" PRIu64 "}", i ? "," : "",
                   reps[i].name, reps[i].applied_seq,
                   in.complete_seq > reps[i].applied_seq
                       ? in.complete_seq - reps[i].applied_seq : 0);
        printf("]}\n");
        return 0;
    }
    printf("journal uuid   %s\n", in.journal_uuid);
    printf("source         %s\n", in.source_id[0] ? in.source_id
                                                    : "(not bound yet)");
    if (in.first_seq)
        printf("records        %" PRIu64 " stored (seq %" PRIu64 "..%"
               PRIu64 ")", in.head_seq - in.first_seq + 1, in.first_seq,
               in.head_seq);
    else if (in.head_seq)
        printf("records        0 stored (seq 1..%" PRIu64 " all pruned)",
               in.head_seq);
    else
        printf("records        0 (nothing journaled yet)");
    printf(", head %" PRIu64 ", last complete group ends at %" PRIu64 "\n",
           in.head_seq, in.complete_seq);
    printf("last commit    %s\n", in.head_time_us ? t
                                  : in.head_seq ? "unknown (pruned)"
                                                : "(none)");
    printf("storage        %" PRIu64 " batches, %" PRIu64 " bytes",
           in.nbatches, in.stored_bytes);
    if (in.first_seq)
        printf(" (%.1f bytes/record)", (double)in.stored_bytes /
               (double)(in.head_seq - in.first_seq + 1));
    printf("\nmap            %" PRIu64 " of %" PRIu64 " bytes used, cap %"
           PRIu64 "\n", in.map_used, in.map_size, in.map_max);
    printf("source pos     ");
    if (plen)
        print_pos(stdout, pos, plen);
    else
        printf("(none)");
    printf("\nreplicas       %u\n", nrep);
    for (uint32_t i = 0; i < nrep && i < 64; i++) {
        fmt_time(t, sizeof(t), reps[i].applied_time_us);
        printf("  %-20s applied %" PRIu64 ", lag %" PRIu64 " records, "
               "last report %s\n", reps[i].name, reps[i].applied_seq,
               in.complete_seq > reps[i].applied_seq
                   ? in.complete_seq - reps[i].applied_seq : 0,
               reps[i].applied_time_us ? t : "never");
    }
    return 0;
}

static int cmd_replicas(jr_journal *j, const cfg *c)
{
    jr_info in;
    jr_err err = { 0 };
    jr_replica reps[64];
    uint32_t nrep = 0;
    char t[80];
    int rc;

    if ((rc = jr_journal_info(j, &in, &err)) != JR_OK ||
        (rc = jr_replica_list(j, reps, 64, &nrep, &err)) != JR_OK)
        return fail(&err, rc);
    if (nrep > 64)
        nrep = 64;
    if (!c->json && nrep == 0)
        printf("no replica registered (pruning waits for none)\n");
    for (uint32_t i = 0; i < nrep; i++) {
        uint64_t lag = in.complete_seq > reps[i].applied_seq
                           ? in.complete_seq - reps[i].applied_seq : 0;
        if (c->json) {
            printf("{\"name\":");
            fmt_json_str(stdout, reps[i].name, strlen(reps[i].name));
            printf(",\"applied_seq\":%" PRIu64 ",\"lag_records\":%" PRIu64
                   ",\"applied_time_us\":%" PRId64 "}\n", reps[i].applied_seq,
                   lag, reps[i].applied_time_us);
        } else {
            fmt_time(t, sizeof(t), reps[i].applied_time_us);
            printf("%-20s applied %" PRIu64 ", lag %" PRIu64 " records, "
                   "last report %s\n", reps[i].name, reps[i].applied_seq, lag,
                   reps[i].applied_time_us ? t : "never");
        }
    }
    return 0;
}

/* Stream records from `from`; stops at the end (or follows with tail). */
static int stream(jr_journal *j, const cfg *c, uint64_t from, int follow)
{
    jr_reader *r;
    jr_entry e;
    jr_err err = { 0 };
    long long n = 0, polls = 0;
    int rc;

    if ((rc = jr_reader_open(&r, j, from, &err)) != JR_OK)
        return fail(&err, rc);
    while (!sl_stop && (c->limit < 0 || n < c->limit)) {
        rc = jr_reader_next(r, &e, &err);
        if (rc == JR_EAGAIN) {
            if (!follow ||
                (inspect_tail_polls_max > 0 && ++polls >= inspect_tail_polls_max))
                break;
            fflush(stdout);
            sl_sleep_ms((long)c->poll_ms);
            continue;
        }
        if (rc == JR_ENOTFOUND) {        /* pruned under us */
            fflush(stdout);
            jr_reader_close(r);
            fprintf(stderr, "sluice-inspect: seq %llu was pruned while "
                    "reading; run again\n",
                    (unsigned long long)(from + (uint64_t)n));
            return 1;
        }
        if (rc != JR_OK) {
            fflush(stdout);
            jr_reader_close(r);
            return fail(&err, rc);
        }
        if ((c->table != NULL && strcmp(e.rec.table, c->table) != 0) ||
            (c->ops != 0 && !(c->ops & (1u << e.rec.kind))))
            continue;
        if (c->json)
            fmt_entry_json(stdout, &e);
        else
            fmt_entry_human(stdout, &e, 0);
        n++;
        if (follow && (fflush(stdout) != 0 || ferror(stdout))) {
            g_out_closed = 1;            /* the reader went away */
            break;
        }
    }
    jr_reader_close(r);
    return 0;
}

static int cmd_list(jr_journal *j, const cfg *c, int follow)
{
    jr_info in;
    jr_err err = { 0 };
    uint64_t from = (uint64_t)c->from;
    int rc;

    if ((rc = jr_journal_info(j, &in, &err)) != JR_OK)
        return fail(&err, rc);
    if (from == 0) {
        /* a fully pruned journal lists nothing (from = head + 1) */
        from = follow || in.first_seq == 0 ? in.head_seq + 1
                                           : in.first_seq;
    } else if ((in.first_seq && from < in.first_seq) ||
               (in.first_seq == 0 && from <= in.head_seq)) {
        if (in.first_seq)
            fprintf(stderr, "sluice-inspect: seq %llu was pruned; the "
                    "oldest stored seq is %" PRIu64 "\n",
                    (unsigned long long)from, in.first_seq);
        else
            fprintf(stderr, "sluice-inspect: seq %llu was pruned, as was "
                    "every record up to the head (%" PRIu64 ")\n",
                    (unsigned long long)from, in.head_seq);
        return 1;
    }
    return stream(j, c, from, follow);
}

static int cmd_show(jr_journal *j, const cfg *c, const char *arg)
{
    long long seq;
    jr_reader *r;
    jr_entry e;
    jr_err err = { 0 };
    int rc;

    if (sl_parse_ll(arg, 1, INT64_MAX, &seq) != 0)
        return usage_error("show: SEQ must be a positive integer");
    if ((rc = jr_reader_open(&r, j, (uint64_t)seq, &err)) != JR_OK)
        return fail(&err, rc);
    rc = jr_reader_next(r, &e, &err);
    if (rc == JR_OK) {
        if (c->json)
            fmt_entry_json(stdout, &e);
        else
            fmt_entry_human(stdout, &e, 1);
    } else if (rc == JR_EAGAIN || rc == JR_ENOTFOUND) {
        fprintf(stderr, "sluice-inspect: no record %lld in this journal "
                "(%s)\n", seq, rc == JR_EAGAIN ? "beyond the head"
                                               : "pruned");
        jr_reader_close(r);
        return 1;
    }
    jr_reader_close(r);
    return rc == JR_OK ? 0 : fail(&err, rc);
}

static int cmd_check(jr_journal *j, const cfg *c)
{
    jr_check_report rep;
    jr_err err = { 0 };
    int rc = jr_journal_check(j, &rep, &err);

    if (rc != JR_OK && rc != JR_ECORRUPT)
        return fail(&err, rc);
    if (c->json) {
        printf("{\"ok\":%s,\"records\":%" PRIu64 ",\"batches\":%" PRIu64
               ",\"first_seq\":%" PRIu64 ",\"last_seq\":%" PRIu64,
               rc == JR_OK ? "true" : "false", rep.records, rep.batches,
               rep.first_seq, rep.last_seq);
        if (rc != JR_OK) {
            printf(",\"bad_seq\":%" PRIu64 ",\"problem\":", rep.bad_seq);
            fmt_json_str(stdout, rep.problem, strlen(rep.problem));
        }
        printf("}\n");
    } else if (rc == JR_OK) {
        printf("ok: %" PRIu64 " records in %" PRIu64 " batches (seq %"
               PRIu64 "..%" PRIu64 "), checksums and density verified\n",
               rep.records, rep.batches, rep.first_seq, rep.last_seq);
    } else {
        printf("CORRUPT at seq %" PRIu64 ": %s\n(%" PRIu64 " records "
               "before it verified)\n", rep.bad_seq, rep.problem,
               rep.records);
    }
    return rc == JR_OK ? 0 : EX_DATAERR;
}

static int cmd_metrics(jr_journal *j, const char *dir)
{
    jr_err err = { 0 };
    char db[256];
    const char *base;
    size_t n = strlen(dir);
    int rc;

    /* db label: the journal directory's name */
    while (n > 1 && dir[n - 1] == '/')
        n--;
    snprintf(db, sizeof(db), "%.*s", (int)n, dir);
    base = strrchr(db, '/');
    rc = jr_metrics_write(stdout, j, base ? base + 1 : db, NULL, 0, &err);
    return rc == JR_OK ? 0 : fail(&err, rc);
}

/* --op: comma list of kind names -> bits; 0 with a message if bad. */
static unsigned parse_ops(const char *list, char *err, size_t cap)
{
    unsigned bits = 0;
    const char *p = list;

    for (;;) {
        size_t n = strcspn(p, ",");
        int k;
        for (k = JR_K_INSERT; k <= JR_K_ABORT; k++)
            if (strlen(jr_kind_name(k)) == n &&
                strncmp(jr_kind_name(k), p, n) == 0)
                break;
        if (k > JR_K_ABORT) {
            snprintf(err, cap, "--op: unknown kind '%.*s' (insert, update, "
                     "delete, schema, snapshot_begin, snapshot_end, "
                     "truncate, drop, abort)", (int)(n > 64 ? 64 : n), p);
            return 0;
        }
        bits |= 1u << k;
        if (p[n] == 0)
            return bits;
        p += n + 1;
    }
}

int inspect_main(int argc, char **argv)
{
    cfg c = { 0, 0, -1, 0, NULL, NULL, NULL, 0, 0 };  /* limit -1: all */
    char errbuf[256];
    char **pos = calloc((size_t)argc + 1, sizeof(char *));
    int npos = 0, rc, ret;
    jr_journal_opts o = JR_JOURNAL_OPTS_INIT;
    jr_journal *j = NULL;
    jr_err err = { 0 };
    const char *cmd;

    if (pos == NULL)
        return 1;
    rc = sl_opts_parse(g_opts, &c, argc, argv, pos, &npos, errbuf,
                       sizeof(errbuf));
    if (rc == SL_OPTS_HELP || rc == SL_OPTS_VERSION) {
        if (rc == SL_OPTS_HELP)
            sl_opts_help(stdout, g_usage, g_opts, g_footer);
        else
            printf("sluice-inspect " SLUICE_VERSION "\n");
        free(pos);
        return 0;
    }
    if (rc != SL_OPTS_OK) {
        free(pos);
        return usage_error(errbuf);
    }
    if (npos < 2) {
        free(pos);
        return usage_error(npos == 0 ? "missing journal directory and "
                                       "command"
                                     : "missing command (stat, list, show, "
                                       "tail, history, check, metrics, "
                                       "replicas)");
    }
    cmd = pos[1];
    if (c.op != NULL && (c.ops = parse_ops(c.op, errbuf,
                                           sizeof(errbuf))) == 0) {
        free(pos);
        return usage_error(errbuf);
    }
    if ((c.table || c.op) && strcmp(cmd, "list") && strcmp(cmd, "tail")) {
        free(pos);
        return usage_error("--table and --op go with list and tail");
    }
    if (strcmp(cmd, "history") == 0) {
        if (npos < 4) {
            free(pos);
            return usage_error("history needs a TABLE and its KEY (one "
                               "value per key column)");
        }
    } else if ((strcmp(cmd, "show") == 0) != (npos == 3) || npos > 3) {
        free(pos);
        return usage_error(strcmp(cmd, "show") == 0
                               ? "show needs exactly one SEQ"
                               : "too many arguments");
    }
    if (strcmp(cmd, "stat") && strcmp(cmd, "list") && strcmp(cmd, "show") &&
        strcmp(cmd, "tail") && strcmp(cmd, "check") &&
        strcmp(cmd, "metrics") && strcmp(cmd, "replicas") &&
        strcmp(cmd, "history")) {
        snprintf(errbuf, sizeof(errbuf), "unknown command '%s' (stat, "
                 "list, show, tail, history, check, metrics, replicas)",
                 cmd);
        free(pos);
        return usage_error(errbuf);
    }
    o.read_only = 1;
    rc = jr_journal_open(&j, pos[0], &o, &err);
    if (rc != JR_OK) {
        free(pos);
        return fail(&err, rc);
    }
    if (strcmp(cmd, "list") == 0 || strcmp(cmd, "tail") == 0) {
        /* the streams end cleanly on SIGINT/SIGTERM (sl_stop); writes
        ** are restarted, so a signal never turns into a write error */
        static const int sigs[] = { SIGINT, SIGTERM };
        struct sigaction sa;
        sl_sig_install();
        for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
            if (sigaction(sigs[i], NULL, &sa) == 0) {
                sa.sa_flags |= SA_RESTART;
                sigaction(sigs[i], &sa, NULL);
            }
    }
    /* tail: a closed pipe ends it quietly (a failed write, exit 0);
    ** the other commands end as filters do (and die of SIGINT) */
    if (strcmp(cmd, "tail") != 0)
        signal(SIGPIPE, SIG_DFL);
    if (strcmp(cmd, "stat") == 0)
        ret = cmd_stat(j, &c);
    else if (strcmp(cmd, "list") == 0)
        ret = cmd_list(j, &c, 0);
    else if (strcmp(cmd, "tail") == 0)
        ret = cmd_list(j, &c, 1);
    else if (strcmp(cmd, "show") == 0)
        ret = cmd_show(j, &c, pos[2]);
    else if (strcmp(cmd, "history") == 0) {
        inspect_history_opts ho = { c.json, c.index, c.no_index };
        ret = inspect_history(j, &ho, pos[2], npos - 3, pos + 3);
    }
    else if (strcmp(cmd, "check") == 0)
        ret = cmd_check(j, &c);
    else if (strcmp(cmd, "replicas") == 0)
        ret = cmd_replicas(j, &c);
    else
        ret = cmd_metrics(j, pos[0]);
    jr_journal_close(j);
    free(pos);
    if (g_out_closed) {
        ret = 0;                         /* the reader went away: done */
        g_out_closed = 0;
    }
    else if (fflush(stdout) != 0 && ret == 0) {
        fprintf(stderr, "sluice-inspect: cannot write output: %s\n",
                strerror(errno));
        ret = 1;
    }
    return ret;
}
