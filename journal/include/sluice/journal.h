/*
** sluice/journal.h -- the durable change journal (LMDB + zstd).
**
** This is the only public header of the journal library. It depends on the
** C standard library alone: callers never see lmdb.h or zstd.h.
**
** VOCABULARY
**   journal  an LMDB environment directory shared by several processes.
**   record   one journal entry: a row change, a table schema, a re-snapshot
**            marker, ... Every record has its own sequence number (seq).
**   seq      1, 2, 3, ... dense and strictly increasing, never reused.
**   group    a run of consecutive records that replay applies atomically.
**            The last record of a group carries `group_end`; a group may
**            span several commits (a large snapshot) and is complete only
**            once its end record is committed.
**   source position
**            an opaque byte string the writer commits in the same LMDB
**            transaction as its records (capture stores its drained
**            change-log id there). Reading it back after a crash tells
**            exactly what is already journaled.
**   replica  a named reader that acknowledges the seq it has applied;
**            pruning never removes a record some replica has not applied.
**
** CONCURRENCY
**   One writer per journal (enforced with a lock file), any number of
**   readers in any number of processes. One jr_journal handle per process
**   and per directory (an LMDB rule). A handle and everything derived from
**   it must be used from one thread at a time.
**
** ERRORS
**   Fallible functions return an int jr_code and take `jr_err *err` last
**   (may be NULL). The first failure recorded in err wins; expected codes
**   (JR_ENOTFOUND, JR_EAGAIN) never write err->msg. jr_err is sluice's
**   one error type: the programs above the journal record their own
**   failures in it too, through the one setter jr_err_set().
*/
#ifndef SLUICE_JOURNAL_H
#define SLUICE_JOURNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Errors                                                             */
/* ------------------------------------------------------------------ */

typedef enum {            /* append only; never renumber */
    JR_OK        =  0,
    JR_ERR       = -1,    /* generic failure: read err->msg */
    JR_ENOTFOUND = -2,    /* no such record / journal / key */
    JR_EFULL     = -3,    /* map size cap reached: back-pressure, retry */
    JR_ECORRUPT  = -4,    /* checksum, format or density violation */
    JR_EAGAIN    = -5,    /* nothing available yet */
    JR_EPOISONED = -6,    /* writer unusable after a failed commit */
    JR_EMISMATCH = -7,    /* journal belongs to another source */
    JR_EBUSY     = -8     /* another process holds the writer lock */
} jr_code;

/* Where an error's `cause` comes from: the number means what that
** library says it means. */
typedef enum {            /* append only; never renumber */
    JR_D_NONE    = 0,     /* no underlying cause (cause is 0) */
    JR_D_ERRNO   = 1,     /* an errno value */
    JR_D_LMDB    = 2,     /* an LMDB return code (MDB_* or an errno) */
    JR_D_ZSTD    = 3,     /* a zstd error code (ZSTD_getErrorCode) */
    JR_D_SQLITE  = 4,     /* an SQLite extended result code */
    JR_D_MARIADB = 5      /* a MariaDB error number (mysql_errno) */
} jr_domain;

/* The one error type of sluice: the journal, capture, the target side,
** replay and verify all record their failures in it. */
typedef struct jr_err {
    int code;             /* jr_code of the first recorded failure */
    int cause;            /* the underlying code, in `domain`; 0 if none */
    const char *op;       /* static string naming the failed call */
    char msg[512];        /* first failure wins */
    int domain;           /* jr_domain of `cause` */
    int cls;              /* the caller's class of the failure (replay and
                             verify: TG_E_*, transient or permanent);
                             0 in the journal's own errors */
} jr_err;

/* Static description of a code ("checksum mismatch", ...). Never NULL. */
const char *jr_strerror(int code);

/* Reset err so it can record the next independent failure. NULL-safe. */
void jr_err_clear(jr_err *err);

/* THE setter (every module's failures go through it): record a failure
** in err -- unless err is NULL or already holds one: the first failure
** wins and later ones never overwrite it. `op` is a static string or
** NULL; msg is formatted printf-style (cut to fit). Returns `code`, so
** `return jr_err_set(err, JR_ERR, ...);` reads naturally. Expected codes
** (JR_ENOTFOUND, JR_EAGAIN) are returned without a call to it. */
int jr_err_set(jr_err *err, int code, int cls, int domain, int cause,
               const char *op, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 7, 8)))
#endif
    ;
int jr_err_vset(jr_err *err, int code, int cls, int domain, int cause,
                const char *op, const char *fmt, va_list ap);

/* ------------------------------------------------------------------ */
/* Values and records                                                 */
/* ------------------------------------------------------------------ */

/* SQLite's storage classes; the numbers are part of the on-disk format. */
typedef enum {
    JR_NULL = 0, JR_INT = 1, JR_REAL = 2, JR_TEXT = 3, JR_BLOB = 4
} jr_type;

