/*
** tg_db.c -- the MariaDB connection: connect, session settings, error
** classes, and the string builder used to assemble statements.
**
** Every session runs with a strict sql_mode (nothing silently truncated,
** zeroed or rounded into a different value), time_zone '+00:00' (dates are
** written in UTC), utf8mb4, autocommit off (one group = one transaction)
** NO_AUTO_VALUE_ON_ZERO (a key 0 stays 0) and foreign_key_checks = 0: the
** source enforced its constraints, each group ends in a state the source
** had, and within a group changes are ordered per table, not across
** tables, so a parent may be applied after its child.
**
** TLS (?tls=): preferred = TLS when offered, unverified; required = TLS
** or no connection, the certificate chain verified against tls_ca= (or
** the system CAs); verify-full = required + the server's name checked
** against its certificate. Connector/C quietly connects in plain text to
** a server without TLS even with SSL_ENFORCE set, so after connecting
** the cipher is checked: no cipher, no session.
**
** Timeouts: connect 5 s; read/write ?timeout= seconds (default 3600, 60
** with a host list, so a hung cluster node is left for another).
** MYSQL_OPT_RECONNECT stays off.
**
** INVARIANT: every failure is classified (rp.h TG_E_*), so the loop knows
** whether to reconnect, retry, stop on a bad value, or give up; an error
** number nobody listed is permanent (retrying forever fixes nothing).
*/
#include <errmsg.h>
#include <mysqld_error.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg.h"

int tg_fail(jr_err *e, int cls, unsigned no, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    jr_err_vset(e, JR_ERR, cls, no != 0 ? JR_D_MARIADB : JR_D_NONE, (int)no,
                NULL, fmt, ap);
    va_end(ap);
    return -1;
}

const char *tg_class_name(int cls)
{
    static const char *const n[] = { "none", "connection", "retry",
                                     "value", "config", "fatal" };
    return cls >= 0 && cls <= TG_E_FATAL ? n[cls] : "?";
}

int tg_class_transient(int cls)
{
    return cls == TG_E_CONN || cls == TG_E_RETRY;
}

/* Transient errors: connection trouble (reconnect, retry the group) and
** contention or resources (roll back, retry the group). Values and rows
** the target refuses are DATA. Everything else MariaDB says -- DDL
** errors, access denied, unknown columns, errors this list has never
** heard of -- is permanent: retrying cannot fix it (CONFIG). */
static int classify(unsigned no)
{
    switch (no) {
    /* client library: the connection, or the packet */
    case 2005:  /* CR_UNKNOWN_HOST (DNS may come back) */
        return TG_E_CONN;
    case 2020:  /* CR_NET_PACKET_TOO_LARGE */
    case ER_NET_PACKET_TOO_LARGE:
        return TG_E_DATA;
    case 2026:  /* CR_SSL_CONNECTION_ERROR: certificates, TLS config */
    case 2059:  /* CR_AUTH_PLUGIN_CANNOT_LOAD */
    case 2047:  /* CR_CONN_UNKNOW_PROTOCOL */
    case 2027:  /* CR_MALFORMED_PACKET */
        return TG_E_CONFIG;
    /* server: connection, shutdown, read-only (failover), resources */
    case ER_CON_COUNT_ERROR: case ER_SERVER_SHUTDOWN:
    case ER_CONNECTION_KILLED: case ER_QUERY_INTERRUPTED:
    case ER_TOO_MANY_USER_CONNECTIONS: case ER_NET_READ_ERROR:
    case ER_NET_READ_INTERRUPTED: case ER_NET_ERROR_ON_WRITE:
    case ER_NET_WRITE_INTERRUPTED: case 4031:  /* idle disconnect */
    case ER_READ_ONLY_MODE: case ER_OPTION_PREVENTS_STATEMENT:
    case ER_UNKNOWN_COM_ERROR:                 /* Galera: not ready */
    case ER_HOST_IS_BLOCKED: case ER_NET_UNCOMPRESS_ERROR:
        return TG_E_CONN;
    case ER_LOCK_WAIT_TIMEOUT: case ER_LOCK_DEADLOCK:
    case ER_CHECKREAD: case ER_LOCK_TABLE_FULL: case ER_LOCK_ABORTED:
    case ER_TOO_MANY_CONCURRENT_TRXS: case ER_STATEMENT_TIMEOUT:
    case ER_OUTOFMEMORY: case ER_OUT_OF_RESOURCES: case ER_DISK_FULL:
    case ER_RECORD_FILE_FULL: case ER_ERROR_ON_WRITE: case ER_GET_ERRNO:
    case ER_CANT_LOCK: case ER_USER_LOCK_DEADLOCK:
        return TG_E_RETRY;
    /* values and rows */
    case ER_TRUNCATED_WRONG_VALUE: case ER_TRUNCATED_WRONG_VALUE_FOR_FIELD:
    case ER_DATA_TOO_LONG: case ER_WARN_DATA_OUT_OF_RANGE:
    case ER_BAD_NULL_ERROR: case ER_NO_DEFAULT_FOR_FIELD:
    case WARN_DATA_TRUNCATED: case ER_DATA_OUT_OF_RANGE:
    case ER_DUP_ENTRY: case ER_DIVISION_BY_ZERO:
    case ER_WRONG_VALUE_FOR_TYPE: case ER_INVALID_CHARACTER_STRING:
    case ER_CONSTRAINT_FAILED: case ER_NO_REFERENCED_ROW_2:
    case ER_ROW_IS_REFERENCED_2: case ER_WARN_NULL_TO_NOTNULL:
    case ER_CANT_CREATE_GEOMETRY_OBJECT: case ER_WRONG_VALUE:
    case ER_ILLEGAL_VALUE_FOR_TYPE: case ER_WARN_TOO_FEW_RECORDS:
    case ER_DUP_ENTRY_WITH_KEY_NAME:
    case 4078:  /* illegal parameter data type */
        return TG_E_DATA;
    default:
        if (no >= 2000 && no < 3000)
            return TG_E_CONN;              /* client library: connection */
        return TG_E_CONFIG;
    }
}

