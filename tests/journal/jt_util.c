/*
** jt_util.c -- shared helpers of the journal test suites (see jt_util.h).
*/
#include "jt_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "testlib.h"

char jt_base[JT_PATH_MAX];
char jt_dir[JT_PATH_MAX];


/* ---------------------------------------------------------------- */
/* Directories and files                                            */
/* ---------------------------------------------------------------- */

void jt_tmpdir_up(void)
{
    cr_assert_eq(tl_tmpdir_make(jt_base, sizeof(jt_base)), 0,
                 "mkdtemp: %s", strerror(errno));
    jt_join(jt_dir, sizeof(jt_dir), jt_base, "j");
    tl_kill_all();
}

void jt_tmpdir_down(void)
{
    tl_kill_all();
    if (jt_base[0] != '\0')
        tl_rm_rf(jt_base);
    jt_base[0] = '\0';
    jt_dir[0] = '\0';
}

char *jt_join(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);

    cr_assert(n > 0 && (size_t)n < cap, "path too long: %s/%s", dir, name);
    return out;
}

int jt_write_file(const char *path, const void *p, size_t n)
{
    const unsigned char *c = p;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

    if (fd < 0)
        return -1;
    while (n > 0) {
        ssize_t k = write(fd, c, n);

        if (k < 0) {
            if (errno == EINTR)
                continue;
            close(fd);
            return -1;
        }
        c += k;
        n -= (size_t)k;
    }
    return close(fd);
}

void *jt_read_file(const char *path, size_t *n)
{
    struct stat st;
    unsigned char *buf;
    size_t got = 0;
    int fd = open(path, O_RDONLY);

    *n = 0;
    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return NULL;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        close(fd);
        return NULL;
    }
    while (got < (size_t)st.st_size) {
        ssize_t k = read(fd, buf + got, (size_t)st.st_size - got);

        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(fd);
    *n = got;
    return buf;
}

/* ---------------------------------------------------------------- */
/* Journal shortcuts                                                */
/* ---------------------------------------------------------------- */

jr_journal *jt_open(const char *dir, uint64_t map_initial, uint64_t map_max)
{
    jr_journal_opts o = JR_JOURNAL_OPTS_INIT;
    jr_journal *j = NULL;
    jr_err err = {0};
    int rc;

    o.create = 1;
    o.map_initial = map_initial;
    o.map_max = map_max;
    rc = jr_journal_open(&j, dir, &o, &err);
    cr_assert_eq(rc, JR_OK, "jr_journal_open(%s, create): %d %s", dir, rc,
                 err.msg);
    cr_assert_not_null(j);
    return j;
}

jr_journal *jt_open_existing(const char *dir)
{
    jr_journal_opts o = JR_JOURNAL_OPTS_INIT;
    jr_journal *j = NULL;
    jr_err err = {0};
    int rc;

    rc = jr_journal_open(&j, dir, &o, &err);
    cr_assert_eq(rc, JR_OK, "jr_journal_open(%s): %d %s", dir, rc, err.msg);
    cr_assert_not_null(j);
    return j;
}

jr_writer *jt_writer(jr_journal *j, uint32_t batch_records, int zstd_level)
{
    jr_writer_opts o = JR_WRITER_OPTS_INIT;
    jr_writer *w = NULL;
    jr_err err = {0};
    int rc;

    o.batch_records = batch_records;
    o.zstd_level = zstd_level;
    rc = jr_writer_open(&w, j, &o, &err);
    cr_assert_eq(rc, JR_OK, "jr_writer_open: %d %s", rc, err.msg);
    cr_assert_not_null(w);
    return w;
}

