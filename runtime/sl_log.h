/*
** sl_log.h -- one line per event, logfmt (key=value), to stderr.
**
**   SL_LOG(SL_INFO, "capture.drained", "seq=%llu table=%s", seq,
**          sl_q(qb, sizeof(qb), name));
** prints
**   ts=2026-11-26T23:04:05.123Z level=info prog=sluice-capture
**   event=capture.drained seq=42 table="my table"
** The level is checked before the arguments are evaluated.
**
** THE LINE GRAMMAR (what every line sl_log_emit writes satisfies, checked
** before it is written):
**   line   = field *(" " field)
**   field  = key "=" value
**   key    = 1*(ALPHA / DIGIT / "_" / "." / "-")
**   value  = *bare / quoted              (an empty bare value is allowed)
**   bare   = any UTF-8 character but space, control characters, DEL,
**            '"', '=' and '\'
**   quoted = '"' *(escape / qchar) '"'
**   qchar  = any UTF-8 character but control characters, DEL, '"', '\'
**   escape = '\"' / '\\' / '\n' / '\r' / '\t' / '\x' 2HEXDIG
** The escapes are those of Go's strconv.Quote, so Go's logfmt decoders and
** strconv.Unquote read a value back byte for byte: \xHH stands for one
** raw byte (a control character, DEL, or a byte that is not part of valid
** UTF-8). Every string value goes through sl_q(), the one escaping
** function. A line whose fields break the grammar anyway (a caller printed
** a raw %s) is not written as is: its fields are replaced by one quoted
** field `fields="..."`, so the line still parses. A line longer than
** SL_LOG_LINE_MAX is cut after its last complete field and ends with
** `truncated=true`.
*/
#ifndef SLUICE_SL_LOG_H
#define SLUICE_SL_LOG_H

#include <stddef.h>

enum { SL_DEBUG = 0, SL_INFO = 1, SL_WARN = 2, SL_ERROR = 3 };

#define SL_LOG_LINE_MAX 4096    /* bytes, newline included */

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

/* The one escaping function: s as a logfmt value (grammar above) into
** buf, always NUL-terminated. Bare when that is possible (non-empty, no
** byte that needs quoting), else quoted with escapes. A value that does
** not fit ends with "..." inside its quotes, never mid-escape. cap >= 8
** always suffices for a well-formed (possibly cut) value. Returns buf, so
** it can be passed straight to a %s. NULL is written as "". */
const char *sl_q(char *buf, size_t cap, const char *s);
/* The same for n bytes that may hold NULs. */
const char *sl_qn(char *buf, size_t cap, const void *p, size_t n);

/* Does line[0..n) (no newline) follow the grammar above? Returns 1 if so;
** else 0, with *good set to the length of its longest prefix made of
** complete fields (0 if none). good may be NULL. */
int sl_logfmt_valid(const char *line, size_t n, size_t *good);

#endif
