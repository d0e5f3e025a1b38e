/*
** history.c -- `sluice-inspect DIR history TABLE KEY...`: every journaled
** change of one row, oldest first (seq, source change time, values).
**
** WHY AN INDEX. Finding one row's changes means looking at every record:
** on a journal of millions of records that is a decompression of every
** batch per query. So history keeps a sidecar index, a cache that is NOT
** part of the journal (the journal stays read-only to inspect and its
** format is unchanged; journal/FORMAT.md, "Sidecar history index"):
**   header (64 bytes): "SLHIDX01", the journal UUID (40 bytes, NUL
**     padded), the last seq indexed (u64, native order), 8 bytes zero;
**   then one entry per record that names a row: hash (u64) of the table
**     and the key's text, then its seq (u64), in seq order.
** A query first appends the records committed since the last one (an
** incremental read of the journal's tail), then scans the 16-byte entries
** for the row's hash (no decompression) and reads only the records they
** name, checking table and key for real (a hash collision shows nothing
** wrong). Table-wide records (SNAP_BEGIN, TRUNCATE, DROP) are indexed
** under the table alone: they belong to every row's history.
** Measured on 1,000,000 records: README, "Following and querying the
** journal".
**
** INVARIANTS:
**  (H1) the index is a cache: one that does not belong to this journal
**       (another UUID), is torn or unreadable is rebuilt or bypassed (a
**       full scan), never trusted for an answer; each answer is checked
**       against the record itself.
**  (H2) one process updates an index at a time (flock); a crash between
**       appending entries and writing the header leaves duplicates, which
**       the query drops (seqs are sorted and made unique).
**  (H3) pruned records are simply gone from the history (it starts at the
**       oldest stored seq; a note says so on stderr).
**  (H4) only an empty file or one that starts with our magic is ever
**       truncated: --index naming some other file leaves it alone.
*/
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fmt.h"
#include "history.h"

#define IDX_MAGIC "SLHIDX01"
#define HDR_LEN   64

typedef struct keytext {
    char *p;
    size_t n, cap;
} keytext;

static void kt_add(keytext *k, const void *p, size_t n)
{
    if (k->n + n + 1 > k->cap) {
        size_t cap = (k->n + n + 1) * 2;
        char *q = realloc(k->p, cap);
        if (q == NULL)
            abort();                   /* a few bytes: out of memory */
        k->p = q;
        k->cap = cap;
    }
    memcpy(k->p + k->n, p, n);
    k->n += n;
    k->p[k->n] = 0;
}

/* The text a user types for a value: integers in decimal, reals in the
** shortest form that reads back exactly, text as its bytes, blobs as
** x'hex', NULL as NULL. */
static void value_text(keytext *k, const jr_value *v)
{
    char buf[64];

    switch (v->type) {
    case JR_INT:
        snprintf(buf, sizeof(buf), "%" PRId64, v->u.i);
        kt_add(k, buf, strlen(buf));
        break;
    case JR_REAL:
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(buf, sizeof(buf), "%.*g", prec, v->u.r);
            if (strtod(buf, NULL) == v->u.r)
                break;
        }
        kt_add(k, buf, strlen(buf));
        break;
    case JR_TEXT:
        kt_add(k, v->u.b.p, v->u.b.n);
        break;
    case JR_BLOB:
        kt_add(k, "x'", 2);
        for (size_t i = 0; i < v->u.b.n; i++) {
            snprintf(buf, sizeof(buf), "%02x",
                     ((const unsigned char *)v->u.b.p)[i]);
            kt_add(k, buf, 2);
        }
        kt_add(k, "'", 1);
        break;
    default:
        kt_add(k, "NULL", 4);
        break;
    }
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;

    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* hash(table, key texts): each part followed by a 0 byte; a table-wide
** record hashes the table and a 1 byte. */
static uint64_t row_hash(const char *table, const keytext *key)
{
    uint64_t h = fnv(0xcbf29ce484222325ULL, table, strlen(table) + 1);

    if (key == NULL)
        return fnv(h, "\1", 1);
    return fnv(h, key->p ? key->p : "", key->n);
}

/* Key texts of a row image (the key's columns, in the key's order), each
** followed by a 0 byte. */
static void key_of(keytext *k, const jr_row *key)
{
    k->n = 0;
    kt_add(k, "", 0);
    for (uint32_t i = 0; i < key->n; i++) {
        value_text(k, &key->vals[i]);
        kt_add(k, "", 1);
    }
}