uint64_t jt_append(jr_writer *w, const jr_record *rec, int group_end)
{
    jr_err err = {0};
    uint64_t seq = 0;
    uint64_t want = jr_writer_next_seq(w);
    int rc = jr_writer_append(w, rec, group_end, &seq, &err);

    if (rc != JR_OK)
        cr_assert_fail("jr_writer_append: %d %s", rc, err.msg);
    if (seq != want)
        cr_assert_fail("jr_writer_append assigned seq %llu, next_seq said %llu",
                       (unsigned long long)seq, (unsigned long long)want);
    return seq;
}

void jt_commit(jr_writer *w, const char *pos)
{
    jr_err err = {0};
    int rc = jr_writer_commit(w, pos, pos ? strlen(pos) : 0, &err);

    if (rc != JR_OK)
        cr_assert_fail("jr_writer_commit: %d %s", rc, err.msg);
}

jr_reader *jt_reader(jr_journal *j, uint64_t from)
{
    jr_reader *r = NULL;
    jr_err err = {0};
    int rc = jr_reader_open(&r, j, from, &err);

    cr_assert_eq(rc, JR_OK, "jr_reader_open(%llu): %d %s",
                 (unsigned long long)from, rc, err.msg);
    cr_assert_not_null(r);
    return r;
}

void jt_next(jr_reader *r, jr_entry *e)
{
    jr_err err = {0};
    int rc = jr_reader_next(r, e, &err);

    if (rc != JR_OK)
        cr_assert_fail("jr_reader_next: %d (%s) %s", rc, jr_strerror(rc),
                       err.msg);
}

void jt_info(jr_journal *j, jr_info *info)
{
    jr_err err = {0};
    int rc;

    memset(info, 0, sizeof(*info));
    rc = jr_journal_info(j, info, &err);
    cr_assert_eq(rc, JR_OK, "jr_journal_info: %d %s", rc, err.msg);
}

/* ---------------------------------------------------------------- */
/* PRNG                                                             */
/* ---------------------------------------------------------------- */

