/*
** fuzz_url.c -- the target URL parser (target/tg_url.c):
** mariadb://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?socket=PATH&tls=...].
**
** Checked beyond "no crash, no leak": a refusal carries a message; an
** accepted URL has a non-empty user, host and database, a port of 0 or
** 1..65535, and, written back out with every byte percent-encoded, parses
** to the same parts (so nothing in the URL was silently dropped or
** reinterpreted on the first parse: what the parser keeps is what the
** user wrote).
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    unsetenv("SLUICE_TARGET_PASSWORD");
    return 0;
}

static void enc(char *o, size_t cap, const char *s)
{
    size_t n = 0;

    for (; *s && n + 4 < cap; s++)
        n += (size_t)snprintf(o + n, cap - n, "%%%02X", (unsigned char)*s);
    o[n] = 0;
}

static void build(char *url, const char *user, const char *pw,
                  const char *db, const char *sock, const char *ca,
                  const tg_url *u)
{
    char port[16] = "";
    int colon = strchr(u->host, ':') != NULL;

    if (u->port)
        snprintf(port, sizeof(port), ":%u", u->port);
    /* the caller sized url for every part */
    url[0] = 0;
    snprintf(url + strlen(url), 64, "mariadb://");
    snprintf(url + strlen(url), strlen(user) + 1, "%s", user);
    if (pw != NULL)
        snprintf(url + strlen(url), strlen(pw) + 2, ":%s", pw);
    snprintf(url + strlen(url), strlen(u->host) + 4, colon ? "@[%s]" : "@%s",
             u->host);
    snprintf(url + strlen(url), sizeof(port), "%s", port);
    snprintf(url + strlen(url), strlen(db) + 2, "/%s", db);
    if (sock != NULL)
        snprintf(url + strlen(url), strlen(sock) + 9, "?socket=%s", sock);
    if (u->tls != TG_TLS_DEFAULT) {
        static const char *const mode[] = { "", "disabled", "preferred",
                                            "required", "verify-full" };
        snprintf(url + strlen(url), 24, "%stls=%s", sock ? "&" : "?",
                 mode[u->tls]);
    }
    if (ca != NULL)
        snprintf(url + strlen(url), strlen(ca) + 9, "&tls_ca=%s", ca);
}

static int streq(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    tg_url u, v;
    jr_err err;
    int rc;

    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    memset(&err, 0, sizeof(err));
    rc = tg_url_parse(&u, s, &err);
    if (rc != JR_OK) {
        CHECK(err.msg[0] != 0);
        free(s);
        return 0;
    }
    CHECK(u.user && u.user[0] && u.host && u.host[0] && u.database &&
          u.database[0]);
    CHECK(u.port <= 65535);
    CHECK(u.tls >= TG_TLS_DEFAULT && u.tls <= TG_TLS_VERIFY_FULL);
    /* a CA only with a mode that verifies */
    CHECK(u.tls_ca == NULL || u.tls == TG_TLS_REQUIRED ||
          u.tls == TG_TLS_VERIFY_FULL);
    {
        /* hosts are not percent-decoded: write it back as is, bracketed
        ** when it holds a ':' */
        char user[3 * 4096], pw[3 * 4096], db[3 * 4096], sock[3 * 4096];
        char ca[3 * 4096];
        char *url = malloc(5 * 3 * 4096 + strlen(u.host) + 200);
        CHECK(url != NULL);
        enc(user, sizeof(user), u.user);
        enc(pw, sizeof(pw), u.password ? u.password : "");
        enc(db, sizeof(db), u.database);
        enc(sock, sizeof(sock), u.socket ? u.socket : "");
        enc(ca, sizeof(ca), u.tls_ca ? u.tls_ca : "");
        if (strlen(u.user) * 3 < sizeof(user) - 4 &&
            (!u.password || strlen(u.password) * 3 < sizeof(pw) - 4) &&
            strlen(u.database) * 3 < sizeof(db) - 4 &&
            (!u.socket || strlen(u.socket) * 3 < sizeof(sock) - 4) &&
            (!u.tls_ca || strlen(u.tls_ca) * 3 < sizeof(ca) - 4) &&
            strpbrk(u.host, "/?@[]") == NULL) {
            build(url, user, u.password ? pw : NULL, db,
                  u.socket ? sock : NULL, u.tls_ca ? ca : NULL, &u);
            memset(&err, 0, sizeof(err));
            CHECK(tg_url_parse(&v, url, &err) == JR_OK);
            CHECK(streq(u.user, v.user) && streq(u.password, v.password) &&
                  streq(u.host, v.host) && streq(u.database, v.database) &&
                  streq(u.socket, v.socket) && u.port == v.port &&
                  u.tls == v.tls && streq(u.tls_ca, v.tls_ca));
            tg_url_free(&v);
        }
        free(url);
    }
    tg_url_free(&u);
    free(s);
    return 0;
}
