/*
** cap_metrics.c -- what capture's /metrics adds to the journal's and its
** own counters: the backlog of the change logs, end-to-end lag per
** replica, a heartbeat, and the process_* basics.
**
** END-TO-END LAG. A replica's lag counted on the journal alone
** (sluice_replay_lag_seconds) is 0 while capture is stopped or frozen: the
** journal does not move. The oldest change still waiting in the source
** is older than anything in the journal, so
**   end-to-end lag = age of the oldest record the replica has not
**                    applied, if any, else of the oldest change not yet
**                    journaled (journaled changes are older than waiting
**                    ones)
** = age of the oldest change committed in SQLite that the replica has not
** applied, wherever it waits. Only capture sees both sides, so it is
** exported here.
**
** A STOPPED OR FROZEN CAPTURE cannot say so itself: its endpoint is gone
** (Prometheus' `up` is 0) or it serves its last exposition. The
** heartbeat (sluice_capture_heartbeat_timestamp_seconds, wall time of the
** rendering) stops moving then, and the backlog's oldest change time is a
** timestamp, not an age, so `time() - ...` keeps growing in PromQL even
** from a stale exposition (tools/monitoring/ alerts on both).
**
** INVARIANTS:
**  (X1) rendered by the main loop only, between steps (cap_backlog K1).
**  (X2) a backlog that cannot be read now (source busy) keeps the last
**       figures; one that fails is left out of the exposition.
*/
#include <inttypes.h>
#include <string.h>

#include "cap.h"
#include "sl_clock.h"
#include "sl_procmetrics.h"
#include "sl_prom.h"

void cap_metrics_write(FILE *f, cap_state *st, const char *db)
{
    static uint64_t changes;
    static int64_t oldest_us;
    static int known;
    jr_err err = { 0 };
    jr_info in;
    jr_replica reps[64];
    uint32_t nrep = 0;
    int64_t now = sl_now_us();
    int rc = cap__backlog(st, &changes, &oldest_us, &err);

    if (rc == JR_OK)
        known = 1;
    else if (rc != JR_EAGAIN)
        known = 0;
    sl_prom_family(f, "sluice_capture_heartbeat_timestamp_seconds",
                   "gauge", "Wall time capture's main loop last "
                   "rendered its metrics; stops moving when capture is "
                   "frozen.");
    sl_prom_sample(f, "sluice_capture_heartbeat_timestamp_seconds", db,
                   NULL);
    fprintf(f, " %.3f\n", (double)now / 1e6);
    if (known) {
        sl_prom_family(f, "sluice_capture_backlog_changes", "gauge",
                       "Changes committed in the source's change logs "
                       "and not journaled yet.");
        sl_prom_sample(f, "sluice_capture_backlog_changes", db, NULL);
        fprintf(f, " %" PRIu64 "\n", changes);
        sl_prom_family(f, "sluice_capture_backlog_oldest_change_"
                       "timestamp_seconds", "gauge", "Source change "
                       "time of the oldest change not journaled yet (0: "
                       "none waits).");
        sl_prom_sample(f, "sluice_capture_backlog_oldest_change_"
                       "timestamp_seconds", db, NULL);
        fprintf(f, " %.3f\n", (double)oldest_us / 1e6);
    }
    if (known && jr_journal_info(cap_journal(st), &in, NULL) == JR_OK &&
        jr_replica_list(cap_journal(st), reps, 64, &nrep, NULL) == JR_OK) {
        if (nrep > 64)
            nrep = 64;
        sl_prom_family(f, "sluice_end_to_end_lag_seconds", "gauge",
                       "Age of the oldest change committed in the "
                       "source that the replica has not applied, "
                       "wherever it waits (change log or journal); 0 "
                       "when caught up.");
        for (uint32_t i = 0; i < nrep; i++) {
            int64_t t = oldest_us;
            double lag = 0;
            int64_t tj = 0;
            /* a journaled change is older than any waiting one */
            if (jr_metrics_oldest_time(cap_journal(st), &in,
                                       reps[i].applied_seq, &tj,
                                       NULL) == JR_OK && tj > 0)
                t = tj;
            if (t > 0 && now > t)
                lag = (double)(now - t) / 1e6;
            sl_prom_sample(f, "sluice_end_to_end_lag_seconds", db,
                           reps[i].name);
            fprintf(f, " %.3f\n", lag);
        }
    }
    sl_procmetrics_write(f);
}
