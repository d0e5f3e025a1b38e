/*
** bench_journal.c -- sluice-bench-journal: journal append throughput and
** size, measured against a raw LMDB baseline.
**
** WHAT IS MEASURED
**   A data set of N change records on an "orders" table (id, customer_id,
**   status, email, created_at, amount, meta JSON, note) is generated once,
**   deterministically from --seed, before any clock starts: mostly inserts,
**   some updates (full after-image) and deletes (key only). Each run then
**   appends it into a fresh directory in groups of G records, one durable
**   commit per group (group_end on the last record), and times the loop
**   from the first append to the return of the last commit with
**   CLOCK_MONOTONIC. Opening and closing the environment are not timed.
**
**   raw-lmdb       the baseline: each record encoded in a simple
**                  length-prefixed binary form (varint lengths, fixed 8-byte
**                  numbers), uncompressed, one mdb_put(MDB_APPEND) per
**                  record under a big-endian u64 seq key, one
**                  mdb_txn_commit per group, default (durable) env flags.
**                  Encoding is inside the timed loop, as it is for the
**                  journal.
**   journal        jr_writer with JR_WRITER_OPTS_INIT (256 records a batch,
**                  zstd level 1); each commit also stores an 8-byte source
**                  position, as capture does.
**   journal-b1     batch_records = 1 (one record per LMDB entry, zstd).
**   journal-b256   batch_records = 256, batch_bytes = 256 KiB (so the
**                  count, not the 64 KiB default byte cap, closes batches).
**   journal-nozstd batch_records = 64, zstd_level = -1 (stored raw).
**
**   The journal opens with the library's default map size (64 MiB, grown
**   on demand) unless --map-initial says otherwise; raw LMDB gets a map
**   big enough for its data from the start.
**
**   bytes/record is jr_info.stored_bytes / records for the journal and the
**   sum of the value sizes / records for raw; "file B/rec" is the size of
**   data.mdb divided by the records.
**
** --verify reads every run back (jr_reader for the journal, a cursor for
** raw) and checks the count, dense seqs, group boundaries and a 64-bit hash
** of every record against the generated data, so a writer that drops or
** mangles records cannot post a good number.
**
** Exit: 0 when every run (and verification) succeeded, 1 otherwise, 2 on a
** usage error. Targets are checked by bench_journal.sh from --csv output.
*/
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <lmdb.h>

#include "sluice/journal.h"

#include "bench_data.h"
#include "bench_util.h"

#define MAX_GROUPS 8
#define MAX_CONFIGS 8
#define MAX_REPEAT 9
#define TMPFS_MAGIC_ 0x01021994
#define DIR_MAX 1024                      /* run directory names */
#define PATH_MAX_ 2048                    /* files inside them */

/* ------------------------------------------------------------------ */
/* Small helpers                                                      */
/* ------------------------------------------------------------------ */