/* The after-image's key (an update may change it): same names as `key`. */
static int new_key_of(keytext *k, const jr_record *r)
{
    k->n = 0;
    kt_add(k, "", 0);
    for (uint32_t i = 0; i < r->key.n; i++) {
        uint32_t c = 0;
        while (c < r->new_row.n &&
               strcmp(r->new_row.names[c], r->key.names[i]) != 0)
            c++;
        if (c == r->new_row.n)
            return 0;
        value_text(k, &r->new_row.vals[c]);
        kt_add(k, "", 1);
    }
    return 1;
}

static int table_wide(int kind)
{
    return kind == JR_K_SNAP_BEGIN || kind == JR_K_TRUNCATE ||
           kind == JR_K_DROP;
}

static int row_change(int kind)
{
    return kind == JR_K_INSERT || kind == JR_K_UPDATE ||
           kind == JR_K_DELETE;
}

/* Does record r belong to the history of (table, want)? */
static int belongs(const jr_record *r, const char *table,
                   const keytext *want, keytext *tmp)
{
    if (strcmp(r->table, table) != 0)
        return 0;
    if (table_wide(r->kind))
        return 1;
    if (!row_change(r->kind))
        return 0;
    key_of(tmp, &r->key);
    if (tmp->n == want->n && memcmp(tmp->p, want->p, want->n) == 0)
        return 1;
    return r->kind == JR_K_UPDATE && new_key_of(tmp, r) &&
           tmp->n == want->n && memcmp(tmp->p, want->p, want->n) == 0;
}

/* ---- the index file ---- */

typedef struct idx_hdr {
    char magic[8];
    char uuid[40];
    uint64_t indexed_to;
    uint64_t zero;
} idx_hdr;

typedef struct entry {
    uint64_t hash, seq;
} entry;

typedef struct seqs {
    uint64_t *v;
    size_t n, cap;
} seqs;

static void seqs_add(seqs *s, uint64_t seq)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        uint64_t *v = realloc(s->v, cap * sizeof(*v));
        if (v == NULL)
            abort();
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = seq;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Append the entries of records (indexed_to, head] to fd. Returns the
** new indexed_to, or 0 with a message in err on a journal error. */
static int index_append(int fd, jr_journal *j, const jr_info *in,
                        uint64_t *indexed_to, jr_err *err)
{
    jr_reader *r;
    jr_entry e;
    keytext k = { 0 };
    entry buf[4096];
    size_t nb = 0;
    uint64_t from = *indexed_to + 1;
    int rc;

    if (in->first_seq > from)
        from = in->first_seq;
    if (in->first_seq == 0 || from > in->head_seq)
        return JR_OK;                   /* nothing stored, or nothing new */
    if ((rc = jr_reader_open(&r, j, from, err)) != JR_OK)
        return rc;
    while ((rc = jr_reader_next(r, &e, err)) == JR_OK) {
        const jr_record *rec = &e.rec;
        if (table_wide(rec->kind)) {
            buf[nb].hash = row_hash(rec->table, NULL);
            buf[nb++].seq = e.seq;
        } else if (row_change(rec->kind)) {
            key_of(&k, &rec->key);
            buf[nb].hash = row_hash(rec->table, &k);
            buf[nb++].seq = e.seq;
            if (rec->kind == JR_K_UPDATE && new_key_of(&k, rec) &&
                row_hash(rec->table, &k) != buf[nb - 1].hash) {
                buf[nb].hash = row_hash(rec->table, &k);
                buf[nb++].seq = e.seq;
            }
        }
        if (nb >= 4094) {
            if (write(fd, buf, nb * sizeof(entry)) !=
                (ssize_t)(nb * sizeof(entry)))
                goto ioerr;
            nb = 0;
        }
        *indexed_to = e.seq;
        if (e.seq >= in->head_seq)
            break;
    }
    if (rc != JR_OK && rc != JR_EAGAIN)
        goto out;
    rc = JR_OK;
    if (nb > 0 && write(fd, buf, nb * sizeof(entry)) !=
                      (ssize_t)(nb * sizeof(entry)))
        goto ioerr;
    goto out;
ioerr:
    snprintf(err->msg, sizeof(err->msg), "writing the history index: %s",
             strerror(errno));
    err->code = rc = JR_ERR;
out:
    jr_reader_close(r);
    free(k.p);
    return rc;
}

