/*
** tl_output.c -- the logfmt and Prometheus oracles of tl_output.h.
** INVARIANT: never reads outside the given text; never prints or exits.
*/
#include "tl_output.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int why_at(char *why, size_t cap, const char *line, size_t n,
                  size_t off, const char *fmt, ...)
{
    va_list ap;
    size_t w;

    if (why == NULL || cap == 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    w = strlen(why);
    snprintf(why + w, cap - w, " at byte %zu of: %.*s", off,
             (int)(n > 300 ? 300 : n), line);
    return -1;
}

/* Bytes of the valid UTF-8 character at p, 0 if invalid (RFC 3629). */
static size_t utf8_char(const unsigned char *p, size_t left)
{
    unsigned cp;
    size_t k, i;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        k = 2;
        cp = p[0] & 0x1f;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        k = 3;
        cp = p[0] & 0x0f;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        k = 4;
        cp = p[0] & 0x07;
    } else {
        return 0;
    }
    if (left < k)
        return 0;
    for (i = 1; i < k; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if ((k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 ||
                                               cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return k;
}

static int hexdig(unsigned char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f'
           ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int tl_logfmt_parse(const char *line, size_t n, tl_logfmt_cb cb, void *ctx,
                    char *why, size_t cap)
{
    const unsigned char *p = (const unsigned char *)line;
    size_t i = 0;
    int fields = 0;

    if (n == 0)
        return why_at(why, cap, line, n, 0, "empty line");
    for (;;) {
        size_t ks = i, kl, vcap, vl = 0;
        char *key, *val;
        int stop;

        while (i < n && (p[i] == '_' || p[i] == '.' || p[i] == '-' ||
                         (p[i] >= '0' && p[i] <= '9') ||
                         (p[i] >= 'a' && p[i] <= 'z') ||
                         (p[i] >= 'A' && p[i] <= 'Z')))
            i++;
        if (i == ks)
            return why_at(why, cap, line, n, i, "expected a key");
        if (i >= n || p[i] != '=')
            return why_at(why, cap, line, n, i, "key without '='");
        kl = i - ks;
        i++;
        vcap = n - i + 1;
        val = malloc(vcap);
        key = malloc(kl + 1);
        if (val == NULL || key == NULL) {
            free(val);
            free(key);
            return why_at(why, cap, line, n, i, "out of memory");
        }
        memcpy(key, line + ks, kl);
        key[kl] = 0;
        if (i < n && p[i] == '"') {
            for (i++;;) {
                size_t k;
                if (i >= n) {
                    free(key);
                    free(val);
                    return why_at(why, cap, line, n, i, "unterminated "
                                  "quoted value");
                }
                if (p[i] == '"') {
                    i++;
                    break;
                }
                if (p[i] == '\\') {
                    int h, l;
                    char e = i + 1 < n ? (char)p[i + 1] : 0;
                    if (e == '"' || e == '\\') {
                        val[vl++] = e;
                        i += 2;
                    } else if (e == 'n' || e == 'r' || e == 't') {
                        val[vl++] = e == 'n' ? '\n' : e == 'r' ? '\r'
                                                               : '\t';
                        i += 2;
                    } else if (e == 'x' && i + 3 < n &&
                               (h = hexdig(p[i + 2])) >= 0 &&
                               (l = hexdig(p[i + 3])) >= 0) {
                        val[vl++] = (char)(h * 16 + l);
                        i += 4;
                    } else {
                        free(key);
                        free(val);
                        return why_at(why, cap, line, n, i, "bad escape");
                    }
                    continue;
                }
                if (p[i] < 0x20 || p[i] == 0x7f ||
                    (k = utf8_char(p + i, n - i)) == 0) {
                    free(key);
                    free(val);
                    return why_at(why, cap, line, n, i, "raw control "
                                  "character or invalid UTF-8 in a quoted "
                                  "value");
                }
                memcpy(val + vl, p + i, k);
                vl += k;
                i += k;
            }
        } else {
            while (i < n && p[i] != ' ') {
                size_t k;
                if (p[i] < 0x20 || p[i] == 0x7f || p[i] == '"' ||
                    p[i] == '=' || p[i] == '\\' ||
                    (k = utf8_char(p + i, n - i)) == 0) {
                    free(key);
                    free(val);
                    return why_at(why, cap, line, n, i, "byte 0x%02x not "
                                  "allowed in a bare value", p[i]);
                }
                memcpy(val + vl, p + i, k);
                vl += k;
                i += k;
            }
        }
        val[vl] = 0;
        fields++;
        stop = cb != NULL && cb(key, val, vl, ctx) != 0;
        free(key);
        free(val);
        if (stop || i == n)
            return fields;
        if (p[i] != ' ')
            return why_at(why, cap, line, n, i, "expected a space after "
                          "a value");
        i++;
    }
}

typedef struct first3 {
    int idx;
    int ok;
} first3;

static int check_first(const char *key, const char *val, size_t vlen,
                       void *ctx)
{
    static const char *const want[] = { "ts", "level", "prog", "event" };
    first3 *f = ctx;

    (void)val;
    if (f->idx < 4 && strcmp(key, want[f->idx]) != 0)
        f->ok = 0;
    if (f->idx == 1 && strcmp(val, "debug") && strcmp(val, "info") &&
        strcmp(val, "warn") && strcmp(val, "error"))
        f->ok = 0;
    if (f->idx < 4 && vlen == 0)
        f->ok = 0;
    f->idx++;
    return 0;
}

int tl_logfmt_text(const char *text, size_t n, char *why, size_t cap)
{
    size_t i = 0;
    int lines = 0;

    while (i < n) {
        const char *nl = memchr(text + i, '\n', n - i);
        size_t len = nl ? (size_t)(nl - (text + i)) : n - i;
        first3 f = { 0, 1 };

        if (tl_logfmt_parse(text + i, len, check_first, &f, why, cap) < 0)
            return -1;
        if (!f.ok || f.idx < 4)
            return why_at(why, cap, text + i, len, 0, "line does not "
                          "start with ts, level, prog, event");
        lines++;
        i += len + 1;
    }
    return lines;
}

typedef struct getter {
    const char *key;
    char *val;
} getter;

static int get_cb(const char *key, const char *val, size_t vlen, void *ctx)
{
    getter *g = ctx;

    if (strcmp(key, g->key) != 0)
        return 0;
    g->val = malloc(vlen + 1);
    if (g->val != NULL) {
        memcpy(g->val, val, vlen);
        g->val[vlen] = 0;
    }
    return 1;
}

char *tl_logfmt_get(const char *line, size_t n, const char *key)
{
    getter g = { key, NULL };

    if (tl_logfmt_parse(line, n, get_cb, &g, NULL, 0) < 0) {
        free(g.val);
        return NULL;
    }
    return g.val;
}

/* ---- Prometheus ----------------------------------------------------- */

static int name_start(unsigned char c, int colon)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           (colon && c == ':');
}

static int name_char(unsigned char c, int colon)
{
    return name_start(c, colon) || (c >= '0' && c <= '9');
}

/* Metric or label name at p[*i]; its length, 0 if none. */
static size_t pname(const unsigned char *p, size_t n, size_t *i, int colon)
{
    size_t s = *i;
    if (*i >= n || !name_start(p[*i], colon))
        return 0;
    while (*i < n && name_char(p[*i], colon))
        (*i)++;
    return *i - s;
}

static int pnumber(const char *s, size_t n)
{
    char buf[64], *end;

    if (n == 0 || n >= sizeof(buf))
        return 0;
    memcpy(buf, s, n);
    buf[n] = 0;
    if (!strcmp(buf, "NaN") || !strcmp(buf, "+Inf") || !strcmp(buf, "-Inf"))
        return 1;
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789+-.eE", buf[i]))
            return 0;
    strtod(buf, &end);
    return *end == 0;
}

#define MAXFAM 256

int tl_prom_valid(const char *text, size_t n, char *why, size_t cap)
{
    const unsigned char *p = (const unsigned char *)text;
    char typed[MAXFAM][128], helped[MAXFAM][128], sampled[MAXFAM][128];
    int ntyped = 0, nhelped = 0, nsampled = 0;
    size_t i = 0;

    if (n == 0 || text[n - 1] != '\n')
        return why_at(why, cap, text, n, n, "exposition must end with a "
                      "newline");
    while (i < n) {
        const char *nl = memchr(text + i, '\n', n - i);
        size_t e = (size_t)(nl - text), ls = i, j = i, len;
        char name[128];

        if (e == i)
            return why_at(why, cap, text + ls, 0, 0, "empty line");
        if (p[j] == '#') {
            const char *kw = text + j;
            int help = e - j > 7 && memcmp(kw, "# HELP ", 7) == 0;
            int type = e - j > 7 && memcmp(kw, "# TYPE ", 7) == 0;
            size_t k;
            if (help || type) {
                j += 7;
                k = j;
                if ((len = pname(p, e, &j, 1)) == 0 || len >= sizeof(name))
                    return why_at(why, cap, text + ls, e - ls, j - ls,
                                  "bad metric name in comment");
                memcpy(name, text + k, len);
                name[len] = 0;
                if (j >= e || p[j] != ' ')
                    return why_at(why, cap, text + ls, e - ls, j - ls,
                                  "expected a space");
                j++;
                if (type) {
                    static const char *const types[] = {
                        "counter", "gauge", "histogram", "summary",
                        "untyped" };
                    int ok = 0;
                    for (int t = 0; t < 5; t++)
                        if (e - j == strlen(types[t]) &&
                            memcmp(text + j, types[t], e - j) == 0)
                            ok = 1;
                    if (!ok)
                        return why_at(why, cap, text + ls, e - ls, j - ls,
                                      "unknown type");
                    for (int t = 0; t < ntyped; t++)
                        if (!strcmp(typed[t], name))
                            return why_at(why, cap, text + ls, e - ls, 0,
                                          "second TYPE for %s", name);
                    for (int t = 0; t < nsampled; t++)
                        if (!strcmp(sampled[t], name))
                            return why_at(why, cap, text + ls, e - ls, 0,
                                          "TYPE after samples of %s", name);
                    if (ntyped < MAXFAM)
                        snprintf(typed[ntyped++], 128, "%s", name);
                } else {
                    for (int t = 0; t < nhelped; t++)
                        if (!strcmp(helped[t], name))
                            return why_at(why, cap, text + ls, e - ls, 0,
                                          "second HELP for %s", name);
                    if (nhelped < MAXFAM)
                        snprintf(helped[nhelped++], 128, "%s", name);
                    for (; j < e; j += k)
                        if ((k = utf8_char(p + j, e - j)) == 0)
                            return why_at(why, cap, text + ls, e - ls,
                                          j - ls, "HELP not UTF-8");
                }
            }
            i = e + 1;
            continue;
        }
        {
            size_t k = j;
            if ((len = pname(p, e, &j, 1)) == 0 || len >= sizeof(name))
                return why_at(why, cap, text + ls, e - ls, j - ls,
                              "bad metric name");
            memcpy(name, text + k, len);
            name[len] = 0;
        }
        if (j < e && p[j] == '{') {
            j++;
            while (j < e && p[j] != '}') {
                if (pname(p, e, &j, 0) == 0)
                    return why_at(why, cap, text + ls, e - ls, j - ls,
                                  "bad label name");
                if (j + 1 >= e || p[j] != '=' || p[j + 1] != '"')
                    return why_at(why, cap, text + ls, e - ls, j - ls,
                                  "expected =\"");
                j += 2;
                for (;;) {
                    size_t k;
                    if (j >= e)
                        return why_at(why, cap, text + ls, e - ls, j - ls,
                                      "unterminated label value");
                    if (p[j] == '"')
                        break;
                    if (p[j] == '\\') {
                        if (j + 1 >= e || !strchr("\\\"n", p[j + 1]) ||
                            p[j + 1] == 0)
                            return why_at(why, cap, text + ls, e - ls,
                                          j - ls, "bad escape in label "
                                          "value");
                        j += 2;
                        continue;
                    }
                    if ((k = utf8_char(p + j, e - j)) == 0)
                        return why_at(why, cap, text + ls, e - ls, j - ls,
                                      "label value not UTF-8");
                    j += k;
                }
                j++;
                if (j < e && p[j] == ',')
                    j++;
                else if (j >= e || p[j] != '}')
                    return why_at(why, cap, text + ls, e - ls, j - ls,
                                  "expected , or }");
            }
            if (j >= e)
                return why_at(why, cap, text + ls, e - ls, j - ls,
                              "unterminated label set");
            j++;
        }
        if (j >= e || p[j] != ' ')
            return why_at(why, cap, text + ls, e - ls, j - ls,
                          "expected a space before the value");
        j++;
        {
            const char *sp = memchr(text + j, ' ', e - j);
            size_t vl = sp ? (size_t)(sp - (text + j)) : e - j;
            if (!pnumber(text + j, vl))
                return why_at(why, cap, text + ls, e - ls, j - ls,
                              "bad sample value");
            if (sp != NULL) {
                size_t t = (size_t)(sp - text) + 1;
                for (size_t q = t; q < e; q++)
                    if ((p[q] < '0' || p[q] > '9') && !(q == t &&
                                                        p[q] == '-'))
                        return why_at(why, cap, text + ls, e - ls, q - ls,
                                      "bad timestamp");
                if (t == e)
                    return why_at(why, cap, text + ls, e - ls, t - ls,
                                  "empty timestamp");
            }
        }
        {
            int seen = 0;
            for (int t = 0; t < nsampled; t++)
                if (!strcmp(sampled[t], name))
                    seen = 1;
            if (!seen && nsampled < MAXFAM)
                snprintf(sampled[nsampled++], 128, "%s", name);
        }
        i = e + 1;
    }
    return 0;
}

/* ---- HTTP ----------------------------------------------------------- */

char *tl_http_get(int port, const char *path)
{
    struct sockaddr_in a;
    char req[300], *buf = NULL;
    size_t len = 0, cap = 0;
    ssize_t n;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0)
        return NULL;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return NULL;
    }
    snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n",
             path);
    if (write(fd, req, strlen(req)) < 0) {
        close(fd);
        return NULL;
    }
    for (;;) {
        if (len + 4096 + 1 > cap) {
            char *p = realloc(buf, cap = cap ? cap * 2 : 8192);
            if (p == NULL)
                break;
            buf = p;
        }
        n = read(fd, buf + len, cap - len - 1);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    if (buf != NULL)
        buf[len] = 0;
    return buf;
}

const char *tl_http_body(const char *response)
{
    const char *p = response ? strstr(response, "\r\n\r\n") : NULL;
    return p ? p + 4 : NULL;
}
