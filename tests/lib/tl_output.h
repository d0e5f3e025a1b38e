/*
** tl_output.h -- oracles for "output a program can parse": a logfmt line
** parser and a Prometheus text-format checker, written from the formats'
** descriptions, independently of runtime/sl_log.c and
** sl_prom.c (whose output they judge). libc only.
**
** logfmt, as sl_log.h specifies it: fields `key=value` separated by one
** space; key [A-Za-z0-9_.-]+; value bare (UTF-8, no space, control
** character, DEL, '"', '=' or '\'; may be empty) or quoted "..." with the
** escapes \" \\ \n \r \t \xHH (Go's strconv.Quote), any other character
** raw but no control character, DEL or invalid UTF-8.
**
** Prometheus text exposition format 0.0.4: `# HELP name text`,
** `# TYPE name counter|gauge|histogram|summary|untyped` (at most once per
** name, before its samples), samples `name[{label="value",...}] number
** [timestamp]`; names [a-zA-Z_:][a-zA-Z0-9_:]*, label names
** [a-zA-Z_][a-zA-Z0-9_]*, label values valid UTF-8 with only \\ \" \n
** escapes; numbers as Go's ParseFloat takes them, or NaN, +Inf, -Inf.
*/
#ifndef SLUICE_TL_OUTPUT_H
#define SLUICE_TL_OUTPUT_H

#include <stddef.h>

/* One decoded field: key and value (value decoded, NUL-terminated but
** may hold NULs; vlen is its length). Both malloc'd by the parser and
** freed after the callback returns. Return non-zero to stop. */
typedef int (*tl_logfmt_cb)(const char *key, const char *val, size_t vlen,
                            void *ctx);

/* Parse one line (no newline). Returns the number of fields, or -1 with
** the reason and its byte offset in why. cb may be NULL. */
int tl_logfmt_parse(const char *line, size_t n, tl_logfmt_cb cb, void *ctx,
                    char *why, size_t cap);

/* Every line of text (split at '\n'; a last line without newline
** counts) parses and starts with ts, level (debug|info|warn|error), prog
** and event, none empty. Returns the number of lines, or -1 with the
** first bad line quoted in why. */
int tl_logfmt_text(const char *text, size_t n, char *why, size_t cap);

/* Value of `key` in line (decoded, malloc'd) or NULL. */
char *tl_logfmt_get(const char *line, size_t n, const char *key);

/* Is text a valid exposition? 0, or -1 with the bad line in why. */
int tl_prom_valid(const char *text, size_t n, char *why, size_t cap);

/* GET path from 127.0.0.1:port over HTTP/1.0; the whole response
** (headers and body, NUL-terminated, malloc'd) or NULL. */
char *tl_http_get(int port, const char *path);

/* The body of an HTTP response (after the blank line), or NULL. */
const char *tl_http_body(const char *response);

#endif
