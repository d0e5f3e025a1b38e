/*
** rp_metrics.c -- what replay's /metrics adds to the journal's metrics
** and its counters (main.c): errors by class and kind, the time each
** group takes to apply (a histogram), the state of the target per host,
** and the process_* basics.
**
** Errors: every problem the loop meets counts once in
** sluice_replay_errors_total{class,kind}, whether or not its log line was
** rate-limited; kind is "transient" (retried with backoff) or "permanent"
** (needs the operator; sluice_replay_stuck is 1 meanwhile).
** Target: sluice_replay_target_up{host} is 1 while replay holds a
** connection to that host (one host today; one series per host once
** cluster targets list several).
** INVARIANT: reads only the stats snapshot it is given (main loop).
*/
#include <stdio.h>
#include <stdlib.h>

#include "rp_run.h"
#include "sl_procmetrics.h"
#include "sl_prom.h"

/* The inside of {...} for db and replica, escaped. */
static void labels(char *buf, size_t cap, const char *db,
                   const char *replica)
{
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);

    buf[0] = 0;
    if (m == NULL)
        return;
    fputs("db=\"", m);
    sl_prom_label(m, db);
    fputs("\",replica=\"", m);
    sl_prom_label(m, replica);
    fputs("\"", m);
    fclose(m);
    snprintf(buf, cap, "%s", text ? text : "");
    free(text);
}

void rp_metrics_write(FILE *f, const rp_stats *s, const char *db,
                      const char *replica)
{
    char lab[1200];

    labels(lab, sizeof(lab), db, replica);
    sl_prom_family(f, "sluice_replay_errors_total", "counter",
                   "Problems met applying groups or connecting, by class; "
                   "kind is transient (retried) or permanent (needs the "
                   "operator).");
    for (int c = TG_E_CONN; c <= TG_E_FATAL; c++)
        fprintf(f, "sluice_replay_errors_total{%s,class=\"%s\",kind=\"%s\"}"
                " %llu\n", lab, tg_class_name(c),
                tg_class_transient(c) ? "transient" : "permanent",
                (unsigned long long)s->errors[c]);
    sl_hist_write(f, &s->apply, "sluice_replay_group_apply_seconds",
                  "Time to apply one transaction: one group, or several "
                  "waiting groups together (statements, position, COMMIT).",
                  lab);
    sl_prom_family(f, "sluice_replay_target_up", "gauge",
                   "1 while replay holds a connection to this target host.");
    fprintf(f, "sluice_replay_target_up{%s,host=\"", lab);
    sl_prom_label(f, s->host);
    fprintf(f, "\"} %d\n", s->connected);
    sl_procmetrics_write(f);
}