/* Bring the index at `path` up to date and collect the seqs under `h`
** (rows) and `ht` (tw). Returns 0, or -1 (the index cannot be used; *why says so). */
static int index_query(const char *path, jr_journal *j, const jr_info *in,
                       uint64_t h, uint64_t ht, seqs *rows, seqs *tw,
                       char *why, size_t cap, jr_err *err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    idx_hdr hd;
    struct stat sb;
    entry buf[4096];
    ssize_t got;
    int rc = -1;

    if (fd < 0) {
        snprintf(why, cap, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX) != 0 || fstat(fd, &sb) != 0) {
        snprintf(why, cap, "cannot lock %s: %s", path, strerror(errno));
        goto done;
    }
    if (sb.st_size < HDR_LEN || (sb.st_size - HDR_LEN) % 16 != 0 ||
        pread(fd, &hd, sizeof(hd), 0) != (ssize_t)sizeof(hd) ||
        memcmp(hd.magic, IDX_MAGIC, 8) != 0 ||
        strncmp(hd.uuid, in->journal_uuid, sizeof(hd.uuid)) != 0 ||
        hd.indexed_to > in->head_seq) {
        /* not ours, torn, or older than a restored journal: rebuild --
        ** but only a file that is empty or one of ours (H4) */
        if (sb.st_size > 0 &&
            (pread(fd, &hd, 8, 0) != 8 || memcmp(hd.magic, IDX_MAGIC, 8))) {
            snprintf(why, cap, "%s is not a sluice history index; not "
                     "overwriting it", path);
            goto done;
        }
        memset(&hd, 0, sizeof(hd));
        memcpy(hd.magic, IDX_MAGIC, 8);
        snprintf(hd.uuid, sizeof(hd.uuid), "%s", in->journal_uuid);
        if (ftruncate(fd, 0) != 0 ||
            pwrite(fd, &hd, sizeof(hd), 0) != (ssize_t)sizeof(hd)) {
            snprintf(why, cap, "cannot write %s: %s", path,
                     strerror(errno));
            goto done;
        }
    }
    if (lseek(fd, 0, SEEK_END) < 0 ||
        index_append(fd, j, in, &hd.indexed_to, err) != JR_OK ||
        pwrite(fd, &hd, sizeof(hd), 0) != (ssize_t)sizeof(hd)) {
        snprintf(why, cap, "%s", err->msg[0] ? err->msg
                                            : "cannot update the index");
        jr_err_clear(err);
        goto done;
    }
    if (lseek(fd, HDR_LEN, SEEK_SET) < 0)
        goto done;
    while ((got = read(fd, buf, sizeof(buf))) > 0)
        for (size_t i = 0; i < (size_t)got / sizeof(entry); i++)
            if (buf[i].hash == h)
                seqs_add(rows, buf[i].seq);
            else if (buf[i].hash == ht)
                seqs_add(tw, buf[i].seq);
    rc = got < 0 ? -1 : 0;
    if (rc != 0)
        snprintf(why, cap, "reading %s: %s", path, strerror(errno));
done:
    close(fd);                          /* drops the lock */
    return rc;
}

/* The default index path: $XDG_CACHE_HOME or ~/.cache, sluice/, named by
** the journal's UUID. NULL if there is no such directory to be had. */
static char *default_path(const jr_info *in)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char dir[4096], *path;

    if (xdg != NULL && xdg[0] == '/')
        snprintf(dir, sizeof(dir), "%s/sluice", xdg);
    else if (home != NULL && home[0] == '/')
        snprintf(dir, sizeof(dir), "%s/.cache/sluice", home);
    else
        return NULL;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        char parent[4096];
        snprintf(parent, sizeof(parent), "%s", dir);
        *strrchr(parent, '/') = 0;
        if (mkdir(parent, 0700) != 0 && errno != EEXIST)
            return NULL;
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            return NULL;
    }
    if ((path = malloc(strlen(dir) + 64)) == NULL)
        return NULL;
    snprintf(path, strlen(dir) + 64, "%s/history-%.40s.idx", dir,
             in->journal_uuid);
    return path;
}

