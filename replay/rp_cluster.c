/*
** rp_cluster.c -- replay as a correct client of a MariaDB Galera cluster.
**
** Galera is the distributed engine; sluice only chooses a node and reads
** what the cluster says. The target URL's host list names the nodes.
**
**   node choice  one node at a time: all of replay's writes go through it,
**                so its own groups never conflict with each other in
**                certification. A connect tries the node in use first
**                (after rp_cluster_lost: the next one) and goes round the
**                list once. Connector/C only skips a host whose TCP
**                connect fails; a node that accepts connections but is
**                not in the primary component answers 1047 to queries,
**                so after connecting we read wsrep_ready,
**                wsrep_local_state (4 = Synced) and wsrep_cluster_status
**                ourselves and pass the node over unless all are good.
**   causal reads the position is read with wsrep_sync_wait = 1: the node
**                first applies everything the cluster committed before
**                the read, so a group another node committed is seen.
**   unknown COMMIT  a COMMIT cut off by a connection error may still have
**                been committed by the cluster (the write set was
**                replicated before the node died). The next connect
**                reads the position on a Synced node, causally: the group
**                committed iff it holds the group's end seq; replay goes
**                on from whatever it holds (the position update stays a
**                compare-and-set on the seq expected, rp_meta.c).
**   limits       a table without a primary key is refused (Galera
**                certifies and applies rows by key; without one, nodes
**                apply deletes and updates by full scans and may differ);
**                a group's write set is cut into streaming-replication
**                fragments of ?ws_fragment= bytes (default 16 MiB), so a
**                large snapshot stays within wsrep_max_ws_size and
**                bounded memory while still committing atomically.
**
** INVARIANTS:
**  (C1) a session is handed out only on a node that is Synced and in the
**       primary component at connect time (or not a Galera node at all).
**  (C2) the position that decides where replay resumes is always read
**       with wsrep_sync_wait on (rp_run.c: connect -> read -> off).
**  (C3) an unknown COMMIT is settled exactly once, by the first position
**       read after it, and counted as committed or rolled back.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mysqld_error.h>

#include "rp_cluster.h"
#include "sl_log.h"

typedef struct checked {
    char *name;
    struct checked *next;
} checked;

struct rp_cluster {
    const tg_url *url;
    int cur;                     /* node to try first */
    int used;                    /* node of the last session, -1: none */
    int galera;
    uint64_t unknown_from, unknown_to;  /* 0/0: no COMMIT pending */
    checked *tables;             /* tables with a primary key (this
                                    session) */
    rp_cluster_stats stats;
};

rp_cluster *rp__cluster_new(const tg_url *u)
{
    rp_cluster *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->url = u;
    c->used = -1;
    c->stats.node = -1;
    return c;
}

static void tables_clear(rp_cluster *c)
{
    while (c->tables != NULL) {
        checked *n = c->tables->next;
        free(c->tables->name);
        free(c->tables);
        c->tables = n;
    }
}

void rp__cluster_free(rp_cluster *c)
{
    if (c == NULL)
        return;
    tables_clear(c);
    free(c);
}

static void node_name(const tg_url *u, int i, char *buf, size_t cap)
{
    const tg_host *h = &u->hosts[i];

    if (u->socket != NULL)
        snprintf(buf, cap, "socket %s", u->socket);
    else if (strchr(h->host, ':') != NULL)
        snprintf(buf, cap, "[%s]:%u", h->host, h->port ? h->port : 3306);
    else
        snprintf(buf, cap, "%s:%u", h->host, h->port ? h->port : 3306);
}

/* Is this a Galera node, and is it usable? 1 usable (galera or not,
** *galera set), 0 not usable (why filled), -1 error (e). */
static int node_usable(MYSQL *db, int *galera, char *why, size_t cap,
                       jr_err *e)
{
    MYSQL_RES *r;
    MYSQL_ROW row;
    char ready[16] = "", state[16] = "", status[32] = "";

    *galera = 0;
    if (mysql_query(db, "SELECT @@wsrep_on") != 0) {
        if (mysql_errno(db) == ER_UNKNOWN_SYSTEM_VARIABLE)
            return 1;                    /* a server built without wsrep */
        return tg_fail_mysql(e, db, "reading @@wsrep_on");
    }
    if ((r = mysql_store_result(db)) == NULL)
        return tg_fail_mysql(e, db, "reading @@wsrep_on");
    row = mysql_fetch_row(r);
    *galera = row != NULL && row[0] != NULL && strcmp(row[0], "1") == 0;
    mysql_free_result(r);
    if (!*galera)
        return 1;
    if (mysql_query(db, "SHOW GLOBAL STATUS WHERE Variable_name IN "
                        "('wsrep_ready', 'wsrep_local_state', "
                        "'wsrep_cluster_status')") != 0 ||
        (r = mysql_store_result(db)) == NULL)
        return tg_fail_mysql(e, db, "reading the node's wsrep status");
    while ((row = mysql_fetch_row(r)) != NULL) {
        if (row[0] == NULL || row[1] == NULL)
            continue;
        if (strcmp(row[0], "wsrep_ready") == 0)
            snprintf(ready, sizeof(ready), "%s", row[1]);
        else if (strcmp(row[0], "wsrep_local_state") == 0)
            snprintf(state, sizeof(state), "%s", row[1]);
        else if (strcmp(row[0], "wsrep_cluster_status") == 0)
            snprintf(status, sizeof(status), "%s", row[1]);
    }
    mysql_free_result(r);
    if (strcmp(ready, "ON") == 0 && strcmp(state, "4") == 0 &&
        strcmp(status, "Primary") == 0)
        return 1;
    snprintf(why, cap, "wsrep_ready=%s wsrep_local_state=%s (4 = Synced) "
             "wsrep_cluster_status=%s", ready[0] ? ready : "?",
             state[0] ? state : "?", status[0] ? status : "?");
    return 0;
}

