#!/usr/bin/env bash
#
# tools/demo.sh -- see sluice keep a MariaDB copy of an SQLite database live
# through a MariaDB crash. One command, run from anywhere in the checkout:
#
#   tools/demo.sh
#
# On a fresh Debian 12 machine it:
#   1. installs the missing Debian packages (tools/lib/packages.sh; as root,
#      otherwise it prints the sudo command to run first),
#   2. builds sluice into build-demo/,
#   3. starts a private MariaDB server under .demo/ (tests/harness/mariadb.sh:
#      its own datadir, socket and port; a system MariaDB is never touched),
#   4. creates .demo/app.db, a sample SQLite "shop" (tools/demo/app.sql),
#   5. runs sluice-capture (SQLite -> journal) and sluice-replay
#      (journal -> MariaDB) in the background, logs in .demo/logs/,
#   6. runs an application writer (tools/demo/change.sql in a loop),
#      kills MariaDB with SIGKILL while it writes, restarts it, and prints
#      the replication lag once a second as it grows and drains to zero,
#   7. checks with sluice-verify that MariaDB holds exactly the rows
#      SQLite holds, table by table and value by value,
#   8. stops everything it started and removes .demo/ (kept on failure).
# Exit status 0 only when every check passed. It takes under a minute
# after the build; Ctrl-C stops everything and cleans up too.
#
# Environment: SLUICE_DEMO_KEEP=1 keeps .demo/ (and its logs) after a
# successful run; SLUICE_DEMO_OUTAGE_S (default 8) is how long MariaDB
# stays down; SLUICE_DEMO_BUILD_TYPE (default Release) is CMAKE_BUILD_TYPE.

set -uo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd -P)
cd "$ROOT" || exit 1

# Paths are relative to the checkout so that the commands printed below
# are the commands that run.
BUILD=build-demo
DEMO=.demo
APP_DB=$DEMO/app.db
JOURNAL=$DEMO/journal
MYDIR=$DEMO/mariadb
LOGS=$DEMO/logs
CAPTURE=$BUILD/capture/sluice-capture
REPLAY=$BUILD/replay/sluice-replay
INSPECT=$BUILD/tools/inspect/sluice-inspect
VERIFY=$BUILD/tools/verify/sluice-verify
MARIADB_SH=tests/harness/mariadb.sh
SAMPLE_SQL=tools/demo/app.sql
CHANGE_SQL=tools/demo/change.sql

BUILD_TYPE=${SLUICE_DEMO_BUILD_TYPE:-Release}
OUTAGE_S=${SLUICE_DEMO_OUTAGE_S:-8}
KEEP=${SLUICE_DEMO_KEEP:-0}
DRAIN_TIMEOUT_S=120

CAPTURE_PID=
REPLAY_PID=
WRITER_PID=
MARIADB_STARTED=0
T0=$SECONDS

# ---- output --------------------------------------------------------------

STEP=0
section() {
    STEP=$((STEP + 1))
    printf '\n==== %d. %s\n' "$STEP" "$*"
}
say() { printf '  %s\n' "$*"; }
cmd() { printf '  $ %s\n' "$*"; }
die() {
    printf '\ndemo: FAILED: %s\n' "$*" >&2
    exit 1
}

# show_log FILE: its last lines, indented (what a failure message points at).
show_log() {
    [[ -s $1 ]] || return 0
    printf '  --- last lines of %s:\n' "$1" >&2
    tail -n "${2:-15}" "$1" | sed 's/^/  | /' >&2
}

# ---- cleanup ---------------------------------------------------------------

# stop_pid PID NAME: SIGTERM (the programs exit 0 on it), SIGKILL after 10 s.
stop_pid() {
    local pid=$1 i
    [[ -n $pid ]] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        printf '  %s (pid %s) ignored SIGTERM for 10 s: SIGKILL\n' "$2" "$pid" >&2
        kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    return 0
}

