/*
** sl_jmetrics.c -- journal metrics in the Prometheus text format.
** Names follow sluice_<component>_<thing>_<unit>; every metric carries a
** db label (the journal directory's name).
** INVARIANT: only reads the journal (read transactions), never waits.
*/
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "sl_jmetrics.h"

void sl_jmetrics_family(FILE *f, const char *name, const char *type,
                        const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void sl_jmetrics_label(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            fputc('\\', f);
        if (*s == '\n') {
            fputs("\\n", f);
            continue;
        }
        fputc(*s, f);
    }
}

/* Source change time of the oldest record after `acked` still stored
** (an unapplied record may have been pruned already, when the replica
** was never registered or was unregistered: its lag is then counted from
** the oldest record there is). 0 if there is none. */
static int64_t change_time(jr_journal *j, const jr_info *in, uint64_t acked)
{
    jr_reader *r;
    jr_entry e;
    int64_t t = 0;
    uint64_t seq = acked + 1;

    if (in->first_seq > seq)
        seq = in->first_seq;
    if (jr_reader_open(&r, j, seq, NULL) != JR_OK)
        return 0;
    if (jr_reader_next(r, &e, NULL) == JR_OK)
        t = e.rec.time_us;
    jr_reader_close(r);
    return t;
}

int sl_jmetrics_write(FILE *f, jr_journal *j, const char *db,
                      const char *replica, uint64_t applied, jr_err *err)
{
    jr_info in;
    jr_replica reps[64];
    uint32_t nrep = 0;
    int found = 0, rc;
    struct timespec ts;
    int64_t now;

    if ((rc = jr_journal_info(j, &in, err)) != JR_OK ||
        (rc = jr_replica_list(j, reps, 64, &nrep, err)) != JR_OK)
        return rc;
    if (nrep > 64)
        nrep = 64;
    for (uint32_t i = 0; replica && i < nrep; i++)
        if (strcmp(reps[i].name, replica) == 0) {
            reps[i].acked_seq = applied;
            found = 1;
        }
    if (replica && !found && nrep < 64) {
        snprintf(reps[nrep].name, sizeof(reps[nrep].name), "%s", replica);
        reps[nrep++].acked_seq = applied;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    now = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;

    sl_jmetrics_family(f, "sluice_journal_info", "gauge",
                       "Journal identity (value is always 1).");
    fputs("sluice_journal_info{db=\"", f);
    sl_jmetrics_label(f, db);
    fprintf(f, "\",journal_uuid=\"%s\",source_id=\"", in.journal_uuid);
    sl_jmetrics_label(f, in.source_id);
    fputs("\"} 1\n", f);
#define G(name, help, val)                                                \
    do {                                                                  \
        sl_jmetrics_family(f, name, "gauge", help);                       \
        fprintf(f, "%s{db=\"", name);                                     \
        sl_jmetrics_label(f, db);                                         \
        fprintf(f, "\"} %" PRIu64 "\n", (uint64_t)(val));                 \
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
    sl_jmetrics_family(f, "sluice_replay_applied_seq", "gauge",
                       "Last seq the replica applied.");
    for (uint32_t i = 0; i < nrep; i++) {
        fputs("sluice_replay_applied_seq{db=\"", f);
        sl_jmetrics_label(f, db);
        fprintf(f, "\",replica=\"%s\"} %" PRIu64 "\n", reps[i].name,
                reps[i].acked_seq);
    }
    sl_jmetrics_family(f, "sluice_replay_lag_records", "gauge",
                       "Complete journal records the replica has not "
                       "applied yet.");
    for (uint32_t i = 0; i < nrep; i++) {
        fputs("sluice_replay_lag_records{db=\"", f);
        sl_jmetrics_label(f, db);
        fprintf(f, "\",replica=\"%s\"} %" PRIu64 "\n", reps[i].name,
                in.complete_seq > reps[i].acked_seq
                    ? in.complete_seq - reps[i].acked_seq : 0);
    }
    sl_jmetrics_family(f, "sluice_replay_lag_seconds", "gauge",
                       "Age (source change time) of the oldest record the "
                       "replica has not applied, whatever the reason it "
                       "waits; 0 when caught up.");
    for (uint32_t i = 0; i < nrep; i++) {
        double lag = 0;
        if (in.complete_seq > reps[i].acked_seq) {
            int64_t t = change_time(j, &in, reps[i].acked_seq);
            if (t > 0 && now > t)
                lag = (double)(now - t) / 1e6;
        }
        fputs("sluice_replay_lag_seconds{db=\"", f);
        sl_jmetrics_label(f, db);
        fprintf(f, "\",replica=\"%s\"} %.3f\n", reps[i].name, lag);
    }
    return JR_OK;
}
