/*
** sl_json.c -- strict recursive-descent JSON parser.
** INVARIANTS: never reads past s+n; nesting depth is capped (64) so hostile
** input cannot exhaust the stack; the text must be valid UTF-8 and \u
** escapes (with surrogate pairs) are decoded to UTF-8, so every string is
** UTF-8; any syntax error frees everything and returns NULL.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_json.h"
#include "sl_utf8.h"

typedef struct parser {
    const char *p, *end;
    char *err;
    size_t cap;
    int depth;
} parser;

static int fail(parser *ps, const char *what)
{
    if (ps->err && ps->err[0] == 0)
        snprintf(ps->err, ps->cap, "%s", what);
    return -1;
}

static void ws(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' ||
                               *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int hex4(parser *ps, unsigned *out)
{
    unsigned v = 0;
    if (ps->end - ps->p < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        char c = *ps->p++;
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 63));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 63));
        o[2] = (char)(0x80 | (cp & 63));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 63));
    o[2] = (char)(0x80 | ((cp >> 6) & 63)); o[3] = (char)(0x80 | (cp & 63));
    return 4;
}

/* At the opening quote. Decoded string into *out (malloc). */
static int string(parser *ps, char **out, size_t *len)
{
    const char *q;
    char *o;
    size_t n = 0;

    ps->p++;
    for (q = ps->p; q < ps->end && *q != '"'; q++)
        if (*q == '\\')
            q++;
    if (q >= ps->end)
        return fail(ps, "unterminated string");
    o = malloc((size_t)(q - ps->p) + 1);
    if (o == NULL)
        return fail(ps, "out of memory");
    while (ps->p < q) {
        unsigned char c = (unsigned char)*ps->p++;
        if (c < 0x20) {
            free(o);
            return fail(ps, "control character in string");
        }
        if (c != '\\') {
            o[n++] = (char)c;
            continue;
        }
        c = (unsigned char)*ps->p++;
        switch (c) {
        case '"': case '\\': case '/': o[n++] = (char)c; break;
        case 'b': o[n++] = '\b'; break;
        case 'f': o[n++] = '\f'; break;
        case 'n': o[n++] = '\n'; break;
        case 'r': o[n++] = '\r'; break;
        case 't': o[n++] = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (hex4(ps, &cp) != 0)
                goto bad;
            if (cp >= 0xd800 && cp < 0xdc00) {
                if (ps->end - ps->p < 6 || ps->p[0] != '\\' ||
                    ps->p[1] != 'u')
                    goto bad;
                ps->p += 2;
                if (hex4(ps, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
                    goto bad;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                goto bad;
            }
            n += put_utf8(o + n, cp);       /* never longer than \uXXXX */
            break;
        }
        default:
            goto bad;
        }
    }
    ps->p = q + 1;
    o[n] = 0;
    *out = o;
    *len = n;
    return 0;
bad:
    free(o);
    return fail(ps, "bad escape in string");
}

static sl_json *value(parser *ps);

static sl_json *node(int type)
{
    sl_json *j = calloc(1, sizeof(*j));
    if (j != NULL)
        j->type = type;
    return j;
}

static sl_json *container(parser *ps, int type, char close)
{
    sl_json *j = node(type), **tail;

    if (j == NULL || ++ps->depth > 64) {
        free(j);
        fail(ps, j ? "nesting too deep" : "out of memory");
        return NULL;
    }
    tail = &j->child;
    ps->p++;
    ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        ps->depth--;
        return j;
    }
    for (;;) {
        char *key = NULL;
        size_t klen;
        sl_json *v;

        ws(ps);
        if (type == SL_JOBJ) {
            if (ps->p >= ps->end || *ps->p != '"' ||
                string(ps, &key, &klen) != 0)
                goto bad;
            ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') {
                free(key);
                goto bad;
            }
            ps->p++;
        }
        v = value(ps);
        if (v == NULL) {
            free(key);
            goto bad;
        }
        v->key = key;
        *tail = v;
        tail = &v->next;
        ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            ps->depth--;
            return j;
        }
        goto bad;
    }
bad:
    fail(ps, type == SL_JOBJ ? "bad object" : "bad array");
    sl_json_free(j);
    return NULL;
}

