/*
** rp_run.h -- the replay engine as main.c (and tests) drive it.
*/
#ifndef SLUICE_RP_RUN_H
#define SLUICE_RP_RUN_H

#include "rp.h"
#include "rp_cluster.h"
#include "sl_prom.h"

typedef struct rp_state rp_state;

typedef struct rp_stats {
    uint64_t applied_seq;
    uint64_t head_seq;          /* last complete seq seen in the journal */
    uint64_t groups, records, rejected;
    uint64_t transactions;       /* COMMITs: groups merge when behind */
    int connected;
    int stuck;                  /* the next group keeps failing */
    const rp_cluster_stats *cluster;  /* node in use, failovers, ... */
    uint64_t errors[TG_E_FATAL + 1]; /* problems seen, by class (TG_E_*) */
    sl_hist apply;              /* seconds per applied group */
    char host[300];             /* the target: host:port, or the socket */
} rp_stats;

/* What replay's /metrics adds to the journal's metrics and main.c's
** counters (rp_metrics.c): errors by class and kind, group apply time,
** the target per host, process_*. */
void rp_metrics_write(FILE *f, const rp_stats *s, const char *db,
                      const char *replica);

/* Parse the URL, open the journal. No connection is made here: MariaDB
** may well be down; the replica is registered in the journal once replay
** has connected and found its start. JR_OK or JR_ERR (err). */
int rp_open(rp_state **out, const rp_cfg *cfg, jr_err *err);
/* Apply until stopped (or, with --once, until caught up). JR_OK, or
** JR_ERR with err->msg on a failure that retrying cannot fix. */
int rp_run(rp_state *st, jr_err *err);
void rp_close(rp_state *st);
const rp_stats *rp_get_stats(rp_state *st);
jr_journal *rp_journal(rp_state *st);
/* Called from the loop between groups and while waiting (metrics). */
void rp_set_tick(rp_state *st, void (*fn)(void *), void *ctx);
/* Every table and column whose values MariaDB's conversion rounded or
** truncated (committed counts). */
typedef void (*rp_round_fn)(void *ctx, const char *table,
                            const char *column, uint64_t n);
void rp_rounds_each(rp_state *st, rp_round_fn fn, void *ctx);

#endif
