/*
** testdb.c -- connect Criterion tests to the harness's private MariaDB.
**
** The env file is written by tests/harness/mariadb.sh in a restricted sh
** form: KEY='value' with '\'' for a quote inside a value (bare words and
** backslash escapes are read too). Lines that are not KEY=VALUE are
** ignored, so the script may add keys freely.
**
** INVARIANTS
**  (D1) Option files are never read: we set no MYSQL_READ_DEFAULT_* option,
**       so the system's /etc/mysql cannot redirect a test.
**  (D2) Every result set is consumed before a helper returns, so the
**       connection is always ready for the next statement.
**  (D3) Only *_or_fail and tdb_connect() end a test; the others return a
**       code, so tests can assert on expected failures (1045, 1292, ...).
*/
#include "testdb.h"
#include "testlib.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_err(char *errbuf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *errbuf, size_t cap, const char *fmt, ...)
{
    va_list ap;

    if (errbuf == NULL || cap == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(errbuf, cap, fmt, ap);
    va_end(ap);
}

/* Unquote a sh value into out; returns 0, or -1 when it does not fit. */
static int sh_unquote(const char *s, char *out, size_t cap)
{
    size_t n = 0;

    while (*s != '\0' && *s != '\n' && *s != '\r') {
        if (*s == '\'') {
            for (s++; *s != '\0' && *s != '\''; s++) {
                if (n + 1 >= cap)
                    return -1;
                out[n++] = *s;
            }
            if (*s == '\'')
                s++;
            continue;
        }
        if (*s == ' ' || *s == '\t' || *s == '#')
            break;
        if (*s == '\\' && s[1] != '\0')
            s++;
        if (n + 1 >= cap)
            return -1;
        out[n++] = *s++;
    }
    out[n] = '\0';
    return 0;
}

static int copy_value(char *dst, size_t cap, const char *key, const char *v,
                      char *errbuf, size_t errcap)
{
    if (sh_unquote(v, dst, cap) != 0) {
        set_err(errbuf, errcap, "value of %s is longer than %zu bytes",
                key, cap - 1);
        return -1;
    }
    return 0;
}

static int parse_line(tdb_config *cfg, char *line, unsigned *seen,
                      char *errbuf, size_t errcap)
{
    static const char prefix[] = "SLUICE_TEST_MYSQL_";
    char num[32];
    char *eq;
    const char *key;

    eq = strchr(line, '=');
    if (strncmp(line, prefix, sizeof(prefix) - 1) != 0 || eq == NULL)
        return 0;
    *eq = '\0';
    key = line + sizeof(prefix) - 1;
#define TDB_STR(name, field, bit)                                          \
    if (strcmp(key, name) == 0) {                                          \
        *seen |= bit;                                                      \
        return copy_value(cfg->field, sizeof(cfg->field), line, eq + 1,    \
                          errbuf, errcap);                                 \
    }
    TDB_STR("SOCKET", socket, 1u)
    TDB_STR("HOST", host, 0u)
    TDB_STR("USER", user, 2u)
    TDB_STR("PASSWORD", password, 4u)
    TDB_STR("DB", db, 8u)
    TDB_STR("URL", url, 0u)
#undef TDB_STR
    if (strcmp(key, "PORT") == 0 || strcmp(key, "PID") == 0) {
        int is_port = strcmp(key, "PORT") == 0;
        char *end;
        long v;

        if (copy_value(num, sizeof(num), line, eq + 1, errbuf, errcap) != 0)
            return -1;
        errno = 0;
        v = strtol(num, &end, 10);
        if (errno != 0 || end == num || *end != '\0' || v < 0 ||
            (is_port && v > 65535)) {
            set_err(errbuf, errcap, "bad number in %s: '%s'", line, num);
            return -1;
        }
        if (is_port) {
            cfg->port = (unsigned)v;
            *seen |= 16u;
        } else {
            cfg->pid = v;
        }
    }
    return 0;
}

int tdb_config_load(tdb_config *cfg, char *errbuf, size_t errcap)
{
    const char *path = getenv("SLUICE_TEST_MYSQL_ENV");
    char line[2048];
    unsigned seen = 0;
    FILE *f;
    int n, rc = 0;

    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->host, sizeof(cfg->host), "127.0.0.1");
    if (path != NULL && path[0] != '\0')
        n = snprintf(cfg->path, sizeof(cfg->path), "%s", path);
    else
        n = snprintf(cfg->path, sizeof(cfg->path), "%s/mariadb/env",
                     tl_build_dir());
    if (n < 0 || (size_t)n >= sizeof(cfg->path)) {
        set_err(errbuf, errcap, "path of the MariaDB env file is too long");
        return -1;
    }
    f = fopen(cfg->path, "r");
    if (f == NULL) {
        set_err(errbuf, errcap,
                "cannot read %s: %s -- the private MariaDB is not running; "
                "run this test through ctest (fixture 'mariadb', test "
                "mariadb_start) or tests/harness/mariadb.sh start DIR",
                cfg->path, strerror(errno));
        return -1;
    }
    while (rc == 0 && fgets(line, sizeof(line), f) != NULL)
        rc = parse_line(cfg, line, &seen, errbuf, errcap);
    fclose(f);
    if (rc != 0)
        return -1;
    if (seen != 31u) {
        set_err(errbuf, errcap,
                "%s lacks SLUICE_TEST_MYSQL_SOCKET, _USER, _PASSWORD, _DB "
                "or _PORT", cfg->path);
        return -1;
    }
    return 0;
}

