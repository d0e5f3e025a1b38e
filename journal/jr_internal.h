/*
** jr_internal.h -- declarations shared between the journal's .c files.
** Never included outside journal/. Names are jr__xxx.
*/
#ifndef SLUICE_JR_INTERNAL_H
#define SLUICE_JR_INTERNAL_H

#include <lmdb.h>
#include <stdint.h>
#include <stddef.h>

#include "sluice/journal.h"
#include "sl_assert.h"
#include "sl_clock.h"

/* ---- on-disk constants (see FORMAT.md) ---- */
#define JR_FORMAT_VERSION   1u
#define JR_BATCH_MAGIC      "SLJ1"
#define JR_BATCH_HDR        40u      /* fixed header bytes of a batch */
#define JR_CODEC_RAW        0u
#define JR_CODEC_ZSTD       1u
#define JR_REC_F_GROUP_END  0x01u
/* the smallest encoded record: u32 length, kind, flags, group_back,
** time, table (length + NUL), three row counts, aux length */
#define JR_REC_MIN          14u

/* ---- errors (err.c) ---- */
/* Failures go through jr_err_set() (sluice/journal.h); these two fill in
** the domain and message of the commonest causes. */
int jr__err_mdb(jr_err *err, int rc, const char *op);
int jr__err_oom(jr_err *err);

/* ---- checksums (crc32c.c) ---- */
uint32_t jr__crc32c(uint32_t crc, const void *buf, size_t n);

/* ---- byte helpers ---- */
static inline void jr__put_be64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) { p[i] = (unsigned char)v; v >>= 8; }
}
static inline uint64_t jr__get_be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
    return v;
}
static inline void jr__put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16); p[3] = (unsigned char)(v >> 24);
}
static inline uint32_t jr__get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}
static inline void jr__put_le64(unsigned char *p, uint64_t v)
{
    jr__put_le32(p, (uint32_t)v); jr__put_le32(p + 4, (uint32_t)(v >> 32));
}
static inline uint64_t jr__get_le64(const unsigned char *p)
{
    return (uint64_t)jr__get_le32(p) | (uint64_t)jr__get_le32(p + 4) << 32;
}

/* ---- growable byte buffer (codec.c) ---- */
typedef struct jr__buf {
    unsigned char *p;
    size_t len, cap;
} jr__buf;

int  jr__buf_reserve(jr__buf *b, size_t extra);
void jr__buf_free(jr__buf *b);

/* ---- record codec (codec.c) ----
** One encoded record inside a batch payload:
**   u32 LE body_len, then body:
**   u8 kind, u8 flags, varint group_back (seq - group), varint time (zigzag),
**   str table, row key, row new, row old, varint aux_len, aux bytes
** row:   varint n, n x (str name, value)
** value: u8 type, then INT zigzag varint | REAL 8 bytes LE | TEXT/BLOB
**        varint len + bytes | NULL nothing
** str:   varint len + len bytes + one 0 byte (so decoded names are C
**        strings; FORMAT.md) */
int jr__rec_encode(jr__buf *out, const jr_record *rec, uint64_t group_back,
                   int group_end, jr_err *err);

/* Decoded view of one record; arrays owned by the decoder scratch. */
typedef struct jr__dec {
    /* scratch storage reused between records */
    const char **names;
    jr_value *vals;
    uint32_t cap;
} jr__dec;

/* Decode the record at *pp (advanced past it) into e->rec; e->seq must be
** set by the caller; sets e->group and e->group_end. Views point into the
** payload and into d. JR_OK or JR_ECORRUPT. */
int jr__rec_decode(jr__dec *d, const unsigned char **pp,
                   const unsigned char *end, jr_entry *e, jr_err *err);
void jr__dec_free(jr__dec *d);

/* ---- batches (batch.c) ----
** Header (40 bytes), little-endian:
**   0  "SLJ1"        4  u8 format version   5 u8 codec   6 u16 count
**   8  u64 first_seq 16 u32 raw_len        20 u32 stored_len
**   24 i64 commit time (µs)                32 u32 crc32c   36 u32 zero
** crc32c covers bytes [0,32) and [40, 40+stored_len). */
typedef struct jr__batch_hdr {
    unsigned version, codec, count;
    uint64_t first_seq;
    uint32_t raw_len, stored_len;
    int64_t time_us;
} jr__batch_hdr;

/* Parse and verify a stored batch (checksum included). JR_OK or
** JR_ECORRUPT with a message naming `key_seq`. */
int jr__batch_verify(const void *data, size_t len, uint64_t key_seq,
                     jr__batch_hdr *h, jr_err *err);

/* Decompress a verified batch's payload into out (replacing contents). */
int jr__batch_payload(const void *data, const jr__batch_hdr *h,
                      jr__buf *out, void **dctx, uint64_t key_seq,
                      jr_err *err);
void jr__dctx_free(void *dctx);

/* Build a stored batch from raw payload. out is replaced. level < 0 means
** store raw. */
int jr__batch_build(jr__buf *out, const void *raw, size_t raw_len,
                    unsigned count, uint64_t first_seq, int64_t time_us,
                    int level, void **cctx, jr_err *err);
void jr__cctx_free(void *cctx);

/* ---- the journal handle (journal.c) ---- */
struct jr_journal {
    MDB_env *env;
    MDB_dbi dbi_meta, dbi_log, dbi_replicas, dbi_tables;
    char *dir;
    int read_only;
    uint64_t map_max;
    int map_max_given;       /* opts gave map_max (else: as recorded) */
    jr_writer *writer;       /* at most one per handle */
    /* closes `writer` (set by writer.c when it opens one): closing the
    ** journal closes its writer without journal.c depending on writer.c */
    void (*writer_close)(jr_writer *w);
};

/* A stored value p[0..n) of the map has been copied out: drop its pages
** from this process's resident set (they stay in the page cache), or a long
** replay would count every journal page it ever read. */
void jr__note_read(jr_journal *j, const void *p, size_t n);

/* Meta keys (DBI "meta"). */
#define JR_META_FORMAT   "format"
#define JR_META_UUID     "journal_uuid"
#define JR_META_SOURCE   "source_id"
#define JR_META_HEAD     "head_seq"
#define JR_META_COMPLETE "complete_seq"
#define JR_META_POS      "source_pos"
#define JR_META_MAP_MAX  "map_max"   /* the writer's cap, for readers */
#define JR_META_HEAD_TIME "head_time"    /* i64 LE µs of the last commit */

/* Begin a transaction, transparently adopting a map size grown by another
** process (MDB_MAP_RESIZED). */
int jr__txn_begin(jr_journal *j, unsigned flags, MDB_txn **txn, jr_err *err);

/* Read a u64 meta value (0 if absent). */
int jr__meta_u64(MDB_txn *txn, jr_journal *j, const char *key,
                 uint64_t *v, jr_err *err);
int jr__meta_put_u64(MDB_txn *txn, jr_journal *j, const char *key,
                     uint64_t v, jr_err *err);

/* First stored seq (0 if the log is empty). */
int jr__first_seq(MDB_txn *txn, jr_journal *j, uint64_t *seq, jr_err *err);

#endif /* SLUICE_JR_INTERNAL_H */