uint64_t jt_mix(uint64_t a, uint64_t b)
{
    uint64_t z = a * 0x9E3779B97F4A7C15ull + b + 0x632BE59BD9B4E019ull;

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void jt_rng_seed(jt_rng *r, uint64_t seed)
{
    r->s = jt_mix(seed, 0x5EED);
    if (r->s == 0)
        r->s = 0x2545F4914F6CDD1Dull;
}

uint64_t jt_rng_next(jt_rng *r)
{
    uint64_t x = r->s;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

uint64_t jt_rng_below(jt_rng *r, uint64_t n)
{
    return jt_rng_next(r) % n;
}

void jt_rng_fill(jt_rng *r, void *buf, size_t n)
{
    unsigned char *p = buf;

    while (n >= 8) {
        uint64_t v = jt_rng_next(r);

        memcpy(p, &v, 8);
        p += 8;
        n -= 8;
    }
    if (n > 0) {
        uint64_t v = jt_rng_next(r);

        memcpy(p, &v, n);
    }
}

/* ---------------------------------------------------------------- */
/* Record builder                                                   */
/* ---------------------------------------------------------------- */

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (p == NULL) {
        fprintf(stderr, "jt_util: out of memory (%zu bytes)\n", n);
        abort();
    }
    return p;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = xmalloc(n);

    memcpy(p, s, n);
    return p;
}

jt_rec *jt_rec_new(int kind, const char *table, int64_t time_us)
{
    jt_rec *rec = xmalloc(sizeof(*rec));

    memset(rec, 0, sizeof(*rec));
    rec->r.kind = kind;
    rec->table = xstrdup(table ? table : "");
    rec->r.time_us = time_us;
    return rec;
}

static void rowbuf_free(jt_rowbuf *rb)
{
    uint32_t i;

    for (i = 0; i < rb->n; i++) {
        free((void *)rb->names[i]);
        if (rb->vals[i].type == JR_TEXT || rb->vals[i].type == JR_BLOB)
            free((void *)rb->vals[i].u.b.p);
    }
    free(rb->names);
    free(rb->vals);
    memset(rb, 0, sizeof(*rb));
}

void jt_rec_free(jt_rec *rec)
{
    int i;

    if (rec == NULL)
        return;
    for (i = 0; i < 3; i++)
        rowbuf_free(&rec->rows[i]);
    free(rec->table);
    free(rec->aux);
    free(rec);
}

void jt_rec_value(jt_rec *rec, int row, const char *name, const jr_value *v)
{
    jt_rowbuf *rb = &rec->rows[row];
    jr_value *dst;

    if (rb->n == rb->cap) {
        uint32_t cap = rb->cap ? rb->cap * 2 : 8;
        const char **names = realloc(rb->names, cap * sizeof(*names));
        jr_value *vals = realloc(rb->vals, cap * sizeof(*vals));

        if (names == NULL || vals == NULL) {
            fprintf(stderr, "jt_util: out of memory\n");
            abort();
        }
        rb->names = names;
        rb->vals = vals;
        rb->cap = cap;
    }
    rb->names[rb->n] = xstrdup(name);
    dst = &rb->vals[rb->n];
    *dst = *v;
    if (v->type == JR_TEXT || v->type == JR_BLOB) {
        if (v->u.b.p == NULL) {
            dst->u.b.p = NULL;
        } else {
            void *copy = xmalloc(v->u.b.n);

            if (v->u.b.n > 0)
                memcpy(copy, v->u.b.p, v->u.b.n);
            dst->u.b.p = copy;
        }
    }
    rb->n++;
}

void jt_rec_null(jt_rec *rec, int row, const char *name)
{
    jr_value v;

    memset(&v, 0, sizeof(v));
    v.type = JR_NULL;
    jt_rec_value(rec, row, name, &v);
}

void jt_rec_int(jt_rec *rec, int row, const char *name, int64_t i)
{
    jr_value v;

    memset(&v, 0, sizeof(v));
    v.type = JR_INT;
    v.u.i = i;
    jt_rec_value(rec, row, name, &v);
}

void jt_rec_real(jt_rec *rec, int row, const char *name, double r)
{
    jr_value v;

    memset(&v, 0, sizeof(v));
    v.type = JR_REAL;
    memcpy(&v.u.r, &r, sizeof(r));
    jt_rec_value(rec, row, name, &v);
}

void jt_rec_real_bits(jt_rec *rec, int row, const char *name, uint64_t bits)
{
    jr_value v;

    memset(&v, 0, sizeof(v));
    v.type = JR_REAL;
    memcpy(&v.u.r, &bits, sizeof(bits));
    jt_rec_value(rec, row, name, &v);
}

static void rec_bytes(jt_rec *rec, int row, const char *name, int type,
                      const void *p, size_t n)
{
    jr_value v;

    memset(&v, 0, sizeof(v));
    v.type = type;
    v.u.b.p = p;
    v.u.b.n = n;
    jt_rec_value(rec, row, name, &v);
}

void jt_rec_text(jt_rec *rec, int row, const char *name, const void *p,
                 size_t n)
{
    rec_bytes(rec, row, name, JR_TEXT, p, n);
}

void jt_rec_blob(jt_rec *rec, int row, const char *name, const void *p,
                 size_t n)
{
    rec_bytes(rec, row, name, JR_BLOB, p, n);
}

void jt_rec_aux(jt_rec *rec, const void *p, size_t n)
{
    free(rec->aux);
    rec->aux = NULL;
    rec->aux_len = n;
    if (p != NULL) {
        rec->aux = xmalloc(n);
        if (n > 0)
            memcpy(rec->aux, p, n);
    }
}

const jr_record *jt_rec_get(jt_rec *rec)
{
    jr_row *rows[3];
    int i;

    rows[JT_KEY] = &rec->r.key;
    rows[JT_NEW] = &rec->r.new_row;
    rows[JT_OLD] = &rec->r.old_row;
    rec->r.table = rec->table;
    for (i = 0; i < 3; i++) {
        rows[i]->n = rec->rows[i].n;
        rows[i]->names = rec->rows[i].names;
        rows[i]->vals = rec->rows[i].vals;
    }
    rec->r.aux = rec->aux;
    rec->r.aux_len = rec->aux_len;
    return &rec->r;
}

jt_rec *jt_rec_copy(const jr_record *src)
{
    jt_rec *rec = jt_rec_new(src->kind, src->table, src->time_us);
    const jr_row *rows[3];
    int i;
    uint32_t k;

    rows[JT_KEY] = &src->key;
    rows[JT_NEW] = &src->new_row;
    rows[JT_OLD] = &src->old_row;
    for (i = 0; i < 3; i++)
        for (k = 0; k < rows[i]->n; k++)
            jt_rec_value(rec, i, rows[i]->names[k], &rows[i]->vals[k]);
    if (src->aux_len > 0 || src->aux != NULL)
        jt_rec_aux(rec, src->aux, src->aux_len);
    jt_rec_get(rec);
    return rec;
}

/* ---------------------------------------------------------------- */
/* Comparison                                                       */
/* ---------------------------------------------------------------- */

int jt_value_equal(const jr_value *a, const jr_value *b)
{
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case JR_NULL:
        return 1;
    case JR_INT:
        return a->u.i == b->u.i;
    case JR_REAL:
        return memcmp(&a->u.r, &b->u.r, sizeof(double)) == 0;
    case JR_TEXT:
    case JR_BLOB:
        if (a->u.b.n != b->u.b.n)
            return 0;
        if (a->u.b.n == 0)
            return 1;
        if (a->u.b.p == NULL || b->u.b.p == NULL)
            return 0;
        return memcmp(a->u.b.p, b->u.b.p, a->u.b.n) == 0;
    default:
        return 0;
    }
}

