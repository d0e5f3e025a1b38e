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
**            `items` (autocommit), timed; variants: see br_cmd_load_data.
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
**            statement with disjoint key sets instead (see br_cmd_apply_ops):
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
**
** FILES: this file holds the options and main(); br.h the private
** interface; br_gen.c gen, changes and export; br_load.c load-data and
** upsert; br_apply.c apply-ops; br_server.c status and settle; br_run.c
** run; br_data.c the rows, br_sql.c and br_array.c the C loader's
** statements, br_db.c the sessions, br_buf.c the byte buffer;
** bench_util.h what every sluice-bench-* program shares.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "br.h"

int br_argc;
char **br_argv;

const char *br_opt(const char *name, const char *def)
{
    for (int i = 2; i + 1 < br_argc; i++)
        if (br_argv[i][0] == '-' && br_argv[i][1] == '-' &&
            strcmp(br_argv[i] + 2, name) == 0)
            return br_argv[i + 1];
    return def;
}

const char *br_req(const char *name)
{
    const char *v = br_opt(name, NULL);
    if (v == NULL)
        bu_die("--%s is required", name);
    return v;
}

long long br_opt_ll(const char *name, long long def)
{
    const char *v = br_opt(name, NULL);
    char *end;
    long long x;

    if (v == NULL)
        return def;
    errno = 0;
    x = strtoll(v, &end, 10);
    if (errno || *end || end == v)
        bu_die("--%s: not an integer: %s", name, v);
    return x;
}

int main(int argc, char **argv)
{
    static const struct { const char *name; int (*fn)(void); } cmds[] = {
        { "gen", br_cmd_gen }, { "changes", br_cmd_changes },
        { "export", br_cmd_export }, { "load-data", br_cmd_load_data },
        { "upsert", br_cmd_upsert }, { "apply-ops", br_cmd_apply_ops },
        { "settle", br_cmd_settle },
        { "run", br_cmd_run }, { "status", br_cmd_status },
    };
    char prog[128];

    br_argc = argc;
    br_argv = argv;
    if (argc < 2) {
        fprintf(stderr, "usage: sluice-bench-replay gen|changes|export|"
                "load-data|upsert|apply-ops|verify|settle|run|status "
                "[--opt V...]\n(see the comment at the top of tools/bench/"
                "bench_replay.c)\n");
        return 2;
    }
    snprintf(prog, sizeof(prog), "sluice-bench-replay %s", argv[1]);
    bu_prog(prog, 1);
    for (size_t i = 0; i < BU_NELEM(cmds); i++)
        if (strcmp(argv[1], cmds[i].name) == 0)
            return cmds[i].fn();
    bu_die("unknown subcommand");
}
