#!/usr/bin/env bash
# bench_capture.sh -- build sluice-bench-capture and sluice-capture
# (Release) and run the capture benchmark on the disk that holds the
# repository: application write cost of the triggers, drain rate, snapshot
# rate and RSS, commit-to-journal latency. Prints one table and a
# PASS/FAIL line per target (see the header of bench_capture.c).
#
#   tools/bench/bench_capture.sh [sluice-bench-capture options]
#   e.g. tools/bench/bench_capture.sh --only write --reps 3
#
# Targets: sluice's triggers >= 0.9x the minimal trigger's rate (1-row and
# 10,000-row transactions); drain >= 200,000 changes/s; snapshot peak RSS
# < 64 MiB; commit-to-journal p99 < 20 ms at 1,000 commits/s.
# Exit 0 when every target passes, 1 when one fails or the bench fails.
# A full run takes about 3-4 minutes on 2 cores.
# Environment: SLUICE_BENCH_BUILD (build dir, default build-bench),
#              SLUICE_BENCH_DIR   (work dir, default .bench/capture).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${SLUICE_BENCH_BUILD:-$root/build-bench}
work=${SLUICE_BENCH_DIR:-$root/.bench/capture}
bin=$build/tools/bench/sluice-bench-capture
capture=$build/capture/sluice-capture

# Configure once in Release (tests off: the bench needs no Criterion);
# later calls only rebuild what changed.
if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
          -DSLUICE_TESTS=OFF >/dev/null
elif ! grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$build/CMakeCache.txt"; then
    echo "bench_capture.sh: $build is not a Release build" >&2
    exit 1
fi
cmake --build "$build" --target sluice-bench-capture sluice-capture \
      -j"$(nproc)" >/dev/null

mkdir -p "$work"
fstype=$(df -PT "$work" | awk 'NR==2 {print $2}')
case $fstype in
tmpfs|ramfs)
    echo "bench_capture.sh: $work is on $fstype; fsync is free there." >&2
    echo "Point SLUICE_BENCH_DIR at a real disk." >&2
    exit 1 ;;
esac
if [ "$(stat -c %d "$work")" != "$(stat -c %d "$root")" ]; then
    echo "bench_capture.sh: note: $work is not on the repository's" \
         "filesystem" >&2
fi

out=$work/results.txt
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo none)
if ! git -C "$root" diff --quiet HEAD -- capture journal 2>/dev/null; then
    commit="$commit + uncommitted changes in capture/ or journal/"
fi
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -m)," \
     "$fstype on $(df -P "$work" | awk 'NR==2 {print $1}'), $(nproc) cpus," \
     "commit $commit, load average $(cut -d' ' -f1-3 /proc/loadavg)" |
    tee "$out"
status=0
"$bin" --dir "$work" --capture "$capture" "$@" | tee -a "$out" ||
    status=${PIPESTATUS[0]}
echo "results: $out (progress lines went to stderr)"
case $status in
0) exit 0 ;;
1) exit 1 ;;
*) echo "bench_capture.sh: sluice-bench-capture failed (exit $status)" >&2
   exit 1 ;;
esac
