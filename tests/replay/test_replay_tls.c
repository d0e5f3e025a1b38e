/*
** test_replay_tls.c -- TLS that means it, and no password leaks (issue 8,
** class 5):
**   - ?tls=required against a server without TLS (the fixture server:
**     have_ssl=DISABLED) fails, over TCP and over the socket, and applies
**     nothing (Connector/C alone would fall back to plain text);
**   - against a private server given a CA and a server certificate made
**     here with openssl: tls=required with tls_ca= connects encrypted;
**     without tls_ca (the system CAs do not know ours) or with another CA
**     it fails; tls=verify-full also checks the name (the certificate is
**     for 127.0.0.1: TCP to 127.0.0.1 passes, the socket's "localhost"
**     does not);
**   - a password in the URL is warned about once and does not stay in
**     the process list; --password-file works; both at once is a usage
**     error.
*/
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_util.h"
#include "testdb.h"

TestSuite(replay_tls, .init = rt_setup, .fini = rt_teardown,
          .timeout = 150);

static void source_rows(void)
{
    rt_sql(rt_src, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
                   "INSERT INTO t VALUES (1, 'secret'), (2, 'data');");
    rt_capture_once();
}

static void tcp_url(char *out, size_t cap, unsigned port, const char *db,
                    const char *query)
{
    snprintf(out, cap, "mariadb://%s@127.0.0.1:%u/%s?%s",
             tdb_config_get()->user, port, db, query);
}

Test(replay_tls, tls_required_refuses_a_server_without_tls)
{
    const tdb_config *cfg = tdb_config_get();
    MYSQL *my = rt_my();
    char url[RT_PATH + 300];
    rt_proc p;
    int rc;

    cr_assert_str_eq(rt_my_str(my, "SELECT @@have_ssl"), "DISABLED",
                     "the fixture server must have no TLS for this test");
    source_rows();
    tcp_url(url, sizeof(url), cfg->port, rt_db, "tls=required");
    rc = rt_replay_run(&p, url, "--once-timeout-s", "5", NULL);
    cr_assert(rc > 0 && rc < 128, "tls=required connected without TLS: %d"
              "\n%s", rc, rt_log(&p));
    cr_expect(strstr(rt_log(&p), "TLS") != NULL, "%s", rt_log(&p));
    snprintf(url, sizeof(url), "%s&tls=required", rt_url);
    rc = rt_replay_run(&p, url, "--once-timeout-s", "5", NULL);
    cr_assert(rc > 0 && rc < 128, "over the socket too: %d\n%s", rc,
              rt_log(&p));
    cr_expect(!rt_my_table_exists(my, "t"), "data went out in plain text");
}

/* Run openssl with args (NULL-terminated); asserts success. */
static void openssl(const char *a0, ...)
{
    const char *argv[32];
    va_list ap;
    rt_proc p;
    int n = 0, rc;

    va_start(ap, a0);
    for (const char *a = a0; a != NULL && n < 31; a = va_arg(ap, const char *))
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    rt_spawnv(&p, "/usr/bin/openssl", argv, NULL);
    rc = rt_wait(&p, 60000);
    cr_assert_eq(rc, 0, "openssl %s failed:\n%s", a0, rt_log(&p));
}

typedef struct pki {
    char ca[RT_PATH], other[RT_PATH], cert[RT_PATH], key[RT_PATH];
} pki;