static void describe_value(const jr_value *v, char *out, size_t cap)
{
    uint64_t bits;

    switch (v->type) {
    case JR_NULL:
        snprintf(out, cap, "NULL");
        break;
    case JR_INT:
        snprintf(out, cap, "INT %lld", (long long)v->u.i);
        break;
    case JR_REAL:
        memcpy(&bits, &v->u.r, sizeof(bits));
        snprintf(out, cap, "REAL %.17g (bits %016llx)", v->u.r,
                 (unsigned long long)bits);
        break;
    case JR_TEXT:
    case JR_BLOB:
        snprintf(out, cap, "%s len %zu%s", v->type == JR_TEXT ? "TEXT" : "BLOB",
                 v->u.b.n, v->u.b.p == NULL ? " (p NULL)" : "");
        break;
    default:
        snprintf(out, cap, "type %d", v->type);
        break;
    }
}

static int row_equal(const char *which, const jr_row *a, const jr_row *b,
                     char *why, size_t cap)
{
    uint32_t i;
    char da[96], db[96];

    if (a->n != b->n) {
        snprintf(why, cap, "%s: %u columns, got %u", which, a->n, b->n);
        return 0;
    }
    for (i = 0; i < a->n; i++) {
        if (b->names == NULL || b->names[i] == NULL ||
            strcmp(a->names[i], b->names[i]) != 0) {
            snprintf(why, cap, "%s column %u: name '%s', got '%s'", which, i,
                     a->names[i],
                     b->names && b->names[i] ? b->names[i] : "(null)");
            return 0;
        }
        if (!jt_value_equal(&a->vals[i], &b->vals[i])) {
            describe_value(&a->vals[i], da, sizeof(da));
            describe_value(&b->vals[i], db, sizeof(db));
            snprintf(why, cap, "%s column %u (%s): want %s, got %s", which, i,
                     a->names[i], da, db);
            return 0;
        }
    }
    return 1;
}

