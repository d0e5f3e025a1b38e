/*
** test_inspect_follow.c -- sluice-inspect tail and history, the real
** binary on real journals: history lists exactly one row's changes,
** oldest first, the same with and without its index; the index follows
** new records and is rebuilt when it belongs to another journal or is
** torn, and a corrupt one never shows a wrong row; tail follows new
** records with --table/--op/--json and ends with exit 0 on SIGINT and
** when its reader goes away.
*/
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "jt_util.h"

TestSuite(tools_inspect_follow, .init = jt_tmpdir_up,
          .fini = jt_tmpdir_down, .timeout = 300);

static char g_out[1 << 20];
static char g_idx[JT_PATH_MAX];

static const char *inspect_bin(char *buf, size_t cap)
{
    const char *bd = getenv("SLUICE_BUILD_DIR");

    cr_assert_not_null(bd, "SLUICE_BUILD_DIR is not set (run through ctest)");
    return jt_join(buf, cap, bd, "tools/inspect/sluice-inspect");
}

/* sluice-inspect args... (NULL-terminated): exit status; stdout+stderr in
** g_out. */
static int inspect(const char *a1, ...)
{
    const char *argv[20];
    char exe[JT_PATH_MAX];
    va_list ap;
    int n = 1;

    argv[0] = inspect_bin(exe, sizeof(exe));
    va_start(ap, a1);
    for (const char *a = a1; a != NULL && n < 19; a = va_arg(ap, const char *))
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    return jt_run(argv, g_out, sizeof(g_out));
}

static jt_rec *row(int kind, const char *table, int64_t key, int64_t v)
{
    jt_rec *r = jt_rec_new(kind, table, 1000000 * (int64_t)kind + v);

    jt_rec_int(r, JT_KEY, "id", key);
    if (kind != JR_K_DELETE) {
        jt_rec_int(r, JT_NEW, "id", key);
        jt_rec_int(r, JT_NEW, "v", v);
    }
    return r;
}

static void put(jr_writer *w, jt_rec *r)
{
    jt_append(w, jt_rec_get(r), 1);
    jt_rec_free(r);
}

/* Tables t and u, ids 1..n inserted; then row 7 of t updated twice, its
** key changed to 7000, and 7000 deleted; u's row 7 updated once. Returns the
** seqs of t's row-7 story in want7[0..3] and of 7000 in want70[0..1]. */
static void story(jr_journal *j, int n, uint64_t want7[4],
                  uint64_t want70[2])
{
    jr_writer *w = jt_writer(j, 64, 3);
    jt_rec *r;

    for (int i = 1; i <= n; i++) {
        uint64_t s = jt_append(w, jt_rec_get(r = row(JR_K_INSERT, "t", i,
                                                      i)), 1);
        jt_rec_free(r);
        if (i == 7)
            want7[0] = s;
        put(w, row(JR_K_INSERT, "u", i, i));
    }
    want7[1] = jt_append(w, jt_rec_get(r = row(JR_K_UPDATE, "t", 7, 100)),
                         1);
    jt_rec_free(r);
    put(w, row(JR_K_UPDATE, "u", 7, 5));
    want7[2] = jt_append(w, jt_rec_get(r = row(JR_K_UPDATE, "t", 7, 101)),
                         1);
    jt_rec_free(r);
    r = jt_rec_new(JR_K_UPDATE, "t", 2000000);    /* key change 7 -> 7000 */
    jt_rec_int(r, JT_KEY, "id", 7);
    jt_rec_int(r, JT_NEW, "id", 7000);
    jt_rec_int(r, JT_NEW, "v", 102);
    want7[3] = want70[0] = jt_append(w, jt_rec_get(r), 1);
    jt_rec_free(r);
    want70[1] = jt_append(w, jt_rec_get(r = row(JR_K_DELETE, "t", 7000, 0)),
                          1);
    jt_rec_free(r);
    jt_commit(w, NULL);
    jr_writer_close(w);
}

/* The seqs of --json lines in g_out, in order. */
static int seqs_of(uint64_t *out, int cap)
{
    int n = 0;

    for (const char *p = g_out; (p = strstr(p, "{\"seq\":")) != NULL; p++)
        if (n < cap)
            out[n++] = strtoull(p + 7, NULL, 10);
    return n;
}