const tdb_config *tdb_config_get(void)
{
    static tdb_config cfg;
    static int loaded;
    char err[1024];

    if (!loaded) {
        if (tdb_config_load(&cfg, err, sizeof(err)) != 0)
            cr_assert_fail("tdb: %s", err);
        loaded = 1;
    }
    return &cfg;
}

int tdb_open(MYSQL **out, const tdb_config *cfg, const char *user,
             const char *password, tdb_via via, char *errbuf, size_t errcap)
{
    unsigned int timeout = 10;
    unsigned int proto;
    MYSQL *db;
    int rc;

    *out = NULL;
    db = mysql_init(NULL);
    if (db == NULL) {
        set_err(errbuf, errcap, "mysql_init: out of memory");
        return -1;
    }
    proto = via == TDB_VIA_TCP ? MYSQL_PROTOCOL_TCP : MYSQL_PROTOCOL_SOCKET;
    mysql_options(db, MYSQL_OPT_PROTOCOL, &proto);
    mysql_options(db, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_options(db, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (mysql_real_connect(db, via == TDB_VIA_TCP ? cfg->host : "localhost",
                           user != NULL ? user : cfg->user,
                           password != NULL ? password : cfg->password,
                           cfg->db, via == TDB_VIA_TCP ? cfg->port : 0,
                           via == TDB_VIA_TCP ? NULL : cfg->socket,
                           0) == NULL) {
        rc = (int)mysql_errno(db);
        set_err(errbuf, errcap, "%s", mysql_error(db));
        mysql_close(db);
        return rc > 0 ? rc : -1;
    }
    *out = db;
    return 0;
}

MYSQL *tdb_connect(void)
{
    const tdb_config *cfg = tdb_config_get();
    char err[512];
    MYSQL *db;
    int rc;

    rc = tdb_open(&db, cfg, NULL, NULL, TDB_VIA_SOCKET, err, sizeof(err));
    if (rc != 0)
        cr_assert_fail("tdb: cannot connect to the private MariaDB as %s on %s "
                 "(database %s): error %d: %s (server log: %s/mariadb/"
                 "mysqld.log)", cfg->user, cfg->socket, cfg->db, rc, err,
                 tl_build_dir());
    return db;
}

void tdb_close(MYSQL *db)
{
    if (db != NULL)
        mysql_close(db);
}

/* vsnprintf into a malloc'd string; NULL when out of memory. */
static char *vformat(const char *fmt, va_list ap)
{
    va_list ap2;
    char *s;
    int n;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return NULL;
    s = malloc((size_t)n + 1);
    if (s != NULL)
        vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

/* Run sql; on success *res holds its result set (or NULL). */
static int run(MYSQL *db, const char *sql, MYSQL_RES **res)
{
    *res = NULL;
    if (mysql_real_query(db, sql, strlen(sql)) != 0)
        return (int)mysql_errno(db);
    *res = mysql_store_result(db);
    if (*res == NULL && mysql_field_count(db) != 0)
        return (int)mysql_errno(db);
    return 0;
}

static int exec_v(MYSQL *db, char **sql_out, const char *fmt, va_list ap)
{
    MYSQL_RES *res;
    char *sql;
    int rc;

    sql = vformat(fmt, ap);
    if (sql == NULL)
        cr_assert_fail("tdb: out of memory formatting a statement");
    rc = run(db, sql, &res);
    mysql_free_result(res);
    if (sql_out != NULL)
        *sql_out = sql;
    else
        free(sql);
    return rc;
}

int tdb_exec(MYSQL *db, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = exec_v(db, NULL, fmt, ap);
    va_end(ap);
    return rc;
}

void tdb_exec_or_fail(MYSQL *db, const char *fmt, ...)
{
    va_list ap;
    char *sql;
    char msg[1024];
    int rc;

    va_start(ap, fmt);
    rc = exec_v(db, &sql, fmt, ap);
    va_end(ap);
    if (rc != 0) {
        snprintf(msg, sizeof(msg), "tdb: error %d (%s) from: %.600s", rc,
                 mysql_error(db), sql);
        free(sql);
        cr_assert_fail("%s", msg);
    }
    free(sql);
}

int tdb_query_str(MYSQL *db, char *out, size_t cap, const char *fmt, ...)
{
    MYSQL_RES *res;
    MYSQL_ROW row;
    unsigned long *len;
    va_list ap;
    char *sql;
    size_t n;
    int rc;

    if (cap > 0)
        out[0] = '\0';
    va_start(ap, fmt);
    sql = vformat(fmt, ap);
    va_end(ap);
    if (sql == NULL)
        cr_assert_fail("tdb: out of memory formatting a query");
    rc = run(db, sql, &res);
    free(sql);
    if (rc != 0)
        return rc;
    row = res != NULL ? mysql_fetch_row(res) : NULL;
    if (row == NULL) {
        mysql_free_result(res);
        return TDB_NO_ROW;
    }
    len = mysql_fetch_lengths(res);
    if (row[0] == NULL) {
        rc = TDB_IS_NULL;
    } else if (cap > 0) {
        n = len[0] < cap - 1 ? len[0] : cap - 1;
        memcpy(out, row[0], n);
        out[n] = '\0';
    }
    mysql_free_result(res);
    return rc;
}