int tg_db_class(unsigned mysql_errno)
{
    return classify(mysql_errno);
}

int tg_fail_mysql(jr_err *e, MYSQL *db, const char *what)
{
    unsigned no = mysql_errno(db);
    return tg_fail(e, classify(no), no, "%s: %s (MariaDB error %u)", what,
                   mysql_error(db), no);
}

static void where_of(const tg_url *u, char *where, size_t cap)
{
    if (u->socket)
        snprintf(where, cap, "socket %s", u->socket);
    else
        snprintf(where, cap, "%s:%u", u->host, u->port ? u->port : 3306);
}

static void set_tls(MYSQL *db, const tg_url *u)
{
    my_bool yes = 1;

    switch (u->tls) {
    case TG_TLS_PREFERRED:
        /* Connector/C: TLS when the server offers it, unverified */
        mysql_options(db, MYSQL_OPT_SSL_ENFORCE, &yes);
        break;
    case TG_TLS_REQUIRED:
    case TG_TLS_VERIFY_FULL:
        mysql_options(db, MYSQL_OPT_SSL_ENFORCE, &yes);
        /* a CA makes the library verify the certificate chain; without
        ** tls_ca the system's trusted CAs are the CA */
        if (u->tls_ca != NULL)
            mysql_options(db, MYSQL_OPT_SSL_CA, u->tls_ca);
        else
            mysql_options(db, MYSQL_OPT_SSL_CAPATH, "/etc/ssl/certs");
        if (u->tls == TG_TLS_VERIFY_FULL)     /* + the host name */
            mysql_options(db, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &yes);
        break;
    default:
        break;
    }
}

