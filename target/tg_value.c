/*
** tg_value.c -- writing values: a converted value (tg_policy.c) as an SQL
** literal or a LOAD DATA field, and any value as text a log line, an
** error message or sqlite_sluice_rejects can always take.
**
**   SQL      numbers bare; text quoted with mysql_real_escape_string;
**            bytes for binary columns as _binary'...' (escaped, so a value
**            costs about its own size against max_allowed_packet, where
**            X'..' hex would cost twice)
**   LOAD DATA tab-separated, \N for NULL, \t \n \r \\ \0 escaped; binary
**            columns as hex, loaded through UNHEX()
**   shown    valid UTF-8 whatever the bytes: control characters and bytes
**            that are not UTF-8 become \xNN (so a message about a
**            non-UTF-8 value can itself be stored in a utf8mb4 column)
**   JSON     row images for sqlite_sluice_rejects: typed values, text that is
**            not UTF-8 and blobs as hex, long values cut with their size
**
** INVARIANT: everything tg_value_show, tg_str_escape and tg_row_json
** produce is valid UTF-8 without control bytes (JSON: escaped).
*/
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg.h"

static void hex_into(tg_str *s, const unsigned char *p, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    size_t at = s->len;

    tg_str_add(s, (const char *)p, n);          /* reserve n ... */
    tg_str_add(s, (const char *)p, n);          /* ... and n more */
    if (s->oom)
        return;
    for (size_t i = 0; i < n; i++) {
        s->p[at + 2 * i] = hx[p[i] >> 4];
        s->p[at + 2 * i + 1] = hx[p[i] & 15];
    }
}

int tg_value_sql(tg_str *s, MYSQL *db, const tg_col *c, const jr_value *v,
                 int flags, int *altered, char *why, size_t cap)
{
    tg_conv cv;

    if (tg_convert(&cv, c, v, flags, why, cap) != 0)
        return -1;
    if (altered != NULL)
        *altered = cv.altered;
    switch (cv.kind) {
    case TG_CV_NULL:
        tg_str_adds(s, "NULL");
        break;
    case TG_CV_NUM:
        tg_str_add(s, cv.p, cv.n);
        break;
    case TG_CV_STR:
        tg_str_quote(s, db, cv.p, cv.n);
        break;
    default:
        tg_str_adds(s, "_binary");
        tg_str_quote(s, db, cv.p, cv.n);
        break;
    }
    return 0;
}

int tg_value_tsv(tg_str *s, const tg_col *c, const jr_value *v, int flags,
                 int *altered, char *why, size_t cap)
{
    tg_conv cv;

    if (tg_convert(&cv, c, v, flags, why, cap) != 0)
        return -1;
    if (altered != NULL)
        *altered = cv.altered;
    switch (cv.kind) {
    case TG_CV_NULL:
        tg_str_add(s, "\\N", 2);
        break;
    case TG_CV_NUM:
        tg_str_add(s, cv.p, cv.n);
        break;
    case TG_CV_BIN:
        hex_into(s, (const unsigned char *)cv.p, cv.n);  /* UNHEX()ed */
        break;
    default: {
        /* escape \t \n \r \\ and NUL; everything else verbatim */
        const char *p = cv.p, *end = p + cv.n, *run = p;
        for (; p < end; p++) {
            char e = 0;
            switch (*p) {
            case '\t': e = 't'; break;
            case '\n': e = 'n'; break;
            case '\\': e = '\\'; break;
            case '\0': e = '0'; break;
            case '\r': e = 'r'; break;
            default: continue;
            }
            tg_str_add(s, run, (size_t)(p - run));
            tg_str_add(s, "\\", 1);
            tg_str_add(s, &e, 1);
            run = p + 1;
        }
        tg_str_add(s, run, (size_t)(end - run));
    }
    }
    return 0;
}

/* ---- text that is always valid UTF-8 ---- */