static int parse_u64(const char *s, uint64_t *v)
{
    char *end;
    unsigned long long x;

    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    x = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *v = (uint64_t)x;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Configurations and results                                         */
/* ------------------------------------------------------------------ */

typedef struct bconfig {
    const char *name;
    int raw;                 /* 1: raw LMDB baseline */
    uint32_t batch_records;
    uint32_t batch_bytes;
    int zstd_level;
    const char *desc;
} bconfig;

static const bconfig k_configs[] = {
    { "raw-lmdb",       1, 0,   0,          0,
      "mdb_put of uncompressed encoded records, MDB_APPEND" },
    { "journal",        0, 0,   0,          0,
      "jr_writer defaults (batch_records 256, 256 KiB, zstd level 1)" },
    { "journal-b1",     0, 1,   0,          0,
      "batch_records 1 (one record per LMDB entry, zstd)" },
    { "journal-b16",    0, 16,  0,          0,
      "batch_records 16" },
    { "journal-b128",   0, 128, 128 * 1024, 0,
      "batch_records 128, batch_bytes 128 KiB" },
    { "journal-b256",   0, 256, 256 * 1024, 0,
      "batch_records 256, batch_bytes 256 KiB" },
    { "journal-nozstd", 0, 64,  0,          -1,
      "batch_records 64, zstd_level -1 (uncompressed batches)" },
    { "journal-z3",     0, 64,  0,          3,
      "batch_records 64, zstd level 3" },
};
static const char k_default_configs[] =
    "raw-lmdb,journal,journal-b1,journal-b256,journal-nozstd";

typedef struct result {
    const bconfig *cfg;
    uint64_t group, records;
    double seconds;          /* median of secs[] once all repeats ran */
    double secs[MAX_REPEAT];
    int nrep;
    uint64_t stored_bytes;   /* journal: jr_info.stored_bytes; raw: values */
    uint64_t file_bytes;     /* size of data.mdb */
    uint64_t nentries;       /* LMDB entries holding the records */
    int verified;            /* 0 not run, 1 ok, -1 failed */
    double verify_seconds;
} result;

typedef struct bench {
    const char *dir;
    uint64_t n, n_g1;
    uint64_t groups[MAX_GROUPS];
    int ngroups;
    const bconfig *cfgs[MAX_CONFIGS];
    int ncfgs;
    int verify, keep, repeat;
    uint64_t map_initial;    /* jr_journal_opts.map_initial; 0: default */
    bd_dataset ds;
} bench;

/* ------------------------------------------------------------------ */
/* Directory handling                                                 */
/* ------------------------------------------------------------------ */

static uint64_t file_size(const char *dir, const char *name)
{
    char path[PATH_MAX_];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (stat(path, &st) != 0)
        return 0;
    return (uint64_t)st.st_size;
}

static void run_dir(char *out, size_t cap, const bench *b, const bconfig *c,
                    uint64_t group)
{
    snprintf(out, cap, "%s/%s-g%" PRIu64, b->dir, c->name, group);
    bu_rm_rf(out);
}

/* ------------------------------------------------------------------ */
/* Raw LMDB baseline                                                  */
/* ------------------------------------------------------------------ */

#define MDB_CHECK(call)                                                   \
    do {                                                                  \
        int rc_ = (call);                                                 \
        if (rc_ != MDB_SUCCESS)                                           \
            bu_die("%s: %s", #call, mdb_strerror(rc_));                  \
    } while (0)

static void be64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (unsigned char)v;
        v >>= 8;
    }
}

static void run_raw(bench *b, result *res, int verify)
{
    char dir[DIR_MAX];
    MDB_env *env;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    unsigned char enc[BD_RAW_ENC_MAX], kbuf[8];
    uint64_t n = res->records, g = res->group, sum = 0;
    double t0, t1;

    run_dir(dir, sizeof(dir), b, res->cfg, g);
    bu_mkdir_p(dir);
    MDB_CHECK(mdb_env_create(&env));
    MDB_CHECK(mdb_env_set_mapsize(env, (size_t)(n * 1024 + (64u << 20))));
    MDB_CHECK(mdb_env_open(env, dir, 0, 0644));
    MDB_CHECK(mdb_txn_begin(env, NULL, 0, &txn));
    MDB_CHECK(mdb_dbi_open(txn, NULL, 0, &dbi));
    MDB_CHECK(mdb_txn_commit(txn));
    txn = NULL;

    t0 = bu_now_s();
    for (uint64_t i = 0; i < n; i++) {
        int gend = ((i + 1) % g == 0) || i + 1 == n;
        MDB_val k = { 8, kbuf }, v;

        if (txn == NULL)
            MDB_CHECK(mdb_txn_begin(env, NULL, 0, &txn));
        be64(kbuf, i + 1);
        v.mv_size = bd_raw_encode(enc, &b->ds.recs[i], gend);
        v.mv_data = enc;
        sum += v.mv_size;
        MDB_CHECK(mdb_put(txn, dbi, &k, &v, MDB_APPEND));
        if (gend) {
            MDB_CHECK(mdb_txn_commit(txn));
            txn = NULL;
        }
    }
    t1 = bu_now_s();

    res->seconds = t1 - t0;
    res->stored_bytes = sum;
    res->nentries = n;

    if (verify) {
        MDB_cursor *cur;
        MDB_val k, v;
        uint64_t i = 0;
        int rc, bad = 0;

        t0 = bu_now_s();
        MDB_CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn));
        MDB_CHECK(mdb_cursor_open(txn, dbi, &cur));
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), i++) {
            int gend = ((i + 1) % g == 0) || i + 1 == n;
            size_t len;

            if (i >= n) {
                fprintf(stderr, "verify %s g%" PRIu64 ": extra entries\n",
                        res->cfg->name, g);
                bad = 1;
                break;
            }
            be64(kbuf, i + 1);
            len = bd_raw_encode(enc, &b->ds.recs[i], gend);
            if (k.mv_size != 8 || memcmp(k.mv_data, kbuf, 8) != 0 ||
                v.mv_size != len || memcmp(v.mv_data, enc, len) != 0) {
                fprintf(stderr, "verify %s g%" PRIu64 ": seq %" PRIu64
                        " differs\n", res->cfg->name, g, i + 1);
                bad = 1;
                break;
            }
        }
        if (!bad && rc != MDB_NOTFOUND)
            bu_die("mdb_cursor_get: %s", mdb_strerror(rc));
        if (!bad && i != n) {
            fprintf(stderr, "verify %s g%" PRIu64 ": %" PRIu64
                    " records, expected %" PRIu64 "\n", res->cfg->name, g,
                    i, n);
            bad = 1;
        }
        mdb_cursor_close(cur);
        mdb_txn_abort(txn);
        res->verify_seconds = bu_now_s() - t0;
        res->verified = bad ? -1 : 1;
    }
    mdb_env_close(env);
    res->file_bytes = file_size(dir, "data.mdb");
    if (!b->keep)
        bu_rm_rf(dir);
}

