/*
** fuzz_json.c -- sl_json, the strict JSON reader of the SCHEMA records
** (runtime/sl_json.c), on arbitrary bytes.
**
** Checked beyond "no crash, no leak": what it accepts is valid UTF-8 (RFC
** 8259 says JSON text is UTF-8), and a tree it returns, written back out
** as JSON here, parses to the same tree (numbers bit for bit, strings
** byte for byte, keys, order, nesting).
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_json.h"
#include "sl_utf8.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

typedef struct out {
    char *p;
    size_t len, cap;
} out;

static void put(out *o, const char *s, size_t n)
{
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 256;
        while (cap < o->len + n + 1)
            cap *= 2;
        o->p = realloc(o->p, cap);
        CHECK(o->p != NULL);
        o->cap = cap;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = 0;
}

static void put_str(out *o, const char *s, size_t n)
{
    put(o, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            put(o, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            put(o, esc, 6);
        } else {
            put(o, (const char *)&s[i], 1);
        }
    }
    put(o, "\"", 1);
}

static void write_json(out *o, const sl_json *j)
{
    char num[40];

    switch (j->type) {
    case SL_JNULL: put(o, "null", 4); break;
    case SL_JTRUE: put(o, "true", 4); break;
    case SL_JFALSE: put(o, "false", 5); break;
    case SL_JNUM:
        snprintf(num, sizeof(num), "%.17g", j->num);
        put(o, num, strlen(num));
        break;
    case SL_JSTR: put_str(o, j->str, j->len); break;
    default:
        put(o, j->type == SL_JARR ? "[" : "{", 1);
        for (const sl_json *c = j->child; c; c = c->next) {
            if (c != j->child)
                put(o, ",", 1);
            if (j->type == SL_JOBJ) {
                CHECK(c->key != NULL);
                put_str(o, c->key, strlen(c->key));
                put(o, ":", 1);
            }
            write_json(o, c);
        }
        put(o, j->type == SL_JARR ? "]" : "}", 1);
    }
}

static int same(const sl_json *a, const sl_json *b)
{
    if (a->type != b->type)
        return 0;
    if ((a->key == NULL) != (b->key == NULL) ||
        (a->key && strcmp(a->key, b->key) != 0))
        return 0;
    if (a->type == SL_JNUM)
        return memcmp(&a->num, &b->num, sizeof(double)) == 0;
    if (a->type == SL_JSTR)
        return a->len == b->len && memcmp(a->str, b->str, a->len) == 0;
    for (a = a->child, b = b->child; a && b; a = a->next, b = b->next)
        if (!same(a, b))
            return 0;
    return a == NULL && b == NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[128];
    sl_json *j = sl_json_parse((const char *)data, size, err, sizeof(err));
    out o = { 0 };
    sl_json *k;

    if (j == NULL) {
        CHECK(err[0] != 0);
        return 0;
    }
    CHECK(sl_utf8_valid(data, size, 0));
    write_json(&o, j);
    k = sl_json_parse(o.p, o.len, err, sizeof(err));
    CHECK(k != NULL);
    CHECK(same(j, k));
    /* the accessors never crash on any node */
    (void)sl_json_len(j);
    (void)sl_json_str(j, "name");
    (void)sl_json_bool(j, "rowid_key");
    sl_json_free(k);
    sl_json_free(j);
    free(o.p);
    return 0;
}