stop_writer() {
    [[ -n $WRITER_PID ]] || return 0
    : >"$DEMO/writer.stop"
    stop_pid "$WRITER_PID" writer
    WRITER_PID=
}

# shellcheck disable=SC2317 # trap handler
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n $WRITER_PID$CAPTURE_PID$REPLAY_PID ]] || ((MARIADB_STARTED)); then
        section "Cleaning up"
    fi
    stop_writer
    [[ -z $CAPTURE_PID ]] || { stop_pid "$CAPTURE_PID" sluice-capture && say "stopped sluice-capture"; }
    [[ -z $REPLAY_PID ]] || { stop_pid "$REPLAY_PID" sluice-replay && say "stopped sluice-replay"; }
    if ((MARIADB_STARTED)); then
        bash "$MARIADB_SH" stop "$MYDIR" >/dev/null 2>&1 && say "stopped the private MariaDB"
    fi
    if ((rc == 0 || rc == 130)) && [[ $KEEP != 1 ]]; then
        rm -rf "$DEMO" && say "removed $DEMO/"
    elif [[ -d $DEMO ]]; then
        say "kept $DEMO/ for a look: logs in $LOGS/, SQLite file $APP_DB"
    fi
    exit "$rc"
}

# shellcheck disable=SC2317 # trap handler
on_signal() {
    printf '\ndemo: interrupted\n' >&2
    exit 130
}