/* ------------------------------------------------------------------ */
/* Journal                                                            */
/* ------------------------------------------------------------------ */

static void jr_die(const char *what, int rc, const jr_err *err)
{
    bu_die("%s: %s (%d)%s%s", what, jr_strerror(rc), rc,
           err->msg[0] ? ": " : "", err->msg);
}

/* Read everything back and compare with the data set. 1 ok, -1 bad. */
static int verify_journal(bench *b, jr_journal *j, const result *res)
{
    jr_reader *r = NULL;
    jr_err err = { 0 };
    jr_entry e;
    jr_info info;
    uint64_t n = res->records, g = res->group, i = 0;
    int rc;

    rc = jr_journal_info(j, &info, &err);
    if (rc != JR_OK)
        jr_die("jr_journal_info", rc, &err);
    if (info.head_seq != n || info.complete_seq != n ||
        (n > 0 && info.first_seq != 1)) {
        fprintf(stderr, "verify %s g%" PRIu64 ": info first=%" PRIu64
                " head=%" PRIu64 " complete=%" PRIu64 ", expected 1/%"
                PRIu64 "/%" PRIu64 "\n", res->cfg->name, g, info.first_seq,
                info.head_seq, info.complete_seq, n, n);
        return -1;
    }
    rc = jr_reader_open(&r, j, 1, &err);
    if (rc != JR_OK)
        jr_die("jr_reader_open", rc, &err);
    for (;;) {
        uint64_t want_group;
        int want_end;

        rc = jr_reader_next(r, &e, &err);
        if (rc == JR_EAGAIN)
            break;
        if (rc != JR_OK) {
            fprintf(stderr, "verify %s g%" PRIu64 ": jr_reader_next at "
                    "record %" PRIu64 ": %s: %s\n", res->cfg->name, g, i + 1,
                    jr_strerror(rc), err.msg);
            jr_reader_close(r);
            return -1;
        }
        want_group = i / g * g + 1;
        want_end = ((i + 1) % g == 0) || i + 1 == n;
        if (i >= n || e.seq != i + 1 || e.group != want_group ||
            (e.group_end != 0) != want_end ||
            bd_hash_record(&e.rec) != b->ds.hashes[i]) {
            fprintf(stderr, "verify %s g%" PRIu64 ": record %" PRIu64
                    " differs (seq %" PRIu64 " group %" PRIu64 " end %d)\n",
                    res->cfg->name, g, i + 1, e.seq, e.group, e.group_end);
            jr_reader_close(r);
            return -1;
        }
        i++;
    }
    jr_reader_close(r);
    if (i != n) {
        fprintf(stderr, "verify %s g%" PRIu64 ": read %" PRIu64
                " records, expected %" PRIu64 "\n", res->cfg->name, g, i, n);
        return -1;
    }
    return 1;
}

