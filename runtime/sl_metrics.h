/*
** sl_metrics.h -- the Prometheus /metrics endpoint of the long-running
** programs (--metrics HOST:PORT), served by libmicrohttpd.
**
** The main loop renders the exposition text whenever it likes and
** publishes it; the HTTP thread only ever serves the last published copy,
** so no program state is touched from another thread.
*/
#ifndef SLUICE_SL_METRICS_H
#define SLUICE_SL_METRICS_H

#include <stddef.h>

typedef struct sl_metrics sl_metrics;

/* Listen on HOST:PORT ("127.0.0.1:9464", "[::1]:9464", "0.0.0.0:9464";
** PORT 0 picks a free one). Returns 0, or -1 with a message in err. */
int sl_metrics_start(sl_metrics **out, const char *hostport, char *err,
                     size_t cap);
/* The port actually bound. */
unsigned sl_metrics_port(const sl_metrics *m);
/* Replace the served text (copied). */
void sl_metrics_publish(sl_metrics *m, const char *text, size_t len);
void sl_metrics_stop(sl_metrics *m);          /* NULL-safe */

#endif
