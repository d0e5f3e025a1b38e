/*
** tg_url.c -- mariadb://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?k=v&...]
**
** Accepted schemes: mariadb://, mysql://. Query keys: socket=PATH (connect
** through a unix socket), tls=disabled|preferred|required|verify-full,
** tls_ca=PATH (the CA that signed the server's certificate). User,
** password and values are percent-decoded. SLUICE_TARGET_PASSWORD or
** --password-file supply the password when the URL has none: a password
** in the URL shows in the process list (the programs warn, and scrub
** their own argv).
** INVARIANT: any malformed part is rejected with a message naming it;
** nothing is guessed.
*/
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg.h"

static int bad(jr_err *err, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && err->code == JR_OK) {
        err->code = JR_ERR;
        err->op = "url";
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return JR_ERR;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decode s in place; -1 on a bad escape (or %00). */
static int pct_decode(char *s)
{
    char *o = s;

    for (; *s; s++) {
        if (*s == '%') {
            int h = hexval(s[1]), l = h < 0 ? -1 : hexval(s[2]);
            if (h < 0 || l < 0 || h + l == 0)   /* %00 would cut the name */
                return -1;
            *o++ = (char)(h * 16 + l);
            s += 2;
        } else {
            *o++ = *s;
        }
    }
    *o = 0;
    return 0;
}

void tg_url_free(tg_url *u)
{
    free(u->buf);
    free(u->password);
    memset(u, 0, sizeof(*u));
}

void tg_url_scrub(char *url)
{
    char *s = strstr(url, "://"), *slash, *at, *colon;

    if (s == NULL)
        return;
    s += 3;
    slash = strchr(s, '/');
    at = strchr(s, '@');
    /* the userinfo ends at the last @ before the path */
    while (at != NULL) {
        char *next = strchr(at + 1, '@');
        if (next == NULL || (slash != NULL && next > slash))
            break;
        at = next;
    }
    if (at == NULL || (slash != NULL && at > slash))
        return;
    colon = memchr(s, ':', (size_t)(at - s));
    if (colon == NULL)
        return;
    for (char *p = colon + 1; p < at; p++)
        *p = 'x';
}

int tg_url_password_file(tg_url *u, const char *path, jr_err *err)
{
    FILE *f;
    char line[1024];
    size_t n;

    if (u->password_in_url)
        return bad(err, "the target URL carries a password and "
                   "--password-file gives another: use one");
    if ((f = fopen(path, "r")) == NULL)
        return bad(err, "--password-file %s: %s", path, strerror(errno));
    if (fgets(line, sizeof(line), f) == NULL)
        line[0] = 0;
    fclose(f);
    n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = 0;
    if (n == 0)
        return bad(err, "--password-file %s: the first line is empty", path);
    free(u->password);
    if ((u->password = strdup(line)) == NULL)
        return bad(err, "out of memory");
    memset(line, 0, sizeof(line));
    return JR_OK;
}

int tg_url_parse(tg_url *u, const char *url, jr_err *err)
{
    const char *hint = " (expected mariadb://USER[:PASSWORD]@HOST[:PORT]"
                       "/DATABASE[?socket=PATH])";
    char *s, *at, *slash, *q, *colon, *pw = NULL;
    size_t skip;

    memset(u, 0, sizeof(*u));
    if (strncmp(url, "mariadb://", 10) == 0)
        skip = 10;
    else if (strncmp(url, "mysql://", 8) == 0)
        skip = 8;
    else
        return bad(err, "target URL must start with mariadb:// or "
                   "mysql://%s", hint);
    u->buf = s = strdup(url + skip);
    if (s == NULL)
        return bad(err, "out of memory");
    if ((q = strchr(s, '?')) != NULL)
        *q++ = 0;
    slash = strchr(s, '/');
    if (slash == NULL || slash[1] == 0)
        goto nodb;
    *slash = 0;
    u->database = slash + 1;
    at = strrchr(s, '@');
    if (at == NULL || at == s) {
        int r = bad(err, "target URL has no user%s", hint);
        tg_url_free(u);
        return r;
    }
    *at = 0;
    u->user = s;
    if ((colon = strchr(s, ':')) != NULL) {
        *colon = 0;
        pw = colon + 1;
    }
    u->host = at + 1;
    if (u->host[0] == '[') {                       /* [::1]:3306 */
        char *rb = strchr(u->host, ']');
        if (rb == NULL) {
            int r = bad(err, "target URL has an unclosed [ in its host");
            tg_url_free(u);
            return r;
        }
        *rb = 0;
        u->host++;
        colon = rb[1] == ':' ? rb + 1 : NULL;
    } else {
        colon = strchr(u->host, ':');
    }
    if (colon != NULL) {
        char *end;
        long port = strtol(colon + 1, &end, 10);
        *colon = 0;
        if (*end != 0 || port < 1 || port > 65535) {
            int r = bad(err, "target URL port must be 1-65535%s", hint);
            tg_url_free(u);
            return r;
        }
        u->port = (unsigned)port;
    }
    if (u->host[0] == 0)
        u->host = "localhost";
    while (q != NULL && *q) {
        char *amp = strchr(q, '&'), *eq;
        if (amp)
            *amp = 0;
        eq = strchr(q, '=');
        if (eq == NULL) {
            int r = bad(err, "target URL parameter '%s' has no value", q);
            tg_url_free(u);
            return r;
        }
        *eq = 0;
        if (pct_decode(eq + 1) != 0) {
            int r = bad(err, "target URL parameter '%s' has a bad %% "
                       "escape", q);
            tg_url_free(u);
            return r;
        }
        if (strcmp(q, "socket") == 0) {
            u->socket = eq + 1;
        } else if (strcmp(q, "tls") == 0 || strcmp(q, "ssl") == 0) {
            if (strcmp(eq + 1, "required") == 0 || !strcmp(eq + 1, "true"))
                u->tls = TG_TLS_REQUIRED;
            else if (!strcmp(eq + 1, "verify-full"))
                u->tls = TG_TLS_VERIFY_FULL;
            else if (!strcmp(eq + 1, "disabled") || !strcmp(eq + 1, "false"))
                u->tls = TG_TLS_DISABLED;
            else if (strcmp(eq + 1, "preferred") == 0)
                u->tls = TG_TLS_PREFERRED;
            else {
                int r = bad(err, "target URL tls must be disabled, "
                           "preferred, required or verify-full");
                tg_url_free(u);
                return r;
            }
        } else if (strcmp(q, "tls_ca") == 0 || strcmp(q, "tls-ca") == 0) {
            u->tls_ca = eq + 1;
        } else {
            int r = bad(err, "unknown target URL parameter '%s' (known: "
                       "socket, tls, tls_ca)", q);
            tg_url_free(u);
            return r;
        }
        q = amp ? amp + 1 : NULL;
    }
    if (pct_decode(u->user) != 0 || (pw && pct_decode(pw) != 0) ||
        pct_decode(u->database) != 0) {
        int r = bad(err, "target URL has a bad %% escape");
        tg_url_free(u);
        return r;
    }
    if (u->user[0] == 0) {
        int r = bad(err, "target URL has an empty user%s", hint);
        tg_url_free(u);
        return r;
    }
    if (u->tls_ca != NULL && u->tls != TG_TLS_REQUIRED &&
        u->tls != TG_TLS_VERIFY_FULL) {
        int r = bad(err, "target URL has tls_ca but not tls=required or "
                   "tls=verify-full (a CA is only used to verify)");
        tg_url_free(u);
        return r;
    }
    u->password_in_url = pw != NULL;
    if (pw == NULL)
        pw = getenv("SLUICE_TARGET_PASSWORD");
    if (pw != NULL && (u->password = strdup(pw)) == NULL) {
        int r = bad(err, "out of memory");
        tg_url_free(u);
        return r;
    }
    return JR_OK;
nodb:
    tg_url_free(u);                  /* the message uses no part of it */
    return bad(err, "target URL names no database%s", hint);
}