static void run_journal(bench *b, result *res, int verify)
{
    char dir[DIR_MAX];
    jr_journal *j = NULL;
    jr_writer *w = NULL;
    jr_journal_opts jo = JR_JOURNAL_OPTS_INIT;
    jr_writer_opts wo = JR_WRITER_OPTS_INIT;
    jr_err err = { 0 };
    jr_info info;
    uint64_t n = res->records, g = res->group;
    unsigned char pos[8];
    double t0, t1;
    int rc;

    run_dir(dir, sizeof(dir), b, res->cfg, g);
    jo.create = 1;
    jo.map_initial = b->map_initial;
    rc = jr_journal_open(&j, dir, &jo, &err);
    if (rc != JR_OK)
        jr_die("jr_journal_open", rc, &err);
    wo.batch_records = res->cfg->batch_records;
    wo.batch_bytes = res->cfg->batch_bytes;
    wo.zstd_level = res->cfg->zstd_level;
    rc = jr_writer_open(&w, j, &wo, &err);
    if (rc != JR_OK)
        jr_die("jr_writer_open", rc, &err);

    t0 = bu_now_s();
    for (uint64_t i = 0; i < n; i++) {
        int gend = ((i + 1) % g == 0) || i + 1 == n;

        rc = jr_writer_append(w, &b->ds.recs[i], gend, NULL, &err);
        if (rc != JR_OK)
            jr_die("jr_writer_append", rc, &err);
        if (gend) {
            be64(pos, i + 1);   /* e.g. capture's drained change-log id */
            rc = jr_writer_commit(w, pos, sizeof(pos), &err);
            if (rc != JR_OK)
                jr_die("jr_writer_commit", rc, &err);
        }
    }
    t1 = bu_now_s();
    res->seconds = t1 - t0;
    jr_writer_close(w);

    rc = jr_journal_info(j, &info, &err);
    if (rc != JR_OK)
        jr_die("jr_journal_info", rc, &err);
    res->stored_bytes = info.stored_bytes;
    res->nentries = info.nbatches;
    if (verify) {
        t0 = bu_now_s();
        res->verified = verify_journal(b, j, res);
        res->verify_seconds = bu_now_s() - t0;
    }
    jr_journal_close(j);
    res->file_bytes = file_size(dir, "data.mdb");
    if (!b->keep)
        bu_rm_rf(dir);
}

/* ------------------------------------------------------------------ */
/* Report                                                             */
/* ------------------------------------------------------------------ */

static const result *find_raw(const result *rs, int nr, uint64_t group)
{
    for (int i = 0; i < nr; i++)
        if (rs[i].cfg->raw && rs[i].group == group)
            return &rs[i];
    return NULL;
}

static void print_table(FILE *f, const bench *b, const result *rs, int nr)
{
    int any_g1 = 0;

    fprintf(f, "%-15s %6s %10s %8s %10s %7s %7s %9s %8s %8s%s\n",
            "config", "group", "records", "seconds", "records/s", "B/rec",
            "file", "entries", "rps/raw", "B/raw", b->verify ? "  verify" : "");
    fprintf(f, "%-15s %6s %10s %8s %10s %7s %7s %9s %8s %8s%s\n",
            "", "", "", "", "", "stored", "B/rec", "", "", "", "");
    for (int i = 0; i < nr; i++) {
        const result *r = &rs[i];
        const result *raw = find_raw(rs, nr, r->group);
        double rps = r->seconds > 0 ? (double)r->records / r->seconds : 0;
        double bpr = (double)r->stored_bytes / (double)r->records;
        double fpr = (double)r->file_bytes / (double)r->records;
        char recs[32], rpss[32], ents[32], rr[16] = "-", br[16] = "-";
        int star = r->group == 1 && b->n_g1 != b->n;

        bu_thousands(recs, sizeof(recs) - 1, (double)r->records);
        if (star) {
            size_t l = strlen(recs);

            recs[l] = '*';
            recs[l + 1] = '\0';
            any_g1 = 1;
        }
        bu_thousands(rpss, sizeof(rpss), (double)(uint64_t)(rps + 0.5));
        bu_thousands(ents, sizeof(ents), (double)r->nentries);
        if (raw != NULL && raw->seconds > 0 && r->seconds > 0) {
            double raw_rps = (double)raw->records / raw->seconds;
            double raw_bpr = (double)raw->stored_bytes /
                             (double)raw->records;

            snprintf(rr, sizeof(rr), "%.2fx", rps / raw_rps);
            snprintf(br, sizeof(br), "%.2fx", bpr / raw_bpr);
        }
        fprintf(f, "%-15s %6" PRIu64 " %10s %8.2f %10s %7.1f %7.1f %9s "
                "%8s %8s%s\n", r->cfg->name, r->group, recs, r->seconds,
                rpss, bpr, fpr, ents, rr, br,
                !b->verify ? "" : r->verified > 0 ? "  ok" : "  FAILED");
    }
    if (any_g1)
        fprintf(f, "* group size 1: %" PRIu64 " records only (every commit "
                "is an fsync'd LMDB transaction)\n", b->n_g1);
    fprintf(f, "B/rec stored: journal = jr_info.stored_bytes / records "
            "(batch headers included); raw = encoded value bytes / records\n"
            "file B/rec: size of data.mdb / records; entries: LMDB entries "
            "holding the records; rps/raw, B/raw: vs raw-lmdb at the same "
            "group size\n");
}