static int session_setup(rp_cluster *c, MYSQL *db, jr_err *e)
{
    long long frag = c->url->ws_fragment < 0 ? RP_WS_FRAGMENT_DEFAULT
                                             : c->url->ws_fragment;
    char sql[200];

    if (rp__cluster_sync_reads(c, db, 1, e) != 0)
        return -1;
    snprintf(sql, sizeof(sql), "SET SESSION wsrep_trx_fragment_unit = "
             "'bytes', wsrep_trx_fragment_size = %lld", frag);
    if (mysql_query(db, sql) != 0)
        return tg_fail_mysql(e, db, "setting wsrep_trx_fragment_size "
                             "(ws_fragment= in the target URL)");
    return 0;
}

MYSQL *rp__cluster_connect(rp_cluster *c, jr_err *e)
{
    int n = c->url->nhosts > 0 ? c->url->nhosts : 1;

    tables_clear(c);
    c->galera = 0;
    c->stats.galera = 0;
    c->stats.node = -1;
    c->stats.node_name[0] = 0;
    for (int i = 0; i < n; i++) {
        int idx = (c->cur + i) % n, galera = 0, ok;
        tg_url one = *c->url;
        jr_err ne;
        char name[300], why[200] = "";
        MYSQL *db;

        memset(&ne, 0, sizeof(ne));
        if (c->url->nhosts > 0) {
            one.host = c->url->hosts[idx].host;
            one.port = c->url->hosts[idx].port;
        }
        node_name(c->url, idx, name, sizeof(name));
        db = tg_db_connect(&one, &ne);
        ok = db == NULL ? -1 : node_usable(db, &galera, why, sizeof(why),
                                           &ne);
        c->galera = galera;
        if (ok == 1 && galera && session_setup(c, db, &ne) != 0)
            ok = -1;
        if (ok != 1)
            c->galera = 0;
        if (ok != 1) {
            if (db != NULL)
                mysql_close(db);
            if (ok == 0)
                tg_fail(&ne, TG_E_CONN, ER_UNKNOWN_COM_ERROR, "cluster "
                        "node %s is not usable: %s", name, why);
            c->stats.passed_over += n > 1;
            if (n > 1) {
                char qm[600];
                SL_LOG(SL_INFO, "replay.node_passed_over", "node=%s "
                       "msg=%s", name, sl_q(qm, sizeof(qm), ne.msg));
            }
            /* the last node's error is the one reported; a permanent one
            ** (access denied) on any node is reported as such */
            if (i == n - 1 || (ne.cls != TG_E_CONN && ne.cls != TG_E_RETRY)) {
                memset(e, 0, sizeof(*e));
                tg_fail(e, ne.cls,
                        ne.domain == JR_D_MARIADB ? (unsigned)ne.cause : 0,
                        "%s%s", ne.msg,
                        n > 1 && i == n - 1 ? " (no usable node in the "
                        "target URL's host list)" : "");
                if (ne.cls != TG_E_CONN && ne.cls != TG_E_RETRY)
                    return NULL;
            }
            continue;
        }
        if (c->used >= 0 && c->used != idx) {
            char old[300];
            node_name(c->url, c->used, old, sizeof(old));
            c->stats.failovers++;
            SL_LOG(SL_WARN, "replay.failover", "from=%s to=%s galera=%d",
                   old, name, galera);
        }
        c->cur = c->used = idx;
        c->stats.galera = galera;
        c->stats.node = idx;
        snprintf(c->stats.node_name, sizeof(c->stats.node_name), "%s", name);
        return db;
    }
    return NULL;
}

void rp__cluster_lost(rp_cluster *c)
{
    int n = c->url->nhosts > 0 ? c->url->nhosts : 1;

    c->cur = (c->cur + 1) % n;
    c->stats.node = -1;
    c->stats.node_name[0] = 0;
}

