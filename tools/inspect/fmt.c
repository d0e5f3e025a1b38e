/*
** fmt.c -- value and record formatting for sluice-inspect.
**
** JSON value mapping (lossless, so tests and tools can compare exactly):
**   NULL -> null; INT -> number (all 64 bits, printed as an integer);
**   REAL -> number printed with 17 significant digits and always with a
**   '.', 'e' or exponent so it never reads back as an integer; a NaN or
**   infinity -> {"real":"nan"|"inf"|"-inf"}; TEXT -> string when it is
**   valid UTF-8 without NUL, else {"text_base64":"..."}; BLOB ->
**   {"base64":"..."}.
**
** INVARIANTS:
**  (F1) every value prints as valid JSON and reads back as exactly what
**       was journaled: text that is not valid UTF-8 (or holds NUL) goes
**       out as base64, never with bytes replaced.
**  (F2) one record is one line: control bytes inside strings are escaped,
**       so a hostile value cannot forge a second record in the output.
*/
#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "fmt.h"
#include "sl_utf8.h"

void fmt_time(char *buf, size_t cap, int64_t us)
{
    time_t s = (time_t)(us / 1000000);
    long frac = (long)(us % 1000000);
    struct tm tm;

    if (frac < 0) {
        frac += 1000000;
        s -= 1;
    }
    if (gmtime_r(&s, &tm) == NULL) {     /* beyond struct tm's years */
        snprintf(buf, cap, "@%lld.%06ld", (long long)s, frac);
        return;
    }
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, frac);
}

void fmt_json_str(FILE *f, const void *vp, size_t n)
{
    const unsigned char *p = vp;

    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c == '\t')
            fputs("\\t", f);
        else if (c == '\r')
            fputs("\\r", f);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void base64(FILE *f, const unsigned char *p, size_t n)
{
    static const char t[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i;

    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        fputc(t[v >> 18], f);
        fputc(t[(v >> 12) & 63], f);
        fputc(t[(v >> 6) & 63], f);
        fputc(t[v & 63], f);
    }
    if (i < n) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        fputc(t[v >> 18], f);
        fputc(t[(v >> 12) & 63], f);
        fputc(i + 1 < n ? t[(v >> 6) & 63] : '=', f);
        fputc('=', f);
    }
}

static void real_text(char *buf, size_t cap, double r)
{
    snprintf(buf, cap, "%.17g", r);
    if (strpbrk(buf, ".eE") == NULL)
        strncat(buf, ".0", cap - strlen(buf) - 1);
}

static void json_value(FILE *f, const jr_value *v)
{
    char b[64];

    switch (v->type) {
    case JR_INT:
        fprintf(f, "%" PRId64, v->u.i);
        break;
    case JR_REAL:
        if (isnan(v->u.r))
            fputs("{\"real\":\"nan\"}", f);
        else if (isinf(v->u.r))
            fputs(v->u.r > 0 ? "{\"real\":\"inf\"}" : "{\"real\":\"-inf\"}",
                  f);
        else {
            real_text(b, sizeof(b), v->u.r);
            fputs(b, f);
        }
        break;
    case JR_TEXT:
        if (sl_utf8_valid(v->u.b.p, v->u.b.n, 1)) {
            fmt_json_str(f, v->u.b.p, v->u.b.n);
        } else {
            fputs("{\"text_base64\":\"", f);
            base64(f, v->u.b.p, v->u.b.n);
            fputs("\"}", f);
        }
        break;
    case JR_BLOB:
        fputs("{\"base64\":\"", f);
        base64(f, v->u.b.p, v->u.b.n);
        fputs("\"}", f);
        break;
    default:
        fputs("null", f);
    }
}

static void json_row(FILE *f, const char *name, const jr_row *r)
{
    fprintf(f, ",\"%s\":{", name);
    for (uint32_t i = 0; i < r->n; i++) {
        if (i)
            fputc(',', f);
        fmt_json_str(f, r->names[i], strlen(r->names[i]));
        fputc(':', f);
        json_value(f, &r->vals[i]);
    }
    fputc('}', f);
}

