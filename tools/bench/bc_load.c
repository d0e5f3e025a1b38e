/*
** bc_load.c -- sluice-bench-capture's CPU accounting: how busy other
** processes kept the machine while a phase ran. The machine may be
** shared; each phase's table says how much it was disturbed.
** INVARIANTS:
**  (L1) "other" = the machine's busy CPU seconds (/proc/stat) minus our
**       own (this process, its reaped children and the children the
**       spawner reaped for us), over the phase's wall time; never
**       negative; -1 (not printed) when /proc/stat is unreadable.
*/
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bc.h"
#include "sl_clock.h"

/* CPU seconds of this process and of every child reaped so far. */
static double own_cpu_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_CHILDREN, &ru);
    return bu_self_cpu_s() + bu_tv_s(ru.ru_utime) + bu_tv_s(ru.ru_stime) +
           (double)bc_sp_child_cpu_us() / 1e6;
}

void bc_load_begin(bc_load *l)
{
    l->t0 = sl_mono_us();
    l->busy0 = bu_machine_busy_s();
    l->own0 = own_cpu_s();
}

void bc_load_end(bc_load *l)
{
    double busy = bu_machine_busy_s();

    l->secs = (double)(sl_mono_us() - l->t0) / 1e6;
    l->other = busy < 0 || l->busy0 < 0 ? -1 :
               ((busy - l->busy0) - (own_cpu_s() - l->own0)) / l->secs;
    if (l->other < 0 && busy >= 0)
        l->other = 0;
    l->done = 1;
}

void bc_load_print(const bc_load *l)
{
    if (!l->done || l->other < 0)
        return;
    printf("   [%.0f s; other processes kept %.2f of %ld CPUs busy on "
           "average meanwhile]\n", l->secs, l->other,
           sysconf(_SC_NPROCESSORS_ONLN));
}
