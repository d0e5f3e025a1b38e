/*
** sl_sig.c -- signal handling shared by every sluice program.
** INVARIANT: the handler does nothing but increment sl_stop (async-signal
** safe); all the work happens in the main loop.
*/
#include <errno.h>
#include <string.h>
#include <time.h>

#include "sl_sig.h"

volatile sig_atomic_t sl_stop;

static void on_term(int sig)
{
    (void)sig;
    if (sl_stop < 2)
        sl_stop++;
}

void sl_sig_install(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

void sl_sleep_ms(long ms)
{
    while (ms > 0 && !sl_stop) {
        long step = ms < 50 ? ms : 50;
        struct timespec ts = { 0, step * 1000000L };
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !sl_stop)
            ;
        ms -= step;
    }
}
