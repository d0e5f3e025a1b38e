/*
** sl_clock.c -- wall and monotonic time in microseconds.
** INVARIANTS:
**  (C1) sl_mono_us() never goes backwards within a process; sl_now_us()
**       may (the wall clock can be set), so nothing measures an interval
**       with it.
**  (C2) no state: callable from any thread and from signal handlers.
*/
#include <time.h>

#include "sl_clock.h"

static int64_t us(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t sl_now_us(void)
{
    return us(CLOCK_REALTIME);
}

int64_t sl_mono_us(void)
{
    return us(CLOCK_MONOTONIC);
}