static void assert_seqs(const char *what, const uint64_t *want, int n)
{
    uint64_t got[64];
    int k = seqs_of(got, 64);

    cr_assert_eq(k, n, "%s: %d records, want %d:\n%s", what, k, n, g_out);
    for (int i = 0; i < n; i++)
        cr_assert_eq(got[i], want[i], "%s: record %d is seq %llu, want "
                     "%llu:\n%s", what, i, (unsigned long long)got[i],
                     (unsigned long long)want[i], g_out);
}

Test(tools_inspect_follow, history_lists_one_rows_changes_oldest_first)
{
    jr_journal *j = jt_open(jt_dir, 0, 0);
    uint64_t w7[4], w70[2];
    char *indexed;

    story(j, 300, w7, w70);
    jr_journal_close(j);
    jt_join(g_idx, sizeof(g_idx), jt_dir, "history.idx");
    cr_assert_eq(inspect("--json", "--index", g_idx, jt_dir, "history", "t",
                         "7", NULL), 0, "%s", g_out);
    assert_seqs("t 7", w7, 4);
    cr_assert_neq(strstr(g_out, "\"row\":{\"id\":7000,\"v\":102}"), NULL,
                  "the key change shows the new image:\n%s", g_out);
    indexed = strdup(g_out);
    cr_assert_eq(inspect("--json", "--no-index", jt_dir, "history", "t", "7",
                         NULL), 0, "%s", g_out);
    cr_assert_str_eq(g_out, indexed, "index and full scan disagree");
    free(indexed);
    cr_assert_eq(inspect("--json", "--index", g_idx, jt_dir, "history", "t",
                         "7000", NULL), 0, "%s", g_out);
    assert_seqs("t 7000", w70, 2);
    cr_assert_neq(strstr(g_out, "\"op\":\"delete\""), NULL, "%s", g_out);
    /* human form: every value */
    cr_assert_eq(inspect("--index", g_idx, jt_dir, "history", "u", "7",
                         NULL), 0, "%s", g_out);
    cr_assert_neq(strstr(g_out, "v=5"), NULL, "%s", g_out);
    cr_assert_eq(strstr(g_out, "v=100"), NULL, "t's change in u's:\n%s",
                 g_out);
    /* a row that never existed: exit 1 and a sentence */
    cr_assert_eq(inspect("--index", g_idx, jt_dir, "history", "t", "9999",
                         NULL), 1, "%s", g_out);
    cr_assert_neq(strstr(g_out, "no change of t"), NULL, "%s", g_out);
    cr_assert_eq(inspect(jt_dir, "history", "t", NULL), 64, "%s", g_out);
}