/* RFC 8259 number: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
** (strtod alone would take "+1", ".5", "1.", "01" as well). */
static int number_ok(const char *b)
{
    if (*b == '-')
        b++;
    if (*b == '0')
        b++;
    else if (*b >= '1' && *b <= '9')
        while (*b >= '0' && *b <= '9')
            b++;
    else
        return 0;
    if (*b == '.') {
        if (*++b < '0' || *b > '9')
            return 0;
        while (*b >= '0' && *b <= '9')
            b++;
    }
    if (*b == 'e' || *b == 'E') {
        if (*++b == '+' || *b == '-')
            b++;
        if (*b < '0' || *b > '9')
            return 0;
        while (*b >= '0' && *b <= '9')
            b++;
    }
    return *b == 0;
}

static sl_json *value(parser *ps)
{
    sl_json *j;

    ws(ps);
    if (ps->p >= ps->end) {
        fail(ps, "unexpected end of input");
        return NULL;
    }
    switch (*ps->p) {
    case '{': return container(ps, SL_JOBJ, '}');
    case '[': return container(ps, SL_JARR, ']');
    case '"':
        if ((j = node(SL_JSTR)) == NULL || string(ps, &j->str, &j->len)) {
            free(j);
            return NULL;
        }
        return j;
    case 't': case 'f': case 'n': {
        static const char *const words[] = { "true", "false", "null" };
        static const int types[] = { SL_JTRUE, SL_JFALSE, SL_JNULL };
        for (int i = 0; i < 3; i++) {
            size_t l = strlen(words[i]);
            if ((size_t)(ps->end - ps->p) >= l &&
                memcmp(ps->p, words[i], l) == 0) {
                ps->p += l;
                return node(types[i]);
            }
        }
        fail(ps, "bad literal");
        return NULL;
    }
    default: {
        char buf[64], *e;
        size_t l = 0;
        while (ps->p + l < ps->end && l < sizeof(buf) - 1 &&
               ps->p[l] != 0 && strchr("+-0123456789.eE", ps->p[l]))
            l++;
        memcpy(buf, ps->p, l);
        buf[l] = 0;
        if (l == 0 || (j = node(SL_JNUM)) == NULL) {
            fail(ps, "unexpected character");
            return NULL;
        }
        j->num = strtod(buf, &e);
        if (*e != 0 || !number_ok(buf) || isinf(j->num)) {   /* 1e999 */
            free(j);
            fail(ps, "bad number");
            return NULL;
        }
        ps->p += l;
        return j;
    }
    }
}

sl_json *sl_json_parse(const char *s, size_t n, char *errbuf, size_t cap)
{
    parser ps = { s, s + n, errbuf, cap, 0 };
    sl_json *j;

    if (errbuf && cap)
        errbuf[0] = 0;
    if (!sl_utf8_valid(s, n, 0)) {       /* RFC 8259: JSON text is UTF-8 */
        fail(&ps, "not valid UTF-8");
        return NULL;
    }
    j = value(&ps);
    ws(&ps);
    if (j != NULL && ps.p != ps.end) {
        fail(&ps, "trailing characters");
        sl_json_free(j);
        return NULL;
    }
    return j;
}

void sl_json_free(sl_json *j)
{
    while (j != NULL) {
        sl_json *next = j->next;
        sl_json_free(j->child);
        free(j->key);
        free(j->str);
        free(j);
        j = next;
    }
}

const sl_json *sl_json_get(const sl_json *obj, const char *key)
{
    if (obj == NULL || obj->type != SL_JOBJ)
        return NULL;
    for (const sl_json *c = obj->child; c; c = c->next)
        if (strcmp(c->key, key) == 0)
            return c;
    return NULL;
}

const char *sl_json_str(const sl_json *obj, const char *key)
{
    const sl_json *v = sl_json_get(obj, key);
    return v && v->type == SL_JSTR ? v->str : NULL;
}

int sl_json_bool(const sl_json *obj, const char *key)
{
    const sl_json *v = sl_json_get(obj, key);
    return v && v->type == SL_JTRUE;
}

size_t sl_json_len(const sl_json *j)
{
    size_t n = 0;
    for (const sl_json *c = j ? j->child : NULL; c; c = c->next)
        n++;
    return n;
}
