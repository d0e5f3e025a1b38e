/*
** sl_log.h -- one line per event, logfmt (key=value), to stderr.
**
**   SL_LOG(SL_INFO, "capture.drained", "seq=%llu changes=%u", seq, n);
** prints
**   ts=2026-11-26T23:04:05.123Z level=info prog=sluice-capture
**   event=capture.drained seq=42 changes=7
** The level is checked before the arguments are evaluated.
*/
#ifndef SLUICE_SL_LOG_H
#define SLUICE_SL_LOG_H

#include <stddef.h>

enum { SL_DEBUG = 0, SL_INFO = 1, SL_WARN = 2, SL_ERROR = 3 };

extern int sl_log_level;

/* Program name printed as prog=; call once from main(). */
void sl_log_init(const char *prog);

/* Parse "debug", "info", "warn", "error"; -1 if unknown. */
int sl_log_parse_level(const char *s);

void sl_log_emit(int level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define SL_LOG(level, event, ...)                                        \
    do {                                                                 \
        if ((level) >= sl_log_level)                                     \
            sl_log_emit((level), (event), __VA_ARGS__);                  \
    } while (0)

/* Quote s as a logfmt value into buf (always NUL-terminated): bare when it
** has no space, quote, '=' or control character, else "..." with \" \\ \n
** escapes. Returns buf, so it can be passed straight to a %s. */
const char *sl_q(char *buf, size_t cap, const char *s);

#endif
