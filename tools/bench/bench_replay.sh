#!/usr/bin/env bash
# bench_replay.sh -- replay throughput against MariaDB's own ingest paths,
# all measured in one run on one private, durable MariaDB server.
#
#   tools/bench/bench_replay.sh
#
# What runs, in order (every timed phase starts after `settle`: InnoDB has
# flushed its dirty pages and purged its undo history, so no phase pays
# for the one before):
#   1. a 1,000,000-row SQLite table `items` (8 columns, ~230 bytes of
#      values: ints, short and long text, a REAL using all its bits, JSON
#      text, ORM dates '2026-04-16 22:41:27.490 +00:00' (1 in 20 with
#      another offset) declared DATETIME, NULLs, non-ASCII text);
#   2. sluice-capture --once: the snapshot into a journal (reported);
#   3. sluice-replay --once into an empty database (initial load), checked
#      against SQLite row by row (every check below is sluice-verify's);
#   4. baseline A: LOAD DATA LOCAL INFILE of the same rows from a TSV file
#      (export not timed) into a table made LIKE sluice's; A and the
#      initial load run twice each, interleaved, and the best of each
#      counts (the machine may be shared); references, not targets: A'
#      is LOAD DATA in replay's shape (DELETE + REPLACE INTO in one
#      transaction), A+ sets unique_checks=0, foreign_key_checks=0 so
#      InnoDB bulk-loads the empty table;
#   5. baseline B: a plain C loader, multi-row INSERT ... ON DUPLICATE KEY
#      UPDATE, 1000 rows a statement, a COMMIT every 10,000 rows;
#   6. steady state: an application makes 1,000,000 changes (25% inserts,
#      50% full-row updates, 25% deletes of random rows, transactions of
#      100..1000 changes) while sluice-capture follows and keeps up: each
#      source transaction waits until it is journaled, so it is one
#      journal group (the same shapes every run); then sluice-replay
#      --once applies them to the 1M-row copy, checked;
#   6b. (references, not targets) baseline B's loader applying the same
#      changes with the same transactions to its own 1M-row copy: B' in
#      order (a statement ends when the operation changes, as in
#      replay), B'' with upserts and deletes coalesced into one statement
#      each per 1000 rows (their key sets kept disjoint), B''+ the same
#      through prepared statements with array binding (Connector/C bulk
#      execution); all checked. B+ is B's load with array binding;
#   7. catch-up: 100,000 changes (same shapes) while replay is stopped
#      and capture runs, on the 1M-row table, then replay --once = time
#      to zero lag; the same on a fresh 100,000-row table.
# Peak RSS of every sluice-replay run: getrusage of the child.
#
# Targets: initial load >= 0.8x LOAD DATA rows/s; steady replay >= 1.0x
# the C loader (B) rows/s; catch-up time on the 1M-row table <= 1.5x the
# time on the 100k-row table (a backfill would scale ~10x); peak RSS of
# sluice-replay < 64 MiB; every sluice run equal to SQLite.
# Exit 0 when every target passes, 1 otherwise.
#
# Environment: SLUICE_BENCH_BUILD (build dir, default build-bench),
#   SLUICE_BENCH_DIR (work dir on a real disk, default .bench/replay),
#   SLUICE_BENCH_ROWS (1000000), SLUICE_BENCH_CHANGES (1000000),
#   SLUICE_BENCH_CATCHUP (100000), SLUICE_BENCH_SMALL (100000),
#   SLUICE_BENCH_KEEP=1 keeps the data (the server is always stopped),
#   SLUICE_BENCH_BUFFER_POOL=SIZE resizes InnoDB's buffer pool after start
#   (default: the harness's 128M; e.g. 1G to see the catch-up ratio with
#   the 1M-row table in memory).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${SLUICE_BENCH_BUILD:-$root/build-bench}
work=${SLUICE_BENCH_DIR:-$root/.bench/replay}
ROWS=${SLUICE_BENCH_ROWS:-1000000}
CHANGES=${SLUICE_BENCH_CHANGES:-1000000}
CATCHUP=${SLUICE_BENCH_CATCHUP:-100000}
SMALL=${SLUICE_BENCH_SMALL:-100000}

