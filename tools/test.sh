#!/usr/bin/env bash
#
# tools/test.sh -- sluice's one test command (run it from anywhere).
#
# Passes, each counted in the final "N passed, N failed" line; every tree
# is built with -DSLUICE_WERROR=ON, so a warning at any optimisation level
# fails the run:
#   1. build/          RelWithDebInfo, ctest (unit, golden, fuzz corpus
#                      replays, integration, crash, galera: a private
#                      3-node Galera cluster; SLUICE_TEST_GALERA=0 leaves
#                      that tier out)
#   2. build-release/  Release (-O3), tests included: all built, the
#                      unit-labelled tests run (the rest is the same code
#                      pass 1 and 3 run; -O3 is about warnings and UB)
#   3. build-asan/     -DSLUICE_SANITIZE=ON -DSLUICE_DEBUG=ON: the whole
#                      ctest but the galera label under ASan/UBSan with
#                      the invariant checks (SL_CHECK) compiled in
#                      (SLUICE_TEST_ASAN_GALERA=1: galera too)
#   4. valgrind        every unit-labelled test of build/ under memcheck
#   5. fuzz            tools/fuzz.sh: build-fuzz/ (clang, libFuzzer,
#                      ASan+UBSan, SLUICE_DEBUG), each target for
#                      SLUICE_FUZZ_SECONDS (default 30), two at a time
# SLUICE_TEST_QUICK=1 runs pass 1 only. Extra arguments go to every ctest
# run (e.g. tools/test.sh -R journal). Missing Debian packages are
# installed when run as root (CI), listed otherwise.
#
# Why the sanitizer and valgrind settings look the way they do: Criterion
# runs each test in a worker process and ignores a worker's exit status
# once the test has reported success. A leak found at worker exit would
# therefore pass silently. So ASan aborts (abort_on_error=1: Criterion
# reports the crash), and valgrind writes one log per process, which we
# read for a non-zero ERROR SUMMARY. Children a test forks (writer and
# reader processes of the journal's crash and concurrency tests) end with
# _exit() or SIGKILL, holding their heap: --child-silent-after-fork keeps
# their exit-time leak reports out; the test process itself is checked.

set -uo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd -P)
cd "$ROOT" || exit 1

JOBS=${SLUICE_TEST_JOBS:-2}
QUICK=${SLUICE_TEST_QUICK:-0}
CTEST_ARGS=("$@")
MARIADB_SH=$ROOT/tests/harness/mariadb.sh

# shellcheck source=tools/lib/packages.sh
. "$ROOT/tools/lib/packages.sh" || exit 1
PACKAGES=("${SLUICE_PACKAGES_BUILD[@]}" "${SLUICE_PACKAGES_RUN[@]}"
    "${SLUICE_PACKAGES_TEST[@]}")
FUZZ_SECONDS=${SLUICE_FUZZ_SECONDS:-30}

TOTAL_PASSED=0
TOTAL_FAILED=0
SUMMARY=()
FAILURES=()

say() { printf '\n==== %s\n' "$*"; }

# ---- packages ----------------------------------------------------------------

ensure_packages() {
    sluice_ensure_packages tools/test.sh "${PACKAGES[@]}" || exit 1
}

# ---- bookkeeping -------------------------------------------------------------

PASS_T0=$SECONDS

# record PASS PASSED FAILED NOTE: also the pass's wall time (since the
# previous record), so the summary shows where CI time goes.
record() {
    TOTAL_PASSED=$((TOTAL_PASSED + $2))
    TOTAL_FAILED=$((TOTAL_FAILED + $3))
    SUMMARY+=("$(printf '  %-11s passed=%-4s failed=%-4s %4ds %s' "$1" "$2" "$3" \
        $((SECONDS - PASS_T0)) "$4")")
    PASS_T0=$SECONDS
}

# shellcheck disable=SC2317 # trap handler
stop_servers() {
    local d
    [[ -f $MARIADB_SH ]] || return 0
    for d in "$ROOT/build/mariadb" "$ROOT/build-release/mariadb" \
        "$ROOT/build-asan/mariadb"; do
        [[ -d $d ]] && bash "$MARIADB_SH" stop "$d" >/dev/null 2>&1
    done
    for d in "$ROOT/build/galera" "$ROOT/build-release/galera" \
        "$ROOT/build-asan/galera"; do
        [[ -r $d/ports ]] && bash "$ROOT/tests/harness/galera.sh" stop "$d" >/dev/null 2>&1
    done
    return 0
}

