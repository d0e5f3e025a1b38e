/*
** sl_sig.h -- two-stage shutdown for the long-running programs.
** The first SIGINT/SIGTERM sets *stop to 1 (finish or abandon the current
** batch cleanly, exit 0); a second sets it to 2 (abort retries and waits
** now). SIGPIPE is ignored. The handler only writes the flag.
*/
#ifndef SLUICE_SL_SIG_H
#define SLUICE_SL_SIG_H

#include <signal.h>

extern volatile sig_atomic_t sl_stop;

void sl_sig_install(void);

/* Sleep up to ms milliseconds, returning early once sl_stop is set. */
void sl_sleep_ms(long ms);

#endif
