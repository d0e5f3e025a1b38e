#!/usr/bin/env bash
# bench_capture_scale.sh -- build (Release) and run the capture scale and
# sustained-write benchmark (see the header of bench_capture_scale.c).
#
#   tools/bench/bench_capture_scale.sh [--tables 1,100,1000] [--idle-s N]
#                                      [--commits N] [--sustain-s N]
#                                      [--only scale|sustained]
# Targets: at 1,000 tables commit->journal p50 within 2x of 1 table, idle
# CPU under 1% of a core, restart-to-journal under 1 s; under sustained
# writes commit->journal p99 in milliseconds. Exit 0 when all pass.
# A full run takes about 3 minutes.
# Environment: SLUICE_BENCH_BUILD (build dir, default build-bench),
#              SLUICE_BENCH_DIR   (work dir, default .bench/capture-scale).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${SLUICE_BENCH_BUILD:-$root/build-bench}
work=${SLUICE_BENCH_DIR:-$root/.bench/capture-scale}

if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
          -DSLUICE_TESTS=OFF >/dev/null
fi
cmake --build "$build" --target sluice-bench-capture-scale sluice-capture \
      -j"$(nproc)" >/dev/null
mkdir -p "$work"
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(nproc) cpus, commit" \
     "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo none)," \
     "load average $(cut -d' ' -f1-3 /proc/loadavg)"
exec "$build/tools/bench/sluice-bench-capture-scale" --dir "$work" \
     --capture "$build/capture/sluice-capture" "$@"