static void make_pki(pki *k)
{
    char cakey[RT_PATH], otherkey[RT_PATH], csr[RT_PATH], ext[RT_PATH];
    FILE *f;

    rt_path(k->ca, sizeof(k->ca), "ca.pem");
    rt_path(cakey, sizeof(cakey), "ca.key");
    rt_path(k->other, sizeof(k->other), "other-ca.pem");
    rt_path(otherkey, sizeof(otherkey), "other-ca.key");
    rt_path(k->cert, sizeof(k->cert), "server.pem");
    rt_path(k->key, sizeof(k->key), "server.key");
    rt_path(csr, sizeof(csr), "server.csr");
    rt_path(ext, sizeof(ext), "server.ext");
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
            cakey, "-out", k->ca, "-days", "2", "-subj",
            "/CN=sluice test CA", NULL);
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
            otherkey, "-out", k->other, "-days", "2", "-subj",
            "/CN=some other CA", NULL);
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", k->key,
            "-out", csr, "-subj", "/CN=sluice test server", NULL);
    f = fopen(ext, "w");
    cr_assert_not_null(f);
    fputs("subjectAltName=IP:127.0.0.1\n", f);
    fclose(f);
    openssl("x509", "-req", "-in", csr, "-CA", k->ca, "-CAkey", cakey,
            "-CAcreateserial", "-out", k->cert, "-days", "2", "-extfile",
            ext, NULL);
}

Test(replay_tls, a_private_ca_is_verified_and_verify_full_checks_the_name)
{
    char dir[RT_PATH], args[4 * RT_PATH + 64], url[3 * RT_PATH],
        q[2 * RT_PATH], sock[RT_PATH], *portf, path[RT_PATH + 16];
    unsigned port;
    pki k;
    rt_proc p;
    MYSQL *my;
    int rc;

    make_pki(&k);
    rt_path(dir, sizeof(dir), "tlsdb");
    snprintf(args, sizeof(args), "--ssl-ca=%s --ssl-cert=%s --ssl-key=%s",
             k.ca, k.cert, k.key);
    setenv("SLUICE_MARIADB_EXTRA_ARGS", args, 1);
    rc = rt_server("start", dir);
    unsetenv("SLUICE_MARIADB_EXTRA_ARGS");
    cr_assert_eq(rc, 0, "%s", rt_server_log());
    snprintf(path, sizeof(path), "%s/port", dir);
    portf = tl_slurp(path, NULL);
    cr_assert_not_null(portf);
    port = (unsigned)strtoul(portf, NULL, 10);
    free(portf);
    my = rt_server_connect(dir, "sluice_test");
    cr_assert_str_eq(rt_my_str(my, "SELECT @@have_ssl"), "YES");
    source_rows();

    /* no CA given: the system's CAs do not know ours */
    tcp_url(url, sizeof(url), port, "sluice_test", "tls=required");
    rc = rt_replay_run(&p, url, "--once-timeout-s", "5", NULL);
    cr_expect(rc > 0 && rc < 128, "an unknown CA was trusted:\n%s",
              rt_log(&p));
    cr_expect(strstr(rt_log(&p), "certificate") != NULL, "%s", rt_log(&p));
    /* another CA */
    snprintf(q, sizeof(q), "tls=required&tls_ca=%s", k.other);
    tcp_url(url, sizeof(url), port, "sluice_test", q);
    rc = rt_replay_run(&p, url, "--once-timeout-s", "5", NULL);
    cr_expect(rc > 0 && rc < 128, "a certificate of another CA was trusted:"
              "\n%s", rt_log(&p));
    cr_expect(!rt_my_table_exists(my, "t"));
    /* our CA: encrypted, applied */
    snprintf(q, sizeof(q), "tls=required&tls_ca=%s", k.ca);
    tcp_url(url, sizeof(url), port, "sluice_test", q);
    rc = rt_replay_run(&p, url, NULL);
    cr_assert_eq(rc, 0, "%s", rt_log(&p));
    cr_expect(strstr(rt_log(&p), "tls=TLS") != NULL, "not encrypted?\n%s",
              rt_log(&p));
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM t"), 2);
    /* verify-full: the certificate names 127.0.0.1, not localhost */
    snprintf(q, sizeof(q), "tls=verify-full&tls_ca=%s", k.ca);
    tcp_url(url, sizeof(url), port, "sluice_test", q);
    rc = rt_replay_run(&p, url, NULL);
    cr_expect_eq(rc, 0, "verify-full to 127.0.0.1:\n%s", rt_log(&p));
    rt_server_socket(sock, sizeof(sock), dir);
    rt_url_for(url, sizeof(url), sock, "sluice_test");
    snprintf(url + strlen(url), sizeof(url) - strlen(url),
             "&tls=verify-full&tls_ca=%s", k.ca);
    rc = rt_replay_run(&p, url, "--once-timeout-s", "5", NULL);
    cr_expect(rc > 0 && rc < 128, "verify-full accepted a certificate for "
              "another name:\n%s", rt_log(&p));
    rt_url_for(url, sizeof(url), sock, "sluice_test");
    snprintf(url + strlen(url), sizeof(url) - strlen(url),
             "&tls=required&tls_ca=%s", k.ca);
    rc = rt_replay_run(&p, url, NULL);
    cr_expect_eq(rc, 0, "required (no name check) over the socket:\n%s",
                 rt_log(&p));
}

