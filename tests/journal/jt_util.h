/*
** jt_util.h -- shared helpers of the journal test suites.
**
** Every suite uses `TestSuite(journal_x, .init = jt_tmpdir_up,
** .fini = jt_tmpdir_down)`: each test gets a fresh temporary directory
** jt_base (mkdtemp) and a journal path jt_dir = jt_base/j that does not
** exist yet (so opening with create also creates the directory).
** jt_tmpdir_down kills and reaps every child forked with jt_fork() that is
** still running, then removes jt_base.
**
** The directory, file and journal shortcuts (jt_join, jt_open, jt_append,
** ...) assert with Criterion and may only run in the test process itself.
** Code in a forked child must not reach any Criterion call, not even a
** passing assertion (with --full-stats it messages the runner under the
** child's pid and derails the run): it uses the library directly plus the
** record builder, PRNG and pipe helpers, which never assert, reports
** through its exit status and leaves with _exit(). Likewise, assertion
** messages must have no side effects: --full-stats evaluates them even
** when the assertion holds.
*/
#ifndef JT_UTIL_H
#define JT_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sluice/journal.h"
#include "testlib.h"

#define JT_MIB ((uint64_t)1024 * 1024)
#define JT_PATH_MAX 512

extern char jt_base[JT_PATH_MAX];   /* this test's temporary directory */
extern char jt_dir[JT_PATH_MAX];    /* jt_base/j: the default journal */

void jt_tmpdir_up(void);
void jt_tmpdir_down(void);


/* out = dir/name (asserts it fits). Returns out. */
char *jt_join(char *out, size_t cap, const char *dir, const char *name);

/* Whole-file helpers; jt_read_file returns malloc'd bytes (*n = length),
** NULL on failure. */
int jt_write_file(const char *path, const void *p, size_t n);
void *jt_read_file(const char *path, size_t *n);

/* ---------------------------------------------------------------- */
/* Journal shortcuts (assert on failure)                            */
/* ---------------------------------------------------------------- */

/* Open (creating) `dir`; map sizes 0 mean the library defaults. */
jr_journal *jt_open(const char *dir, uint64_t map_initial, uint64_t map_max);
/* Open an existing journal (create = 0). */
jr_journal *jt_open_existing(const char *dir);
jr_writer *jt_writer(jr_journal *j, uint32_t batch_records, int zstd_level);
/* Append and return the seq assigned. */
uint64_t jt_append(jr_writer *w, const jr_record *rec, int group_end);
/* Commit; pos (NUL-terminated text, its NUL not stored) may be NULL. */
void jt_commit(jr_writer *w, const char *pos);
jr_reader *jt_reader(jr_journal *j, uint64_t from);
/* jr_reader_next, asserting JR_OK. */
void jt_next(jr_reader *r, jr_entry *e);
void jt_info(jr_journal *j, jr_info *info);

/* ---------------------------------------------------------------- */
/* Deterministic PRNG (xorshift64*)                                 */
/* ---------------------------------------------------------------- */

typedef struct jt_rng {
    uint64_t s;
} jt_rng;

void jt_rng_seed(jt_rng *r, uint64_t seed);
uint64_t jt_rng_next(jt_rng *r);
uint64_t jt_rng_below(jt_rng *r, uint64_t n);   /* 0 .. n-1; n > 0 */
void jt_rng_fill(jt_rng *r, void *buf, size_t n);
/* A 64-bit mix of two numbers (seeds per-seq generators). */
uint64_t jt_mix(uint64_t a, uint64_t b);

/* ---------------------------------------------------------------- */
/* Record builder: owns every byte the jr_record view points to      */
/* ---------------------------------------------------------------- */

enum { JT_KEY = 0, JT_NEW = 1, JT_OLD = 2 };

typedef struct jt_rowbuf {
    uint32_t n, cap;
    const char **names;     /* each malloc'd */
    jr_value *vals;         /* text/blob bytes malloc'd (NULL if given NULL) */
} jt_rowbuf;

typedef struct jt_rec {
    jr_record r;            /* view; refreshed by jt_rec_get() */
    char *table;
    jt_rowbuf rows[3];
    void *aux;
    size_t aux_len;
} jt_rec;

jt_rec *jt_rec_new(int kind, const char *table, int64_t time_us);
/* Deep copy of any record (e.g. a jr_entry's views). */
jt_rec *jt_rec_copy(const jr_record *src);
void jt_rec_free(jt_rec *rec);             /* NULL-safe */
void jt_rec_null(jt_rec *rec, int row, const char *name);
void jt_rec_int(jt_rec *rec, int row, const char *name, int64_t v);
void jt_rec_real(jt_rec *rec, int row, const char *name, double v);
void jt_rec_real_bits(jt_rec *rec, int row, const char *name, uint64_t bits);
/* p == NULL with n == 0 is stored as such (allowed by the contract). */
void jt_rec_text(jt_rec *rec, int row, const char *name, const void *p,
                 size_t n);
void jt_rec_blob(jt_rec *rec, int row, const char *name, const void *p,
                 size_t n);
void jt_rec_value(jt_rec *rec, int row, const char *name, const jr_value *v);
void jt_rec_aux(jt_rec *rec, const void *p, size_t n);
const jr_record *jt_rec_get(jt_rec *rec);

/* Exact comparison: kinds, table, time, every name and value (reals by
** bits, text/blob by bytes, NULL/empty text/empty blob distinct), aux.
** 1 if equal; else 0 and a description of the first difference in why. */
int jt_value_equal(const jr_value *a, const jr_value *b);
int jt_rec_equal(const jr_record *want, const jr_record *got, char *why,
                 size_t cap);

/* Look up column `name` of a row; NULL if absent. */
const jr_value *jt_row_get(const jr_row *row, const char *name);
/* Integer column (JR_INT) of a row, or `dflt` if absent / other type. */
int64_t jt_row_int(const jr_row *row, const char *name, int64_t dflt);

/* ---------------------------------------------------------------- */
/* Processes                                                        */
/* ---------------------------------------------------------------- */

/* tl_fork(), asserting it worked; jt_tmpdir_down() kills what is left.
** Waits, kills, clocks and rm -rf are testlib's: tl_wait, tl_kill,
** tl_now_us, tl_rm_rf (testlib.h, tl_proc.h). */
pid_t jt_fork(void);

/* Pipe messages: a u64 at a time. jt_recv_u64 returns 0 on success, -1 on
** EOF/error/timeout (timeout_ms < 0: forever). */
int jt_send_u64(int fd, uint64_t v);
int jt_recv_u64(int fd, uint64_t *v, int timeout_ms);

/* Run argv[0] with argv, stdout+stderr captured into out (NUL-terminated,
** truncated to cap-1). Returns the exit status, 128 + signal, or -1 if it
** could not be run (exec failure gives 127). */
int jt_run(const char *const argv[], char *out, size_t cap);


#endif /* JT_UTIL_H */
