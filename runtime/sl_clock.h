/*
** sl_clock.h -- the one clock of every sluice program and library.
**
**   sl_now_us()   wall clock (CLOCK_REALTIME), µs since the epoch: for
**                 times that are stored or shown (record and commit
**                 times, lag in seconds, log timestamps).
**   sl_mono_us()  monotonic clock (CLOCK_MONOTONIC), µs from an arbitrary
**                 start: for intervals, deadlines and timeouts, which must
**                 not jump when someone sets the wall clock.
** libc only; both are async-signal-safe (clock_gettime is).
*/
#ifndef SLUICE_SL_CLOCK_H
#define SLUICE_SL_CLOCK_H

#include <stdint.h>

int64_t sl_now_us(void);
int64_t sl_mono_us(void);

#endif /* SLUICE_SL_CLOCK_H */