typedef struct jr_value {
    int type;                         /* jr_type */
    union {
        int64_t i;                    /* JR_INT */
        double  r;                    /* JR_REAL, bit-exact (NaN payloads) */
        struct {
            const void *p;            /* JR_TEXT/JR_BLOB; may hold NUL */
            size_t      n;            /* length in bytes; p may be NULL if 0 */
        } b;
    } u;
} jr_value;

/* A row image: n parallel (name, value) pairs. Names are NUL-terminated
** UTF-8 identifiers. */
typedef struct jr_row {
    uint32_t n;
    const char *const *names;
    const jr_value *vals;
} jr_row;

/* Record kinds; the numbers are part of the on-disk format. */
typedef enum {
    JR_K_INSERT     = 1,  /* new = after-image, key = its key */
    JR_K_UPDATE     = 2,  /* key = OLD key, new = after-image (a key change
                             shows as new's key columns differing from key);
                             old = before-image for keyless tables */
    JR_K_DELETE     = 3,  /* key = old key; old = before-image if keyless */
    JR_K_SCHEMA     = 4,  /* aux = schema description of table (opaque) */
    JR_K_SNAP_BEGIN = 5,  /* table re-snapshot starts: replay empties it */
    JR_K_SNAP_END   = 6,  /* table re-snapshot complete */
    JR_K_TRUNCATE   = 7,  /* all rows of table removed */
    JR_K_DROP       = 8,  /* table dropped */
    JR_K_ABORT      = 9   /* ends a group left open by a crashed writer:
                             replay discards that whole group */
} jr_kind;

const char *jr_kind_name(int kind);   /* "insert", ...; "?" if unknown */

typedef struct jr_record {
    int kind;              /* jr_kind */
    const char *table;     /* NUL-terminated; "" for JR_K_ABORT */
    int64_t time_us;       /* source change time, µs since the Unix epoch */
    jr_row key;            /* key columns and values */
    jr_row new_row;        /* full after-image */
    jr_row old_row;        /* before-image (keyless tables), else n = 0 */
    const void *aux;       /* kind-specific bytes (JR_K_SCHEMA) */
    size_t aux_len;
} jr_record;

/* A record read back, with its place in the journal. */
typedef struct jr_entry {
    uint64_t seq;
    uint64_t group;        /* seq of the first record of its group */
    int group_end;         /* 1 on the last record of its group */
    jr_record rec;         /* views: see jr_reader_next() for lifetime */
} jr_entry;

/* ------------------------------------------------------------------ */
/* Journal handle                                                     */
/* ------------------------------------------------------------------ */

typedef struct jr_journal jr_journal;

typedef struct jr_journal_opts {
    int version;              /* JR_JOURNAL_OPTS_VERSION */
    int create;               /* create DIR and a new journal if missing */
    int read_only;            /* open without write access (inspect) */
    uint64_t map_initial;     /* initial map size in bytes (0: 64 MiB) */
    uint64_t map_max;         /* cap for map growth (0: 64 GiB) */
} jr_journal_opts;

#define JR_JOURNAL_OPTS_VERSION 1
#define JR_JOURNAL_OPTS_INIT { JR_JOURNAL_OPTS_VERSION, 0, 0, 0, 0 }

/* Open the journal in directory `dir`. Clears reader slots left by killed
** processes (mdb_reader_check). Returns JR_OK, JR_ENOTFOUND (no journal
** there and !create; unlike other expected codes this one fills err->msg,
** which names the path), JR_ECORRUPT (not a sluice journal or unknown
** format version) or JR_ERR. *out is set to NULL on failure. */
int jr_journal_open(jr_journal **out, const char *dir,
                    const jr_journal_opts *opts, jr_err *err);

/* NULL-safe. Closes any writer of this handle (abandoning pending data). */
void jr_journal_close(jr_journal *j);

typedef struct jr_info {
    char journal_uuid[37];    /* created at init, NUL-terminated */
    char source_id[128];      /* "" until bound to a source */
    uint64_t first_seq;       /* oldest stored record; 0 if empty */
    uint64_t head_seq;        /* last committed record; 0 if none */
    uint64_t complete_seq;    /* last committed record ending a group */
    int64_t head_time_us;     /* time of the last commit (µs); 0 when
                                 unknown (nothing committed, or a journal
                                 from before meta head_time, fully
                                 pruned) */
    uint64_t nbatches;        /* stored LMDB entries in the log */
    uint64_t stored_bytes;    /* sum of stored entry sizes */
    uint64_t map_size;        /* current map size in bytes */
    uint64_t map_used;        /* bytes of the map in use */
    uint64_t map_max;         /* configured cap */
    uint32_t nreplicas;
} jr_info;

