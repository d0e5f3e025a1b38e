/*
** bench_data.h -- data set, record hash and raw encoding shared by the
** journal benchmark (see bench_data.c).
*/
#ifndef SLUICE_BENCH_DATA_H
#define SLUICE_BENCH_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "sluice/journal.h"

#define BD_NCOLS 8                 /* columns of the orders table */
#define BD_RAW_ENC_MAX 4096        /* bound of bd_raw_encode() output */

typedef struct bd_dataset {
    uint64_t n;
    jr_record *recs;         /* n records; views into the arrays below */
    jr_value *vals;
    char *text;
    uint64_t *hashes;        /* bd_hash_record() of each record */
    uint64_t ninsert, nupdate, ndelete;
} bd_dataset;

/* Generate n records from seed (deterministic). bu_die()s on allocation
** failure. */
void bd_dataset_make(bd_dataset *ds, uint64_t n, uint64_t seed);
void bd_dataset_free(bd_dataset *ds);

/* 64-bit hash of everything a record carries (kind, table, time, rows with
** names, types and values, aux). Order-sensitive, not cryptographic. */
uint64_t bd_hash_record(const jr_record *r);

/* Encode r into out (BD_RAW_ENC_MAX bytes) for the raw baseline:
**   u8 kind, u8 group_end, str table, u64le time_us, row key, row new,
**   row old, str aux;  row: varint n, n x (str name, u8 type, value);
**   value: INT/REAL 8 bytes LE, TEXT/BLOB str, NULL nothing;
**   str: varint length + bytes.
** Returns the encoded length. */
size_t bd_raw_encode(unsigned char *out, const jr_record *r, int group_end);

#endif /* SLUICE_BENCH_DATA_H */
