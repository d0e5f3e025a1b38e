/*
** bench_replay.c -- sluice-bench-replay: the C helpers of bench_replay.sh
** (the replay benchmark). One binary, one subcommand per job:
**
**   gen      --db F --rows N [--seed S]
**            create table `items` in a new SQLite file and fill it with
**            rows 1..N in one transaction (WAL, synchronous=OFF: this is
**            data preparation, not a measured writer).
**   changes  --db F --changes N [--seed S] [--txn-min A] [--txn-max B]
**            [--mix I,U,D] [--ops FILE] [--wait-journal DIR]
**            make N changes to `items` like an application would: source
**            transactions of A..B changes (uniform), each change an insert
**            of a new id, a full-row update or a delete of a random live
**            id, drawn with weights I:U:D (default 25:50:25, so the table
**            keeps its size). --ops also writes each change, in order, as
**            a line "P<TAB>row" or "D<TAB>id", and "C" after each source
**            transaction, for the C loaders. --wait-journal: after each
**            commit, wait until a running sluice-capture has journaled it
**            (the journal's complete_seq moved by the transaction's size),
**            so every source transaction becomes its own journal group --
**            what a capture that keeps up with the application produces,
**            and the same group shapes in every run.
**   export   --db F --out TSV
**            the table as LOAD DATA input, by id (dates as UTC text
**            MariaDB takes; not timed by the bench).
**   load-data  CONN --file TSV [--as-replay 1] [--bulk 1]
**            baseline A: one LOAD DATA LOCAL INFILE of the file into
**            `items` (autocommit), timed; variants: see cmd_load_data.
**   upsert   CONN --file TSV [--stmt-rows 1000] [--txn-rows 10000]
**            [--array 1]
**            baseline B: the plain C loader. The file is read into memory
**            first; then multi-row INSERT ... VALUES (..),(..) ON
**            DUPLICATE KEY UPDATE, text protocol, escaped literals, a
**            COMMIT every --txn-rows rows. Timed from the first statement
**            to the last COMMIT. --array 1: the same rows through one
**            prepared INSERT ... ON DUPLICATE KEY UPDATE executed with
**            array binding (STMT_ATTR_ARRAY_SIZE = --stmt-rows).
**   apply-ops  CONN --file OPS [--stmt-rows 1000] [--txn-rows 10000]
**            [--coalesce 1]   (--txn-rows 0: COMMIT at the "C" lines, i.e.
**            the source's transactions)
**            the same plain loader applying a change stream in order:
**            runs of upserts as multi-row INSERT ... ON DUPLICATE KEY
**            UPDATE, runs of deletes as DELETE ... WHERE id IN (...),
**            a statement ends when the operation changes or it is full.
**            --coalesce 1 keeps one pending upsert and one pending delete
**            statement with disjoint key sets instead (see cmd_apply_ops):
**            what replay could do for tables keyed only by their PK.
**            --array 1: coalesced, each batch one array-bound execution of
**            a prepared statement (STMT_ATTR_ARRAY_SIZE).
**   settle   CONN [--timeout-s 60]
**            let InnoDB flush dirty pages and purge undo history before
**            the next timed phase, so one phase does not pay for the last.
**   run      --out FILE -- CMD [ARG...]
**            run CMD, write "seconds=S maxrss_kb=K exit=E ..." to FILE
**            (wall clock, getrusage of the child, and the peaks of its
**            RssAnon and RssFile sampled every 20 ms).
**   status   CONN [--server-pid PID]
**            one line of server counters (statements, rows, buffer pool
**            reads, fsyncs), mariadbd's CPU seconds and the whole
**            machine's busy CPU seconds, for per-phase differences.
** CONN: --socket PATH --user U --database D; password from
** SLUICE_TARGET_PASSWORD. Sessions are sluice-replay's own
** (tg_db_connect: strict sql_mode, time_zone +00:00, utf8mb4), with
** autocommit on where a subcommand wants it. Checking a copy against
** SQLite is sluice-verify's job (bench_replay.sh runs it).
** Timed subcommands print one "key=value ..." line on stdout.
*/
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mysql.h>
#include <sqlite3.h>

#include "sluice/journal.h"
#include "tg.h"

#define NCOLS 8          /* the columns of `items`, COL_LIST */
#define COL_LIST "id, customer_id, status, email, amount, meta, note, " \
                 "created_at"

/* ------------------------------------------------------------------ */
/* helpers                                                            */
/* ------------------------------------------------------------------ */

static const char *g_cmd = "?";

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2),
                                                     noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "sluice-bench-replay %s: ", g_cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        die("out of memory (%zu bytes)", n);
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (p == NULL)
        die("out of memory (%zu bytes)", n);
    return p;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds (user + system) this process has used */
static double self_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* growing byte buffer */
typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static void buf_need(buf *b, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t c = b->cap ? b->cap : 4096;
        while (c < b->len + n + 1)
            c *= 2;
        b->p = xrealloc(b->p, c);
        b->cap = c;
    }
}