int jt_rec_equal(const jr_record *want, const jr_record *got, char *why,
                 size_t cap)
{
    if (want->kind != got->kind) {
        snprintf(why, cap, "kind %d, got %d", want->kind, got->kind);
        return 0;
    }
    if (got->table == NULL || strcmp(want->table, got->table) != 0) {
        snprintf(why, cap, "table '%s', got '%s'", want->table,
                 got->table ? got->table : "(null)");
        return 0;
    }
    if (want->time_us != got->time_us) {
        snprintf(why, cap, "time_us %lld, got %lld", (long long)want->time_us,
                 (long long)got->time_us);
        return 0;
    }
    if (!row_equal("key", &want->key, &got->key, why, cap) ||
        !row_equal("new", &want->new_row, &got->new_row, why, cap) ||
        !row_equal("old", &want->old_row, &got->old_row, why, cap))
        return 0;
    if (want->aux_len != got->aux_len) {
        snprintf(why, cap, "aux_len %zu, got %zu", want->aux_len,
                 got->aux_len);
        return 0;
    }
    if (want->aux_len > 0 &&
        (got->aux == NULL || memcmp(want->aux, got->aux, want->aux_len) != 0)) {
        snprintf(why, cap, "aux bytes differ (%zu bytes)", want->aux_len);
        return 0;
    }
    return 1;
}

const jr_value *jt_row_get(const jr_row *row, const char *name)
{
    uint32_t i;

    for (i = 0; i < row->n; i++)
        if (strcmp(row->names[i], name) == 0)
            return &row->vals[i];
    return NULL;
}

int64_t jt_row_int(const jr_row *row, const char *name, int64_t dflt)
{
    const jr_value *v = jt_row_get(row, name);

    return v != NULL && v->type == JR_INT ? v->u.i : dflt;
}

/* ---------------------------------------------------------------- */
/* Processes                                                        */
/* ---------------------------------------------------------------- */

pid_t jt_fork(void)
{
    pid_t pid = tl_fork();

    if (pid < 0)            /* never assert in the child, even passing */
        cr_assert_fail("fork: %s", strerror(errno));
    return pid;
}

int jt_send_u64(int fd, uint64_t v)
{
    const unsigned char *p = (const unsigned char *)&v;
    size_t left = sizeof(v);

    while (left > 0) {
        ssize_t k = write(fd, p, left);

        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        left -= (size_t)k;
    }
    return 0;
}

int jt_recv_u64(int fd, uint64_t *v, int timeout_ms)
{
    unsigned char *p = (unsigned char *)v;
    size_t left = sizeof(*v);
    int64_t deadline = tl_now_us() + (int64_t)timeout_ms * 1000;

    while (left > 0) {
        struct pollfd pfd;
        int wait_ms = -1;
        ssize_t k;
        int pr;

        if (timeout_ms >= 0) {
            int64_t rem = (deadline - tl_now_us()) / 1000;

            if (rem <= 0)
                return -1;
            wait_ms = (int)rem;
        }
        pfd.fd = fd;
        pfd.events = POLLIN;
        pfd.revents = 0;
        pr = poll(&pfd, 1, wait_ms);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            return -1;
        k = read(fd, p, left);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        left -= (size_t)k;
    }
    return 0;
}

int jt_run(const char *const argv[], char *out, size_t cap)
{
    int fds[2];
    pid_t pid;
    size_t got = 0;

    if (cap > 0)
        out[0] = '\0';
    if (pipe(fds) != 0)
        return -1;
    pid = tl_fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    for (;;) {
        char buf[4096];
        ssize_t k = read(fds[0], buf, sizeof(buf));

        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        if (cap > 0 && got < cap - 1) {
            size_t take = (size_t)k;

            if (take > cap - 1 - got)
                take = cap - 1 - got;
            memcpy(out + got, buf, take);
            got += take;
            out[got] = '\0';
        }
    }
    close(fds[0]);
    return tl_wait(pid, -1);
}

