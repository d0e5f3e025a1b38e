/*
** rp_cluster.h -- replay as a client of a MariaDB Galera cluster: which
** node to write through, whether it is usable, the limits a cluster
** imposes, and settling a COMMIT whose outcome is unknown. A single
** server is a one-node list; the Galera checks apply whenever the server
** runs with wsrep_on.
*/
#ifndef SLUICE_RP_CLUSTER_H
#define SLUICE_RP_CLUSTER_H

#include "rp.h"

/* ws_fragment default: streaming replication cuts a group's write set
** into fragments of this many bytes (only groups larger than it). */
#define RP_WS_FRAGMENT_DEFAULT (16LL * 1024 * 1024)

typedef struct rp_cluster rp_cluster;

typedef struct rp_cluster_stats {
    uint64_t failovers;          /* connected to another node than before */
    uint64_t passed_over;        /* nodes refused or not Synced at connect */
    uint64_t conflicts;          /* groups retried after 1213/1205 */
    uint64_t unknown_commits;    /* COMMITs cut off (outcome unknown) */
    uint64_t settled_committed;  /* ... found committed on a synced node */
    uint64_t settled_rolled_back;/* ... found not committed (retried) */
    uint64_t position_behind;    /* the target's position went backwards */
    int galera;                  /* the node in use runs wsrep */
    int node;                    /* index in the host list, -1: none */
    char node_name[300];         /* HOST:PORT in use, "" when none */
} rp_cluster_stats;

/* A cluster client over the URL's host list (the URL must outlive it).
** NULL when out of memory. */
rp_cluster *rp__cluster_new(const tg_url *u);
void rp__cluster_free(rp_cluster *c);        /* NULL-safe */

/* Connect to the first usable node, starting with the one in use (or,
** after rp_cluster_lost, the next one) and going round the list once.
** On a Galera node: wsrep_ready ON, wsrep_local_state 4 (Synced) and
** wsrep_cluster_status Primary, or the node is closed and the next one
** tried; the session gets wsrep_sync_wait = 1 (causal reads, for the
** position read; rp_cluster_sync_reads turns it off) and the write-set
** fragment size. NULL with e set (the last node's error) when none is
** usable. */
MYSQL *rp__cluster_connect(rp_cluster *c, jr_err *e);
/* The node in use failed (connection error): the next connect starts
** with the following node. */
void rp__cluster_lost(rp_cluster *c);
/* wsrep_sync_wait on (1) or off (0) for this session; a no-op off
** Galera. 0 or -1. */
int rp__cluster_sync_reads(rp_cluster *c, MYSQL *db, int on, jr_err *e);
/* Galera replicates a table well only by its primary key: a table that
** has none is refused (CONFIG) with a message naming the fix. A table
** that does not exist passes (replay creates its tables with a key).
** Results cached until the next connect. 0 or -1. */
int rp__cluster_check_table(rp_cluster *c, MYSQL *db, const char *table,
                           jr_err *e);
/* COMMIT of the group (from, to] failed with a connection error: its
** outcome is unknown until the next connect reads the position. */
void rp__cluster_commit_unknown(rp_cluster *c, uint64_t from, uint64_t to);
/* After a connect read the position `pos` (on a Synced node, causally):
** settles an unknown COMMIT (committed iff pos is its end seq), and notes
** a position behind `before` (what this replay had applied; 0: none). */
void rp__cluster_settle(rp_cluster *c, uint64_t before, uint64_t pos);
/* A group is retried after a certification conflict or lock wait. */
void rp__cluster_conflict(rp_cluster *c);
const rp_cluster_stats *rp__cluster_get_stats(const rp_cluster *c);

#endif