/* Snapshot of the journal's metadata. JR_OK or JR_ERR. */
int jr_journal_info(jr_journal *j, jr_info *info, jr_err *err);

/* Cheap change detector: a counter that moves whenever any process
** commits to the journal. Poll it instead of re-reading. */
uint64_t jr_journal_version(jr_journal *j);

/* Bind the journal to a source identity on first use, or check it.
** JR_OK if bound now or already bound to `source_id`; JR_EMISMATCH (with a
** message naming both identities) if bound to another; JR_ERR. */
int jr_journal_bind_source(jr_journal *j, const char *source_id,
                           jr_err *err);

/* Latest schema record payload (aux) journaled for `table`. Copies up to
** cap bytes into buf and stores the full length in *len. JR_OK,
** JR_ENOTFOUND, JR_ERR. */
int jr_journal_table_schema(jr_journal *j, const char *table, void *buf,
                            size_t cap, size_t *len, jr_err *err);

/* ------------------------------------------------------------------ */
/* Writer                                                             */
/* ------------------------------------------------------------------ */

typedef struct jr_writer jr_writer;

typedef struct jr_writer_opts {
    int version;              /* JR_WRITER_OPTS_VERSION */
    uint32_t batch_records;   /* records per compressed batch (0: 256) */
    uint32_t batch_bytes;     /* raw bytes per batch soft cap (0: 256 KiB) */
    int zstd_level;           /* 0: level 1; -1 stores uncompressed */
} jr_writer_opts;

#define JR_WRITER_OPTS_VERSION 1
#define JR_WRITER_OPTS_INIT { JR_WRITER_OPTS_VERSION, 0, 0, 0 }

/* Become the journal's only writer. Takes DIR/writer.lock (JR_EBUSY if
** another live process holds it). If the last committed record does not
** end a group (a writer crashed mid-group), commits a JR_K_ABORT record
** that closes it, so seqs stay dense and readers can discard it.
** Returns JR_OK, JR_EBUSY or JR_ERR. */
int jr_writer_open(jr_writer **out, jr_journal *j,
                   const jr_writer_opts *opts, jr_err *err);

/* NULL-safe; abandons uncommitted appends; releases the lock. */
void jr_writer_close(jr_writer *w);

/* Next seq that jr_writer_append() will assign. */
uint64_t jr_writer_next_seq(const jr_writer *w);

/* Encode `rec` (all its bytes are copied) and assign it the next seq,
** returned in *seq (may be NULL). If `group_end`, the record closes its
** group. Nothing is visible to readers before jr_writer_commit().
** Returns JR_OK, JR_EPOISONED or JR_ERR (invalid record). */
int jr_writer_append(jr_writer *w, const jr_record *rec, int group_end,
                     uint64_t *seq, jr_err *err);

/* Mark the most recently appended (uncommitted) record as the end of its
** group. JR_OK, JR_ENOTFOUND (nothing pending), JR_EPOISONED. */
int jr_writer_end_group(jr_writer *w, jr_err *err);

/* Durably commit every pending record together with the source position
** (pos, pos_len bytes; pos may be NULL to leave it unchanged). One LMDB
** transaction; fsync'd before it returns.
**   JR_OK        committed.
**   JR_EFULL     the map reached its cap; nothing was committed and the
**                pending records are kept: prune, then call again.
**   JR_ERR       any other failure (err says what); the writer is then
**                poisoned: later calls return JR_EPOISONED until it is
**                closed and re-opened (pending records are lost, the
**                source still has them).
** An empty commit (no pending records) only updates the position. */
int jr_writer_commit(jr_writer *w, const void *pos, size_t pos_len,
                     jr_err *err);

/* Drop every pending (uncommitted) record; seqs are handed out again. */
void jr_writer_rollback(jr_writer *w);

/* Number of records appended but not yet committed. */
uint32_t jr_writer_pending(const jr_writer *w);

/* Bytes those records take (compressed batches plus the open batch): what
** the next commit adds to the map, give or take LMDB's page overhead. A
** caller bounds its commits by this, not by the record count alone. */
uint64_t jr_writer_pending_bytes(const jr_writer *w);

/* Committed source position: copies up to cap bytes into buf, full length
** in *len. JR_OK, JR_ENOTFOUND (never set), JR_ERR. Also usable without a
** writer through jr_journal_source_pos(). */
int jr_journal_source_pos(jr_journal *j, void *buf, size_t cap, size_t *len,
                          jr_err *err);

/* ------------------------------------------------------------------ */
/* Reader                                                             */
/* ------------------------------------------------------------------ */

typedef struct jr_reader jr_reader;

/* Open a cursor positioned at `from_seq` (1 = start). A reader holds no
** LMDB transaction between calls, so it never blocks writers or pruning.
** JR_OK or JR_ERR. */
int jr_reader_open(jr_reader **out, jr_journal *j, uint64_t from_seq,
                   jr_err *err);