# shellcheck disable=SC2317 # trap handler
on_signal() {
    printf '\ntools/test.sh: interrupted\n' >&2
    exit 130
}

# ---- build + ctest -------------------------------------------------------------

# build_tree DIR CMAKE_ARGS...: 0 when configured and built.
build_tree() {
    local dir=$1
    shift
    say "configure $dir"
    cmake -S "$ROOT" -B "$ROOT/$dir" "$@" </dev/null || return 1
    say "build $dir"
    cmake --build "$ROOT/$dir" --parallel "$JOBS" </dev/null || return 1
}

# ctest_pass NAME DIR [ENV=VAL...] [-- CTEST_ARG...]: run ctest in DIR and
# record the result.
ctest_pass() {
    local name=$1 dir=$2 log line passed failed total rc nfail=${#FAILURES[@]}
    local -a envs=() extra=()
    shift 2
    while (($#)) && [[ $1 != -- ]]; do
        envs+=("$1")
        shift
    done
    (($#)) && shift
    extra=("$@")
    log=$ROOT/$dir/test-sh-ctest.log
    say "ctest $dir ${extra[*]}"
    (cd "$ROOT/$dir" && env "${envs[@]}" ctest --output-on-failure -j "$JOBS" \
        --no-tests=error "${extra[@]}" "${CTEST_ARGS[@]}" </dev/null) 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    line=$(grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)
    if [[ $line =~ ([0-9]+)\ tests?\ failed\ out\ of\ ([0-9]+) ]]; then
        failed=${BASH_REMATCH[1]}
        total=${BASH_REMATCH[2]}
        passed=$((total - failed))
    else
        passed=0
        failed=1
    fi
    if ((rc != 0 && failed == 0)); then
        failed=1 # ctest failed without saying which test
    fi
    while IFS= read -r line; do
        FAILURES+=("$name: $line")
    done < <(sed -n '/The following tests FAILED:/,$p' "$log" |
        sed -n 's/^[[:space:]]*[0-9][0-9]* - \(.*\)$/\1/p')
    ((rc == 0 || ${#FAILURES[@]} > nfail)) || FAILURES+=("$name: ctest exited $rc")
    record "$name" "$passed" "$failed" "($dir)"
}

# ---- valgrind ------------------------------------------------------------------

# list_unit_tests DIR OUT: one line per unit test of DIR, fields separated
# by \x1f: name, working directory, number of env entries, env entries,
# command. Read from ctest's JSON with cmake itself (no jq on a fresh box).
list_unit_tests() {
    local dir=$1 out=$2 json script
    json=$ROOT/$dir/test-sh-tests.json
    script=$ROOT/$dir/test-sh-list.cmake
    (cd "$ROOT/$dir" && ctest -L unit --show-only=json-v1 "${CTEST_ARGS[@]}") >"$json" ||
        return 1
    cat >"$script" <<'EOF'
file(READ "${JSON}" json)
string(ASCII 31 US)
file(WRITE "${OUT}" "")
string(JSON n LENGTH "${json}" tests)
if(n EQUAL 0)
  return()
endif()
math(EXPR last "${n} - 1")
foreach(i RANGE ${last})
  string(JSON name GET "${json}" tests ${i} name)
  string(JSON ncmd ERROR_VARIABLE err LENGTH "${json}" tests ${i} command)
  if(err OR ncmd EQUAL 0)
    continue()
  endif()
  set(cwd "")
  set(envs "")
  set(nenv 0)
  string(JSON nprop ERROR_VARIABLE err LENGTH "${json}" tests ${i} properties)
  if(NOT err AND nprop GREATER 0)
    math(EXPR plast "${nprop} - 1")
    foreach(j RANGE ${plast})
      string(JSON pname GET "${json}" tests ${i} properties ${j} name)
      if(pname STREQUAL "WORKING_DIRECTORY")
        string(JSON cwd GET "${json}" tests ${i} properties ${j} value)
      elseif(pname STREQUAL "ENVIRONMENT")
        string(JSON nenv LENGTH "${json}" tests ${i} properties ${j} value)
        if(nenv GREATER 0)
          math(EXPR elast "${nenv} - 1")
          foreach(k RANGE ${elast})
            string(JSON e GET "${json}" tests ${i} properties ${j} value ${k})
            string(APPEND envs "${US}${e}")
          endforeach()
        endif()
      endif()
    endforeach()
  endif()
  set(cmd "")
  math(EXPR clast "${ncmd} - 1")
  foreach(k RANGE ${clast})
    string(JSON a GET "${json}" tests ${i} command ${k})
    string(APPEND cmd "${US}${a}")
  endforeach()
  file(APPEND "${OUT}" "${name}${US}${cwd}${US}${nenv}${envs}${cmd}\n")
endforeach()
EOF
    cmake -DJSON="$json" -DOUT="$out" -P "$script"
}

# is_elf PROGRAM: PROGRAM (a path, or a name on PATH) is an ELF file.
# in_tree PROG: is PROG a file of this source or build tree (not
# /usr/bin/bash running one of our scripts)?
in_tree() {
    local exe=$1
    [[ $exe == */* ]] || exe=$(command -v "$exe") || return 1
    [[ $(readlink -f "$exe") == "$ROOT"/* ]]
}

is_elf() {
    local exe=$1 magic
    [[ $exe == */* ]] || exe=$(command -v "$exe") || return 1
    magic=$(head -c 4 "$exe" 2>/dev/null | tr -d '\0')
    [[ $magic == $'\x7fELF' ]]
}

valgrind_pass() {
    local dir=build list vgdir line name cwd nenv bad rc passed=0 failed=0
    local -a f envs cmd logs skipped=()
    say "valgrind (unit tests of $dir)"
    vgdir=$ROOT/$dir/valgrind
    list=$vgdir/tests.list
    rm -rf "$vgdir"
    mkdir -p "$vgdir"
    if ! list_unit_tests "$dir" "$list"; then
        FAILURES+=("valgrind: could not list the unit tests")
        record valgrind 0 1 "(could not list unit tests)"
        return
    fi
    while IFS= read -r line; do
        IFS=$'\x1f' read -r -a f <<<"$line"
        name=${f[0]}
        cwd=${f[1]:-$ROOT/$dir}
        nenv=${f[2]}
        envs=("${f[@]:3:nenv}")
        cmd=("${f[@]:3+nenv}")
        # memcheck is for our C test programs; a unit test that is a
        # script (lint.sh, or `bash tests/monitoring/...sh`) would only
        # put bash under valgrind (and bash's own leaks fail it).
        if ! is_elf "${cmd[0]}" || ! in_tree "${cmd[0]}"; then
            printf -- '--- %s: not one of our C programs, skipped\n' "$name"
            skipped+=("$name")
            continue
        fi
        printf -- '--- %s\n' "$name"
        rc=0
        (cd "$cwd" && env "${envs[@]}" timeout --kill-after=30 3600 \
            valgrind --error-exitcode=1 --leak-check=full \
            --child-silent-after-fork=yes \
            --log-file="$vgdir/$name.%p.log" "${cmd[@]}" </dev/null) || rc=$?
        mapfile -t logs < <(grep -l 'ERROR SUMMARY: [1-9]' "$vgdir/$name".*.log 2>/dev/null)
        if ((rc == 0 && ${#logs[@]} == 0)); then
            passed=$((passed + 1))
            continue
        fi
        failed=$((failed + 1))
        FAILURES+=("valgrind: $name (exit $rc, ${#logs[@]} process(es) with memcheck errors)")
        for bad in "${logs[@]}"; do
            printf -- '--- memcheck errors in %s:\n' "$bad"
            grep -v '^==[0-9]*== *$' "$bad" | head -n 80
        done
    done <"$list"
    record valgrind "$passed" "$failed" "(unit tests of $dir, memcheck${skipped[*]:+; scripts, skipped: ${skipped[*]}})"
}

# ---- fuzz ----------------------------------------------------------------------

fuzz_pass() {
    local log=$ROOT/build-fuzz/test-sh-fuzz.log rc passed failed line
    say "fuzz (tools/fuzz.sh -t $FUZZ_SECONDS)"
    mkdir -p "$ROOT/build-fuzz"
    bash "$ROOT/tools/fuzz.sh" -t "$FUZZ_SECONDS" -j "$JOBS" </dev/null 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    passed=$(grep -cE '^[a-z]+ +[0-9?]+ +[0-9?]+ +[0-9]+ +ok$' "$log")
    failed=$(grep -cE '^[a-z]+ +[0-9?]+ +[0-9?]+ +[0-9]+ +FAILED' "$log")
    if ((rc != 0 && failed == 0)); then
        failed=1
        FAILURES+=("fuzz: tools/fuzz.sh exited $rc (build?)")
    fi
    while IFS= read -r line; do
        FAILURES+=("fuzz: $line")
    done < <(grep -E '^[a-z]+ +[0-9?]+ +[0-9?]+ +[0-9]+ +FAILED' "$log")
    record fuzz "$passed" "$failed" "(build-fuzz/, ${FUZZ_SECONDS} s per target)"
}

# ---- main ----------------------------------------------------------------------

trap stop_servers EXIT
trap on_signal INT TERM

ensure_packages

T0=$SECONDS
PASS_T0=$SECONDS
if build_tree build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_WERROR=ON \
    -DSLUICE_SANITIZE=OFF -DSLUICE_DEBUG=OFF; then
    BUILD_OK=1
    # the galera tier (a private 3-node cluster, node kills, freezes,
    # rejoins, a whole-cluster restart: about 5 minutes) runs here;
    # SLUICE_TEST_GALERA=0 leaves it out (a quick local run)
    PASS1_EXTRA=()
    [[ ${SLUICE_TEST_GALERA:-1} != 0 ]] || PASS1_EXTRA=(-LE galera)
    ctest_pass ctest build -- "${PASS1_EXTRA[@]}"
else
    BUILD_OK=0
    FAILURES+=("build: configure or build failed")
    record ctest 0 1 "(build/ did not build)"
fi

if [[ $QUICK == 1 ]]; then
    for p in release asan valgrind fuzz; do
        SUMMARY+=("$(printf '  %-11s skipped (SLUICE_TEST_QUICK=1)' "$p")")
    done
else
    if build_tree build-release -DCMAKE_BUILD_TYPE=Release -DSLUICE_WERROR=ON; then
        ctest_pass release build-release -- -L unit
    else
        FAILURES+=("build-release: configure or build failed")
        record release 0 1 "(build-release/ did not build)"
    fi
    if build_tree build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_SANITIZE=ON \
        -DSLUICE_DEBUG=ON -DSLUICE_WERROR=ON; then
        # the galera tier (a 3-node cluster, several minutes of node
        # kills and rejoins) runs in pass 1; ASan adds nothing a second
        # cluster run would find that pass 1 and the other suites under
        # ASan do not (SLUICE_TEST_ASAN_GALERA=1 runs it here too)
        ASAN_EXTRA=(-LE galera)
        [[ ${SLUICE_TEST_ASAN_GALERA:-0} != 1 ]] || ASAN_EXTRA=()
        ctest_pass asan build-asan \
            ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
            UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 -- "${ASAN_EXTRA[@]}"
    else
        FAILURES+=("build-asan: configure or build failed")
        record asan 0 1 "(build-asan/ did not build)"
    fi
    if ((BUILD_OK)); then
        valgrind_pass
    else
        SUMMARY+=("  valgrind    skipped (build/ did not build)")
    fi
    fuzz_pass
fi

say "summary ($((SECONDS - T0)) s)"
printf '%s\n' "${SUMMARY[@]}"
if ((${#FAILURES[@]} > 0)); then
    printf 'failures:\n'
    printf '  %s\n' "${FAILURES[@]}"
fi
printf '%d passed, %d failed\n' "$TOTAL_PASSED" "$TOTAL_FAILED"
((TOTAL_FAILED == 0)) && exit 0
exit 1