Test(tools_inspect_follow, the_history_index_follows_and_is_never_trusted)
{
    jr_journal *j = jt_open(jt_dir, 0, 0);
    char other[JT_PATH_MAX];
    uint64_t w7[4], w70[2], more[3];
    jr_writer *w;
    jt_rec *r;
    int fd;

    story(j, 50, w7, w70);
    jt_join(g_idx, sizeof(g_idx), jt_dir, "history.idx");
    cr_assert_eq(inspect("--json", "--index", g_idx, jt_dir, "history", "t",
                         "7000", NULL), 0, "%s", g_out);
    assert_seqs("first query", w70, 2);
    /* new records after the index was built: found */
    w = jt_writer(j, 64, 3);
    more[0] = w70[0];
    more[1] = w70[1];
    more[2] = jt_append(w, jt_rec_get(r = row(JR_K_INSERT, "t", 7000, 1)), 1);
    jt_rec_free(r);
    jt_commit(w, NULL);
    jr_writer_close(w);
    jr_journal_close(j);
    cr_assert_eq(inspect("--json", "--index", g_idx, jt_dir, "history", "t",
                         "7000", NULL), 0, "%s", g_out);
    assert_seqs("after new records", more, 3);
    /* another journal, same index file: rebuilt, not trusted */
    jt_join(other, sizeof(other), jt_dir, "other");
    j = jt_open(other, 0, 0);
    w = jt_writer(j, 64, 3);
    more[0] = jt_append(w, jt_rec_get(r = row(JR_K_INSERT, "t", 5, 1)), 1);
    jt_rec_free(r);
    jt_commit(w, NULL);
    jr_writer_close(w);
    jr_journal_close(j);
    cr_assert_eq(inspect("--json", "--index", g_idx, other, "history", "t",
                         "7000", NULL), 1, "another journal's index answered:"
                 "\n%s", g_out);
    cr_assert_eq(inspect("--json", "--index", g_idx, other, "history", "t",
                         "5", NULL), 0, "%s", g_out);
    assert_seqs("other journal", more, 1);
    /* a torn index (odd size): rebuilt */
    fd = open(g_idx, O_WRONLY | O_APPEND);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "xyz", 3), 3);
    close(fd);
    cr_assert_eq(inspect("--json", "--index", g_idx, other, "history", "t",
                         "5", NULL), 0, "%s", g_out);
    assert_seqs("torn index", more, 1);
    /* entries that lie (every hash pointing at every seq): the records
    ** themselves decide */
    {
        size_t n;
        unsigned char *p = jt_read_file(g_idx, &n);
        cr_assert_not_null(p);
        cr_assert_gt(n, 64);
        for (size_t i = 64; i + 16 <= n; i += 16)
            memset(p + i, 0x5a, 8);    /* garbage hash, seq kept */
        cr_assert_eq(jt_write_file(g_idx, p, n), 0);
        free(p);
    }
    cr_assert_eq(inspect("--json", "--index", g_idx, other, "history", "t",
                         "6", NULL), 1, "%s", g_out);
    /* --index naming a file that is not an index: left alone */
    {
        char notidx[JT_PATH_MAX];
        size_t n;
        char *p;
        jt_join(notidx, sizeof(notidx), jt_dir, "precious.txt");
        cr_assert_eq(jt_write_file(notidx, "precious\n", 9), 0);
        cr_assert_eq(inspect("--json", "--index", notidx, other, "history",
                             "t", "5", NULL), 0, "%s", g_out);
        assert_seqs("not an index", more, 1);
        p = jt_read_file(notidx, &n);
        cr_assert(p != NULL && n == 9 && memcmp(p, "precious\n", 9) == 0,
                  "--index overwrote a file that was not an index");
        free(p);
    }
    /* an index that cannot be written: the whole journal is read */
    cr_assert_eq(inspect("--json", "--index", "/nonexistent/dir/x.idx",
                         other, "history", "t", "5", NULL), 0, "%s", g_out);
    cr_assert_neq(strstr(g_out, "history index not used"), NULL, "%s",
                  g_out);
    assert_seqs("no index", more, 1);
}

/* ---- tail ---- */

typedef struct child {
    pid_t pid;
    FILE *out;             /* its stdout */
} child;