static void buf_add(buf *b, const void *p, size_t n)
{
    buf_need(b, n);
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void buf_adds(buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

static void buf_addf(buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void buf_addf(buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        die("vsnprintf failed");
    buf_need(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* TSV field: backslash escapes for \, tab, newline, NUL (LOAD DATA's) */
static void buf_tsv(buf *b, const char *p, size_t n)
{
    buf_need(b, 2 * n);
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        switch (c) {
        case '\\': b->p[b->len++] = '\\'; b->p[b->len++] = '\\'; break;
        case '\t': b->p[b->len++] = '\\'; b->p[b->len++] = 't'; break;
        case '\n': b->p[b->len++] = '\\'; b->p[b->len++] = 'n'; break;
        case 0:    b->p[b->len++] = '\\'; b->p[b->len++] = '0'; break;
        default:   b->p[b->len++] = c;
        }
    }
    b->p[b->len] = 0;
}

/* ---- options: --name value ---- */
static int g_argc;
static char **g_argv;

static const char *opt(const char *name, const char *def)
{
    for (int i = 2; i + 1 < g_argc; i++)
        if (g_argv[i][0] == '-' && g_argv[i][1] == '-' &&
            strcmp(g_argv[i] + 2, name) == 0)
            return g_argv[i + 1];
    return def;
}

static const char *req(const char *name)
{
    const char *v = opt(name, NULL);
    if (v == NULL)
        die("--%s is required", name);
    return v;
}

static long long opt_ll(const char *name, long long def)
{
    const char *v = opt(name, NULL);
    char *end;
    long long x;

    if (v == NULL)
        return def;
    errno = 0;
    x = strtoll(v, &end, 10);
    if (errno || *end || end == v)
        die("--%s: not an integer: %s", name, v);
    return x;
}

/* ------------------------------------------------------------------ */
/* MariaDB                                                            */
/* ------------------------------------------------------------------ */

static MYSQL *db_connect(int autocommit)
{
    tg_url u = { 0 };
    jr_err e = { 0 };
    MYSQL *db;

    u.socket = (char *)req("socket");
    u.user = (char *)req("user");
    u.database = (char *)req("database");
    u.host = (char *)"localhost";
    u.password = getenv("SLUICE_TARGET_PASSWORD");
    if ((db = tg_db_connect(&u, &e)) == NULL)
        die("%s", e.msg);
    if (autocommit && mysql_autocommit(db, 1) != 0)
        die("autocommit: %s", mysql_error(db));
    return db;
}

static void db_exec(MYSQL *db, const char *sql, size_t len)
{
    if (mysql_real_query(db, sql, (unsigned long)len) != 0)
        die("MariaDB error %u: %s (statement: %.200s)", mysql_errno(db),
            mysql_error(db), sql);
}

static void db_commit(MYSQL *db)
{
    if (mysql_commit(db) != 0)
        die("COMMIT: %s", mysql_error(db));
}

static long long db_scalar(MYSQL *db, const char *sql, int *found)
{
    MYSQL_RES *r;
    MYSQL_ROW row;
    long long v = 0;

    db_exec(db, sql, strlen(sql));
    if ((r = mysql_store_result(db)) == NULL)
        die("%s: %s", sql, mysql_error(db));
    row = mysql_fetch_row(r);
    if (found)
        *found = row != NULL && row[mysql_num_fields(r) - 1] != NULL;
    if (row != NULL && row[mysql_num_fields(r) - 1] != NULL)
        v = strtoll(row[mysql_num_fields(r) - 1], NULL, 10);
    mysql_free_result(r);
    return v;
}

/* ------------------------------------------------------------------ */
/* SQLite                                                             */
/* ------------------------------------------------------------------ */

static sqlite3 *sq_open(const char *path, int create)
{
    sqlite3 *db;
    int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);

    if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK)
        die("open %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_busy_timeout(db, 30000);
    return db;
}

static void sq_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        die("sqlite: %s (%s)", msg ? msg : "?", sql);
}

static sqlite3_stmt *sq_prep(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        die("sqlite prepare: %s (%s)", sqlite3_errmsg(db), sql);
    return st;
}

/* ------------------------------------------------------------------ */
/* the data: rows of `items`                                          */
/* ------------------------------------------------------------------ */

static const char g_create[] =
    "CREATE TABLE items (\n"
    "    id          INTEGER PRIMARY KEY,\n"
    "    customer_id INTEGER NOT NULL,\n"
    "    status      TEXT NOT NULL,\n"
    "    email       TEXT NOT NULL,\n"
    "    amount      REAL NOT NULL,\n"
    "    meta        JSON,\n"
    "    note        TEXT,\n"
    "    created_at  DATETIME NOT NULL\n"
    ")";

typedef struct row {
    int64_t id, customer_id;
    const char *status;
    double amount;
    int meta_null, note_null;
    char email[64];
    char meta[200];
    char note[200];
    char created[80];            /* SQLite/ORM text, with offset */
    char created_utc[48];        /* "YYYY-MM-DD HH:MM:SS.mmm" UTC */
} row;

static const char *const g_status[] = { "new", "paid", "packed", "shipped",
                                        "delivered", "cancelled",
                                        "refunded" };
static const char *const g_src[] = { "web", "ios", "android", "pos",
                                     "api" };
static const char *const g_tag[] = { "gift", "express", "bulk", "b2b",
                                     "promo", "repeat", "fragile" };
static const char *const g_words[] = {
    "please", "deliver", "before", "noon", "leave", "at", "the", "door",
    "Straße", "café", "crème", "brûlée", "naïve", "Ærø", "東京", "配送",
    "ring", "twice", "fragile", "handle", "with", "care", "invoice",
    "customer", "called", "about", "size", "colour", "exchange", "🙂"
};
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void fmt_time(char *out, size_t cap, int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    snprintf(out, cap, "%04d-%02d-%02d %02d:%02d:%02d.%03d",
             (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100,
             tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
             tm.tm_sec % 100, (int)(ms % 1000));
}

/* Row `id`, version `ver`: everything derived from (seed, id, ver). */
static void make_row(row *r, uint64_t seed, int64_t id, uint64_t ver)
{
    uint64_t s = seed ^ ((uint64_t)id * 0x9E3779B97F4A7C15ull) ^
                 (ver * 0xD1B54A32D192ED03ull);
    uint64_t x;
    int64_t ms;
    int off_min;
    size_t n;
    char t[48];

    r->id = id;
    r->customer_id = (int64_t)(rng_next(&s) % 200000) + 1;
    r->status = g_status[rng_next(&s) % NELEM(g_status)];
    x = rng_next(&s);
    snprintf(r->email, sizeof(r->email), "user%lld.%c%c@example%u.com",
             (long long)r->customer_id, 'a' + (int)(x % 26),
             'a' + (int)(x / 26 % 26), (unsigned)(x / 676 % 1000));
    /* a double with all its bits used, not a tidy decimal */
    r->amount = (double)(rng_next(&s) >> 11) / 9007199254740992.0 * 5000.0;
    x = rng_next(&s);
    r->meta_null = x % 20 == 0;
    snprintf(r->meta, sizeof(r->meta),
             "{\"src\":\"%s\",\"tags\":[\"%s\",\"%s\"],\"qty\":%u,"
             "\"score\":%u.%02u,\"ref\":\"%016llx\",\"gift\":%s}",
             g_src[x % NELEM(g_src)], g_tag[(x >> 8) % NELEM(g_tag)],
             g_tag[(x >> 16) % NELEM(g_tag)], (unsigned)(x >> 24) % 20 + 1,
             (unsigned)(x >> 32) % 100, (unsigned)(x >> 40) % 100,
             (unsigned long long)rng_next(&s),
             (x >> 50) & 1 ? "true" : "false");
    x = rng_next(&s);
    r->note_null = x % 10 == 0;
    n = 0;
    r->note[0] = 0;
    for (int w = 0, nw = 6 + (int)(x % 9); w < nw; w++) {
        const char *word = g_words[rng_next(&s) % NELEM(g_words)];
        size_t wl = strlen(word);
        if (n + wl + 2 >= sizeof(r->note))
            break;
        if (n)
            r->note[n++] = ' ';
        memcpy(r->note + n, word, wl);
        n += wl;
        r->note[n] = 0;
    }
    /* 2024-01-01 .. ~2026-09, ms precision; 1 in 20 with an offset */
    ms = 1704067200000LL + (int64_t)(rng_next(&s) % (86400000ull * 1000));
    x = rng_next(&s);
    off_min = x % 20 == 0 ? ((int)(x >> 8) % 2 ? 120 : -300) : 0;
    fmt_time(r->created_utc, sizeof(r->created_utc), ms);
    fmt_time(t, sizeof(t), ms + (int64_t)off_min * 60000);
    snprintf(r->created, sizeof(r->created), "%s %c%02d:%02d", t,
             off_min < 0 ? '-' : '+', abs(off_min) / 60 % 100,
             abs(off_min) % 60);
}

static void bind_row(sqlite3_stmt *st, const row *r, int first)
{
    int i = first;
    sqlite3_bind_int64(st, i++, r->customer_id);
    sqlite3_bind_text(st, i++, r->status, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, r->email, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, i++, r->amount);
    if (r->meta_null)
        sqlite3_bind_null(st, i++);
    else
        sqlite3_bind_text(st, i++, r->meta, -1, SQLITE_STATIC);
    if (r->note_null)
        sqlite3_bind_null(st, i++);
    else
        sqlite3_bind_text(st, i++, r->note, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, r->created, -1, SQLITE_STATIC);
}

/* row as one TSV line (dates in MariaDB form), no newline */
static void row_tsv(buf *b, const row *r)
{
    buf_addf(b, "%lld\t%lld\t", (long long)r->id, (long long)r->customer_id);
    buf_tsv(b, r->status, strlen(r->status));
    buf_adds(b, "\t");
    buf_tsv(b, r->email, strlen(r->email));
    buf_addf(b, "\t%.17g\t", r->amount);
    if (r->meta_null)
        buf_adds(b, "\\N");
    else
        buf_tsv(b, r->meta, strlen(r->meta));
    buf_adds(b, "\t");
    if (r->note_null)
        buf_adds(b, "\\N");
    else
        buf_tsv(b, r->note, strlen(r->note));
    buf_adds(b, "\t");
    buf_adds(b, r->created_utc);
}

/* ------------------------------------------------------------------ */
/* gen / changes / export                                             */
/* ------------------------------------------------------------------ */

static int cmd_gen(void)
{
    const char *path = req("db");
    long long n = opt_ll("rows", 1000000);
    uint64_t seed = (uint64_t)opt_ll("seed", 1);
    sqlite3 *db;
    sqlite3_stmt *st;
    double t0 = now_s();
    row r;

    if (access(path, F_OK) == 0)
        die("%s exists; gen makes a new database", path);
    db = sq_open(path, 1);
    sq_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF");
    sq_exec(db, g_create);
    sq_exec(db, "BEGIN");
    st = sq_prep(db, "INSERT INTO items (" COL_LIST ") VALUES "
                     "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    for (long long id = 1; id <= n; id++) {
        make_row(&r, seed, id, 0);
        sqlite3_bind_int64(st, 1, id);
        bind_row(st, &r, 2);
        if (sqlite3_step(st) != SQLITE_DONE)
            die("insert: %s", sqlite3_errmsg(db));
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    sq_exec(db, "COMMIT");
    sqlite3_close(db);
    printf("rows=%lld seconds=%.3f\n", n, now_s() - t0);
    return 0;
}

static int cmd_changes(void)
{
    const char *path = req("db"), *ops_path = opt("ops", NULL);
    const char *mix = opt("mix", "25,50,25"), *jdir = opt("wait-journal",
                                                          NULL);
    jr_journal *jn = NULL;
    jr_info info;
    jr_err jerr = { 0 };
    uint64_t jbase = 0;
    double waited = 0;
    long long n = opt_ll("changes", 1000000);
    long long tmin = opt_ll("txn-min", 100), tmax = opt_ll("txn-max", 1000);
    uint64_t seed = (uint64_t)opt_ll("seed", 2), s;
    int wi, wu, wd;
    sqlite3 *db;
    sqlite3_stmt *sel, *ins, *upd, *del;
    int64_t *live = NULL, maxid = 0;
    size_t nlive = 0, caplive = 0;
    long long done = 0, nins = 0, nupd = 0, ndel = 0, ntx = 0;
    FILE *ops = NULL;
    buf line = { 0 };
    double t0 = now_s();
    row r;

    if (sscanf(mix, "%d,%d,%d", &wi, &wu, &wd) != 3 || wi < 0 || wu < 0 ||
        wd < 0 || wi + wu + wd <= 0)
        die("--mix I,U,D: three non-negative weights");
    if (tmin < 1 || tmax < tmin)
        die("--txn-min/--txn-max");
    s = seed;
    db = sq_open(path, 0);
    sq_exec(db, "PRAGMA synchronous = OFF");
    sel = sq_prep(db, "SELECT id FROM items ORDER BY id");
    while (sqlite3_step(sel) == SQLITE_ROW) {
        if (nlive == caplive) {
            caplive = caplive ? caplive * 2 : 1 << 20;
            live = xrealloc(live, caplive * sizeof(*live));
        }
        live[nlive++] = sqlite3_column_int64(sel, 0);
    }
    sqlite3_finalize(sel);
    if (nlive)
        maxid = live[nlive - 1];
    if (ops_path != NULL && (ops = fopen(ops_path, "w")) == NULL)
        die("%s: %s", ops_path, strerror(errno));
    if (jdir != NULL) {
        jr_journal_opts jo = JR_JOURNAL_OPTS_INIT;
        jo.read_only = 1;
        if (jr_journal_open(&jn, jdir, &jo, &jerr) != JR_OK ||
            jr_journal_info(jn, &info, &jerr) != JR_OK)
            die("journal %s: %s", jdir, jerr.msg);
        jbase = info.complete_seq;
    }
    ins = sq_prep(db, "INSERT INTO items (" COL_LIST ") VALUES "
                      "(?9, ?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    upd = sq_prep(db, "UPDATE items SET customer_id = ?1, status = ?2, "
                      "email = ?3, amount = ?4, meta = ?5, note = ?6, "
                      "created_at = ?7 WHERE id = ?9");
    del = sq_prep(db, "DELETE FROM items WHERE id = ?1");
    while (done < n) {
        long long tx = tmin + (long long)(rng_next(&s) %
                                          (uint64_t)(tmax - tmin + 1));
        if (tx > n - done)
            tx = n - done;
        sq_exec(db, "BEGIN IMMEDIATE");
        for (long long k = 0; k < tx; k++) {
            int w = (int)(rng_next(&s) % (uint64_t)(wi + wu + wd));
            sqlite3_stmt *st;
            size_t pick = 0;
            int64_t id;

            if (nlive == 0 || w < wi) {                 /* insert */
                id = ++maxid;
                make_row(&r, seed, id, 0);
                st = ins;
                bind_row(st, &r, 1);
                sqlite3_bind_int64(st, 9, id);
                if (nlive == caplive) {
                    caplive = caplive ? caplive * 2 : 1 << 20;
                    live = xrealloc(live, caplive * sizeof(*live));
                }
                live[nlive++] = id;
                nins++;
            } else {
                pick = (size_t)(rng_next(&s) % nlive);
                id = live[pick];
                if (w < wi + wu) {                      /* update */
                    make_row(&r, seed, id, (uint64_t)done + 1);
                    st = upd;
                    bind_row(st, &r, 1);
                    sqlite3_bind_int64(st, 9, id);
                    nupd++;
                } else {                                /* delete */
                    st = del;
                    sqlite3_bind_int64(st, 1, id);
                    live[pick] = live[--nlive];
                    ndel++;
                }
            }
            if (sqlite3_step(st) != SQLITE_DONE)
                die("change: %s", sqlite3_errmsg(db));
            if (st == upd && sqlite3_changes(db) != 1)
                die("update of id %lld changed no row", (long long)id);
            sqlite3_reset(st);
            if (ops != NULL) {
                line.len = 0;
                if (st == del)
                    buf_addf(&line, "D\t%lld\n", (long long)id);
                else {
                    buf_adds(&line, "P\t");
                    row_tsv(&line, &r);
                    buf_adds(&line, "\n");
                }
                fwrite(line.p, 1, line.len, ops);
            }
            done++;
        }
        sq_exec(db, "COMMIT");
        ntx++;
        if (ops != NULL)
            fputs("C\n", ops);
        if (jn != NULL) {
            double w0 = now_s();
            for (;;) {
                if (jr_journal_info(jn, &info, &jerr) != JR_OK)
                    die("journal %s: %s", jdir, jerr.msg);
                if (info.complete_seq >= jbase + (uint64_t)done)
                    break;
                if (now_s() - w0 > 60)
                    die("sluice-capture did not journal transaction %lld "
                        "within 60 s (complete_seq %llu, want %llu)", ntx,
                        (unsigned long long)info.complete_seq,
                        (unsigned long long)(jbase + (uint64_t)done));
                usleep(500);
            }
            waited += now_s() - w0;
        }
    }
    jr_journal_close(jn);
    sqlite3_finalize(ins);
    sqlite3_finalize(upd);
    sqlite3_finalize(del);
    sqlite3_close(db);
    if (ops != NULL && fclose(ops) != 0)
        die("%s: write failed", ops_path);
    free(live);
    free(line.p);
    printf("changes=%lld inserts=%lld updates=%lld deletes=%lld "
           "transactions=%lld rows_after=%zu seconds=%.3f "
           "waited_for_capture_s=%.1f\n", done, nins, nupd, ndel, ntx, nlive,
           now_s() - t0, waited);
    return 0;
}

/* SQLite side of the comparison (and of the export): dates to UTC. */
static const char g_sq_select[] =
    "SELECT id, customer_id, status, email, amount, meta, note, "
    "strftime('%Y-%m-%d %H:%M:%f', created_at) FROM items ORDER BY id";

static void sq_field(buf *b, sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        buf_adds(b, "\\N");
    else if (i == 4)
        buf_addf(b, "%.17g", sqlite3_column_double(st, i));
    else
        buf_tsv(b, (const char *)sqlite3_column_text(st, i),
                (size_t)sqlite3_column_bytes(st, i));
}

static int cmd_export(void)
{
    const char *path = req("db"), *out = req("out");
    sqlite3 *db = sq_open(path, 0);
    sqlite3_stmt *st = sq_prep(db, g_sq_select);
    FILE *f = fopen(out, "w");
    buf b = { 0 };
    long long n = 0;
    double t0 = now_s();

    if (f == NULL)
        die("%s: %s", out, strerror(errno));
    while (sqlite3_step(st) == SQLITE_ROW) {
        for (int i = 0; i < NCOLS; i++) {
            if (i)
                buf_adds(&b, "\t");
            sq_field(&b, st, i);
        }
        buf_adds(&b, "\n");
        if (b.len > (1u << 20)) {
            fwrite(b.p, 1, b.len, f);
            b.len = 0;
        }
        n++;
    }
    fwrite(b.p, 1, b.len, f);
    if (fclose(f) != 0)
        die("%s: write failed", out);
    sqlite3_finalize(st);
    sqlite3_close(db);
    free(b.p);
    printf("rows=%lld seconds=%.3f\n", n, now_s() - t0);
    return 0;
}

/* ------------------------------------------------------------------ */
/* baselines                                                          */
/* ------------------------------------------------------------------ */

/* Baseline A, plain: LOAD DATA ... INTO TABLE in autocommit mode.
** --as-replay 1: the statement shape sluice-replay uses for a snapshot
**   (one transaction: DELETE FROM, LOAD DATA ... REPLACE INTO, COMMIT).
** --bulk 1: SET unique_checks = 0, foreign_key_checks = 0 first, which
**   lets InnoDB (10.6+) load an empty table with table-level undo
**   logging (MDEV-24818). */
static int cmd_load_data(void)
{
    const char *file = req("file");
    int as_replay = opt_ll("as-replay", 0) != 0, bulk = opt_ll("bulk", 0);
    MYSQL *db = db_connect(!as_replay);
    buf sql = { 0 };
    double t0, t;
    my_ulonglong n;

    if (bulk)
        db_exec(db, "SET unique_checks = 0, foreign_key_checks = 0", 46);
    buf_adds(&sql, "LOAD DATA LOCAL INFILE '");
    buf_need(&sql, 2 * strlen(file));
    sql.len += mysql_real_escape_string(db, sql.p + sql.len, file,
                                        (unsigned long)strlen(file));
    buf_adds(&sql, as_replay ? "' REPLACE INTO TABLE" : "' INTO TABLE");
    buf_adds(&sql, " items CHARACTER SET utf8mb4 FIELDS "
                   "TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED "
                   "BY '\\n' (" COL_LIST ")");
    t0 = now_s();
    if (as_replay)
        db_exec(db, "DELETE FROM items", 17);
    db_exec(db, sql.p, sql.len);
    n = mysql_affected_rows(db);
    if (as_replay)
        db_commit(db);
    t = now_s() - t0;
    printf("rows=%llu seconds=%.3f rows_per_s=%.0f warnings=%u "
           "client_cpu_s=%.2f\n", (unsigned long long)n, t, (double)n / t,
           mysql_warning_count(db), self_cpu());
    mysql_close(db);
    free(sql.p);
    return 0;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct stat sb;
    char *p;

    if (f == NULL || fstat(fileno(f), &sb) != 0)
        die("%s: %s", path, strerror(errno));
    p = xmalloc((size_t)sb.st_size + 1);
    if (fread(p, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size)
        die("%s: short read", path);
    fclose(f);
    p[sb.st_size] = 0;
    *len = (size_t)sb.st_size;
    return p;
}

/* Unescape TSV field [p, end) in place; returns its length, -1 for \N. */
static long tsv_unescape(char *p, char *end)
{
    char *w = p;

    if (end - p == 2 && p[0] == '\\' && p[1] == 'N')
        return -1;
    for (char *r = p; r < end; r++) {
        if (*r == '\\' && r + 1 < end) {
            r++;
            *w++ = *r == 't' ? '\t' : *r == 'n' ? '\n' : *r == '0' ? 0 : *r;
        } else {
            *w++ = *r;
        }
    }
    return (long)(w - p);
}

/* Append the SQL literal of TSV field i ([p, end), unescaped in place). */
static void sql_value(buf *b, MYSQL *db, int i, char *p, char *end)
{
    long n = tsv_unescape(p, end);

    if (n < 0) {
        buf_adds(b, "NULL");
    } else if (i == 0 || i == 1 || i == 4) {      /* numbers: as they are */
        buf_add(b, p, (size_t)n);
    } else {
        buf_need(b, 2 * (size_t)n + 2);
        b->p[b->len++] = '\'';
        b->len += mysql_real_escape_string(db, b->p + b->len, p,
                                           (unsigned long)n);
        b->p[b->len++] = '\'';
        b->p[b->len] = 0;
    }
}

static const char g_odku[] =
    " ON DUPLICATE KEY UPDATE customer_id = VALUES(customer_id), "
    "status = VALUES(status), email = VALUES(email), amount = "
    "VALUES(amount), meta = VALUES(meta), note = VALUES(note), "
    "created_at = VALUES(created_at)";

/* One line "f0\tf1...\tf7" -> "(v0, ..., v7)" appended to b. */
static void sql_tuple(buf *b, MYSQL *db, char *line, char *eol)
{
    char *p = line;
    buf_adds(b, "(");
    for (int i = 0; i < NCOLS; i++) {
        char *e = i < NCOLS - 1 ? memchr(p, '\t', (size_t)(eol - p)) : eol;
        if (e == NULL)
            die("short TSV line: %.80s", line);
        if (i)
            buf_adds(b, ", ");
        sql_value(b, db, i, p, e);
        p = e + 1;
    }
    buf_adds(b, ")");
}

/* ---- array binding (Connector/C bulk execution) ---------------------
** One prepared statement, STMT_ATTR_ARRAY_SIZE rows per execution,
** column-wise buffers: fixed-size arrays for numbers, arrays of pointers
** plus lengths for text, an indicator array for NULLs. Text fields point
** into the (unescaped in place) file buffer. */
typedef struct abatch {
    MYSQL_STMT *put, *del;
    unsigned cap, n, nd;
    int64_t *id, *cust, *did;
    double *amount;
    char **txt[5];               /* status, email, meta, note, created_at */
    unsigned long *len[5];
    char *ind[5];
} abatch;

static const int g_txt_col[5] = { 2, 3, 5, 6, 7 };

static MYSQL_STMT *stmt_prep(MYSQL *db, const char *sql)
{
    MYSQL_STMT *st = mysql_stmt_init(db);
    if (st == NULL || mysql_stmt_prepare(st, sql, strlen(sql)) != 0)
        die("prepare: %s (%s)", st ? mysql_stmt_error(st) : "?", sql);
    return st;
}

static void ab_init(abatch *b, MYSQL *db, unsigned cap)
{
    char sql[600];

    memset(b, 0, sizeof(*b));
    b->cap = cap;
    b->id = xmalloc(cap * sizeof(int64_t));
    b->cust = xmalloc(cap * sizeof(int64_t));
    b->did = xmalloc(cap * sizeof(int64_t));
    b->amount = xmalloc(cap * sizeof(double));
    for (int k = 0; k < 5; k++) {
        b->txt[k] = xmalloc(cap * sizeof(char *));
        b->len[k] = xmalloc(cap * sizeof(unsigned long));
        b->ind[k] = xmalloc(cap);
    }
    snprintf(sql, sizeof(sql), "INSERT INTO items (" COL_LIST ") VALUES "
             "(?, ?, ?, ?, ?, ?, ?, ?)%s", g_odku);
    b->put = stmt_prep(db, sql);
    b->del = stmt_prep(db, "DELETE FROM items WHERE id = ?");
}

static void ab_free(abatch *b)
{
    mysql_stmt_close(b->put);
    mysql_stmt_close(b->del);
    free(b->id);
    free(b->cust);
    free(b->did);
    free(b->amount);
    for (int k = 0; k < 5; k++) {
        free(b->txt[k]);
        free(b->len[k]);
        free(b->ind[k]);
    }
}

/* Parse TSV line [line, eol) into row b->n. */
static void ab_add(abatch *b, char *line, char *eol)
{
    char *p = line, *f[NCOLS], *e[NCOLS];
    unsigned r = b->n;

    for (int i = 0; i < NCOLS; i++) {
        e[i] = i < NCOLS - 1 ? memchr(p, '\t', (size_t)(eol - p)) : eol;
        if (e[i] == NULL)
            die("short TSV line: %.80s", line);
        f[i] = p;
        p = e[i] + 1;
    }
    b->id[r] = strtoll(f[0], NULL, 10);
    b->cust[r] = strtoll(f[1], NULL, 10);
    *e[4] = 0;
    b->amount[r] = strtod(f[4], NULL);
    for (int k = 0; k < 5; k++) {
        int i = g_txt_col[k];
        long n = tsv_unescape(f[i], e[i]);
        b->txt[k][r] = f[i];
        b->len[k][r] = n < 0 ? 0 : (unsigned long)n;
        b->ind[k][r] = n < 0 ? STMT_INDICATOR_NULL : STMT_INDICATOR_NONE;
    }
    b->n++;
}

static void ab_flush_put(abatch *b, long long *stmts)
{
    MYSQL_BIND bd[NCOLS];
    unsigned n = b->n;

    if (n == 0)
        return;
    memset(bd, 0, sizeof(bd));
    bd[0].buffer_type = MYSQL_TYPE_LONGLONG;
    bd[0].buffer = b->id;
    bd[1].buffer_type = MYSQL_TYPE_LONGLONG;
    bd[1].buffer = b->cust;
    bd[4].buffer_type = MYSQL_TYPE_DOUBLE;
    bd[4].buffer = b->amount;
    for (int k = 0; k < 5; k++) {
        MYSQL_BIND *x = &bd[g_txt_col[k]];
        x->buffer_type = MYSQL_TYPE_STRING;
        x->buffer = b->txt[k];
        x->length = b->len[k];
        x->u.indicator = b->ind[k];
    }
    if (mysql_stmt_attr_set(b->put, STMT_ATTR_ARRAY_SIZE, &n) != 0 ||
        mysql_stmt_bind_param(b->put, bd) != 0 ||
        mysql_stmt_execute(b->put) != 0)
        die("array upsert: %s", mysql_stmt_error(b->put));
    b->n = 0;
    (*stmts)++;
}

static void ab_flush_del(abatch *b, long long *stmts)
{
    MYSQL_BIND bd[1];
    unsigned n = b->nd;

    if (n == 0)
        return;
    memset(bd, 0, sizeof(bd));
    bd[0].buffer_type = MYSQL_TYPE_LONGLONG;
    bd[0].buffer = b->did;
    if (mysql_stmt_attr_set(b->del, STMT_ATTR_ARRAY_SIZE, &n) != 0 ||
        mysql_stmt_bind_param(b->del, bd) != 0 ||
        mysql_stmt_execute(b->del) != 0)
        die("array delete: %s", mysql_stmt_error(b->del));
    b->nd = 0;
    (*stmts)++;
}

/* upsert --array 1 */
static int upsert_array(char *data, size_t len, long long stmt_rows,
                        long long txn_rows)
{
    char *p = data, *end = data + len;
    MYSQL *db = db_connect(0);
    abatch b;
    long long n = 0, stmts = 0, commits = 0;
    double t0 = now_s(), t;

    ab_init(&b, db, (unsigned)stmt_rows);
    while (p < end) {
        char *eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL)
            eol = end;
        ab_add(&b, p, eol);
        n++;
        p = eol + 1;
        if (b.n == (unsigned)stmt_rows || p >= end)
            ab_flush_put(&b, &stmts);
        if (n % txn_rows == 0 || p >= end) {
            db_commit(db);
            commits++;
        }
    }
    t = now_s() - t0;
    printf("rows=%lld seconds=%.3f rows_per_s=%.0f statements=%lld "
           "commits=%lld array=1 client_cpu_s=%.2f\n", n, t, (double)n / t,
           stmts, commits, self_cpu());
    ab_free(&b);
    mysql_close(db);
    return 0;
}

static int cmd_upsert(void)
{
    size_t len;
    char *data = read_file(req("file"), &len), *p = data, *end = data + len;
    long long stmt_rows = opt_ll("stmt-rows", 1000),
              txn_rows = opt_ll("txn-rows", 10000);
    MYSQL *db;
    buf sql = { 0 };
    long long n = 0, in_stmt = 0, stmts = 0, commits = 0;
    double t0, t;

    if (opt_ll("array", 0)) {
        upsert_array(data, len, stmt_rows, txn_rows);
        free(data);
        return 0;
    }
    db = db_connect(0);
    t0 = now_s();
    while (p < end) {
        char *eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL)
            eol = end;
        if (in_stmt == 0)
            buf_adds(&sql, "INSERT INTO items (" COL_LIST ") VALUES ");
        else
            buf_adds(&sql, ", ");
        sql_tuple(&sql, db, p, eol);
        in_stmt++;
        n++;
        p = eol + 1;
        if (in_stmt == stmt_rows || p >= end) {
            buf_adds(&sql, g_odku);
            db_exec(db, sql.p, sql.len);
            sql.len = 0;
            in_stmt = 0;
            stmts++;
        }
        if (n % txn_rows == 0 || p >= end) {
            db_commit(db);
            commits++;
        }
    }
    t = now_s() - t0;
    printf("rows=%lld seconds=%.3f rows_per_s=%.0f statements=%lld "
           "commits=%lld client_cpu_s=%.2f\n", n, t, (double)n / t, stmts,
           commits, self_cpu());
    mysql_close(db);
    free(data);
    free(sql.p);
    return 0;
}

/* key set for --coalesce: open addressing over int64 ids */
typedef struct idset {
    int64_t *k;
    size_t cap, n;
} idset;

static size_t ids_slot(const idset *s, int64_t id)
{
    size_t h = (size_t)((uint64_t)id * 0x9E3779B97F4A7C15ull) & (s->cap - 1);
    while (s->k[h] != INT64_MIN && s->k[h] != id)
        h = (h + 1) & (s->cap - 1);
    return h;
}

static int ids_has(const idset *s, int64_t id)
{
    return s->k[ids_slot(s, id)] == id;
}

static void ids_add(idset *s, int64_t id)
{
    size_t h = ids_slot(s, id);
    if (s->k[h] != id) {
        s->k[h] = id;
        s->n++;
    }
}

static void ids_clear(idset *s)
{
    for (size_t i = 0; i < s->cap; i++)
        s->k[i] = INT64_MIN;
    s->n = 0;
}

typedef struct pend {            /* one pending multi-row statement */
    buf sql;
    long long rows;
    idset keys;
} pend;

static void pend_flush(MYSQL *db, pend *p, char op, long long *stmts)
{
    if (p->rows == 0)
        return;
    buf_adds(&p->sql, op == 'P' ? g_odku : ")");
    db_exec(db, p->sql.p, p->sql.len);
    p->sql.len = 0;
    p->rows = 0;
    ids_clear(&p->keys);
    (*stmts)++;
}

/* apply-ops --array 1: coalesced as --coalesce 1, each pending batch
** sent as one array-bound execution of a prepared statement. */
static int apply_ops_array(char *data, size_t len, long long stmt_rows,
                           long long txn_rows)
{
    char *p = data, *end = data + len;
    MYSQL *db = db_connect(0);
    abatch b;
    idset kp, kd;
    long long n = 0, stmts = 0, commits = 0;
    double t0, t;

    ab_init(&b, db, (unsigned)stmt_rows);
    kp.cap = kd.cap = 4096;
    while (kp.cap < 2 * (size_t)stmt_rows)
        kp.cap = kd.cap = kp.cap * 2;
    kp.k = xmalloc(kp.cap * sizeof(int64_t));
    kd.k = xmalloc(kd.cap * sizeof(int64_t));
    ids_clear(&kp);
    ids_clear(&kd);
    t0 = now_s();
    while (p < end) {
        char *eol = memchr(p, '\n', (size_t)(end - p));
        char o = *p;
        int64_t id;

        if (eol == NULL)
            eol = end;
        if (o == 'C') {
            p = eol + 1;
            if (txn_rows == 0) {
                ab_flush_del(&b, &stmts);
                ab_flush_put(&b, &stmts);
                ids_clear(&kd);
                ids_clear(&kp);
                db_commit(db);
                commits++;
            }
            continue;
        }
        if (eol - p < 3 || p[1] != '\t' || (o != 'P' && o != 'D'))
            die("bad ops line: %.60s", p);
        id = strtoll(p + 2, NULL, 10);
        if (o == 'P') {
            if (b.nd && ids_has(&kd, id)) {
                ab_flush_del(&b, &stmts);
                ids_clear(&kd);
            }
            ab_add(&b, p + 2, eol);
            ids_add(&kp, id);
            if (b.n == (unsigned)stmt_rows) {
                ab_flush_put(&b, &stmts);
                ids_clear(&kp);
            }
        } else {
            if (b.n && ids_has(&kp, id)) {
                ab_flush_put(&b, &stmts);
                ids_clear(&kp);
            }
            b.did[b.nd++] = id;
            ids_add(&kd, id);
            if (b.nd == (unsigned)stmt_rows) {
                ab_flush_del(&b, &stmts);
                ids_clear(&kd);
            }
        }
        n++;
        p = eol + 1;
        if (txn_rows > 0 && n % txn_rows == 0) {
            ab_flush_del(&b, &stmts);
            ab_flush_put(&b, &stmts);
            ids_clear(&kd);
            ids_clear(&kp);
            db_commit(db);
            commits++;
        }
    }
    ab_flush_del(&b, &stmts);
    ab_flush_put(&b, &stmts);
    db_commit(db);
    t = now_s() - t0;
    printf("rows=%lld seconds=%.3f rows_per_s=%.0f statements=%lld "
           "commits=%lld coalesce=1 array=1 client_cpu_s=%.2f\n", n, t,
           (double)n / t, stmts, commits, self_cpu());
    ab_free(&b);
    free(kp.k);
    free(kd.k);
    mysql_close(db);
    return 0;
}

/* The plain loader on a change stream. In order (default): a statement
** ends whenever the operation changes. --coalesce 1: one pending upsert
** and one pending delete statement; their key sets stay disjoint (a put
** of a key pending for delete first flushes the deletes, and the other
** way round), so executing them in either order gives the same state as
** the stream -- for a table whose only unique key is the primary key. */
static int cmd_apply_ops(void)
{
    size_t len;
    char *data = read_file(req("file"), &len), *p = data, *end = data + len;
    long long stmt_rows = opt_ll("stmt-rows", 1000),
              txn_rows = opt_ll("txn-rows", 10000);
    int coalesce = opt_ll("coalesce", 0) != 0;
    MYSQL *db;
    pend pp = { 0 }, pd = { 0 };
    long long n = 0, stmts = 0, commits = 0;
    double t0, t;

    if (opt_ll("array", 0)) {
        apply_ops_array(data, len, stmt_rows, txn_rows);
        free(data);
        return 0;
    }
    db = db_connect(0);

    pp.keys.cap = pd.keys.cap = 4096;
    while (pp.keys.cap < 2 * (size_t)stmt_rows)
        pp.keys.cap = pd.keys.cap = pp.keys.cap * 2;
    pp.keys.k = xmalloc(pp.keys.cap * sizeof(int64_t));
    pd.keys.k = xmalloc(pd.keys.cap * sizeof(int64_t));
    ids_clear(&pp.keys);
    ids_clear(&pd.keys);
    t0 = now_s();
    while (p < end) {
        char *eol = memchr(p, '\n', (size_t)(end - p));
        char o = *p;
        int64_t id;
        pend *me, *other;

        if (eol == NULL)
            eol = end;
        if (o == 'C') {                 /* end of a source transaction */
            p = eol + 1;
            if (txn_rows == 0) {
                pend_flush(db, &pd, 'D', &stmts);
                pend_flush(db, &pp, 'P', &stmts);
                db_commit(db);
                commits++;
            }
            continue;
        }
        if (eol - p < 3 || p[1] != '\t' || (o != 'P' && o != 'D'))
            die("bad ops line: %.60s", p);
        id = strtoll(p + 2, NULL, 10);
        me = o == 'P' ? &pp : &pd;
        other = o == 'P' ? &pd : &pp;
        if (other->rows && (!coalesce || ids_has(&other->keys, id)))
            pend_flush(db, other, o == 'P' ? 'D' : 'P', &stmts);
        if (o == 'P') {
            buf_adds(&me->sql, me->rows ? ", " : "INSERT INTO items ("
                                                 COL_LIST ") VALUES ");
            sql_tuple(&me->sql, db, p + 2, eol);
        } else {
            buf_adds(&me->sql, me->rows ? ", " : "DELETE FROM items WHERE "
                                                 "id IN (");
            buf_add(&me->sql, p + 2, (size_t)(eol - p - 2));
        }
        ids_add(&me->keys, id);
        me->rows++;
        n++;
        p = eol + 1;
        if (me->rows == stmt_rows)
            pend_flush(db, me, o, &stmts);
        if ((txn_rows > 0 && n % txn_rows == 0) || p >= end) {
            pend_flush(db, &pd, 'D', &stmts);
            pend_flush(db, &pp, 'P', &stmts);
            db_commit(db);
            commits++;
        }
    }
    pend_flush(db, &pd, 'D', &stmts);          /* a stream without "C" */
    pend_flush(db, &pp, 'P', &stmts);
    db_commit(db);
    t = now_s() - t0;
    printf("rows=%lld seconds=%.3f rows_per_s=%.0f statements=%lld "
           "commits=%lld coalesce=%d client_cpu_s=%.2f\n", n, t,
           (double)n / t, stmts, commits, coalesce, self_cpu());
    mysql_close(db);
    free(data);
    free(pp.sql.p);
    free(pd.sql.p);
    free(pp.keys.k);
    free(pd.keys.k);
    return 0;
}

/* Selected server counters (SHOW GLOBAL STATUS) plus mariadbd's CPU. */
static int cmd_status(void)
{
    static const char q[] =
        "SHOW GLOBAL STATUS WHERE Variable_name IN ('Questions', "
        "'Com_insert', 'Com_delete', 'Com_replace', 'Com_load', "
        "'Com_commit', 'Innodb_buffer_pool_reads', "
        "'Innodb_buffer_pool_read_requests', 'Innodb_data_fsyncs', "
        "'Innodb_rows_inserted', 'Innodb_rows_updated', "
        "'Innodb_rows_deleted')";
    MYSQL *db = db_connect(1);
    MYSQL_RES *r;
    MYSQL_ROW row;
    long long pid = opt_ll("server-pid", 0);

    db_exec(db, q, sizeof(q) - 1);
    if ((r = mysql_store_result(db)) == NULL)
        die("status: %s", mysql_error(db));
    while ((row = mysql_fetch_row(r)) != NULL)
        printf("%s=%s ", row[0], row[1] ? row[1] : "0");
    mysql_free_result(r);
    mysql_close(db);
    if (pid > 0) {
        char path[64], st[1024];
        FILE *f;
        snprintf(path, sizeof(path), "/proc/%lld/stat", pid);
        if ((f = fopen(path, "r")) != NULL) {
            if (fgets(st, sizeof(st), f) != NULL) {
                char *c = strrchr(st, ')');
                unsigned long long ut = 0, stt = 0;
                /* fields after ")": state(3) ... utime(14) stime(15) */
                if (c && sscanf(c + 2, "%*c %*d %*d %*d %*d %*d %*u %*u "
                                "%*u %*u %*u %llu %llu", &ut, &stt) == 2)
                    printf("server_cpu_s=%.2f ", (double)(ut + stt) /
                           (double)sysconf(_SC_CLK_TCK));
            }
            fclose(f);
        }
    }
    {   /* CPU time of the whole machine: busy jiffies, all CPUs */
        FILE *f = fopen("/proc/stat", "r");
        unsigned long long v[10] = { 0 };
        if (f != NULL) {
            if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu",
                       &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
                       &v[7]) == 8)
                printf("machine_busy_s=%.2f ", (double)(v[0] + v[1] + v[2] +
                       v[5] + v[6] + v[7]) / (double)sysconf(_SC_CLK_TCK));
            fclose(f);
        }
    }
    printf("\n");
    return 0;
}

/* ------------------------------------------------------------------ */
/* settle / run                                                       */
/* ------------------------------------------------------------------ */

static long long status_var(MYSQL *db, const char *name, int *found)
{
    char q[200];
    snprintf(q, sizeof(q), "SHOW GLOBAL STATUS LIKE '%s'", name);
    return db_scalar(db, q, found);
}

static int cmd_settle(void)
{
    MYSQL *db = db_connect(1);
    double t0 = now_s(), limit = (double)opt_ll("timeout-s", 60);
    long long total, dirty = 0, hist = 0;
    int have_hist, f;
    char q[200];
    MYSQL_RES *r;
    MYSQL_ROW row;
    char oldv[64] = "90";

    db_exec(db, "SELECT @@GLOBAL.innodb_max_dirty_pages_pct", 42);
    if ((r = mysql_store_result(db)) != NULL) {
        if ((row = mysql_fetch_row(r)) != NULL && row[0])
            snprintf(oldv, sizeof(oldv), "%s", row[0]);
        mysql_free_result(r);
    }
    db_exec(db, "SET GLOBAL innodb_max_dirty_pages_pct = 0", 41);
    total = status_var(db, "Innodb_buffer_pool_pages_total", &f);
    status_var(db, "Innodb_history_list_length", &have_hist);
    for (;;) {
        dirty = status_var(db, "Innodb_buffer_pool_pages_dirty", &f);
        hist = have_hist ? status_var(db, "Innodb_history_list_length", &f)
                         : 0;
        if ((dirty <= total / 200 && hist < 5000) || now_s() - t0 > limit)
            break;
        usleep(200000);
    }
    snprintf(q, sizeof(q), "SET GLOBAL innodb_max_dirty_pages_pct = %s",
             oldv);
    db_exec(db, q, strlen(q));
    mysql_close(db);
    printf("seconds=%.1f dirty_pages=%lld history=%lld timed_out=%d\n",
           now_s() - t0, dirty, hist, now_s() - t0 > limit);
    return 0;
}

/* VmRSS-like fields of /proc/PID/status, in kB (-1 if unreadable) */
static void proc_rss(pid_t pid, long *anon, long *file)
{
    char path[64], line[256];
    FILE *f;

    *anon = *file = -1;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if ((f = fopen(path, "r")) == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "RssAnon:", 8) == 0)
            *anon = strtol(line + 8, NULL, 10);
        else if (strncmp(line, "RssFile:", 8) == 0)
            *file = strtol(line + 8, NULL, 10);
    }
    fclose(f);
}

