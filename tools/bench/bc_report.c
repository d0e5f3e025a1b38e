/*
** bc_report.c -- sluice-bench-capture's report: one table per phase that
** ran (bc_writes, bc_drain, bc_snap, bc_lat), then one PASS/FAIL line per
** target.
** INVARIANTS:
**  (P1) printing only: every figure was measured by its phase; a phase
**       that did not run (not done, or no runs) prints nothing and
**       checks nothing.
**  (P2) the verdicts use the best wall-clock runs of the write phase;
**       the CPU-time ratios are shown beside them, not judged.
*/
#include <stdarg.h>
#include <stdio.h>

#include "bc.h"

static int g_failed;

static void verdict(int ok, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void verdict(int ok, const char *what, const char *fmt, ...)
{
    char detail[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    printf("%s  %s (%s)\n", ok ? "PASS" : "FAIL", what, detail);
    if (!ok)
        g_failed = 1;
}

int bc_report(const bc_writes *W, const bc_drain *D, const bc_snap *S,
              const bc_lat *L)
{
    char b1[48], b2[48], b3[48];

    if (W->nrate[BC_S_SMALL][BC_V_NONE] > 0) {
        printf("\n1. Application write throughput (WAL, synchronous=NORMAL; "
               "orders: 8 columns, ~%.0f bytes of values/row)\n"
               "   best and median of the runs in rows/s (+-: (max-min)/"
               "median), ratios of the best to 'none' and 'min' of the\n"
               "   same shape; then the best rows per CPU-second of the "
               "writing process and its ratios: CPU time does not\n"
               "   count time lost to other processes, so it is the steadier "
               "figure on a shared machine\n", bc_obytes);
        bc_load_print(&W->load);
        for (int sh = 0; sh < BC_NSHAPE; sh++) {
            bc_wstat none = bc_wstats(W, sh, BC_V_NONE);
            bc_wstat min = bc_wstats(W, sh, BC_V_MIN);
            if (W->nrate[sh][BC_V_NONE] == 0)
                continue;
            if (sh == BC_S_SMALL)
                printf("\n   %s: %ld transactions of 1 INSERT, %d runs\n",
                       bc_sname[sh], bc_opt.small_txns,
                       W->nrate[sh][BC_V_NONE]);
            else if (sh == BC_S_LARGE)
                printf("\n   %s: %ld rows in transactions of %ld "
                       "INSERTs, %d runs\n", bc_sname[sh], bc_opt.large_rows,
                       bc_opt.large_txn, W->nrate[sh][BC_V_NONE]);
            else
                printf("\n   %s: %ld transactions of 1 INSERT into "
                       "orders + 1 into order_items (~%.0f bytes), %d runs;"
                       "\n   rows/s counts both rows; 'min' logs both "
                       "tables into one mlog\n", bc_sname[sh],
                       bc_opt.small_txns, bc_ibytes,
                       W->nrate[sh][BC_V_NONE]);
            printf("   %-36s %10s %10s %4s %6s %6s | %10s %6s %6s\n",
                   "variant", "best/s", "median/s", "+-", "/none", "/min",
                   "per CPU-s", "/none", "/min");
            for (int i = 0; bc_shape_vars[sh][i] >= 0; i++) {
                int v = bc_shape_vars[sh][i];
                bc_wstat w = bc_wstats(W, sh, v);
                printf("   %-36s %10s %10s %3.0f%% %5.2fx %5.2fx | %10s "
                       "%5.2fx %5.2fx%s\n", bc_vname[v],
                       bu_thousands(b1, sizeof(b1), w.best),
                       bu_thousands(b2, sizeof(b2), w.med), w.spread * 100,
                       w.best / none.best, w.best / min.best,
                       bu_thousands(b3, sizeof(b3), w.cpu), w.cpu / none.cpu,
                       w.cpu / min.cpu, v == BC_V_SLUICE_LIVE ? " *" : "");
            }
        }
        printf("   * CPU of the writing process only; capture's own CPU is "
               "not counted\n");
    }
    if (D->done) {
        printf("\n2. Drain: %ld committed log rows -> durable journal "
               "(sluice_capture library in this process)\n", D->rows);
        bc_load_print(&D->load);
        printf("   backlog written by the app (sluice triggers, %ld-row "
               "txns)     %12s rows/s\n", bc_opt.large_txn,
               bu_thousands(b1, sizeof(b1), D->fill_rate));
        printf("   cap_open                                        "
               "%12.3f s\n", D->open_s);
        printf("   cap_step until idle: %9llu changes in %6.2f s  %12s "
               "changes/s\n", (unsigned long long)D->changes, D->drain_s,
               bu_thousands(b1, sizeof(b1),
                            (double)D->changes / D->drain_s));
        printf("   cap_trim(force): delete drained log rows        "
               "%12.2f s\n", D->trim_s);
        printf("   drain + trim                                    "
               "%12s changes/s\n",
               bu_thousands(b1, sizeof(b1), (double)D->changes /
                                            (D->drain_s + D->trim_s)));
        if (D->bin_done)
            printf("   sluice-capture --once (drain + trim), wall %.2f s "
                   "- idle run %.3f s  %s changes/s (ru_maxrss %.1f MiB)\n",
                   D->bin_s, D->bin_idle_s,
                   bu_thousands(b2, sizeof(b2), (double)D->rows /
                                (D->bin_s - D->bin_idle_s)),
                   (double)D->bin_rss_kb / 1024);
        printf("   checks: %llu records journaled, %lld log row(s) left "
               "after trim, read back %s\n",
               (unsigned long long)D->journaled, (long long)D->left_rows,
               D->readback_ok ? "ok (every insert, ids in order)"
                             : "FAILED");
    }
    if (S->done) {
        printf("\n3. Snapshot: sluice-capture --once on a %ld-row table "
               "(never captured)\n", S->rows);
        bc_load_print(&S->load);
        printf("   wall %.2f s - startup %.3f s (same command, empty "
               "table)  %12s rows/s\n", S->wall_s, S->startup_s,
               bu_thousands(b1, sizeof(b1), (double)S->rows /
                            (S->wall_s - S->startup_s)));
        printf("   peak RSS: ru_maxrss %.1f MiB (VmHWM sampled %.1f MiB; "
               "spawner %.1f MiB); CPU %.2f s\n", (double)S->rss_kb / 1024,
               (double)S->hwm_kb / 1024, (double)S->spawner_kb / 1024,
               (double)S->cpu_us / 1e6);
        printf("   checks: capture logged rows=%ld, journal head_seq "
               "%llu\n", S->logged_rows, (unsigned long long)S->journaled);
    }
    if (L->done) {
        printf("\n4. Commit-to-journal latency: %ld 1-row commits at %.0f/s "
               "(%ld started >1 ms late), sluice-capture with its default "
               "poll\n",
               L->n, L->rate, L->late);
        bc_load_print(&L->load);
        printf("   received %ld/%ld   capture: CPU %.0f%% of a core, "
               "VmHWM %.1f MiB\n", L->received, L->n, L->capture_cpu * 100,
               (double)L->capture_rss_kb / 1024);
        printf("   now - rec.time_us (trigger's julianday('now'), ms "
               "resolution):  p50 %6.2f  p99 %6.2f  max %6.2f ms\n",
               (double)L->p50 / 1000, (double)L->p99 / 1000,
               (double)L->max / 1000);
        printf("   now - writer's COMMIT return (cross-check):           "
               "     p50 %6.2f  p99 %6.2f  max %6.2f ms\n",
               (double)L->c50 / 1000, (double)L->c99 / 1000,
               (double)L->cmax / 1000);
        printf("   reader: %ld time(s) an EAGAIN came after "
               "jr_journal_version() already showed the commit holding\n"
               "   the record (the reader retries every 0.5 ms; one that "
               "only waits for the version to move stalls there)\n",
               L->races);
    }

    printf("\n");
    if (W->nrate[BC_S_SMALL][BC_V_NONE] > 0) {
        for (int sh = 0; sh <= BC_S_LARGE; sh++) {
            bc_wstat none = bc_wstats(W, sh, BC_V_NONE);
            bc_wstat min = bc_wstats(W, sh, BC_V_MIN);
            bc_wstat sl = bc_wstats(W, sh, BC_V_SLUICE);
            char what[96];
            if (W->nrate[sh][BC_V_NONE] == 0)
                continue;
            snprintf(what, sizeof(what), "sluice triggers >= 0.9x minimal "
                     "trigger, %s", bc_sname[sh]);
            verdict(sl.best >= 0.9 * min.best, what, "%.2fx minimal, "
                    "%.2fx by CPU time; %.2fx no-trigger, minimal %.2fx",
                    sl.best / min.best, sl.cpu / min.cpu,
                    sl.best / none.best, min.best / none.best);
        }
    }
    if (D->done) {
        double r = (double)D->changes / D->drain_s;
        verdict(r >= 200000 && D->readback_ok &&
                D->changes == (uint64_t)D->rows,
                "drain >= 200,000 changes/s", "%s changes/s",
                bu_thousands(b1, sizeof(b1), r));
    }
    if (S->done)
        verdict(S->rss_kb < 64 * 1024 && S->logged_rows == S->rows,
                "snapshot peak RSS < 64 MiB", "%.1f MiB, %s rows/s",
                (double)S->rss_kb / 1024,
                bu_thousands(b1, sizeof(b1), (double)S->rows /
                             (S->wall_s - S->startup_s)));
    if (L->done)
        verdict(L->p99 < 20000 && L->received == L->n,
                "commit-to-journal p99 < 20 ms at 1,000 commits/s",
                "p99 %.2f ms, %ld/%ld received", (double)L->p99 / 1000,
                L->received, L->n);
    return g_failed;
}
