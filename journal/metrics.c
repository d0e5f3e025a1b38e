/*
** metrics.c -- the journal's metrics in the Prometheus text format
** (jr_metrics_write): head, size, and each replica's applied seq and lag
** in records and in seconds (source change time of its oldest unapplied
** record). `sluice-inspect metrics` and the /metrics endpoints of capture
** and replay all call it, so the numbers agree. Names follow
** sluice_<component>_<thing>_<unit>; every metric carries a db label (the
** journal directory's name), escaped by the runtime's sl_prom.
** INVARIANTS:
**  (M1) only reads the journal (read transactions), never waits, never
**       writes: a metrics scrape cannot disturb capture or replay.
**  (M2) a replica named by the caller is shown at the caller's applied
**       seq (replay knows it before its journal ack), listed or not.
*/
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "jr_internal.h"
#include "sl_clock.h"
#include "sl_prom.h"

/* The oldest record after `applied` still stored (an unapplied record may
** have been pruned already, when the replica was never registered or was
** unregistered: its lag is then counted from the oldest record there
** is). */
int jr_metrics_oldest_time(jr_journal *j, const jr_info *in, uint64_t applied,
                           int64_t *time_us, jr_err *err)
{
    jr_reader *r;
    jr_entry e;
    uint64_t seq = applied + 1;
    int rc;

    *time_us = 0;
    if (in->head_seq <= applied)
        return JR_OK;
    if (in->first_seq > seq)
        seq = in->first_seq;
    if ((rc = jr_reader_open(&r, j, seq, err)) != JR_OK)
        return rc;
    rc = jr_reader_next(r, &e, err);
    if (rc == JR_OK)
        *time_us = e.rec.time_us;
    jr_reader_close(r);
    return rc == JR_EAGAIN || rc == JR_ENOTFOUND ? JR_OK : rc;
}

int jr_metrics_write(FILE *f, jr_journal *j, const char *db,
                     const char *replica, uint64_t applied, jr_err *err)
{
    jr_info in;
    jr_replica reps[64];
    uint32_t nrep = 0;
    int found = 0, rc;
    int64_t now;

    if ((rc = jr_journal_info(j, &in, err)) != JR_OK ||
        (rc = jr_replica_list(j, reps, 64, &nrep, err)) != JR_OK)
        return rc;
    if (nrep > 64)
        nrep = 64;
    for (uint32_t i = 0; replica && i < nrep; i++)
        if (strcmp(reps[i].name, replica) == 0) {
            reps[i].applied_seq = applied;
            found = 1;
        }
    if (replica && !found && nrep < 64) {
        snprintf(reps[nrep].name, sizeof(reps[nrep].name), "%s", replica);
        reps[nrep++].applied_seq = applied;
    }
    now = sl_now_us();

    sl_prom_family(f, "sluice_journal_info", "gauge",
                       "Journal identity (value is always 1).");
    fputs("sluice_journal_info{db=\"", f);
    sl_prom_label(f, db);
    fputs("\",journal_uuid=\"", f);
    sl_prom_label(f, in.journal_uuid);
    fputs("\",source_id=\"", f);
    sl_prom_label(f, in.source_id);
    fputs("\"} 1\n", f);
#define G(name, help, val)                                                \
    do {                                                                  \
        sl_prom_family(f, name, "gauge", help);                           \
        sl_prom_sample(f, name, db, NULL);                                \
        fprintf(f, " %" PRIu64 "\n", (uint64_t)(val));                    \
    } while (0)
    G("sluice_journal_head_seq", "Last committed journal seq.",
      in.head_seq);
    G("sluice_journal_complete_seq", "Last seq that ends a complete group.",
      in.complete_seq);
    G("sluice_journal_first_seq", "Oldest stored journal seq (0: empty).",
      in.first_seq);
    G("sluice_journal_stored_bytes", "Bytes of stored record batches.",
      in.stored_bytes);
    G("sluice_journal_map_used_bytes", "Bytes of the LMDB map in use.",
      in.map_used);
#undef G
    sl_prom_family(f, "sluice_replay_applied_seq", "gauge",
                       "Last seq the replica applied.");
    for (uint32_t i = 0; i < nrep; i++) {
        sl_prom_sample(f, "sluice_replay_applied_seq", db, reps[i].name);
        fprintf(f, " %" PRIu64 "\n", reps[i].applied_seq);
    }
    sl_prom_family(f, "sluice_replay_lag_records", "gauge",
                       "Complete journal records the replica has not "
                       "applied yet.");
    for (uint32_t i = 0; i < nrep; i++) {
        sl_prom_sample(f, "sluice_replay_lag_records", db, reps[i].name);
        fprintf(f, " %" PRIu64 "\n", in.complete_seq > reps[i].applied_seq
                    ? in.complete_seq - reps[i].applied_seq : 0);
    }
    sl_prom_family(f, "sluice_replay_lag_seconds", "gauge",
                       "Age (source change time) of the oldest record the "
                       "replica has not applied, whatever the reason it "
                       "waits; 0 when caught up.");
    for (uint32_t i = 0; i < nrep; i++) {
        double lag = 0;
        if (in.complete_seq > reps[i].applied_seq) {
            int64_t t;
            /* unreadable: 0, as for a record not there (invariant M1) */
            if (jr_metrics_oldest_time(j, &in, reps[i].applied_seq, &t,
                                       NULL) == JR_OK && t > 0 && now > t)
                lag = (double)(now - t) / 1e6;
        }
        sl_prom_sample(f, "sluice_replay_lag_seconds", db, reps[i].name);
        fprintf(f, " %.3f\n", lag);
    }
    return JR_OK;
}
