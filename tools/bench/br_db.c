/*
** br_db.c -- sluice-bench-replay's sessions: MariaDB through the target
** library (sluice-replay's own tg_db_connect: strict sql_mode, time_zone
** +00:00, utf8mb4) and SQLite.
** INVARIANTS:
**  (S1) every failed statement bu_die()s with the server's message: a
**       baseline that failed must not post a time.
*/
#include <stdlib.h>
#include <string.h>

#include "br.h"
#include "sluice/journal.h"
#include "tg.h"

MYSQL *br_connect(int autocommit)
{
    tg_url u = { 0 };
    jr_err e = { 0 };
    MYSQL *db;

    u.socket = (char *)br_req("socket");
    u.user = (char *)br_req("user");
    u.database = (char *)br_req("database");
    u.host = (char *)"localhost";
    u.password = getenv("SLUICE_TARGET_PASSWORD");
    if ((db = tg_db_connect(&u, &e)) == NULL)
        bu_die("%s", e.msg);
    if (autocommit && mysql_autocommit(db, 1) != 0)
        bu_die("autocommit: %s", mysql_error(db));
    return db;
}

void br_db_exec(MYSQL *db, const char *sql, size_t len)
{
    if (mysql_real_query(db, sql, (unsigned long)len) != 0)
        bu_die("MariaDB error %u: %s (statement: %.200s)", mysql_errno(db),
               mysql_error(db), sql);
}

void br_db_commit(MYSQL *db)
{
    if (mysql_commit(db) != 0)
        bu_die("COMMIT: %s", mysql_error(db));
}

long long br_db_scalar(MYSQL *db, const char *sql, int *found)
{
    MYSQL_RES *r;
    MYSQL_ROW row;
    long long v = 0;

    br_db_exec(db, sql, strlen(sql));
    if ((r = mysql_store_result(db)) == NULL)
        bu_die("%s: %s", sql, mysql_error(db));
    row = mysql_fetch_row(r);
    if (found)
        *found = row != NULL && row[mysql_num_fields(r) - 1] != NULL;
    if (row != NULL && row[mysql_num_fields(r) - 1] != NULL)
        v = strtoll(row[mysql_num_fields(r) - 1], NULL, 10);
    mysql_free_result(r);
    return v;
}

sqlite3 *br_sq_open(const char *path, int create)
{
    sqlite3 *db;
    int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);

    if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK)
        bu_die("open %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_busy_timeout(db, 30000);
    return db;
}

void br_sq_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        bu_die("sqlite: %s (%s)", msg ? msg : "?", sql);
}

sqlite3_stmt *br_sq_prep(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        bu_die("sqlite prepare: %s (%s)", sqlite3_errmsg(db), sql);
    return st;
}
