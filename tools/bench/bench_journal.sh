#!/usr/bin/env bash
# bench_journal.sh -- build sluice-bench-journal (Release) and run it on the
# disk that holds the repository, then check the journal's targets.
#
#   tools/bench/bench_journal.sh [sluice-bench-journal options]
#   e.g. tools/bench/bench_journal.sh --verify --repeat 3
#
# Targets (journal with default writer options, groups of 10,000):
#   records/s >= 0.5 x the raw LMDB baseline;  records/s >= 400,000;
#   stored bytes <= 0.5 x the raw (uncompressed) encoding.
# Exit 0 when every target passes, 1 when one fails or the bench fails.
# Environment: SLUICE_BENCH_BUILD (build dir, default build-bench),
#              SLUICE_BENCH_DIR   (work dir, default .bench/journal).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${SLUICE_BENCH_BUILD:-$root/build-bench}
work=${SLUICE_BENCH_DIR:-$root/.bench/journal}
bin=$build/tools/bench/sluice-bench-journal

# Configure once in Release (tests off: the bench needs no Criterion);
# later calls only rebuild what changed.
if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
          -DSLUICE_TESTS=OFF >/dev/null
elif ! grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$build/CMakeCache.txt"; then
    echo "bench_journal.sh: $build is not a Release build" >&2
    exit 1
fi
cmake --build "$build" --target sluice-bench-journal -j"$(nproc)" >/dev/null

mkdir -p "$work"
fstype=$(df -PT "$work" | awk 'NR==2 {print $2}')
case $fstype in
tmpfs|ramfs)
    echo "bench_journal.sh: $work is on $fstype; fsync is free there." >&2
    echo "Point SLUICE_BENCH_DIR at a real disk." >&2
    exit 1 ;;
esac

csv=$work/results.csv
out=$work/results.txt
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -m)," \
     "$fstype on $(df -P "$work" | awk 'NR==2 {print $1}'), $(nproc) cpus," \
     "commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo none)" \
     | tee "$out"
status=0
"$bin" --dir "$work" --csv "$csv" "$@" | tee -a "$out" || status=$?
if [ "$status" -ne 0 ]; then
    echo "bench_journal.sh: sluice-bench-journal failed (exit $status)" >&2
    exit 1
fi

# Targets, from the CSV (columns: config,group,records,seconds,
# records_per_s,stored_bytes,bytes_per_record,file_bytes,entries,
# rps_vs_raw,bytes_vs_raw,verified).
echo | tee -a "$out"
rc=0
awk -F, '
function check(name, ok, detail) {
    printf "%s  %s (%s)\n", ok ? "PASS" : "FAIL", name, detail
    if (!ok) failed = 1
}
$1 == "journal" && $2 == 10000 { found = 1; rps = $5; rr = $10; br = $11 }
END {
    if (!found) {
        print "FAIL  no journal run at group size 10000 (use the default " \
              "--groups/--configs)"
        exit 1
    }
    if (rr == "" || br == "") {
        print "FAIL  no raw-lmdb run at group size 10000 to compare with"
        exit 1
    }
    check("journal records/s >= 0.5x raw LMDB at groups of 10,000",
          rr >= 0.5, sprintf("%.2fx", rr))
    check("journal >= 400,000 records/s at groups of 10,000",
          rps >= 400000, sprintf("%d records/s", rps))
    check("journal stored bytes <= 0.5x the uncompressed encoding",
          br <= 0.5, sprintf("%.2fx", br))
    exit failed
}' "$csv" | tee -a "$out" || rc=$?
echo "results: $out, $csv"
exit "$rc"
