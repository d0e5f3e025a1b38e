/*
** testdb.h -- the private MariaDB of the integration tests, seen from C.
**
** tests/harness/mariadb.sh (ctest fixture "mariadb") starts the server and
** writes ${SLUICE_BUILD_DIR}/mariadb/env; these helpers read that file and
** connect through MariaDB Connector/C. Functions named tdb_*_or_fail and
** tdb_connect() end the current Criterion test with a clear message;
** the others return codes and never print.
*/
#ifndef SLUICE_TESTDB_H
#define SLUICE_TESTDB_H

#include <stddef.h>
#include <mysql.h>

typedef struct tdb_config {
    char path[512];       /* the env file these values came from */
    char socket[256];     /* SLUICE_TEST_MYSQL_SOCKET */
    char host[64];        /* SLUICE_TEST_MYSQL_HOST (127.0.0.1) */
    unsigned port;        /* SLUICE_TEST_MYSQL_PORT */
    char user[64];        /* SLUICE_TEST_MYSQL_USER */
    char password[128];   /* SLUICE_TEST_MYSQL_PASSWORD */
    char db[64];          /* SLUICE_TEST_MYSQL_DB */
    long pid;             /* SLUICE_TEST_MYSQL_PID */
    char url[1024];       /* SLUICE_TEST_MYSQL_URL, for sluice-replay */
} tdb_config;

typedef enum { TDB_VIA_SOCKET = 0, TDB_VIA_TCP = 1 } tdb_via;

/*
** Read the env file: $SLUICE_TEST_MYSQL_ENV if set, else
** tl_build_dir()/mariadb/env. Returns 0, or -1 with a one-line reason in
** errbuf (file missing or unreadable, a required key absent, a value too
** long). errbuf may be NULL.
*/
int tdb_config_load(tdb_config *cfg, char *errbuf, size_t errcap);

/*
** The configuration, loaded once per process; fails the test when
** tdb_config_load() does. The pointer is valid until the process exits.
*/
const tdb_config *tdb_config_get(void);

/*
** Connect as user/password (NULL: the harness's) to cfg->db, over the
** unix socket or TCP on 127.0.0.1, with utf8mb4. Returns 0 with *out set
** (close it with tdb_close), or the MariaDB error number (> 0, e.g. 1045
** ER_ACCESS_DENIED_ERROR) with *out NULL and mysql_error()'s text in
** errbuf, or -1 when the handle could not be created. errbuf may be NULL.
*/
int tdb_open(MYSQL **out, const tdb_config *cfg, const char *user,
             const char *password, tdb_via via, char *errbuf, size_t errcap);

/* The harness's user over the socket, or the test fails. Never NULL. */
MYSQL *tdb_connect(void);

/* mysql_close(); NULL-safe. */
void tdb_close(MYSQL *db);

/*
** Run one statement built printf-style; any result set is read and freed.
** Returns 0 or mysql_errno(db) (> 0; mysql_error(db) holds the text).
*/
int tdb_exec(MYSQL *db, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* tdb_exec(), or the test fails naming the statement and the error. */
void tdb_exec_or_fail(MYSQL *db, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
** Run a query and copy the first column of its first row to out as text
** (NULL becomes ""). Returns 0, mysql_errno(db) (> 0), TDB_NO_ROW when
** the result is empty, or TDB_IS_NULL when the value was SQL NULL.
*/
#define TDB_NO_ROW  (-2)
#define TDB_IS_NULL (-3)
int tdb_query_str(MYSQL *db, char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif /* SLUICE_TESTDB_H */