Test(replay_tls, a_password_in_the_url_is_warned_about_and_leaves_the_process_list)
{
    const tdb_config *cfg = tdb_config_get();
    MYSQL *my = rt_my();
    char url[RT_PATH + 400], path[RT_PATH + 64], pwfile[RT_PATH];
    const char *argv[16];
    char *cmdline;
    rt_proc p;
    FILE *f;
    int rc;

    source_rows();
    {
        const char *at = strchr(rt_url, '@');
        cr_assert_not_null(at);
        snprintf(url, sizeof(url), "mariadb://%s:%s%s", cfg->user,
                 cfg->password, at);
    }
    argv[0] = "--journal";
    argv[1] = rt_jdir;
    argv[2] = "--target";
    argv[3] = url;
    argv[4] = "--poll-ms";
    argv[5] = "2";
    argv[6] = NULL;
    rt_spawnv(&p, rt_replay_bin(), argv, NULL);        /* no env password */
    cr_assert_eq(rt_wait_applied(my, "default", rt_jdir, 30000), 0, "%s",
                 rt_log(&p));
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)p.pid);
    cmdline = tl_slurp(path, NULL);
    cr_assert_not_null(cmdline);
    for (size_t i = 0; i < 4096 && (cmdline[i] || cmdline[i + 1]); i++)
        if (cmdline[i] == 0)
            cmdline[i] = ' ';
    cr_expect(strstr(cmdline, cfg->password) == NULL, "the password is in "
              "the process list: %s", cmdline);
    free(cmdline);
    cr_expect_eq(rt_stop(&p, 20000), 0, "%s", rt_log(&p));
    cr_expect_eq(tl_count(rt_log(&p), "event=replay.password_in_url"), 1,
                 "%s", rt_log(&p));
    /* --password-file instead */
    rt_path(pwfile, sizeof(pwfile), "pw");
    f = fopen(pwfile, "w");
    cr_assert_not_null(f);
    fprintf(f, "%s\n", cfg->password);
    fclose(f);
    rt_sql(rt_src, "INSERT INTO t VALUES (3, 'three');");
    rt_capture_once();
    argv[3] = rt_url;
    argv[4] = "--once";
    argv[5] = "--password-file";
    argv[6] = pwfile;
    argv[7] = NULL;
    rt_spawnv(&p, rt_replay_bin(), argv, NULL);
    rc = rt_wait(&p, 30000);
    cr_expect_eq(rc, 0, "%s", rt_log(&p));
    cr_expect_eq(rt_my_int(my, "SELECT COUNT(*) FROM t"), 3);
    cr_expect(strstr(rt_log(&p), "password_in_url") == NULL);
    /* both at once: which one? a usage error */
    argv[3] = url;
    rt_spawnv(&p, rt_replay_bin(), argv, NULL);
    cr_expect_eq(rt_wait(&p, 30000), 64, "%s", rt_log(&p));
}