/* Length of the well-formed UTF-8 character at p (n bytes left), 0 if
** the bytes there are not one. */
static size_t utf8_char(const unsigned char *p, size_t n)
{
    size_t len;
    uint32_t cp;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        len = 2, cp = p[0] & 0x1f;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        len = 3, cp = p[0] & 0x0f;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        len = 4, cp = p[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

/* Escape up to `max` source bytes of p into s (whole characters only);
** returns the bytes consumed. json: JSON string escapes instead. */
static size_t escape_into(tg_str *s, const void *vp, size_t n, size_t max,
                          int json)
{
    const unsigned char *p = vp;
    size_t i = 0;

    while (i < n) {
        size_t k = utf8_char(p + i, n - i);
        char b[8];
        if (i + (k ? k : 1) > max)
            break;
        if (k == 1 && (p[i] < 0x20 || p[i] == 0x7f)) {
            if (json)
                snprintf(b, sizeof(b), "\\u%04x", p[i]);
            else
                snprintf(b, sizeof(b), "\\x%02x", p[i]);
            tg_str_adds(s, b);
        } else if (k == 1 && (p[i] == '\\' || (json && p[i] == '"'))) {
            b[0] = '\\';
            b[1] = (char)p[i];
            tg_str_add(s, b, 2);
        } else if (k == 0) {
            /* not UTF-8: JSON strings cannot hold it (callers send such
            ** values as hex), messages show it as \xNN */
            snprintf(b, sizeof(b), json ? "\\\\x%02x" : "\\x%02x", p[i]);
            tg_str_adds(s, b);
            k = 1;
        } else {
            tg_str_add(s, (const char *)p + i, k);
        }
        i += k;
    }
    return i;
}

void tg_str_escape(tg_str *s, const void *p, size_t n)
{
    escape_into(s, p, n, n, 0);
}

void tg_value_show(char *buf, size_t cap, const jr_value *v)
{
    tg_str s = { 0 };
    size_t used;

    switch (v->type) {
    case JR_NULL:
        snprintf(buf, cap, "NULL");
        return;
    case JR_INT:
        snprintf(buf, cap, "%" PRId64, v->u.i);
        return;
    case JR_REAL:
        if (isfinite(v->u.r))
            tg_shortest(buf, cap, v->u.r);
        else
            snprintf(buf, cap, "%s", isnan(v->u.r) ? "NaN"
                                     : v->u.r > 0 ? "Inf" : "-Inf");
        return;
    case JR_TEXT:
        tg_str_add(&s, "'", 1);
        used = escape_into(&s, v->u.b.p, v->u.b.n, 80, 0);
        tg_str_add(&s, "'", 1);
        if (used < v->u.b.n)
            tg_str_adds(&s, "...");
        break;
    default:
        tg_str_adds(&s, "x'");
        hex_into(&s, v->u.b.p, v->u.b.n > 32 ? 32 : v->u.b.n);
        tg_str_adds(&s, v->u.b.n > 32 ? "'..." : "'");
        break;
    }
    if (s.p == NULL || s.oom) {
        snprintf(buf, cap, "?");
    } else {
        /* cut on a character boundary */
        size_t n = s.len < cap ? s.len : cap - 1;
        while (n > 0 && n < s.len && ((unsigned char)s.p[n] & 0xc0) == 0x80)
            n--;
        memcpy(buf, s.p, n);
        buf[n] = 0;
    }
    tg_str_free(&s);
}

/* ---- row images ---- */

static void json_str(tg_str *s, const void *p, size_t n)
{
    tg_str_add(s, "\"", 1);
    escape_into(s, p, n, n, 1);
    tg_str_add(s, "\"", 1);
}

static void json_value(tg_str *s, const jr_value *v, size_t per_value)
{
    char b[64];
    size_t n;

    switch (v->type) {
    case JR_NULL:
        tg_str_adds(s, "null");
        return;
    case JR_INT:
        tg_str_addf(s, "%" PRId64, v->u.i);
        return;
    case JR_REAL:
        if (isfinite(v->u.r)) {
            tg_shortest(b, sizeof(b), v->u.r);
            tg_str_adds(s, b);
        } else {
            tg_str_adds(s, isnan(v->u.r) ? "\"NaN\""
                           : v->u.r > 0 ? "\"Inf\"" : "\"-Inf\"");
        }
        return;
    default:
        break;
    }
    n = v->u.b.n;
    if (v->type == JR_TEXT) {
        const unsigned char *p = v->u.b.p;
        size_t i = 0;
        while (i < n && i <= per_value) {
            size_t k = utf8_char(p + i, n - i);
            if (k == 0)
                break;
            i += k;
        }
        if (i >= n) {                    /* valid UTF-8, whole value */
            json_str(s, p, n);
            return;
        }
        if (i > per_value) {             /* valid so far, long: cut */
            tg_str_adds(s, "{\"text\":");
            tg_str_add(s, "\"", 1);
            escape_into(s, p, n, per_value, 1);
            tg_str_addf(s, "\",\"bytes\":%zu}", n);
            return;
        }
    }
    tg_str_adds(s, v->type == JR_TEXT ? "{\"text_hex\":\"" : "{\"blob_hex\":\"");
    hex_into(s, v->u.b.p, n > per_value ? per_value : n);
    tg_str_addf(s, "\",\"bytes\":%zu}", n);
}

void tg_row_json(tg_str *s, const jr_row *r, size_t per_value)
{
    tg_str_add(s, "{", 1);
    for (uint32_t i = 0; i < r->n; i++) {
        if (i)
            tg_str_add(s, ",", 1);
        json_str(s, r->names[i], strlen(r->names[i]));
        tg_str_add(s, ":", 1);
        json_value(s, &r->vals[i], per_value);
    }
    tg_str_add(s, "}", 1);
}