me=${0##*/}
die() { echo "$me: $*" >&2; exit 1; }
say() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ---- build (Release, only what the bench runs) ----------------------------
if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
          -DSLUICE_TESTS=OFF >/dev/null
elif ! grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$build/CMakeCache.txt"; then
    die "$build is not a Release build"
fi
cmake --build "$build" -j"$(nproc)" --target sluice-capture sluice-replay \
      sluice-verify sluice-bench-replay >/dev/null
B=$build/tools/bench/sluice-bench-replay
CAPTURE=$build/capture/sluice-capture
REPLAY=$build/replay/sluice-replay
VERIFY=$build/tools/verify/sluice-verify

mkdir -p "$work"
fstype=$(df -PT "$work" | awk 'NR==2 {print $2}')
case $fstype in
tmpfs|ramfs) die "$work is on $fstype; fsync is free there. Point SLUICE_BENCH_DIR at a real disk." ;;
esac

run=$work/run
srv=$work/mariadb
rm -rf "$run"
mkdir -p "$run"
cap_pid=
# shellcheck disable=SC2317  # runs from the EXIT trap
cleanup() {
    local rc=$?
    if [ -n "$cap_pid" ]; then
        kill -TERM "$cap_pid" 2>/dev/null || true
        wait "$cap_pid" 2>/dev/null || true
    fi
    "$root/tests/harness/mariadb.sh" stop "$srv" >>"$run/mariadb.log" 2>&1 || true
    if [ "${SLUICE_BENCH_KEEP:-0}" != 1 ]; then
        rm -rf "$run"/*.db "$run"/*.db-* "$run"/j* "$run"/*.tsv "$srv/data"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "starting a private MariaDB in $srv"
"$root/tests/harness/mariadb.sh" start "$srv" >>"$run/mariadb.log" 2>&1 ||
    { cat "$run/mariadb.log" >&2; die "MariaDB did not start"; }
# shellcheck disable=SC1091
. "$srv/env"
SOCK=$SLUICE_TEST_MYSQL_SOCKET
DBUSER=$SLUICE_TEST_MYSQL_USER
export SLUICE_TARGET_PASSWORD=$SLUICE_TEST_MYSQL_PASSWORD
export MYSQL_PWD=$SLUICE_TEST_MYSQL_PASSWORD      # for the mariadb client

sql() {
    mariadb --no-defaults --protocol=socket --socket="$SOCK" -u"$DBUSER" \
            --batch --skip-column-names -e "$1"
}
# on DATABASE: the helpers' connection options
on() { CONN=(--socket "$SOCK" --user "$DBUSER" --database "$1"); }
url() { printf 'mariadb://%s@localhost/%s?socket=%s\n' "$DBUSER" "$1" "$SOCK"; }

# kv FILE KEY: the value of KEY=... in FILE's last line that has it
kv() { sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p" "$1" | tail -n 1; }

# helper NAME SUBCOMMAND ARGS...: run a bench helper, keep its result line
helper() {
    local name=$1
    shift
    "$B" "$@" >"$run/$name.out" 2>"$run/$name.err" ||
        { cat "$run/$name.err" "$run/$name.out" >&2; die "$name failed"; }
}

settle() {
    helper "settle-$1" settle --socket "$SOCK" --user "$DBUSER" \
           --database sluice_test --timeout-s 90
    say "  settled in $(kv "$run/settle-$1.out" seconds) s"
}

# timed NAME CMD...: wall time and peak RSS of CMD (stderr to NAME.log)
timed() {
    local name=$1
    shift
    "$B" run --out "$run/$name.res" -- "$@" >"$run/$name.stdout" \
        2>"$run/$name.log" ||
        { tail -n 20 "$run/$name.log" >&2; die "$name failed (log: $run/$name.log)"; }
}

verified_all=1
verify() {                     # verify NAME SQLITE DATABASE (sluice-verify)
    local t0=$SECONDS
    if "$VERIFY" --source "$2" --tables items \
        --target "mariadb://$DBUSER@localhost/$3?socket=$SOCK" \
        >"$run/verify-$1.out" 2>"$run/verify-$1.err"; then
        say "  verified: $(grep -m1 '^table=' "$run/verify-$1.out") seconds=$((SECONDS - t0))"
    else
        verified_all=0
        say "  VERIFY FAILED for $1:"
        cat "$run/verify-$1.err" "$run/verify-$1.out" >&2
    fi
}

capture_live() {               # capture_live SQLITE JOURNAL LOG
    "$CAPTURE" --source "$1" --journal "$2" --poll-ms 1 2>>"$3" &
    cap_pid=$!
}

capture_finish() {             # capture_finish SQLITE JOURNAL LOG
    kill -TERM "$cap_pid"
    wait "$cap_pid" || die "sluice-capture failed (log: $3)"
    cap_pid=
    "$CAPTURE" --source "$1" --journal "$2" --once 2>>"$3" ||
        die "sluice-capture --once failed (log: $3)"
}

# srv NAME 0|1: server counters before (0) / after (1) phase NAME
srv() {
    "$B" status --socket "$SOCK" --user "$DBUSER" --database sluice_test \
        --server-pid "$SLUICE_TEST_MYSQL_PID" \
        >"$run/$1.srv$2" 2>>"$run/status.err" || true
}

# phase NAME ROWS VS LABEL: a line of the report (VS: baseline name or -)
phase() { printf '%s|%s|%s|%s\n' "$1" "$2" "$3" "$4" >>"$run/phases"; }

replay() {                     # replay NAME JOURNAL DATABASE
    srv "$1" 0
    timed "$1" "$REPLAY" --journal "$2" --target "$(url "$3")" --once
    srv "$1" 1
    say "  $1: $(cat "$run/$1.res") $(grep -o 'groups=[0-9]*' "$run/$1.log" | tail -n 1)"
}

# base NAME SUBCOMMAND ARGS...: a timed helper (baselines), with counters
base() {
    local name=$1
    shift
    srv "$name" 0
    helper "$name" "$@"
    srv "$name" 1
    say "  $(cat "$run/$name.out")"
}

t_start=$(date +%s)
db1=$run/big.db j1=$run/j-big
db2=$run/small.db j2=$run/j-small
if [ -n "${SLUICE_BENCH_BUFFER_POOL:-}" ]; then
    bp=$SLUICE_BENCH_BUFFER_POOL
    case $bp in
    *[gG]) bp=$(( ${bp%[gG]} * 1073741824 )) ;;
    *[mM]) bp=$(( ${bp%[mM]} * 1048576 )) ;;
    esac
    sql "SET GLOBAL innodb_buffer_pool_size = $bp"
    for _ in $(seq 1 300); do            # the resize runs in the background
        pages=$(sql "SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_total'" |
                awk '{print $2}')
        [ $(( pages * 16384 * 10 )) -lt $(( bp * 9 )) ] || break
        sleep 0.1
    done
fi
pool_mib=$(( $(sql 'SELECT @@innodb_buffer_pool_size') / 1048576 ))

# ---- 1-3: snapshot and initial load ---------------------------------------
say "generating $ROWS rows in $db1"
helper gen-big gen --db "$db1" --rows "$ROWS" --seed 1
say "  $(cat "$run/gen-big.out")"
say "sluice-capture --once (snapshot)"
timed capture-snap "$CAPTURE" --source "$db1" --journal "$j1" --once
say "  $(cat "$run/capture-snap.res")"

helper export export --db "$db1" --out "$run/big.tsv"
sql "CREATE DATABASE b_init; CREATE DATABASE b_init2; CREATE DATABASE b_a;
     CREATE DATABASE b_b; CREATE DATABASE b_x; CREATE DATABASE b_y;
     CREATE DATABASE b_small"

# A and the initial load twice each, interleaved; the ratio uses the best
# of each (this machine is shared; one slow run should not decide)
a_count() {
    [ "$(sql 'SELECT COUNT(*) FROM b_a.items')" = "$ROWS" ] ||
        die "baseline A loaded $(sql 'SELECT COUNT(*) FROM b_a.items') rows"
}
settle init
say "initial load: sluice-replay --once (1 of 2)"
replay init "$j1" b_init
verify init "$db1" b_init
sql "CREATE TABLE b_a.items LIKE b_init.items;
     CREATE TABLE b_b.items LIKE b_init.items;
     CREATE TABLE b_x.items LIKE b_init.items;
     CREATE TABLE b_y.items LIKE b_init.items"
on b_a
settle a1
say "baseline A: LOAD DATA LOCAL INFILE (1 of 2)"
base base-a1 load-data "${CONN[@]}" --file "$run/big.tsv"
a_count
sql "TRUNCATE TABLE b_a.items"
settle init2
say "initial load: sluice-replay --once (2 of 2)"
replay init2 "$j1" b_init2
verify init2 "$db1" b_init2
sql "DROP DATABASE b_init2"
settle a2
say "baseline A: LOAD DATA LOCAL INFILE (2 of 2)"
base base-a2 load-data "${CONN[@]}" --file "$run/big.tsv"
a_count

on b_x
settle asl
say "reference A': LOAD DATA as replay sends it (DELETE + REPLACE, one transaction)"
base base-asl load-data "${CONN[@]}" --file "$run/big.tsv" --as-replay 1
sql "TRUNCATE TABLE b_x.items"
settle abulk
say "reference A+: LOAD DATA with unique_checks=0, foreign_key_checks=0 (InnoDB bulk insert)"
base base-abulk load-data "${CONN[@]}" --file "$run/big.tsv" --bulk 1
sql "DROP DATABASE b_x"

settle b
say "baseline B: C multi-row upsert loader"
on b_b
base base-b upsert "${CONN[@]}" --file "$run/big.tsv" --stmt-rows 1000 \
     --txn-rows 10000
[ "$(sql 'SELECT COUNT(*) FROM b_b.items')" = "$ROWS" ] ||
    die "baseline B loaded $(sql 'SELECT COUNT(*) FROM b_b.items') rows"
settle barr
say "reference B+: B's rows through a prepared upsert with array binding"
on b_y
base base-barr upsert "${CONN[@]}" --file "$run/big.tsv" --stmt-rows 1000 \
     --txn-rows 10000 --array 1
[ "$(sql 'SELECT COUNT(*) FROM b_y.items')" = "$ROWS" ] ||
    die "reference B+ loaded $(sql 'SELECT COUNT(*) FROM b_y.items') rows"

# ---- 6: steady state --------------------------------------------------------
say "application: $CHANGES changes while sluice-capture follows"
capture_live "$db1" "$j1" "$run/capture-steady.log"
helper changes-steady changes --db "$db1" --changes "$CHANGES" --seed 2 \
       --txn-min 100 --txn-max 1000 --ops "$run/ops-steady.tsv" \
       --wait-journal "$j1"
capture_finish "$db1" "$j1" "$run/capture-steady.log"
say "  $(cat "$run/changes-steady.out")"
settle steady
say "steady replay: sluice-replay --once"
replay steady "$j1" b_init
verify steady "$db1" b_init

settle bmix
say "reference B': the C loader applying the same changes in order, a COMMIT per source transaction"
on b_b
base base-bmix apply-ops "${CONN[@]}" --file "$run/ops-steady.tsv" \
     --stmt-rows 1000 --txn-rows 0
verify bmix "$db1" b_b
sql "DROP DATABASE b_b"
settle bco
say "reference B'': the same, upserts and deletes coalesced per transaction (disjoint keys)"
on b_a
base base-bco apply-ops "${CONN[@]}" --file "$run/ops-steady.tsv" \
     --stmt-rows 1000 --txn-rows 0 --coalesce 1
verify bco "$db1" b_a
sql "DROP DATABASE b_a"
settle barrmix
say "reference B''+: the same, coalesced, array binding"
on b_y
base base-barrmix apply-ops "${CONN[@]}" --file "$run/ops-steady.tsv" \
     --stmt-rows 1000 --txn-rows 0 --array 1
verify barrmix "$db1" b_y
sql "DROP DATABASE b_y"

# ---- 7: catch-up ------------------------------------------------------------
rows_big=$(sql 'SELECT COUNT(*) FROM b_init.items')
say "catch-up, $rows_big-row table: $CATCHUP changes while replay is down"
capture_live "$db1" "$j1" "$run/capture-cu-big.log"
helper changes-cu-big changes --db "$db1" --changes "$CATCHUP" --seed 3 \
       --txn-min 100 --txn-max 1000 --wait-journal "$j1"
capture_finish "$db1" "$j1" "$run/capture-cu-big.log"
settle cu-big
replay cu-big "$j1" b_init
verify cu-big "$db1" b_init

say "catch-up, $SMALL-row table"
helper gen-small gen --db "$db2" --rows "$SMALL" --seed 1
timed capture-small "$CAPTURE" --source "$db2" --journal "$j2" --once
settle init-small
replay init-small "$j2" b_small
verify init-small "$db2" b_small
capture_live "$db2" "$j2" "$run/capture-cu-small.log"
helper changes-cu-small changes --db "$db2" --changes "$CATCHUP" --seed 3 \
       --txn-min 100 --txn-max 1000 --wait-journal "$j2"
capture_finish "$db2" "$j2" "$run/capture-cu-small.log"
settle cu-small
replay cu-small "$j2" b_small
verify cu-small "$db2" b_small
t_total=$(( $(date +%s) - t_start ))

# ---- report -----------------------------------------------------------------
phase base-a1 "$ROWS" - "A   LOAD DATA LOCAL INFILE, TSV file (1)"
phase base-a2 "$ROWS" - "A   LOAD DATA LOCAL INFILE, TSV file (2)"
phase base-asl "$ROWS" A "A'  LOAD DATA as replay: DELETE+REPLACE"
phase base-abulk "$ROWS" A "A+  LOAD DATA, unique/fk checks off"
phase base-b "$ROWS" - "B   C loader: upsert 1000 rows/stmt, 10k/txn"
phase base-barr "$ROWS" B "B+  B, prepared + array binding"
phase capture-snap "$ROWS" - "capture --once: snapshot -> journal"
phase init "$ROWS" A "initial load: replay --once (1)"
phase init2 "$ROWS" A "initial load: replay --once (2)"
phase steady "$CHANGES" B "steady: replay --once, change stream"
phase base-bmix "$CHANGES" B "B'  C loader, same txns, in order"
phase base-bco "$CHANGES" B "B'' C loader, same txns, coalesced"
phase base-barrmix "$CHANGES" B "B''+ B'' with array binding"
phase cu-big "$CATCHUP" B "catch-up: $CATCHUP changes, ${rows_big}-row tbl"
phase cu-small "$CATCHUP" B "catch-up: $CATCHUP changes, ${SMALL}-row tbl"
phase init-small "$SMALL" A "(initial load of the ${SMALL}-row table)"

out=$work/results.txt
mver=$(sql 'SELECT VERSION()')
rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo none)
[ -z "$(git -C "$root" status --porcelain -- journal capture replay 2>/dev/null)" ] ||
    rev="$rev+uncommitted changes in journal/capture/replay"
{
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -m), $fstype on" \
     "$(df -P "$work" | awk 'NR==2 {print $1}'), $(nproc) cpus, MariaDB" \
     "$mver (innodb_flush_log_at_trx_commit=1, buffer pool ${pool_mib}M)," \
     "commit $rev, bench took ${t_total}s"
echo
awk -F'|' -v run="$run" -v verified="$verified_all" -v rows_big="$rows_big" \
    -v small="$SMALL" -v ncpu="$(nproc)" '
function load(file, arr,    line, n, i, kvs, p) {
    delete arr
    while ((getline line < file) > 0) {
        n = split(line, kvs, " ")
        for (i = 1; i <= n; i++)
            if ((p = index(kvs[i], "=")) > 0)
                arr[substr(kvs[i], 1, p - 1)] = substr(kvs[i], p + 1)
    }
    close(file)
}
function groups(name,    line, g) {
    g = ""
    while ((getline line < (run "/" name ".log")) > 0)
        if (line ~ /event=replay\.stopped/ && match(line, /groups=[0-9]+/))
            g = substr(line, RSTART + 7, RLENGTH - 7)
    close(run "/" name ".log")
    return g
}
function check(name, ok, detail) {
    printf "%s  %-56s %s\n", ok ? "PASS" : "FAIL", name, detail
    if (!ok) failed = 1
}
function max2(a, b) { return a > b ? a : b }
{
    name = $1; n = $2; vs = $3; label = $4
    load(run "/" name ".res", R)
    load(run "/" name ".out", O)
    load(run "/" name ".srv0", S0)
    load(run "/" name ".srv1", S1)
    secs = ("seconds" in R) ? R["seconds"] : O["seconds"]
    T[name] = secs; RPS[name] = n / secs; N[name] = n
    if (name == "base-a2")                 # A = the better of two runs
        RPS["A"] = max2(RPS["base-a1"], RPS["base-a2"])
    if (name == "base-b")
        RPS["B"] = RPS["base-b"]
    ratio = (vs == "A" || vs == "B") ? sprintf("%.2f", n / secs / RPS[vs]) \
                                      : ""
    rss = anon = ""
    client = ("client_cpu_s" in O) ? O["client_cpu_s"] : 0
    if ("maxrss_kb" in R) {
        rss = sprintf("%.0f", R["maxrss_kb"] / 1024)
        anon = sprintf("%.0f", R["peak_anon_kb"] / 1024)
        client = R["user_s"] + R["sys_s"]
        if (name != "capture-snap") {
            RSS[name] = R["maxrss_kb"] / 1024
            ANON[name] = R["peak_anon_kb"] / 1024
            CPU[name] = client
        }
    }
    stm = rps = scpu = rd = oth = ""
    if ("Questions" in S1) {
        stm = S1["Questions"] - S0["Questions"] - 2  # our status query
        rps = stm > 0 ? sprintf("%.1f", n / stm) : ""
        sc = S1["server_cpu_s"] - S0["server_cpu_s"]
        scpu = sprintf("%.1f", sc)
        rd = S1["Innodb_buffer_pool_reads"] - S0["Innodb_buffer_pool_reads"]
        o = S1["machine_busy_s"] - S0["machine_busy_s"] - sc - client
        oth = sprintf("%.1f", o > 0 ? o : 0)
        other += o > 0 ? o : 0; timed += secs
    }
    if (NR == 1)
        printf "%-44s %8s %7s %7s %5s %8s %6s %7s %5s %6s %6s %7s\n", "run",
            "rows", "seconds", "rows/s", "ratio", "RSS/anon", "groups",
            "stmts", "r/st", "srvCPU", "othCPU", "pool_rd"
    printf "%-44s %8d %7.2f %7.0f %5s %8s %6s %7s %5s %6s %6s %7s\n", label,
        n, secs, n / secs, ratio (ratio != "" ? vs : ""),
        rss != "" ? rss "/" anon : "", groups(name), stm, rps, scpu, oth, rd
}
END {
    printf "\nratio: rows/s against baseline A (the better of its two runs) " \
        "or B of this run.\nRSS/anon: peak RSS (getrusage) / peak RssAnon " \
        "of the process, MiB (the rest is file-backed: mapped journal\n" \
        "pages and libraries). stmts: statements the server received, r/st" \
        " rows per statement. srvCPU: mariadbd\nCPU s. othCPU: CPU s used " \
        "by everything else on the machine meanwhile (other users, kernel " \
        "I/O\nthreads). pool_rd: InnoDB buffer pool misses (page reads). " \
        "replay CPU s (user+sys): initial %.1f,\nsteady %.1f, catch-up " \
        "%.1f / %.1f.\n\n", CPU["init"], CPU["steady"], CPU["cu-big"],
        CPU["cu-small"]
    if (timed > 0 && other / timed > 0.1)
        printf "WARNING: the machine was not idle: other processes used " \
            "%.0f CPU-s during %.0f s of timed phases\n(%.0f%% of one of %d " \
            "CPUs); the figures and ratios are disturbed by that.\n\n", other,
            timed, 100 * other / timed, ncpu
    maxrss = 0; maxanon = 0; nr = 0
    for (k in RSS) {
        nr++
        if (RSS[k] > maxrss) { maxrss = RSS[k]; at = k }
        if (ANON[k] > maxanon) maxanon = ANON[k]
    }
    init = max2(RPS["init"], RPS["init2"])
    r = init / RPS["A"]
    check("initial load >= 0.8x LOAD DATA rows/s (best of 2 each)", r >= 0.8,
          sprintf("%.2fx (%.0f vs %.0f rows/s)", r, init, RPS["A"]))
    r = RPS["steady"] / RPS["B"]
    check("steady replay >= 1.0x the C multi-row loader rows/s", r >= 1.0,
          sprintf("%.2fx (%.0f vs %.0f rows/s)", r, RPS["steady"],
                  RPS["B"]))
    r = T["cu-big"] / T["cu-small"]
    check(sprintf("catch-up time, %dk-row / %dk-row table <= 1.5",
                  rows_big / 1000, small / 1000), r <= 1.5,
          sprintf("%.2f (%.2f s / %.2f s; tables %.0fx)", r, T["cu-big"],
                  T["cu-small"], rows_big / small))
    check("peak RSS of sluice-replay < 64 MiB", maxrss < 64,
          sprintf("%.1f MiB (%s; max of %d runs; anon max %.1f MiB)",
                  maxrss, at, nr, maxanon))
    check("every sluice run equals SQLite (rows, every column)",
          verified == 1, verified == 1 ? "checked after each replay" :
          "see the log above")
    exit failed
}' "$run/phases"
} >"$out" 2>&1 || rc=$?
cat "$out"
echo "results: $out (logs: $run)"
exit "${rc:-0}"
