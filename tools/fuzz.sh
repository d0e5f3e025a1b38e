#!/usr/bin/env bash
#
# tools/fuzz.sh -- build the libFuzzer targets of tests/fuzz and run them.
#
#   tools/fuzz.sh [-t SECONDS] [-j JOBS] [TARGET...]
#
# Builds build-fuzz/ (clang, -DSLUICE_FUZZ=ON: ASan+UBSan, the invariant
# checks of -DSLUICE_DEBUG, warnings as errors), then runs each TARGET
# (default: all of journal schema json url datetime opts inspect logfmt
# pos ledger) for SECONDS (default 30), JOBS targets at a time (default 2). Each
# target starts from its committed corpus tests/fuzz/corpus/TARGET/ (read
# only) plus what earlier runs found in build-fuzz/corpus/TARGET/ (kept
# between runs, never committed). A crash, leak, sanitizer report or
# failed property check leaves its input in build-fuzz/crashes/ and makes
# the script exit 1; once the bug is fixed, commit that input as
# tests/fuzz/corpus/TARGET/crash-<what-it-was> so every ctest run replays
# it. tools/test.sh runs this with its defaults; for a longer run:
#   tools/fuzz.sh -t 3600 -j 2 json
set -uo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd -P)
SECS=30
JOBS=2
ALL=(journal schema json url datetime opts inspect logfmt pos ledger)
while getopts "t:j:h" opt; do
    case $opt in
    t) SECS=$OPTARG ;;
    j) JOBS=$OPTARG ;;
    *) sed -n '3,20p' "$0" | sed 's/^# \{0,1\}//'; exit 64 ;;
    esac
done
shift $((OPTIND - 1))
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=("${ALL[@]}")
for t in "${TARGETS[@]}"; do
    [[ " ${ALL[*]} " == *" $t "* ]] || { echo "tools/fuzz.sh: no target '$t' (${ALL[*]})" >&2; exit 64; }
done
if ! command -v clang >/dev/null; then
    echo "tools/fuzz.sh: clang not found: apt-get install clang libclang-rt-dev" >&2
    exit 69
fi

B=$ROOT/build-fuzz
mkdir -p "$B"
CC=clang cmake -S "$ROOT" -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSLUICE_FUZZ=ON -DSLUICE_DEBUG=ON -DSLUICE_WERROR=ON -DSLUICE_TESTS=OFF \
    </dev/null >"$B/configure.log" 2>&1 || { cat "$B/configure.log"; exit 1; }
cmake --build "$B" --target fuzz_all --parallel "$JOBS" </dev/null || exit 1
mkdir -p "$B/crashes"

# run_one TARGET: fuzz it for SECS; its log in build-fuzz/TARGET.log.
run_one() {
    local t=$1 exe=$B/tests/fuzz/fuzz_$1
    mkdir -p "$B/corpus/$t"
    # -close_fd_mask=3: the targets' own stdout/stderr (inspect prints a
    # lot) are dropped; libFuzzer and the sanitizers keep reporting.
    # -rss_limit_mb/-malloc_limit_mb: a decompression bomb is a finding.
    "$exe" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
        -malloc_limit_mb=1024 -close_fd_mask=3 -print_final_stats=1 \
        -artifact_prefix="$B/crashes/$t-" \
        "$B/corpus/$t" "$ROOT/tests/fuzz/corpus/$t" </dev/null >"$B/$t.log" 2>&1
}

declare -A PID
fail=0
for t in "${TARGETS[@]}"; do
    while (($(jobs -rp | wc -l) >= JOBS)); do wait -n; done
    run_one "$t" &
    PID[$t]=$!
done
printf '\n%-10s %12s %10s %8s  %s\n' target runs exec/s corpus result
for t in "${TARGETS[@]}"; do
    wait "${PID[$t]}"
    rc=$?
    log=$B/$t.log
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    corp=$(find "$B/corpus/$t" "$ROOT/tests/fuzz/corpus/$t" -type f | wc -l)
    if ((rc == 0)); then
        res=ok
    else
        res="FAILED (exit $rc): $(grep -m1 -E 'ERROR|Test unit written' "$log")"
        fail=1
    fi
    printf '%-10s %12s %10s %8s  %s\n' "$t" "${runs:-?}" "${eps:-?}" "$corp" "$res"
done
if ((fail)); then
    echo
    for t in "${TARGETS[@]}"; do
        grep -q 'Test unit written' "$B/$t.log" || grep -q ERROR "$B/$t.log" || continue
        echo "---- $t ($B/$t.log, last lines)"
        tail -n 40 "$B/$t.log"
    done
    echo "inputs that failed: $B/crashes/ (fix, then commit each as tests/fuzz/corpus/TARGET/crash-...)"
fi
exit $fail
