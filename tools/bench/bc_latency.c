/*
** bc_latency.c -- phase 4 of sluice-bench-capture, COMMIT-TO-JOURNAL
** LATENCY (described in the header of bench_capture.c): sluice-capture
** runs with its default poll while a bc_writer commits 1-row transactions
** on a fixed schedule and a reader process follows the journal.
**
** SHARED MEMORY (one anonymous MAP_SHARED block of 3 (n + 1) int64):
**   commit_us[n]   sl_now_us() when the bc_writer's COMMIT of id i+1 returned
**   lat_rec[n]     reader: now - rec.time_us of id i+1 (0: not seen)
**   lat_commit[n]  reader: now - commit_us[i] (0: no commit time yet)
**   races[1]       reader: EAGAINs after the version showed the commit
** INVARIANTS:
**  (T1) the bc_writer sleeps to absolute deadlines (start + i / rate), so
**       a late commit does not push the rest of the schedule back; a
**       commit that starts over 1 ms late is counted.
**  (T2) commit_us is written with release and read with acquire: the
**       reader sees either 0 or the complete time.
**  (T3) the reader never waits only for jr_journal_version() to move:
**       it retries every 0.5 ms (see reader_child()).
*/
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bc.h"
#include "sl_clock.h"
#include "sluice/journal.h"

static void reader_child(const char *jdir, long n, int64_t *commit_us,
                         int64_t *lat_rec, int64_t *lat_commit,
                         int64_t *races, int ready, int64_t give_up_us)
{
    jr_journal *j = NULL;
    jr_reader *r;
    jr_entry e;
    jr_err err = { 0 };
    long got = 0;
    char one = 1;
    int stale = 0;
    uint64_t eagain_ver = 0;

    prctl(PR_SET_PDEATHSIG, SIGTERM);
    while (jr_journal_open(&j, jdir, NULL, &err) != JR_OK) {
        if (sl_mono_us() > give_up_us)
            _exit(3);
        jr_err_clear(&err);
        bu_sleep_us(1000);
    }
    if (jr_reader_open(&r, j, 1, &err) != JR_OK)
        _exit(3);
    if (bu_write_full(ready, &one, 1) != 0)
        _exit(3);
    while (got < n && sl_mono_us() < give_up_us) {
        uint64_t ver = jr_journal_version(j);
        int rc = jr_reader_next(r, &e, &err);
        if (rc == JR_OK && stale && ver == eagain_ver)
            races[0]++;          /* the version had run ahead of the data */
        stale = 0;
        if (rc == JR_OK) {
            int64_t now = sl_now_us(), id;
            if (e.rec.kind != JR_K_INSERT || strcmp(e.rec.table, "orders") ||
                e.rec.key.n != 1 || e.rec.key.vals[0].type != JR_INT)
                continue;
            id = e.rec.key.vals[0].u.i;
            if (id < 1 || id > n)
                continue;
            if (lat_rec[id - 1] != 0 || lat_commit[id - 1] != 0) {
                fprintf(stderr, "reader: id %lld seen twice (seq %llu)\n",
                        (long long)id, (unsigned long long)e.seq);
                continue;
            }
            lat_rec[id - 1] = now - e.rec.time_us;
            {
                int64_t c = __atomic_load_n(&commit_us[id - 1],
                                            __ATOMIC_ACQUIRE);
                lat_commit[id - 1] = c ? now - c : 0;
            }
            got++;
            continue;
        }
        if (rc != JR_EAGAIN) {
            fprintf(stderr, "reader: %s\n", err.msg);
            _exit(3);
        }
        /* wait for the version to move, but retry every 0.5 ms anyway:
        ** LMDB shows a commit's meta page (jr_journal_version) while it
        ** is still being written with O_DSYNC, before new read
        ** transactions can see it, so a version seen before an EAGAIN
        ** may already be the one that holds the data */
        for (int k = 0; jr_journal_version(j) == ver; k++) {
            if (k == 5) {
                stale = 1;
                eagain_ver = ver;
                break;
            }
            bu_sleep_us(100);
        }
    }
    jr_reader_close(r);
    jr_journal_close(j);
    _exit(got == n ? 0 : 1);
}