static void write_csv(const char *path, const result *rs, int nr)
{
    FILE *f = fopen(path, "w");

    if (f == NULL)
        bu_die("%s: %s", path, strerror(errno));
    fprintf(f, "config,group,records,seconds,records_per_s,stored_bytes,"
            "bytes_per_record,file_bytes,entries,rps_vs_raw,bytes_vs_raw,"
            "verified\n");
    for (int i = 0; i < nr; i++) {
        const result *r = &rs[i];
        const result *raw = find_raw(rs, nr, r->group);
        double rps = r->seconds > 0 ? (double)r->records / r->seconds : 0;
        double bpr = (double)r->stored_bytes / (double)r->records;
        char rr[32] = "", br[32] = "";   /* empty: no raw run to compare */

        if (raw != NULL && raw->seconds > 0) {
            snprintf(rr, sizeof(rr), "%.4f",
                     rps / ((double)raw->records / raw->seconds));
            snprintf(br, sizeof(br), "%.4f",
                     bpr / ((double)raw->stored_bytes / (double)raw->records));
        }
        fprintf(f, "%s,%" PRIu64 ",%" PRIu64 ",%.4f,%.0f,%" PRIu64 ",%.2f,"
                "%" PRIu64 ",%" PRIu64 ",%s,%s,%s\n", r->cfg->name,
                r->group, r->records, r->seconds, rps, r->stored_bytes, bpr,
                r->file_bytes, r->nentries, rr, br,
                r->verified > 0 ? "ok" : r->verified < 0 ? "FAILED" : "-");
    }
    if (fclose(f) != 0)
        bu_die("%s: %s", path, strerror(errno));
}

/* ------------------------------------------------------------------ */
/* Command line                                                       */
/* ------------------------------------------------------------------ */

static void usage(FILE *f)
{
    fprintf(f,
        "usage: sluice-bench-journal [options]\n"
        "  --dir DIR        parent of the per-run journal dirs "
        "(default .bench/journal)\n"
        "  -n, --records N  records per run (default 1000000)\n"
        "  --records-g1 N   records for group size 1 (default 20000)\n"
        "  --groups LIST    group sizes, comma-separated "
        "(default 1,100,10000)\n"
        "  --configs LIST   configurations (default %s)\n"
        "  --seed S         data set seed (default 1)\n"
        "  --repeat R       run everything R times (1..9), report the "
        "median\n"
        "  --map-initial M  journal's initial map size in MiB "
        "(default: the library's)\n"
        "  --verify         read every run back and check it\n"
        "  --keep           keep the run directories\n"
        "  --csv FILE       also write the results as CSV\n"
        "  --list           list the configurations\n"
        "  -h, --help       this help\n", k_default_configs);
}

/* Split a comma-separated list; calls fn(b, item) for each item. */
static int for_each_item(bench *b, const char *s,
                         int (*fn)(bench *, const char *))
{
    char item[64];

    while (*s != '\0') {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);

        if (len == 0 || len >= sizeof(item))
            return -1;
        memcpy(item, s, len);
        item[len] = '\0';
        if (fn(b, item) != 0)
            return -1;
        s += len + (comma ? 1 : 0);
    }
    return 0;
}