static void tail_start(child *c, const char *a1, ...)
{
    const char *argv[20];
    char exe[JT_PATH_MAX];
    va_list ap;
    int n = 1, fds[2];

    argv[0] = inspect_bin(exe, sizeof(exe));
    va_start(ap, a1);
    for (const char *a = a1; a != NULL && n < 19; a = va_arg(ap, const char *))
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    cr_assert_eq(pipe(fds), 0);
    c->pid = jt_fork();               /* no Criterion call in the child */
    if (c->pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    c->out = fdopen(fds[0], "r");
}

/* Next line of the child's output (waits; NULL at its end). */
static char *next_line(child *c, char *buf, size_t cap)
{
    return fgets(buf, (int)cap, c->out);
}

static int wait_exit(pid_t pid)
{
    int rc = tl_wait(pid, 60000);   /* a limit, not an expectation */

    if (rc < 0) {
        tl_kill(pid);
        cr_assert_fail("sluice-inspect tail did not end");
    }
    return rc;
}

static void append_rows(jr_journal *j, const char *table, int kind, int from,
                        int n)
{
    jr_writer *w = jt_writer(j, 64, 3);

    for (int i = from; i < from + n; i++)
        put(w, row(kind, table, i, i));
    jt_commit(w, NULL);
    jr_writer_close(w);
}

Test(tools_inspect_follow, tail_follows_new_records_with_filters)
{
    jr_journal *j = jt_open(jt_dir, 0, 0);
    child c;
    char line[4096];

    append_rows(j, "t", JR_K_INSERT, 1, 5);     /* before: not shown */
    tail_start(&c, "--json", "--poll-ms", "5", "--from", "1", "--table",
               "t", "--op", "update,delete", jt_dir, "tail", NULL);
    append_rows(j, "u", JR_K_UPDATE, 1, 3);     /* other table */
    append_rows(j, "t", JR_K_INSERT, 6, 3);     /* other op */
    append_rows(j, "t", JR_K_UPDATE, 42, 1);
    append_rows(j, "t", JR_K_DELETE, 43, 1);
    cr_assert_not_null(next_line(&c, line, sizeof(line)));
    cr_assert_neq(strstr(line, "\"op\":\"update\""), NULL, "%s", line);
    cr_assert_neq(strstr(line, "\"table\":\"t\""), NULL, "%s", line);
    cr_assert_neq(strstr(line, "\"id\":42"), NULL, "%s", line);
    cr_assert_not_null(next_line(&c, line, sizeof(line)));
    cr_assert_neq(strstr(line, "\"op\":\"delete\""), NULL, "%s", line);
    cr_assert_neq(strstr(line, "\"id\":43"), NULL, "%s", line);
    cr_assert_eq(line[0], '{', "one JSON object per line: %s", line);
    /* more later: followed */
    append_rows(j, "t", JR_K_DELETE, 44, 1);
    cr_assert_not_null(next_line(&c, line, sizeof(line)));
    cr_assert_neq(strstr(line, "\"id\":44"), NULL, "%s", line);
    kill(c.pid, SIGINT);
    cr_assert_eq(wait_exit(c.pid), 0, "SIGINT must end tail with exit 0");
    fclose(c.out);
    jr_journal_close(j);
}

Test(tools_inspect_follow, tail_ends_quietly_when_its_reader_goes_away)
{
    jr_journal *j = jt_open(jt_dir, 0, 0);
    child c;
    char line[4096];
    int rc;

    append_rows(j, "t", JR_K_INSERT, 1, 2);
    tail_start(&c, "--poll-ms", "5", "--from", "1", jt_dir, "tail", NULL);
    cr_assert_not_null(next_line(&c, line, sizeof(line)));
    fclose(c.out);                    /* like `| head -1` exiting */
    /* the next write fails: tail ends by itself, exit 0, no signal.
    ** Polled with WNOHANG (jt_wait SIGKILLs on its timeout, which a slow
    ** ASan tail would meet); 60 s is a limit, not an expectation */
    for (int i = 0; i < 600; i++) {
        int st;
        if (i < 200)
            append_rows(j, "t", JR_K_INSERT, 100 + i * 100, 100);
        if (waitpid(c.pid, &st, WNOHANG) == c.pid) {
            rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            cr_assert_eq(rc, 0, "tail whose reader went away: status %d",
                         rc);
            jr_journal_close(j);
            return;
        }
        usleep(100000);
    }
    tl_kill(c.pid);
    cr_assert_fail("tail went on writing to a closed pipe");
}

Test(tools_inspect_follow, bad_tail_and_history_arguments_are_usage_errors)
{
    jr_journal *j = jt_open(jt_dir, 0, 0);

    append_rows(j, "t", JR_K_INSERT, 1, 2);
    jr_journal_close(j);
    cr_assert_eq(inspect(jt_dir, "tail", "--op", "upsert", NULL), 64, "%s",
                 g_out);
    cr_assert_neq(strstr(g_out, "unknown kind 'upsert'"), NULL, "%s", g_out);
    cr_assert_eq(inspect(jt_dir, "tail", "--op", "insert,", NULL), 64, "%s",
                 g_out);
    cr_assert_eq(inspect(jt_dir, "stat", "--table", "t", NULL), 64, "%s",
                 g_out);
    cr_assert_eq(inspect(jt_dir, "history", NULL), 64, "%s", g_out);
    cr_assert_eq(inspect("--json", jt_dir, "list", "--op", "insert",
                         "--table", "nope", NULL), 0, "%s", g_out);
    cr_assert_eq(strstr(g_out, "{"), NULL, "no record of table nope: %s",
                 g_out);
}
