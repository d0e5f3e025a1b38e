/*
** fuzz_logfmt.c -- the one escaping function (sl_qn) and the line check
** of the logger (sl_logfmt_valid), runtime/sl_log.c; and the
** Prometheus label escaping (sl_prom_label).
**
** Input: byte 0 = output capacity (4..259), the rest the value. Checked:
** the escaped value stays inside its buffer, `k=<value>` is a valid
** line, and decoding it gives the value back byte for byte unless it was
** cut, in which case it ends in "..." after a prefix of the value; the
** line check never reads outside its input; a label is valid UTF-8 with
** no raw '"' or newline.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_prom.h"
#include "sl_log.h"
#include "sl_utf8.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static int hexv(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c - 'a' + 10;
}

/* Decode a quoted or bare value (as sl_log.h defines it). */
static size_t decode(const char *v, char *out)
{
    size_t n = 0, len = strlen(v);

    if (v[0] != '"') {
        memcpy(out, v, len);
        return len;
    }
    CHECK(len >= 2 && v[len - 1] == '"');
    for (size_t i = 1; i + 1 < len; i++) {
        if (v[i] != '\\') {
            out[n++] = v[i];
            continue;
        }
        i++;
        switch (v[i]) {
        case 'n': out[n++] = '\n'; break;
        case 'r': out[n++] = '\r'; break;
        case 't': out[n++] = '\t'; break;
        case 'x':
            out[n++] = (char)(hexv(v[i + 1]) * 16 + hexv(v[i + 2]));
            i += 2;
            break;
        default: out[n++] = v[i];
        }
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t cap, n, dl;
    char *buf, *line, *dec, *z;

    if (size < 1)
        return 0;
    cap = 4 + data[0];
    data++;
    n = size - 1;
    buf = malloc(cap + 1);
    line = malloc(cap + 3);
    dec = malloc(cap + 1);
    CHECK(buf && line && dec);
    buf[cap] = 'Z';
    sl_qn(buf, cap, data, n);
    CHECK(buf[cap] == 'Z');
    CHECK(strlen(buf) < cap);
    snprintf(line, cap + 3, "k=%s", buf);
    CHECK(sl_logfmt_valid(line, strlen(line), NULL) == 1);
    dl = decode(buf, dec);
    if (!(dl == n && memcmp(dec, data, n) == 0)) {
        /* cut (or too small even for "...") */
        CHECK(cap < 8 || 4 * n + 3 > cap);
        if (cap >= 8) {
            CHECK(dl >= 3 && memcmp(dec + dl - 3, "...", 3) == 0);
            CHECK(memcmp(dec, data, dl - 3) == 0);
        }
    }
    /* the checker on the raw input */
    (void)sl_logfmt_valid((const char *)data, n, NULL);

    /* the label escaper */
    z = malloc(n + 1);
    memcpy(z, data, n);
    z[n] = 0;
    {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        sl_prom_label(f, z);
        fclose(f);
        CHECK(sl_utf8_valid(text, len, 1));
        for (size_t i = 0; i < len; i++) {
            CHECK(text[i] != '\n');
            if (text[i] == '\\') {
                CHECK(i + 1 < len && strchr("\\\"n", text[i + 1]) &&
                      text[i + 1]);
                i++;
            } else {
                CHECK(text[i] != '"');
            }
        }
        free(text);
    }
    free(z);
    free(buf);
    free(line);
    free(dec);
    return 0;
}
