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
#include "sl_utf8.h"

void sl_jmetrics_family(FILE *f, const char *name, const char *type,
                        const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Label value: the text format wants UTF-8 with \\, \" and \n escaped; a
** byte that is not part of valid UTF-8 (a directory name can hold any)
** becomes U+FFFD, so the exposition stays valid. */
void sl_jmetrics_label(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);

    while (n > 0) {
        size_t k = 1;

        if (*p >= 0x80) {
            k = (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3
                : (*p & 0xf8) == 0xf0 ? 4 : 0;
            if (k == 0 || k > n || !sl_utf8_valid(p, k, 0)) {
                fputs("\xef\xbf\xbd", f);
                p++;
                n--;
                continue;
            }
            fwrite(p, 1, k, f);
        } else if (*p == '\\' || *p == '"') {
            fputc('\\', f);
            fputc(*p, f);
        } else if (*p == '\n') {
            fputs("\\n", f);
        } else {
            fputc(*p, f);
        }
        p += k;
        n -= k;
    }
}

void sl_jmetrics_sample(FILE *f, const char *name, const char *db,
                        const char *replica)
{
    fprintf(f, "%s{db=\"", name);
    sl_jmetrics_label(f, db);
    if (replica != NULL) {
        fputs("\",replica=\"", f);
        sl_jmetrics_label(f, replica);
    }
    fputs("\"}", f);
}

/* Source change time of the oldest record after `acked` still stored
** (an unapplied record may have been pruned already, when the replica
** was never registered or was unregistered: its lag is then counted from
** the oldest record there is). 0 if there is none. */
int64_t sl_jmetrics_oldest_us(jr_journal *j, const jr_info *in,
                              uint64_t acked)
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
    fputs("\",journal_uuid=\"", f);
    sl_jmetrics_label(f, in.journal_uuid);
    fputs("\",source_id=\"", f);
    sl_jmetrics_label(f, in.source_id);
    fputs("\"} 1\n", f);
#define G(name, help, val)                                                \
    do {                                                                  \
        sl_jmetrics_family(f, name, "gauge", help);                       \
        sl_jmetrics_sample(f, name, db, NULL);                            \
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
    sl_jmetrics_family(f, "sluice_replay_applied_seq", "gauge",
                       "Last seq the replica applied.");
    for (uint32_t i = 0; i < nrep; i++) {
        sl_jmetrics_sample(f, "sluice_replay_applied_seq", db, reps[i].name);
        fprintf(f, " %" PRIu64 "\n", reps[i].acked_seq);
    }
    sl_jmetrics_family(f, "sluice_replay_lag_records", "gauge",
                       "Complete journal records the replica has not "
                       "applied yet.");
    for (uint32_t i = 0; i < nrep; i++) {
        sl_jmetrics_sample(f, "sluice_replay_lag_records", db, reps[i].name);
        fprintf(f, " %" PRIu64 "\n", in.complete_seq > reps[i].acked_seq
                    ? in.complete_seq - reps[i].acked_seq : 0);
    }
    sl_jmetrics_family(f, "sluice_replay_lag_seconds", "gauge",
                       "Age (source change time) of the oldest record the "
                       "replica has not applied, whatever the reason it "
                       "waits; 0 when caught up.");
    for (uint32_t i = 0; i < nrep; i++) {
        double lag = 0;
        if (in.complete_seq > reps[i].acked_seq) {
            int64_t t = sl_jmetrics_oldest_us(j, &in, reps[i].acked_seq);
            if (t > 0 && now > t)
                lag = (double)(now - t) / 1e6;
        }
        sl_jmetrics_sample(f, "sluice_replay_lag_seconds", db, reps[i].name);
        fprintf(f, " %.3f\n", lag);
    }
    return JR_OK;
}