static int add_group(bench *b, const char *item)
{
    uint64_t v;

    if (b->ngroups == MAX_GROUPS || parse_u64(item, &v) != 0 || v == 0)
        return -1;
    b->groups[b->ngroups++] = v;
    return 0;
}

static int add_config(bench *b, const char *item)
{
    for (size_t i = 0; i < BU_NELEM(k_configs); i++) {
        if (strcmp(k_configs[i].name, item) == 0 && b->ncfgs < MAX_CONFIGS) {
            b->cfgs[b->ncfgs++] = &k_configs[i];
            return 0;
        }
    }
    fprintf(stderr, "sluice-bench-journal: unknown configuration '%s' "
            "(see --list)\n", item);
    return -1;
}

static int parse_groups(bench *b, const char *s)
{
    b->ngroups = 0;
    return for_each_item(b, s, add_group) == 0 && b->ngroups > 0 ? 0 : -1;
}

static int parse_configs(bench *b, const char *s)
{
    b->ncfgs = 0;
    return for_each_item(b, s, add_config) == 0 && b->ncfgs > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    static const struct option lopts[] = {
        { "dir",        required_argument, NULL, 'd' },
        { "records",    required_argument, NULL, 'n' },
        { "records-g1", required_argument, NULL, '1' },
        { "groups",     required_argument, NULL, 'g' },
        { "configs",    required_argument, NULL, 'c' },
        { "seed",       required_argument, NULL, 's' },
        { "repeat",     required_argument, NULL, 'r' },
        { "map-initial", required_argument, NULL, 'm' },
        { "verify",     no_argument,       NULL, 'v' },
        { "keep",       no_argument,       NULL, 'k' },
        { "csv",        required_argument, NULL, 'o' },
        { "list",       no_argument,       NULL, 'l' },
        { "help",       no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    bench b;
    const char *csv = NULL;
    uint64_t seed = 1, maxn, textb = 0, rawb = 0;
    result *rs;
    int opt, nr, failed = 0;
    struct statfs sfs;
    double t0;

    bu_prog("sluice-bench-journal", 1);
    memset(&b, 0, sizeof(b));
    b.dir = ".bench/journal";
    b.n = 1000000;
    b.n_g1 = 20000;
    b.repeat = 1;
    parse_groups(&b, "1,100,10000");
    parse_configs(&b, k_default_configs);

    while ((opt = getopt_long(argc, argv, "n:h", lopts, NULL)) != -1) {
        switch (opt) {
        case 'd': b.dir = optarg; break;
        case 'n':
            if (parse_u64(optarg, &b.n) != 0 || b.n == 0)
                goto bad;
            break;
        case '1':
            if (parse_u64(optarg, &b.n_g1) != 0 || b.n_g1 == 0)
                goto bad;
            break;
        case 'g':
            if (parse_groups(&b, optarg) != 0)
                goto bad;
            break;
        case 'c':
            if (parse_configs(&b, optarg) != 0)
                goto bad;
            break;
        case 's':
            if (parse_u64(optarg, &seed) != 0)
                goto bad;
            break;
        case 'r': {
            uint64_t r;

            if (parse_u64(optarg, &r) != 0 || r == 0 || r > MAX_REPEAT)
                goto bad;
            b.repeat = (int)r;
            break;
        }
        case 'm':
            if (parse_u64(optarg, &b.map_initial) != 0 ||
                b.map_initial > (1u << 20))
                goto bad;
            b.map_initial <<= 20;
            break;
        case 'v': b.verify = 1; break;
        case 'k': b.keep = 1; break;
        case 'o': csv = optarg; break;
        case 'l':
            for (size_t i = 0; i < BU_NELEM(k_configs); i++)
                printf("%-15s %s\n", k_configs[i].name, k_configs[i].desc);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            goto bad;
        }
    }
    if (optind != argc)
        goto bad;
    if (strlen(b.dir) > DIR_MAX - 64) {
        fprintf(stderr, "sluice-bench-journal: --dir too long\n");
        return 2;
    }
    if (b.n_g1 > b.n)
        b.n_g1 = b.n;

    bu_mkdir_p(b.dir);
    if (statfs(b.dir, &sfs) == 0 && sfs.f_type == TMPFS_MAGIC_)
        fprintf(stderr, "sluice-bench-journal: warning: %s is on tmpfs; "
                "fsync costs nothing there and the numbers mean little\n",
                b.dir);

    maxn = b.n;
    t0 = bu_now_s();
    bd_dataset_make(&b.ds, maxn, seed);
    for (uint64_t i = 0; i < maxn; i++) {
        unsigned char enc[BD_RAW_ENC_MAX];

        rawb += bd_raw_encode(enc, &b.ds.recs[i], 0);
        for (uint32_t c = 0; c < b.ds.recs[i].new_row.n; c++)
            if (b.ds.recs[i].new_row.vals[c].type == JR_TEXT)
                textb += b.ds.recs[i].new_row.vals[c].u.b.n;
    }
    printf("sluice-bench-journal: %" PRIu64 " records (seed %" PRIu64
           "): %" PRIu64 " inserts, %" PRIu64 " updates, %" PRIu64
           " deletes; table orders, %d columns\n", maxn, seed,
           b.ds.ninsert, b.ds.nupdate, b.ds.ndelete, BD_NCOLS);
    printf("raw encoding %.1f B/record on average (%.1f B of text); "
           "generated in %.2f s, not timed\n",
           (double)rawb / (double)maxn, (double)textb / (double)maxn,
           bu_now_s() - t0);
    printf("dir %s; durable commits (fsync), one per group; %s\n",
           b.dir, b.repeat > 1 ? "times are medians of --repeat runs"
                               : "single run per configuration");
    if (b.map_initial > 0)
        printf("journal map_initial %" PRIu64 " MiB (--map-initial)\n",
               b.map_initial >> 20);
    printf("\n");
    fflush(stdout);

    nr = b.ngroups * b.ncfgs;
    rs = bu_xmalloc((size_t)nr * sizeof(*rs));
    memset(rs, 0, (size_t)nr * sizeof(*rs));
    /* Repeats go round the whole matrix, so slow drift of the disk hits
    ** every configuration alike; only the first round is verified. */
    for (int rep = 0; rep < b.repeat; rep++) {
        for (int gi = 0; gi < b.ngroups; gi++) {
            for (int ci = 0; ci < b.ncfgs; ci++) {
                result *r = &rs[gi * b.ncfgs + ci];

                r->cfg = b.cfgs[ci];
                r->group = b.groups[gi];
                r->records = r->group == 1 ? b.n_g1 : b.n;
                fprintf(stderr, "  [%d/%d] %-15s group %-6" PRIu64 " %8"
                        PRIu64 " records ... ", rep + 1, b.repeat,
                        r->cfg->name, r->group, r->records);
                fflush(stderr);
                if (r->cfg->raw)
                    run_raw(&b, r, b.verify && rep == 0);
                else
                    run_journal(&b, r, b.verify && rep == 0);
                r->secs[r->nrep++] = r->seconds;
                fprintf(stderr, "%.2f s, %.0f records/s%s\n", r->seconds,
                        (double)r->records / r->seconds,
                        rep > 0 ? "" : r->verified > 0 ? ", verified" :
                        r->verified < 0 ? ", VERIFY FAILED" : "");
                if (r->verified < 0)
                    failed = 1;
            }
        }
    }
    for (int i = 0; i < nr; i++)
        rs[i].seconds = bu_median(rs[i].secs, (size_t)rs[i].nrep);
    printf("\n");
    print_table(stdout, &b, rs, nr);
    if (b.verify) {
        double vs = 0, vr = 0;
        int ok = 0;

        for (int i = 0; i < nr; i++) {
            ok += rs[i].verified > 0;
            if (!rs[i].cfg->raw) {
                vs += rs[i].verify_seconds;
                vr += (double)rs[i].records;
            }
        }
        printf("verify: %d of %d runs read back and matched the data set "
               "(count, seqs, groups, record hashes)", ok, nr);
        if (vs > 0)
            printf("; journal read-back %.0f records/s incl. hashing",
                   vr / vs);
        printf("\n");
    }
    if (csv != NULL)
        write_csv(csv, rs, nr);
    free(rs);
    bd_dataset_free(&b.ds);
    return failed ? 1 : 0;
bad:
    usage(stderr);
    return 2;
}