void bc_phase_latency(bc_lat *L)
{
    char *dbp = bc_path("l.db"), *jd = bc_path("l.journal");
    char *log = bc_path("l.capture.log");
    long n = bc_opt.lat_rate * bc_opt.lat_seconds;
    size_t bytes = (size_t)n * sizeof(int64_t) + sizeof(int64_t);
    int64_t *commit_us, *lat_rec, *lat_commit;
    const char *argv[] = { bc_opt.capture, "--source", dbp, "--journal", jd,
                           "--log-level", "info", NULL };
    int pfd[2], status;
    char one;
    pid_t cap, rd;
    sqlite3 *db;
    bc_writer w;
    int64_t t0, last = 0;
    bc_sp_res r;
    int64_t cpu_t0;

    L->n = n;
    bc_load_begin(&L->load);
    commit_us = mmap(NULL, 3 * bytes, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (commit_us == MAP_FAILED)
        bu_die("mmap: %s", strerror(errno));
    lat_rec = commit_us + n;
    lat_commit = lat_rec + n;
    bu_rm_db(dbp);
    bu_rm_rf(jd);
    db = bc_db_open(dbp);
    bc_db_exec(db, bc_schema);
    cap = bc_sp_spawn(log, argv);
    cpu_t0 = sl_mono_us();
    bc_wait_triggers(db, "orders");
    if (pipe(pfd) != 0)
        bu_die("pipe: %s", strerror(errno));
    rd = fork();
    if (rd < 0)
        bu_die("fork: %s", strerror(errno));
    if (rd == 0) {
        close(pfd[0]);
        reader_child(jd, n, commit_us, lat_rec, lat_commit, lat_commit + n,
                     pfd[1], sl_mono_us() + (bc_opt.lat_seconds + 30) *
                             (int64_t)1000000);
    }
    close(pfd[1]);
    if (bu_read_full(pfd[0], &one, 1) != 0)
        bu_die("latency reader did not start");
    close(pfd[0]);

    bc_writer_open(&w, db, 0);
    t0 = sl_mono_us() + 10000;
    for (long i = 0; i < n; i++) {
        int64_t due = t0 + (int64_t)i * 1000000 / bc_opt.lat_rate;
        bu_sleep_until_us(due);
        if (sl_mono_us() - due > 1000)
            L->late++;
        bc_db_step_done(db, w.begin);
        bc_put_order(&w, i + 1);
        bc_db_step_done(db, w.commit);
        __atomic_store_n(&commit_us[i], sl_now_us(), __ATOMIC_RELEASE);
        last = sl_mono_us();
    }
    bc_writer_close(&w);
    L->rate = (double)(n - 1) / ((double)(last - t0) / 1e6);
    if (bu_wait(rd, -1, &status, NULL) != 0)
        bu_die("waitpid: %s", strerror(errno));
    L->capture_rss_kb = bu_proc_status_kb(cap, "VmHWM");
    kill(cap, SIGTERM);
    r = bc_sp_wait(cap, NULL);
    if (!bc_sp_ok(&r))
        bu_die("sluice-capture failed during the latency run (status "
               "0x%x); see %s", r.status, log);
    L->capture_cpu = (double)r.cpu_us / (double)(r.end_us - cpu_t0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) > 1)
        bu_die("latency reader failed (status 0x%x)", status);
    L->races = (long)lat_commit[n];
    for (long i = 0, shown = 0; i < n; i++)
        if (lat_rec[i] == 0 && lat_commit[i] == 0 && shown++ < 5)
            fprintf(stderr, "  [latency] id %ld never reached the "
                    "reader\n", i + 1);
    for (long i = 0; i < n; i++) {
        if (lat_rec[i] != 0 || lat_commit[i] != 0) {
            lat_rec[L->received] = lat_rec[i];
            lat_commit[L->received] = lat_commit[i];
            L->received++;
        }
    }
    bu_sort_i64(lat_rec, (size_t)L->received);
    bu_sort_i64(lat_commit, (size_t)L->received);
    L->p50 = bu_pct(lat_rec, (size_t)L->received, 50);
    L->p99 = bu_pct(lat_rec, (size_t)L->received, 99);
    L->max = L->received ? lat_rec[L->received - 1] : 0;
    L->c50 = bu_pct(lat_commit, (size_t)L->received, 50);
    L->c99 = bu_pct(lat_commit, (size_t)L->received, 99);
    L->cmax = L->received ? lat_commit[L->received - 1] : 0;
    fprintf(stderr, "  [latency] %ld/%ld received, p50 %.2f ms p99 %.2f ms "
            "max %.2f ms\n", L->received, n, (double)L->p50 / 1000,
            (double)L->p99 / 1000, (double)L->max / 1000);
    L->done = 1;
    bc_load_end(&L->load);
    sqlite3_close(db);
    munmap(commit_us, 3 * bytes);
    bu_rm_db(dbp);
    bu_rm_rf(jd);
    free(dbp);
    free(jd);
    free(log);
}