int rp__cluster_sync_reads(rp_cluster *c, MYSQL *db, int on, jr_err *e)
{
    if (!c->galera)
        return 0;
    if (mysql_query(db, on ? "SET SESSION wsrep_sync_wait = 1"
                           : "SET SESSION wsrep_sync_wait = 0") != 0)
        return tg_fail_mysql(e, db, "setting wsrep_sync_wait");
    return 0;
}

int rp__cluster_check_table(rp_cluster *c, MYSQL *db, const char *table,
                           jr_err *e)
{
    tg_str s = { 0 };
    MYSQL_RES *r;
    MYSQL_ROW row;
    int exists = 0, pk = 0;
    checked *k;

    if (!c->galera)
        return 0;
    for (k = c->tables; k != NULL; k = k->next)
        if (strcmp(k->name, table) == 0)
            return 0;
    tg_str_adds(&s, "SELECT (SELECT COUNT(*) FROM information_schema.TABLES "
                    "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ");
    tg_str_quote(&s, db, table, strlen(table));
    tg_str_adds(&s, "), (SELECT COUNT(*) FROM information_schema."
                    "TABLE_CONSTRAINTS WHERE TABLE_SCHEMA = DATABASE() AND "
                    "CONSTRAINT_TYPE = 'PRIMARY KEY' AND TABLE_NAME = ");
    tg_str_quote(&s, db, table, strlen(table));
    tg_str_adds(&s, ")");
    if (s.oom) {
        tg_str_free(&s);
        return tg_fail(e, TG_E_FATAL, 0, "out of memory");
    }
    if (mysql_real_query(db, s.p, (unsigned long)s.len) != 0 ||
        (r = mysql_store_result(db)) == NULL) {
        tg_str_free(&s);
        return tg_fail_mysql(e, db, "reading the keys of a target table");
    }
    tg_str_free(&s);
    if ((row = mysql_fetch_row(r)) != NULL) {
        exists = row[0] != NULL && strcmp(row[0], "0") != 0;
        pk = row[1] != NULL && strcmp(row[1], "0") != 0;
    }
    mysql_free_result(r);
    if (exists && !pk)
        return tg_fail(e, TG_E_CONFIG, 0, "target table %s has no primary "
                       "key, and the target is a Galera cluster: Galera "
                       "replicates rows by primary key (without one, nodes "
                       "apply updates and deletes by full scans and can "
                       "end up different). Add one (ALTER TABLE ... ADD "
                       "PRIMARY KEY (the source's key columns)), or leave "
                       "the table out with --exclude-tables", table);
    if (!exists || !pk)
        return 0;                        /* replay will create it keyed */
    if ((k = calloc(1, sizeof(*k))) == NULL ||
        (k->name = strdup(table)) == NULL) {
        free(k);
        return tg_fail(e, TG_E_FATAL, 0, "out of memory");
    }
    k->next = c->tables;
    c->tables = k;
    return 0;
}

void rp__cluster_commit_unknown(rp_cluster *c, uint64_t from, uint64_t to)
{
    c->unknown_from = from;
    c->unknown_to = to;
    c->stats.unknown_commits++;
    SL_LOG(SL_WARN, "replay.commit_unknown", "node=%s group_from=%llu "
           "group_to=%llu msg=\"the connection failed during COMMIT: the "
           "cluster may still have committed it; settling it by reading "
           "the position on a synced node\"", c->stats.node_name[0]
           ? c->stats.node_name : "?", (unsigned long long)from + 1,
           (unsigned long long)to);
}

void rp__cluster_settle(rp_cluster *c, uint64_t before, uint64_t pos)
{
    if (c->unknown_to != 0) {
        const char *outcome;
        if (pos == c->unknown_to) {
            outcome = "committed";
            c->stats.settled_committed++;
        } else if (pos == c->unknown_from) {
            outcome = "not_committed";
            c->stats.settled_rolled_back++;
        } else {
            outcome = "position_elsewhere";
        }
        SL_LOG(SL_INFO, "replay.commit_settled", "node=%s outcome=%s "
               "group_to=%llu position=%llu", c->stats.node_name, outcome,
               (unsigned long long)c->unknown_to, (unsigned long long)pos);
        c->unknown_from = c->unknown_to = 0;
        return;
    }
    if (before > 0 && pos < before) {
        c->stats.position_behind++;
        SL_LOG(SL_WARN, "replay.position_behind", "node=%s applied_seq=%llu "
               "position=%llu msg=\"the target's position is behind what "
               "this replay applied (a cluster that lost acknowledged "
               "commits, or a restored backup): replaying from the "
               "target's position (every operation is idempotent; the "
               "journal keeps applied records for --retention-s)\"",
               c->stats.node_name, (unsigned long long)before,
               (unsigned long long)pos);
    }
}

void rp__cluster_conflict(rp_cluster *c)
{
    c->stats.conflicts++;
}

const rp_cluster_stats *rp__cluster_get_stats(const rp_cluster *c)
{
    return &c->stats;
}