void jr_reader_close(jr_reader *r);          /* NULL-safe */

/* Move the cursor to `seq`. */
void jr_reader_seek(jr_reader *r, uint64_t seq);

/* Read the record at the cursor and advance.
**   JR_OK        *e filled. Its pointers stay valid until the next call
**                on r, jr_reader_seek() or jr_reader_close().
**   JR_EAGAIN    no committed record at that seq yet (poll
**                jr_journal_version(), then call again).
**   JR_ENOTFOUND the seq was pruned (older than the first stored seq).
**   JR_ECORRUPT  checksum/format failure; err names the seq.
**   JR_ERR       other failure. */
int jr_reader_next(jr_reader *r, jr_entry *e, jr_err *err);

/* ------------------------------------------------------------------ */
/* Replicas and retention                                             */
/* ------------------------------------------------------------------ */

typedef struct jr_replica {
    char name[64];
    uint64_t applied_seq;
    int64_t applied_time_us;
} jr_replica;

/* Register `name` (if new, with applied_seq 0). JR_OK, JR_ERR. Names are
** 1..63 bytes of [A-Za-z0-9_.-]. */
int jr_replica_register(jr_journal *j, const char *name, jr_err *err);

/* Remove a replica; pruning stops waiting for it. JR_OK, JR_ENOTFOUND. */
int jr_replica_unregister(jr_journal *j, const char *name, jr_err *err);

/* Record that `name` has applied everything up to `seq` (registers it if
** new). Acks never move backwards. JR_OK, JR_ERR. */
int jr_replica_ack(jr_journal *j, const char *name, uint64_t seq,
                   jr_err *err);

/* Fill up to cap replicas into out[], their number in *n (may exceed cap:
** only cap are written). JR_OK, JR_ERR. */
int jr_replica_list(jr_journal *j, jr_replica *out, uint32_t cap,
                    uint32_t *n, jr_err *err);

/* Delete stored records at or below the minimum applied seq of all
** registered replicas, whose batch was committed more than
** `retention_s` seconds ago. With no replica registered nothing is
** pruned. *pruned (may be NULL) receives the number of records removed.
** JR_OK, JR_ERR. */
int jr_journal_prune(jr_journal *j, int64_t retention_s, uint64_t *pruned,
                     jr_err *err);

/* ------------------------------------------------------------------ */
/* Metrics                                                            */
/* ------------------------------------------------------------------ */

/* Write the journal's metrics to `f` in the Prometheus text format, every
** sample labelled db="<db>" (escaped; any bytes): sluice_journal_info,
** sluice_journal_head_seq, _complete_seq, _first_seq, _stored_bytes,
** _map_used_bytes, and per registered replica sluice_replay_applied_seq,
** sluice_replay_lag_records and sluice_replay_lag_seconds (age, by source
** change time, of its oldest unapplied record; 0 when caught up). If
** `replica` is not NULL, that replica is shown at `applied` whether or not
** it is registered (replay knows its position before its journal ack). At
** most 64 replicas are listed. Read transactions only; never waits. `f`
** stays the caller's (write errors are the FILE's).
** JR_OK; JR_ERR (err filled) when the journal cannot be read. */
int jr_metrics_write(FILE *f, jr_journal *j, const char *db,
                     const char *replica, uint64_t applied, jr_err *err);

/* Source change time (us since the epoch) of the oldest stored record
** after seq `applied`: what sluice_replay_lag_seconds counts from, and what
** a program adds its own lag measures to (capture's end-to-end lag). If
** that record was pruned already, the oldest stored one counts. `in` is
** a jr_journal_info() of `j` (its head_seq and first_seq are used).
** *time_us is 0 when there is no such record. One read transaction.
** JR_OK; JR_ECORRUPT or JR_ERR (err filled) when it cannot be read. */
int jr_metrics_oldest_time(jr_journal *j, const jr_info *in, uint64_t applied,
                           int64_t *time_us, jr_err *err);

/* ------------------------------------------------------------------ */
/* Integrity                                                          */
/* ------------------------------------------------------------------ */

typedef struct jr_check_report {
    uint64_t records;         /* records verified */
    uint64_t batches;         /* stored entries verified */
    uint64_t first_seq, last_seq;
    uint64_t bad_seq;         /* first seq of the first bad entry; 0 if ok */
    char problem[256];        /* what is wrong with it */
} jr_check_report;

/* Walk the whole journal: checksums, decoding, density, metadata.
** JR_OK if clean, JR_ECORRUPT (report filled) or JR_ERR. */
int jr_journal_check(jr_journal *j, jr_check_report *rep, jr_err *err);

#ifdef __cplusplus
}
#endif
#endif /* SLUICE_JOURNAL_H */
