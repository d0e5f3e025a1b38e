#!/usr/bin/env bash
# bench_history.sh -- what `sluice-inspect DIR history TABLE KEY` costs on
# a large journal, with its index and without (a scan of every record).
#
#   tools/bench/bench_history.sh [ROWS]       (default 1,000,000)
#
# Builds a journal of ROWS snapshot records with the real sluice-capture
# (Release build in build-bench/), changes one row, then times: the first
# query (builds the index), repeated indexed queries, repeated full scans
# (--no-index). Prints seconds, max RSS and the ratio scan / indexed.
# Target: an indexed query >= 5x faster than a scan at 1,000,000 records.
# Exit 0 when the target passes. Environment: SLUICE_BENCH_BUILD,
# SLUICE_BENCH_DIR (default .bench/history).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${SLUICE_BENCH_BUILD:-$root/build-bench}
work=${SLUICE_BENCH_DIR:-$root/.bench/history}
rows=${1:-1000000}
if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
          -DSLUICE_TESTS=OFF >/dev/null
fi
cmake --build "$build" --target sluice-capture sluice-inspect -j2 >/dev/null
cap=$build/capture/sluice-capture
ins=$build/tools/inspect/sluice-inspect
rm -rf "$work"
mkdir -p "$work"
key=$((rows * 2 / 5 + 7))
sqlite3 "$work/src.db" "CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT, price REAL);
  WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < $rows)
  INSERT INTO items SELECT n, 'item-' || n, n * 0.5 FROM c;"
"$cap" --source "$work/src.db" --journal "$work/j" --once 2>/dev/null
sqlite3 "$work/src.db" "UPDATE items SET price = price + 1 WHERE id = $key;"
"$cap" --source "$work/src.db" --journal "$work/j" --once 2>/dev/null

# run LABEL ARGS...: one timed query; prints "LABEL seconds rss_kb"
run() {
    local label=$1 out
    shift
    out=$( { /usr/bin/time -f '%e %M' "$ins" "$@" >/dev/null; } 2>&1 | tail -1)
    printf '%s %s\n' "$label" "$out"
}
idx=$work/history.idx
{
    run first-indexed --index "$idx" "$work/j" history items "$key"
    for i in 1 2 3; do run indexed --index "$idx" "$work/j" history items "$key"; done
    for i in 1 2 3; do run scan --no-index "$work/j" history items "$key"; done
} >"$work/times"
n=$("$ins" --index "$idx" "$work/j" history items "$key" | grep -c '^seq')
printf 'journal: %s records, %s on disk; index %s bytes; history of id=%s: %s records\n' \
    "$("$ins" --json "$work/j" stat | sed -n 's/.*"head_seq":\([0-9]*\).*/\1/p')" \
    "$(du -sh "$work/j" | cut -f1)" "$(stat -c %s "$idx")" "$key" "$n"
awk '
    { t[$1] = ($1 in t && t[$1] < $2) ? t[$1] : $2; m[$1] = $3 }
    END {
        printf "%-14s %10s %10s\n", "query", "best s", "max RSS KB"
        for (k in t) printf "%-14s %10.2f %10d\n", k, t[k], m[k]
        r = t["scan"] / (t["indexed"] > 0.005 ? t["indexed"] : 0.005)
        printf "scan / indexed: %.1fx  (target >= 5x): %s\n", r, r >= 5 ? "PASS" : "FAIL"
        exit r >= 5 ? 0 : 1
    }' "$work/times"