/* Print the records at seqs v[0..n-1] (sorted) that belong to the row's
** history; *rows counts the row changes among them. */
static int print_seqs(jr_reader *r, const seqs *s, const jr_info *in,
                      const inspect_history_opts *o, const char *table,
                      const keytext *want, keytext *tmp, uint64_t *rows,
                      jr_err *err)
{
    jr_entry e;
    int rc;

    for (size_t i = 0; i < s->n; i++) {
        if ((i > 0 && s->v[i] == s->v[i - 1]) || s->v[i] < in->first_seq)
            continue;                   /* H2, H3 */
        jr_reader_seek(r, s->v[i]);
        rc = jr_reader_next(r, &e, err);
        if (rc == JR_ENOTFOUND) {       /* pruned meanwhile */
            jr_err_clear(err);
            continue;
        }
        if (rc != JR_OK)
            return rc;
        if (!belongs(&e.rec, table, want, tmp))   /* H1 */
            continue;
        *rows += row_change(e.rec.kind);
        if (o->json)
            fmt_entry_json(stdout, &e);
        else
            fmt_entry_human(stdout, &e, 1);
    }
    return JR_OK;
}

/* Without an index: one pass over the whole journal collecting the seqs
** of the row's changes (rows) and of table-wide records (tw). */
static int scan_all(jr_reader *r, const jr_info *in, const char *table,
                    const keytext *want, keytext *tmp, seqs *rows, seqs *tw,
                    jr_err *err)
{
    jr_entry e;
    int rc;

    while ((rc = jr_reader_next(r, &e, err)) == JR_OK) {
        if (belongs(&e.rec, table, want, tmp))
            seqs_add(table_wide(e.rec.kind) ? tw : rows, e.seq);
        if (e.seq >= in->head_seq)
            break;
    }
    return rc == JR_EAGAIN ? JR_OK : rc;
}

int inspect_history(jr_journal *j, const inspect_history_opts *o,
                    const char *table, int nkeys, char *const *keys)
{
    jr_info in;
    jr_err err = { 0 };
    keytext want = { 0 }, tmp = { 0 };
    seqs rows = { 0 }, tw = { 0 };
    char why[512] = "", *path = NULL;
    jr_reader *r = NULL;
    uint64_t h, ht, shown = 0;
    int rc, ret = 0, scan = o->no_index;

    kt_add(&want, "", 0);
    for (int i = 0; i < nkeys; i++)
        kt_add(&want, keys[i], strlen(keys[i]) + 1);
    h = row_hash(table, &want);
    ht = row_hash(table, NULL);
    if ((rc = jr_journal_info(j, &in, &err)) != JR_OK)
        goto jfail;
    if (!scan) {
        path = o->index_path ? strdup(o->index_path) : default_path(&in);
        if (path == NULL)
            snprintf(why, sizeof(why), "no cache directory ($HOME or "
                     "$XDG_CACHE_HOME)");
        if (path == NULL ||
            index_query(path, j, &in, h, ht, &rows, &tw, why, sizeof(why),
                        &err) != 0) {
            fprintf(stderr, "sluice-inspect: history index not used (%s): "
                    "reading the whole journal; --index PATH names a "
                    "writable place for it\n", why);
            scan = 1;
            rows.n = tw.n = 0;
        }
    }
    if (in.first_seq == 0)
        goto out;                       /* nothing stored */
    if ((rc = jr_reader_open(&r, j, in.first_seq, &err)) != JR_OK)
        goto jfail;
    if (scan && (rc = scan_all(r, &in, table, &want, &tmp, &rows, &tw,
                               &err)) != JR_OK)
        goto jfail;
    if (rows.n == 0)
        goto out;                       /* not one change of that row */
    for (size_t i = 0; i < tw.n; i++)
        seqs_add(&rows, tw.v[i]);
    qsort(rows.v, rows.n, sizeof(*rows.v), cmp_u64);
    if (in.first_seq > 1)
        fprintf(stderr, "sluice-inspect: records before seq %" PRIu64
                " were pruned; the history starts there\n", in.first_seq);
    if ((rc = print_seqs(r, &rows, &in, o, table, &want, &tmp, &shown,
                         &err)) != JR_OK)
        goto jfail;
    goto out;
jfail:
    fprintf(stderr, "sluice-inspect: %s\n",
            err.msg[0] ? err.msg : jr_strerror(rc));
    ret = rc == JR_ECORRUPT ? 65 : 1;
out:
    if (ret == 0 && shown == 0) {
        fprintf(stderr, "sluice-inspect: no change of %s with that key in "
                "the journal (give one value per key column, in the key's "
                "order, as text: 42, 1.5, abc, x'00ff')\n", table);
        ret = 1;
    }
    jr_reader_close(r);
    free(path);
    free(rows.v);
    free(tw.v);
    free(want.p);
    free(tmp.p);
    return ret;
}