static int cmd_run(void)
{
    const char *out = req("out");
    int i, status;
    pid_t pid, w;
    struct rusage ru;
    long anon, file, max_anon = 0, max_file = 0;
    double t0;
    FILE *f;

    for (i = 2; i < g_argc && strcmp(g_argv[i], "--") != 0; i++)
        ;
    if (i + 1 >= g_argc)
        die("usage: run --out FILE -- CMD [ARG...]");
    t0 = now_s();
    pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        execvp(g_argv[i + 1], g_argv + i + 1);
        fprintf(stderr, "exec %s: %s\n", g_argv[i + 1], strerror(errno));
        _exit(127);
    }
    /* getrusage gives the peak of anon + file-backed pages together;
    ** sample the split (LMDB's map counts as file-backed) every 20 ms */
    while ((w = wait4(pid, &status, WNOHANG, &ru)) == 0) {
        proc_rss(pid, &anon, &file);
        if (anon > max_anon)
            max_anon = anon;
        if (file > max_file)
            max_file = file;
        usleep(20000);
    }
    if (w < 0)
        die("wait4: %s", strerror(errno));
    if ((f = fopen(out, "w")) == NULL)
        die("%s: %s", out, strerror(errno));
    fprintf(f, "seconds=%.3f maxrss_kb=%ld exit=%d user_s=%.2f sys_s=%.2f "
            "peak_anon_kb=%ld peak_file_kb=%ld\n", now_s() - t0, ru.ru_maxrss,
            WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
            (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
            (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6,
            max_anon, max_file);
    fclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

int main(int argc, char **argv)
{
    static const struct { const char *name; int (*fn)(void); } cmds[] = {
        { "gen", cmd_gen }, { "changes", cmd_changes },
        { "export", cmd_export }, { "load-data", cmd_load_data },
        { "upsert", cmd_upsert }, { "apply-ops", cmd_apply_ops },
        { "settle", cmd_settle },
        { "run", cmd_run }, { "status", cmd_status },
    };

    g_argc = argc;
    g_argv = argv;
    if (argc < 2) {
        fprintf(stderr, "usage: sluice-bench-replay gen|changes|export|"
                "load-data|upsert|apply-ops|verify|settle|run|status [--opt V...]"
                "\n(see the comment at the top of tools/bench/"
                "bench_replay.c)\n");
        return 2;
    }
    g_cmd = argv[1];
    for (size_t i = 0; i < NELEM(cmds); i++)
        if (strcmp(argv[1], cmds[i].name) == 0)
            return cmds[i].fn();
    die("unknown subcommand");
}