void fmt_entry_json(FILE *f, const jr_entry *e)
{
    char t[80];

    fmt_time(t, sizeof(t), e->rec.time_us);
    fprintf(f, "{\"seq\":%" PRIu64 ",\"group\":%" PRIu64
            ",\"group_end\":%s,\"time\":\"%s\",\"time_us\":%" PRId64
            ",\"op\":\"%s\",\"table\":", e->seq, e->group,
            e->group_end ? "true" : "false", t, e->rec.time_us,
            jr_kind_name(e->rec.kind));
    fmt_json_str(f, e->rec.table, strlen(e->rec.table));
    json_row(f, "key", &e->rec.key);
    json_row(f, "row", &e->rec.new_row);
    if (e->rec.old_row.n > 0)
        json_row(f, "old", &e->rec.old_row);
    if (e->rec.aux_len > 0) {
        jr_value v;
        v.type = JR_TEXT;
        v.u.b.p = e->rec.aux;
        v.u.b.n = e->rec.aux_len;
        fputs(",\"aux\":", f);
        json_value(f, &v);
    }
    fputs("}\n", f);
}

/* Human form of a value: integers and reals as numbers, text quoted and
** cut at 60 bytes (unless full), blobs as x'hex' cut likewise. */
static void human_value(FILE *f, const jr_value *v, int full)
{
    size_t lim = full ? SIZE_MAX : 60, n;
    char b[64];

    switch (v->type) {
    case JR_INT:
        fprintf(f, "%" PRId64, v->u.i);
        break;
    case JR_REAL:
        real_text(b, sizeof(b), v->u.r);
        fputs(b, f);
        break;
    case JR_TEXT:
        n = v->u.b.n < lim ? v->u.b.n : lim;
        fmt_json_str(f, v->u.b.p, n);
        if (n < v->u.b.n)
            fprintf(f, "...(%zu bytes)", v->u.b.n);
        break;
    case JR_BLOB:
        n = v->u.b.n < lim / 2 ? v->u.b.n : lim / 2;
        fputs("x'", f);
        for (size_t i = 0; i < n; i++)
            fprintf(f, "%02x", ((const unsigned char *)v->u.b.p)[i]);
        fputc('\'', f);
        if (n < v->u.b.n)
            fprintf(f, "...(%zu bytes)", v->u.b.n);
        break;
    default:
        fputs("NULL", f);
    }
}

static void human_row(FILE *f, const jr_row *r, int full, const char *sep)
{
    for (uint32_t i = 0; i < r->n; i++) {
        fprintf(f, "%s%s=", i ? sep : "", r->names[i]);
        human_value(f, &r->vals[i], full);
    }
}

void fmt_entry_human(FILE *f, const jr_entry *e, int verbose)
{
    char t[80];

    fmt_time(t, sizeof(t), e->rec.time_us);
    if (!verbose) {
        fprintf(f, "%-10" PRIu64 " group=%-10" PRIu64 "%s %-14s %s ",
                e->seq, e->group, e->group_end ? " end" : "    ",
                jr_kind_name(e->rec.kind), t);
        fmt_json_str(f, e->rec.table, strlen(e->rec.table));
        if (e->rec.key.n > 0) {
            fputs(" key(", f);
            human_row(f, &e->rec.key, 0, ", ");
            fputc(')', f);
        }
        fputc('\n', f);
        return;
    }
    fprintf(f, "seq        %" PRIu64 "\n", e->seq);
    fprintf(f, "group      %" PRIu64 "%s\n", e->group,
            e->group_end ? " (ends here)" : "");
    fprintf(f, "op         %s\n", jr_kind_name(e->rec.kind));
    fprintf(f, "table      ");
    fmt_json_str(f, e->rec.table, strlen(e->rec.table));
    fprintf(f, "\ntime       %s\n", t);
    if (e->rec.key.n > 0) {
        fputs("key        ", f);
        human_row(f, &e->rec.key, 1, "\n           ");
        fputc('\n', f);
    }
    if (e->rec.new_row.n > 0) {
        fputs("row        ", f);
        human_row(f, &e->rec.new_row, 1, "\n           ");
        fputc('\n', f);
    }
    if (e->rec.old_row.n > 0) {
        fputs("old        ", f);
        human_row(f, &e->rec.old_row, 1, "\n           ");
        fputc('\n', f);
    }
    if (e->rec.aux_len > 0) {
        fputs("aux        ", f);
        fmt_json_str(f, e->rec.aux, e->rec.aux_len);
        fputc('\n', f);
    }
}
