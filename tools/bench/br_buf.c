/*
** br_buf.c -- sluice-bench-replay's growing byte buffer (statement text,
** TSV lines) and LOAD DATA's TSV escapes, both ways.
** INVARIANTS:
**  (B1) b->p is NUL-terminated after every call (when it is not NULL),
**       so a buffer can be printed or passed as a C string as it is.
**  (B2) the escapes are exactly LOAD DATA's FIELDS ESCAPED BY '\\':
**       \\ \t \n \0 written; \N alone is NULL when read.
*/
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "br.h"

void br_buf_need(br_buf *b, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t c = b->cap ? b->cap : 4096;
        while (c < b->len + n + 1)
            c *= 2;
        b->p = bu_xrealloc(b->p, c);
        b->cap = c;
    }
}

void br_buf_add(br_buf *b, const void *p, size_t n)
{
    br_buf_need(b, n);
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = 0;
}

void br_buf_adds(br_buf *b, const char *s)
{
    br_buf_add(b, s, strlen(s));
}

void br_buf_addf(br_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void br_buf_addf(br_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        bu_die("vsnprintf failed");
    br_buf_need(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* TSV field: backslash escapes for \, tab, newline, NUL (LOAD DATA's) */
void br_buf_tsv(br_buf *b, const char *p, size_t n)
{
    br_buf_need(b, 2 * n);
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        switch (c) {
        case '\\': b->p[b->len++] = '\\'; b->p[b->len++] = '\\'; break;
        case '\t': b->p[b->len++] = '\\'; b->p[b->len++] = 't'; break;
        case '\n': b->p[b->len++] = '\\'; b->p[b->len++] = 'n'; break;
        case 0:    b->p[b->len++] = '\\'; b->p[b->len++] = '0'; break;
        default:   b->p[b->len++] = c;
        }
    }
    b->p[b->len] = 0;
}

/* Unescape TSV field [p, end) in place; returns its length, -1 for \N. */
long br_tsv_unescape(char *p, char *end)
{
    char *w = p;

    if (end - p == 2 && p[0] == '\\' && p[1] == 'N')
        return -1;
    for (char *r = p; r < end; r++) {
        if (*r == '\\' && r + 1 < end) {
            r++;
            *w++ = *r == 't' ? '\t' : *r == 'n' ? '\n' : *r == '0' ? 0 : *r;
        } else {
            *w++ = *r;
        }
    }
    return (long)(w - p);
}