# A previous run that was killed may have left processes behind: stop
# those we recorded, by pid, and only if they are still our programs.
stop_leftovers() {
    local pid arg i
    local -a pids=()
    if [[ -r $DEMO/pids ]]; then
        while read -r pid; do
            [[ $pid =~ ^[0-9]+$ && $pid != "$$" && -r /proc/$pid/cmdline ]] || continue
            while IFS= read -r -d '' arg; do
                if [[ $arg == "$ROOT/$BUILD/"* || $arg == "$BUILD/"* ||
                    $arg == *tools/demo.sh ]]; then
                    kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
                    break
                fi
            done <"/proc/$pid/cmdline"
        done <"$DEMO/pids"
    fi
    for pid in "${pids[@]}"; do
        for ((i = 0; i < 100; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null
    done
    ((${#pids[@]} == 0)) || say "stopped ${#pids[@]} process(es) left by an earlier run"
    [[ ! -d $MYDIR ]] || bash "$MARIADB_SH" stop "$MYDIR" >/dev/null 2>&1
    rm -rf "$DEMO"
}

# ---- helpers -----------------------------------------------------------------

# sql Q: run Q in the target database as MariaDB root, over the private
# socket (root has no password there and is not reachable otherwise).
sql() {
    mariadb --no-defaults --protocol=socket --socket="$SOCKET" -uroot \
        --connect-timeout=2 --batch --skip-column-names --raw \
        "$SLUICE_TEST_MYSQL_DB" -e "$1"
}

lite() {
    sqlite3 -init /dev/null -batch -noheader "$APP_DB" "$1"
}

# read_state: COMPLETE (last seq of a complete journal group), REPORTED (the
# applied seq the replica reported to the journal, at most once a second),
# APPLIED
# (sqlite_sluice_position.seq in MariaDB, committed with the data; "-" while
# MariaDB is down), LAG (COMPLETE minus the best known applied seq),
# WROTE/WFAIL (writer transactions committed/failed).
read_state() {
    local js w
    # MariaDB first, then the journal: what is applied can then never look
    # ahead of what is journaled.
    APPLIED=$(sql "SELECT seq FROM sqlite_sluice_position WHERE replica = 'default'" 2>/dev/null) ||
        APPLIED=-
    [[ $APPLIED =~ ^[0-9]+$ ]] || APPLIED=-
    COMPLETE=0
    REPORTED=0
    if js=$("$INSPECT" --json "$JOURNAL" stat 2>/dev/null); then
        COMPLETE=$(sed -n 's/.*"complete_seq":\([0-9]*\).*/\1/p' <<<"$js")
        REPORTED=$(sed -n 's/.*"applied_seq":\([0-9]*\).*/\1/p' <<<"$js")
        COMPLETE=${COMPLETE:-0}
        REPORTED=${REPORTED:-0}
    fi
    if [[ $APPLIED == - ]]; then
        LAG=$((COMPLETE - REPORTED))
    else
        LAG=$((COMPLETE - APPLIED))
    fi
    ((LAG >= 0)) || LAG=0
    WROTE=0
    WFAIL=0
    if [[ -r $DEMO/writer.count ]] && read -r w <"$DEMO/writer.count"; then
        read -r WROTE WFAIL <<<"$w"
    fi
}

# check_alive: capture and replay must keep running through everything.
check_alive() {
    if [[ -n $CAPTURE_PID ]] && ! kill -0 "$CAPTURE_PID" 2>/dev/null; then
        wait "$CAPTURE_PID"
        printf '\n  sluice-capture exited (status %s)\n' "$?" >&2
        CAPTURE_PID=
        show_log "$LOGS/capture.log" 20
        die "sluice-capture stopped unexpectedly"
    fi
    if [[ -n $REPLAY_PID ]] && ! kill -0 "$REPLAY_PID" 2>/dev/null; then
        wait "$REPLAY_PID"
        printf '\n  sluice-replay exited (status %s)\n' "$?" >&2
        REPLAY_PID=
        show_log "$LOGS/replay.log" 20
        die "sluice-replay stopped unexpectedly"
    fi
}

# now_ms: wall-clock milliseconds (bash 5's EPOCHREALTIME, no fork).
now_ms() {
    local t=${EPOCHREALTIME/[.,]/}
    printf '%d\n' $((10#$t / 1000))
}

PHASE_T0=$(now_ms)
# status_line: one line of numbers, as the phases below print them;
# the time is counted from the start of the phase.
status_line() {
    local applied=$APPLIED db=up el
    [[ $APPLIED != - ]] || { applied='?' db=DOWN; }
    el=$(($(now_ms) - PHASE_T0))
    printf '  [%3d.%ds] journal %6d | reported %6d | applied in MariaDB %6s | lag %5d records | MariaDB %-4s | writer %4d tx\n' \
        $((el / 1000)) $((el % 1000 / 100)) "$COMPLETE" "$REPORTED" "$applied" "$LAG" "$db" "$WROTE"
}

# scrape: one line of $DEMO/metrics.tsv from the real /metrics endpoints
# (seconds since the start, end-to-end lag s, replay lag records, capture
# backlog, MariaDB up 1/0); the README's picture is plotted from it (kept
# in $BUILD/ as demo-lag.png and demo-metrics.tsv, as .demo/ is removed).
METRICS_T0=
scrape() {
    local cport rport c r e2e lagr backlog up
    cport=$(sed -n 's/.*event=capture.metrics .*port=\([0-9]*\).*/\1/p' "$LOGS/capture.log" | head -1)
    rport=$(sed -n 's/.*event=replay.metrics .*port=\([0-9]*\).*/\1/p' "$LOGS/replay.log" | head -1)
    [[ -n $cport && -n $rport ]] || return 0
    c=$(curl -sf --max-time 2 "http://127.0.0.1:$cport/metrics") || return 0
    r=$(curl -sf --max-time 2 "http://127.0.0.1:$rport/metrics") || return 0
    e2e=$(sed -n 's/^sluice_end_to_end_lag_seconds{.*replica="default"} //p' <<<"$c")
    backlog=$(sed -n 's/^sluice_capture_backlog_changes{.*} //p' <<<"$c")
    lagr=$(sed -n 's/^sluice_replay_lag_records{.*} //p' <<<"$r")
    up=$(sed -n 's/^sluice_replay_target_up{.*} //p' <<<"$r")
    [[ -n $METRICS_T0 ]] || METRICS_T0=$(now_ms)
    printf '%s\t%s\t%s\t%s\t%s\n' "$(((($(now_ms) - METRICS_T0)) / 100))" \
        "${e2e:-0}" "${lagr:-0}" "${backlog:-0}" "${up:-0}" >>"$DEMO/metrics.tsv"
}

# tick: check the programs, read the numbers, remember the peak lag.
tick() {
    check_alive
    read_state
    ((LAG <= PEAK_LAG)) || PEAK_LAG=$LAG
    scrape
}

# watch_for SECONDS: a status line every second.
watch_for() {
    local i
    for ((i = 0; i < $1; i++)); do
        sleep 1
        tick
        status_line
    done
}

# wait_synced TIMEOUT: a status line every second until the journal has
# stopped growing and MariaDB's sqlite_sluice_position has reached its end (the
# authoritative "lag 0": the journal's acknowledgement trails by up to a
# second). 0 when reached.
wait_synced() {
    local deadline=$((SECONDS + $1)) prev=-1
    while ((SECONDS < deadline)); do
        sleep 1
        tick
        status_line
        if [[ $APPLIED != - ]] && ((COMPLETE > 0 && APPLIED == COMPLETE && COMPLETE == prev)); then
            return 0
        fi
        prev=$COMPLETE
    done
    return 1
}

# ---- row-by-row comparison ----------------------------------------------------

# ---- main --------------------------------------------------------------------

trap cleanup EXIT
trap on_signal INT TERM

printf 'sluice demo: SQLite -> journal -> MariaDB, through a MariaDB crash\n'
printf '(working directory %s)\n' "$ROOT"

section "Packages"
# shellcheck source=tools/lib/packages.sh
. tools/lib/packages.sh || exit 1
sluice_ensure_packages tools/demo.sh "${SLUICE_PACKAGES_BUILD[@]}" "${SLUICE_PACKAGES_RUN[@]}" ||
    exit 1
say "all present: ${SLUICE_PACKAGES_BUILD[*]} ${SLUICE_PACKAGES_RUN[*]}"

section "Building sluice into $BUILD/ ($BUILD_TYPE)"
cmd "cmake -S . -B $BUILD -DSLUICE_TESTS=OFF -DCMAKE_BUILD_TYPE=$BUILD_TYPE"
cmd "cmake --build $BUILD -j2"
mkdir -p "$BUILD"
if ! { cmake -S . -B "$BUILD" -DSLUICE_TESTS=OFF -DCMAKE_BUILD_TYPE="$BUILD_TYPE" &&
    cmake --build "$BUILD" -j2; } </dev/null >"$BUILD/demo-build.log" 2>&1; then
    printf '  --- errors in %s:\n' "$BUILD/demo-build.log" >&2
    grep -E '(error|Error)[: ]' "$BUILD/demo-build.log" | head -n 12 | cut -c 1-240 | sed 's/^/  | /' >&2
    die "the build failed (full log: $BUILD/demo-build.log)"
fi
for b in "$CAPTURE" "$REPLAY" "$INSPECT" "$VERIFY"; do
    [[ -x $b ]] || die "the build did not produce $b"
done
say "built $CAPTURE, $REPLAY, $INSPECT, $VERIFY"

section "Starting a private MariaDB server"
stop_leftovers
mkdir -p "$LOGS"
cmd "$MARIADB_SH start $MYDIR"
MARIADB_STARTED=1
bash "$MARIADB_SH" start "$MYDIR" >"$LOGS/mariadb-start.log" 2>&1 || {
    show_log "$LOGS/mariadb-start.log" 30
    die "MariaDB did not start"
}
# shellcheck source=/dev/null
. "$MYDIR/env" || die "no $MYDIR/env"
SOCKET=$SLUICE_TEST_MYSQL_SOCKET
# the URL without the password: sluice-replay reads it from the environment
TARGET_URL=${SLUICE_TEST_MYSQL_URL/":$SLUICE_TEST_MYSQL_PASSWORD@"/@}
say "running as pid $SLUICE_TEST_MYSQL_PID, socket $SOCKET, database $SLUICE_TEST_MYSQL_DB, strict sql_mode"

section "Creating the sample application database $APP_DB"
cmd "sqlite3 $APP_DB < $SAMPLE_SQL"
sqlite3 -init /dev/null -bail "$APP_DB" <"$SAMPLE_SQL" >/dev/null || die "could not create $APP_DB"
for t in customers orders audit_log; do
    say "$(printf '%-10s %5d rows' "$t" "$(lite "SELECT count(*) FROM $t")")"
done
say "sample values: $(lite "SELECT 'created_at=''' || created_at || ''', updated_at=''' || updated_at || '''' FROM customers WHERE id = 1")"
say "audit_log has no primary key; customers.prefs is JSON, customers.avatar a BLOB"

section "Starting sluice-capture and sluice-replay (in the background)"
cmd "$CAPTURE --source $APP_DB --journal $JOURNAL    2> $LOGS/capture.log &"
# set -m: each background program gets its own process group, so a Ctrl-C
# reaches this script only, and cleanup() stops them in order.
set -m
"$CAPTURE" --source "$APP_DB" --journal "$JOURNAL" --metrics 127.0.0.1:0 \
    </dev/null >"$LOGS/capture.log" 2>&1 &
CAPTURE_PID=$!
set +m
echo "$CAPTURE_PID" >>"$DEMO/pids"
# sluice-replay needs the journal to exist (capture creates it at once)
for ((i = 0; i < 300; i++)); do
    "$INSPECT" "$JOURNAL" stat >/dev/null 2>&1 && break
    check_alive
    sleep 0.1
done
"$INSPECT" "$JOURNAL" stat >/dev/null 2>&1 || {
    show_log "$LOGS/capture.log" 20
    die "sluice-capture did not create the journal $JOURNAL within 30 s"
}
# --retry-max-ms caps the reconnect backoff (default 30 s) so that the
# catch-up starts within 2 s of MariaDB coming back.
cmd "SLUICE_TARGET_PASSWORD=... $REPLAY --journal $JOURNAL \\"
cmd "      --target '$TARGET_URL' \\"
cmd "      --retry-max-ms 2000    2> $LOGS/replay.log &"
set -m
SLUICE_TARGET_PASSWORD=$SLUICE_TEST_MYSQL_PASSWORD \
    "$REPLAY" --journal "$JOURNAL" --target "$TARGET_URL" --retry-max-ms 2000 \
    --metrics 127.0.0.1:0 </dev/null >"$LOGS/replay.log" 2>&1 &
REPLAY_PID=$!
set +m
echo "$REPLAY_PID" >>"$DEMO/pids"
say "capture pid $CAPTURE_PID, replay pid $REPLAY_PID"
say "each line below: journal = last seq of the journal's complete groups;"
say "reported = the applied seq sluice-replay last reported to the journal (once a second);"
say "applied = sqlite_sluice_position.seq, committed in MariaDB together with the data;"
say "lag = journal - applied (journal - reported while MariaDB is down)"
say "initial snapshot of the three tables -> journal -> MariaDB:"
PEAK_LAG=0
PHASE_T0=$(now_ms)
wait_synced 60 || die "the initial snapshot did not reach MariaDB within 60 s"
say "MariaDB has the snapshot: sqlite_sluice_position.seq = $APPLIED = the journal's last complete seq"

section "The application writes; MariaDB is up"
say "writer: 'sqlite3 $APP_DB < $CHANGE_SQL' in a loop, one transaction of ~15 row"
say "changes each (inserts, updates, deletes, key changes, the keyless table)"
rm -f "$DEMO/writer.stop" "$DEMO/writer.count"
set -m
(
    n=0
    failed=0
    # stops when told, and on its own if the demo is gone
    while [[ ! -e $DEMO/writer.stop && -e $APP_DB ]] && kill -0 $$ 2>/dev/null; do
        if sqlite3 -init /dev/null -bail -batch "$APP_DB" <"$CHANGE_SQL" \
            >/dev/null 2>>"$LOGS/writer.log"; then
            n=$((n + 1))
        else
            failed=$((failed + 1))
        fi
        printf '%d %d\n' "$n" "$failed" >"$DEMO/writer.count.tmp" &&
            mv -f "$DEMO/writer.count.tmp" "$DEMO/writer.count"
        sleep 0.03
    done
) &
WRITER_PID=$!
set +m
echo "$WRITER_PID" >>"$DEMO/pids"
PHASE_T0=$(now_ms)
watch_for 4

section "MariaDB crashes (SIGKILL) while the application keeps writing"
cmd "$MARIADB_SH kill $MYDIR"
bash "$MARIADB_SH" kill "$MYDIR" >>"$LOGS/mariadb-start.log" 2>&1 || die "could not kill MariaDB"
say "the application does not notice: its writes go to SQLite, capture journals"
say "them, and the lag grows"
PEAK_LAG=0
PHASE_T0=$(now_ms)
watch_for "$OUTAGE_S"
say "what the journal says now:"
cmd "$INSPECT $JOURNAL stat"
"$INSPECT" "$JOURNAL" stat 2>&1 | sed 's/^/    /'
cmd "$INSPECT $JOURNAL metrics | grep '^sluice_replay_lag'"
"$INSPECT" "$JOURNAL" metrics 2>&1 | grep '^sluice_replay_lag' | sed 's/^/    /'

section "MariaDB comes back; the lag drains by itself (nothing is restarted)"
BACKLOG=$COMPLETE
cmd "$MARIADB_SH restart $MYDIR"
say "(sluice-replay reconnects by itself; the writer goes on for a few seconds)"
bash "$MARIADB_SH" restart "$MYDIR" >>"$LOGS/mariadb-start.log" 2>&1 &
RESTART_PID=$!
UP_MS=
CAUGHT_MS=
PHASE_T0=$(now_ms)
# a line every half second while MariaDB starts and replay catches up
while :; do
    sleep 0.5
    tick
    status_line
    if [[ -z $UP_MS && $APPLIED != - ]]; then
        UP_MS=$(now_ms)
        wait "$RESTART_PID" || {
            show_log "$LOGS/mariadb-start.log" 20
            die "MariaDB did not restart"
        }
        RESTART_PID=
    fi
    if [[ -n $UP_MS && -z $CAUGHT_MS && $APPLIED != - ]] && ((APPLIED >= BACKLOG)); then
        CAUGHT_MS=$(now_ms)
        say "caught up: MariaDB is past seq $BACKLOG (the journal's end when it came back)"
    fi
    [[ -z $CAUGHT_MS ]] || (($(now_ms) - UP_MS < 3000)) || break
    if (($(now_ms) - PHASE_T0 > DRAIN_TIMEOUT_S * 1000)); then
        show_log "$LOGS/replay.log" 20
        die "MariaDB did not come back or the backlog was not applied within $DRAIN_TIMEOUT_S s"
    fi
    if [[ -n $RESTART_PID ]] && ! kill -0 "$RESTART_PID" 2>/dev/null; then
        wait "$RESTART_PID" || {
            show_log "$LOGS/mariadb-start.log" 20
            die "MariaDB did not restart"
        }
        RESTART_PID=
    fi
done
say "the writer stops; waiting for MariaDB's sqlite_sluice_position to reach the journal's end"
stop_writer
wait_synced "$DRAIN_TIMEOUT_S" || {
    show_log "$LOGS/replay.log" 20
    die "the lag did not drain to zero within $DRAIN_TIMEOUT_S s"
}
say "lag 0: MariaDB has applied every journaled change (seq $APPLIED)"
say "replay's log of the outage (one line per state change, not per retry):"
grep -E 'event=replay\.(connected|connection_lost|target_unavailable|target_problem|retry|recovered)' "$LOGS/replay.log" |
    cut -c 1-200 | tail -n 6 | sed 's/^/    /'

section "Checking that MariaDB holds exactly what SQLite holds"
FAILED=0
cmd "SLUICE_TARGET_PASSWORD=... $VERIFY --source $APP_DB --target '$TARGET_URL'"
if SLUICE_TARGET_PASSWORD=$SLUICE_TEST_MYSQL_PASSWORD \
    "$VERIFY" --source "$APP_DB" --target "$TARGET_URL" </dev/null \
    >"$LOGS/verify.log" 2>&1; then
    sed 's/^/    /' "$LOGS/verify.log"
    say "sluice-verify: PASS (every table, row by row, value by value)"
else
    sed 's/^/    /' "$LOGS/verify.log" | tail -n 30
    say "sluice-verify: FAIL"
    FAILED=1
fi
read -r WROTE WFAIL <"$DEMO/writer.count"
if ((WFAIL > 0)); then
    say "writer: $WFAIL transactions FAILED (see $LOGS/writer.log)"
    show_log "$LOGS/writer.log" 5
    FAILED=1
fi
id=$(lite "SELECT id FROM customers WHERE updated_at LIKE '%+02:00' ORDER BY id LIMIT 1")
if [[ -n $id ]]; then
    say "a date with an offset, converted to UTC for the DATETIME(6) column:"
    say "  SQLite  customers.updated_at (id $id) = '$(lite "SELECT updated_at FROM customers WHERE id = $id")'  (TEXT)"
    say "  MariaDB customers.updated_at (id $id) =  $(sql "SELECT updated_at FROM customers WHERE id = $id")  (DATETIME(6))"
fi

# The picture: lag during the outage, from what /metrics served.
if command -v gnuplot >/dev/null && [[ -s $DEMO/metrics.tsv ]]; then
    gnuplot <<GP 2>"$LOGS/gnuplot.log" || say "gnuplot failed (see $LOGS/gnuplot.log)"
set terminal pngcairo size 900,420 font "sans,10" noenhanced
set output "$BUILD/demo-lag.png"
set title "sluice demo: MariaDB stopped mid-stream, then back (scraped from /metrics)"
set xlabel "seconds"
set ylabel "end-to-end lag (s)"
set y2label "replay lag (records)"
set ytics nomirror
set y2tics
set key top left
set grid
set yrange [0:*]
set y2range [0:*]
plot "$DEMO/metrics.tsv" using (\$1/10):(\$5==0 ? \$2 : 1/0) with impulses lw 4 lc rgb "#f4cccc" title "MariaDB down", \
     "" using (\$1/10):2 with lines lw 2 lc rgb "#1f77b4" title "sluice_end_to_end_lag_seconds", \
     "" using (\$1/10):3 axes x1y2 with lines lw 2 lc rgb "#ff7f0e" title "sluice_replay_lag_records"
GP
    cp "$DEMO/metrics.tsv" "$BUILD/demo-metrics.tsv"
    [[ -s $BUILD/demo-lag.png ]] &&
        say "lag picture: $BUILD/demo-lag.png (data: $BUILD/demo-metrics.tsv)"
fi

section "Result"
say "writer: $WROTE transactions committed to SQLite, $WFAIL failed"
say "outage: MariaDB down for ${OUTAGE_S} s and a restart; lag peaked at $PEAK_LAG records;"
say "        the backlog was applied about $(((CAUGHT_MS - UP_MS) / 1000)).$(((CAUGHT_MS - UP_MS) % 1000 / 100)) s after MariaDB answered again"
if ((FAILED)); then
    printf '\nDEMO FAILED: see the checks above (logs in %s/)\n' "$LOGS"
    exit 1
fi
printf '\nDEMO PASSED: every change reached MariaDB through the crash (%d s in all)\n' $((SECONDS - T0))
exit 0
