/*
** ct_model.h -- a model replayer (ct_model.c), a comparator and a journal
** scan (ct_compare.c) for the capture suites.
**
** THE MODEL applies a journal to a private in-memory SQLite database the
** way a replayer must, so "model equals source" means "a replayer that
** follows the journal contract ends up with the source's rows":
**   a group         BEGIN ... COMMIT on its group_end record; a group that
**                   ends with JR_K_ABORT is rolled back whole; a group not
**                   complete yet is rolled back and re-read next sync.
**   SCHEMA          (re)create the table from the JSON (json_each): one
**                   untyped column per "columns" entry, PRIMARY KEY on
**                   "key", or for "rowid_key" tables an extra key column
**                   named like the records' key (rowid, else oid, else
**                   _rowid_: the first alias no column shadows).
**   SNAP_BEGIN /    delete every row of the table.
**   TRUNCATE
**   INSERT          delete rows that share a value set of any "unique"
**                   column list with the new image (that is how a row a
**                   REPLACE removed without a delete trigger goes away),
**                   then INSERT OR REPLACE the new image.
**   UPDATE          delete by the (old) key, delete unique conflicts,
**                   insert the new image.
**   DELETE          delete by key.
**   DROP            drop the table.
** Values are bound with their exact storage class. Besides applying, the
** model checks what a replayer relies on and counts violations in
** ct_model_stats: INSERT key values equal to the image's key columns;
** UPDATE/DELETE of keyless tables carry an old image equal to the row the
** model holds; UPDATE/DELETE find the row they name.
**
** THE COMPARATOR checks, table by table, that the source's captured
** tables and the model's tables are the same set, with the same columns
** (the source's non-hidden columns in order, plus the rowid alias for
** keyless tables) and exactly the same rows: same storage class, integers
** equal, reals bit-exact (memcmp), text and blobs byte-exact.
**
** THE SCAN walks the committed, complete, non-aborted groups of a journal
** in seq order and hands every record to a callback: what tests use to
** assert on individual records.
*/
#ifndef CT_MODEL_H
#define CT_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "sluice/journal.h"

typedef struct ct_model ct_model;

typedef struct ct_model_stats {
    uint64_t groups;          /* groups committed */
    uint64_t aborted;         /* groups discarded (JR_K_ABORT) */
    uint64_t records;         /* records applied (committed groups) */
    uint64_t changes;         /* insert/update/delete outside snapshots */
    uint64_t snapshots;       /* SNAP_BEGIN records */
    uint64_t unique_deletes;  /* rows removed through a unique conflict */
    uint64_t key_mismatch;    /* INSERT key != image key columns */
    uint64_t old_mismatch;    /* keyless old image != model row */
    uint64_t missing;         /* UPDATE/DELETE of a row the model lacks */
    uint64_t next_seq;        /* first seq not applied yet */
} ct_model_stats;

/* New empty model (asserts on failure). */
ct_model *ct_model_new(void);
void ct_model_free(ct_model *m);               /* NULL-safe */

/* Apply every complete group of journal `dir` from the model's position
** on. Returns 0, or -1 with a description in why (a record the model
** cannot apply: unknown table, unknown column, bad schema JSON, a seq
** gap, a journal error), or -2 if the journal cannot be opened as such
** (JR_ENOTFOUND, or JR_ECORRUPT: jr_journal_open() of a journal another
** process is creating at that moment reports "an LMDB environment but
** not a sluice journal"; ct_converge() retries). */
int ct_model_sync(ct_model *m, const char *dir, char *why, size_t cap);
const ct_model_stats *ct_model_get_stats(const ct_model *m);
/* Tables the model holds now (-1 on error). */
int ct_model_ntables(ct_model *m);

/* Compare source file `src` with the model. `tables` (NULL-terminated)
** restricts the comparison to those tables; NULL compares every captured
** table and demands the model has no other. Returns 0 if equal, else -1
** with the first difference in why. */
int ct_compare(const char *src, ct_model *m, const char *const *tables,
               char *why, size_t cap);

/* Sync and compare until they agree or timeout_ms passes (capture is
** running). Returns 0 when equal; else -1 with the last difference. */
int ct_converge(ct_model *m, const char *dir, const char *src,
                int timeout_ms, char *why, size_t cap);

/* Assert-style one-shots: a fresh model of `dir` must equal `src`. */
void ct_assert_model_equals_source(const char *dir, const char *src);

/* ---- scan ---- */
/* cb returns 0 to go on, non-zero to stop (ct_scan returns that value). */
typedef int (*ct_scan_cb)(const jr_entry *e, void *ctx);
/* Returns 0 after the last record; asserts on journal errors. Records of
** aborted or incomplete groups are skipped, as is JR_K_ABORT itself. */
int ct_scan(const char *dir, ct_scan_cb cb, void *ctx);

/* jr_journal_check on dir, asserting it is clean. */
void ct_assert_journal_clean(const char *dir);
/* Open dir read-only (asserting) -- close with jr_journal_close. */
jr_journal *ct_journal_open(const char *dir);

/* Row helpers on a record's rows. */
const jr_value *ct_row_get(const jr_row *row, const char *name);
/* Integer column or dflt if absent / not JR_INT. */
int64_t ct_row_int(const jr_row *row, const char *name, int64_t dflt);
/* "type:value" for messages, into buf. */
const char *ct_value_str(const jr_value *v, char *buf, size_t cap);

#endif /* CT_MODEL_H */