MYSQL *tg_db_connect(const tg_url *u, jr_err *e)
{
    static const char session[] =
        "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,"
        "NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION,"
        "NO_AUTO_VALUE_ON_ZERO', time_zone = '+00:00', autocommit = 0, "
        "foreign_key_checks = 0, NAMES utf8mb4, @sluice_merge = 0";
    unsigned timeout = 5, rw_timeout = u->timeout_s ? u->timeout_s
                                      : u->nhosts > 1 ? 60 : 3600;
    unsigned long client_packet = 1024UL * 1024 * 1024;
    my_bool yes = 1, no = 0;
    char where[300];
    MYSQL *db = mysql_init(NULL);

    if (db == NULL) {
        tg_fail(e, TG_E_FATAL, 0, "mysql_init: out of memory");
        return NULL;
    }
    where_of(u, where, sizeof(where));
    mysql_options(db, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_options(db, MYSQL_OPT_READ_TIMEOUT, &rw_timeout);
    mysql_options(db, MYSQL_OPT_WRITE_TIMEOUT, &rw_timeout);
    /* never: a silent reconnect inside a group would go on outside its
    ** transaction */
    mysql_options(db, MYSQL_OPT_RECONNECT, &no);
    mysql_options(db, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    mysql_options(db, MYSQL_OPT_LOCAL_INFILE, &yes);
    mysql_options(db, MYSQL_OPT_MAX_ALLOWED_PACKET, &client_packet);
    set_tls(db, u);
    if (mysql_real_connect(db, u->socket ? "localhost" : u->host, u->user,
                           u->password, u->database, u->port, u->socket,
                           CLIENT_FOUND_ROWS) == NULL) {
        unsigned no = mysql_errno(db);
        tg_fail(e, classify(no), no, "cannot connect to MariaDB at %s as %s, "
                "database %s: %s (MariaDB error %u)%s", where, u->user,
                u->database, mysql_error(db), no,
                no == 2026 ? "; check tls= and tls_ca= in the target URL "
                             "(tls_ca names the CA that signed the "
                             "server's certificate)" : "");
        mysql_close(db);
        return NULL;
    }
    if ((u->tls == TG_TLS_REQUIRED || u->tls == TG_TLS_VERIFY_FULL) &&
        mysql_get_ssl_cipher(db) == NULL) {
        /* Connector/C falls back to plain text when the server has no
        ** TLS (have_ssl=DISABLED) unless it verifies: never accept it */
        tg_fail(e, TG_E_CONFIG, 2026, "MariaDB at %s did not encrypt the "
                "connection although the target URL says tls=%s (the "
                "server has TLS disabled?): configure TLS on the server "
                "(ssl_cert, ssl_key) or change tls=", where,
                u->tls == TG_TLS_REQUIRED ? "required" : "verify-full");
        mysql_close(db);
        return NULL;
    }
    if (mysql_real_query(db, session, sizeof(session) - 1) != 0) {
        tg_fail_mysql(e, db, "setting up the session");
        mysql_close(db);
        return NULL;
    }
    return db;
}

unsigned long tg_db_max_packet(MYSQL *db)
{
    MYSQL_RES *r;
    MYSQL_ROW row;
    unsigned long v = 0;

    if (mysql_query(db, "SELECT @@max_allowed_packet") != 0 ||
        (r = mysql_store_result(db)) == NULL)
        return 0;
    if ((row = mysql_fetch_row(r)) != NULL && row[0] != NULL)
        v = strtoul(row[0], NULL, 10);
    mysql_free_result(r);
    return v;
}

int tg_exec(MYSQL *db, const char *sql, size_t len, jr_err *e)
{
    if (mysql_real_query(db, sql, (unsigned long)len) != 0)
        return tg_fail_mysql(e, db, "query");
    /* drain any result so the connection stays usable */
    do {
        MYSQL_RES *r = mysql_store_result(db);
        if (r != NULL)
            mysql_free_result(r);
    } while (mysql_next_result(db) == 0);
    return 0;
}

/* ---- strings ---- */

static int grow(tg_str *s, size_t extra)
{
    size_t cap;
    char *p;

    if (s->oom)
        return -1;
    if (s->len + extra + 1 <= s->cap)
        return 0;
    cap = s->cap ? s->cap : 4096;
    while (cap < s->len + extra + 1)
        cap *= 2;
    if ((p = realloc(s->p, cap)) == NULL) {
        s->oom = 1;
        return -1;
    }
    s->p = p;
    s->cap = cap;
    return 0;
}

void tg_str_add(tg_str *s, const char *p, size_t n)
{
    if (grow(s, n) != 0)
        return;
    memcpy(s->p + s->len, p, n);
    s->len += n;
    s->p[s->len] = 0;
}

void tg_str_adds(tg_str *s, const char *z)
{
    tg_str_add(s, z, strlen(z));
}

void tg_str_addf(tg_str *s, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || grow(s, (size_t)n) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(s->p + s->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    s->len += (size_t)n;
}

void tg_str_quote(tg_str *s, MYSQL *db, const void *p, size_t n)
{
    unsigned long w;

    if (grow(s, 2 * n + 3) != 0)
        return;
    s->p[s->len++] = '\'';
    w = mysql_real_escape_string(db, s->p + s->len, p, (unsigned long)n);
    s->len += w;
    s->p[s->len++] = '\'';
    s->p[s->len] = 0;
}

void tg_str_ident(tg_str *s, const char *name)
{
    size_t n = strlen(name);

    if (grow(s, 2 * n + 2) != 0)
        return;
    s->p[s->len++] = '`';
    for (; *name; name++) {
        if (*name == '`')
            s->p[s->len++] = '`';
        s->p[s->len++] = *name;
    }
    s->p[s->len++] = '`';
    s->p[s->len] = 0;
}

void tg_str_free(tg_str *s)
{
    free(s->p);
    memset(s, 0, sizeof(*s));
}

int tg_position_read(MYSQL *db, const char *replica, char *uuid,
                     size_t cap, uint64_t *seq, int *found, jr_err *e)
{
    tg_str s = { 0 };
    MYSQL_RES *r;
    MYSQL_ROW row;

    *seq = 0;
    *found = 0;
    if (cap > 0)
        uuid[0] = 0;
    tg_str_adds(&s, "SELECT journal_uuid, seq FROM " TG_POSITION_TABLE
                    " WHERE replica = ");
    tg_str_quote(&s, db, replica, strlen(replica));
    if (s.oom) {
        tg_str_free(&s);
        return tg_fail(e, TG_E_FATAL, 0, "out of memory");
    }
    if (mysql_real_query(db, s.p, (unsigned long)s.len) != 0) {
        tg_str_free(&s);
        if (mysql_errno(db) == ER_NO_SUCH_TABLE) {
            *found = -1;                /* no replay has started here */
            return 0;
        }
        return tg_fail_mysql(e, db, "reading " TG_POSITION_TABLE);
    }
    tg_str_free(&s);
    if ((r = mysql_store_result(db)) == NULL)
        return tg_fail_mysql(e, db, "reading " TG_POSITION_TABLE);
    if ((row = mysql_fetch_row(r)) != NULL && row[0] != NULL &&
        row[1] != NULL) {
        *found = 1;
        snprintf(uuid, cap, "%s", row[0]);
        *seq = strtoull(row[1], NULL, 10);
    }
    mysql_free_result(r);
    return 0;
}
