/*
** fuzz_inspect.c -- sluice-inspect's argument handling, run in process
** (inspect_main) against real journals made at start-up:
**   @    a journal with every record kind, every value type, a schema,
**        a replica, a source position, several batches
**   @p   the same fully pruned (every record acknowledged and pruned)
**   @e   a journal with nothing committed
**   @x   a directory with no journal
**   @i   a history index file (history's default index goes under the
**        same temporary directory: XDG_CACHE_HOME, and the fuzzer runs
**        in it, so a relative --index stays there too)
** Input: the arguments, NUL-separated; an argument that is exactly one of
** the names above becomes that directory's path. `tail` returns after one
** idle poll (inspect_tail_polls_max). Checked beyond "no crash, no leak":
** the exit status is one of the documented ones (0, 1, 64, 65, 66).
*/
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* nftw() */
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inspect.h"
#include "sluice/journal.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)
#define MAXARG 24

static char g_base[256], g_full[300], g_pruned[300], g_empty[300],
    g_none[300], g_index[300];

static void put(jr_writer *w, int kind, const char *table, int64_t id,
                int end)
{
    static const char *const names[] = { "id", "t", "r", "b", "n" };
    static const char aux[] = "{\"table\":\"t\",\"columns\":[{\"name\":\"id\","
                              "\"type\":\"INTEGER\",\"pk\":1}],\"key\":[\"id\"]}";
    jr_value v[5];
    jr_record r;

    memset(&r, 0, sizeof(r));
    memset(v, 0, sizeof(v));
    v[0].type = JR_INT;
    v[0].u.i = id;
    v[1].type = JR_TEXT;
    v[1].u.b.p = "caf\xc3\xa9 \"q\"\n";
    v[1].u.b.n = 10;
    v[2].type = JR_REAL;
    v[2].u.r = -0.1;
    v[3].type = JR_BLOB;
    v[3].u.b.p = "\x00\xff";
    v[3].u.b.n = 2;
    v[4].type = JR_NULL;
    r.kind = kind;
    r.table = table;
    r.time_us = 1700000000000000LL + id;
    r.key.n = 1;
    r.key.names = names;
    r.key.vals = v;
    if (kind == JR_K_INSERT || kind == JR_K_UPDATE) {
        r.new_row.n = 5;
        r.new_row.names = names;
        r.new_row.vals = v;
    }
    if (kind == JR_K_SCHEMA) {
        r.key.n = 0;
        r.aux = aux;
        r.aux_len = sizeof(aux) - 1;
    }
    CHECK(jr_writer_append(w, &r, end, NULL, NULL) == JR_OK);
}

static void make(const char *dir, int pruned)
{
    jr_journal_opts o = JR_JOURNAL_OPTS_INIT;
    jr_writer_opts wo = JR_WRITER_OPTS_INIT;
    jr_journal *j;
    jr_writer *w;
    uint64_t n;

    o.create = 1;
    o.map_initial = 1 << 20;
    CHECK(jr_journal_open(&j, dir, &o, NULL) == JR_OK);
    wo.batch_records = 4;
    CHECK(jr_writer_open(&w, j, &wo, NULL) == JR_OK);
    put(w, JR_K_SCHEMA, "t", 0, 0);
    put(w, JR_K_SNAP_BEGIN, "t", 0, 0);
    for (int i = 1; i <= 6; i++)
        put(w, JR_K_INSERT, "t", i, 0);
    put(w, JR_K_SNAP_END, "t", 0, 1);
    CHECK(jr_writer_commit(w, "pos 1", 5, NULL) == JR_OK);
    put(w, JR_K_UPDATE, "t", 2, 0);
    put(w, JR_K_DELETE, "t", 3, 1);
    put(w, JR_K_TRUNCATE, "t", 0, 1);
    put(w, JR_K_DROP, "t", 0, 1);
    CHECK(jr_writer_commit(w, "\x01\x02", 2, NULL) == JR_OK);
    jr_writer_close(w);
    CHECK(jr_replica_register(j, "r1", NULL) == JR_OK);
    CHECK(jr_replica_ack(j, "r1", pruned ? 13 : 9, NULL) == JR_OK);
    if (pruned)
        CHECK(jr_journal_prune(j, 0, &n, NULL) == JR_OK);
    jr_journal_close(j);
}

static int rm1(const char *path, const struct stat *st, int flag,
               struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void cleanup(void)
{
    nftw(g_base, rm1, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    jr_journal_opts o = JR_JOURNAL_OPTS_INIT;
    jr_journal *j;
    const char *tmp = getenv("TMPDIR");

    (void)argc;
    (void)argv;
    snprintf(g_base, sizeof(g_base), "%s/sluice-fuzz-inspect-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    CHECK(mkdtemp(g_base) != NULL);
    snprintf(g_full, sizeof(g_full), "%s/full", g_base);
    snprintf(g_pruned, sizeof(g_pruned), "%s/pruned", g_base);
    snprintf(g_empty, sizeof(g_empty), "%s/empty", g_base);
    snprintf(g_none, sizeof(g_none), "%s/none", g_base);
    make(g_full, 0);
    make(g_pruned, 1);
    o.create = 1;
    o.map_initial = 1 << 20;
    CHECK(jr_journal_open(&j, g_empty, &o, NULL) == JR_OK);
    jr_journal_close(j);
    CHECK(mkdir(g_none, 0700) == 0);
    snprintf(g_index, sizeof(g_index), "%s/history.idx", g_base);
    CHECK(setenv("XDG_CACHE_HOME", g_base, 1) == 0);
    CHECK(chdir(g_base) == 0);
    atexit(cleanup);
    inspect_tail_polls_max = 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1), *argv[MAXARG + 2];
    int argc = 1, rc;

    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    argv[0] = "sluice-inspect";
    for (size_t i = 0; i <= size && argc <= MAXARG; ) {
        char *a = buf + i;
        i += strlen(a) + 1;
        argv[argc++] = strcmp(a, "@") == 0 ? g_full
                       : strcmp(a, "@p") == 0 ? g_pruned
                       : strcmp(a, "@e") == 0 ? g_empty
                       : strcmp(a, "@x") == 0 ? g_none
                       : strcmp(a, "@i") == 0 ? g_index : a;
    }
    argv[argc] = NULL;
    rc = inspect_main(argc, argv);
    fflush(stdout);
    CHECK(rc == 0 || rc == 1 || rc == 64 || rc == 65 || rc == 66);
    free(buf);
    return 0;
}
