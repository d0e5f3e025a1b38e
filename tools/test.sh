#!/usr/bin/env bash
#
# tools/test.sh -- sluice's one test command (run it from anywhere).
#
# Passes, each counted in the final "N passed, N failed" line:
#   1. build/       RelWithDebInfo, ctest (unit, golden, integration, crash)
#   2. build-asan/  -DSLUICE_SANITIZE=ON, the same ctest under ASan/UBSan
#   3. valgrind     every unit-labelled test of build/ under memcheck
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
    libcriterion-dev valgrind openssl)

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

# record PASS PASSED FAILED NOTE
record() {
    TOTAL_PASSED=$((TOTAL_PASSED + $2))
    TOTAL_FAILED=$((TOTAL_FAILED + $3))
    SUMMARY+=("$(printf '  %-11s passed=%-4s failed=%-4s %s' "$1" "$2" "$3" "$4")")
}

# shellcheck disable=SC2317 # trap handler
stop_servers() {
    local d
    [[ -f $MARIADB_SH ]] || return 0
    for d in "$ROOT/build/mariadb" "$ROOT/build-asan/mariadb"; do
        [[ -d $d ]] && bash "$MARIADB_SH" stop "$d" >/dev/null 2>&1
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

# ctest_pass NAME DIR [ENV=VAL...]: run ctest in DIR and record the result.
ctest_pass() {
    local name=$1 dir=$2 log line passed failed total rc nfail=${#FAILURES[@]}
    shift 2
    log=$ROOT/$dir/test-sh-ctest.log
    say "ctest $dir"
    (cd "$ROOT/$dir" && env "$@" ctest --output-on-failure -j "$JOBS" \
        --no-tests=error "${CTEST_ARGS[@]}" </dev/null) 2>&1 | tee "$log"
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
        # script (lint.sh, ...) would only put bash under valgrind.
        if ! is_elf "${cmd[0]}"; then
            printf -- '--- %s: not an ELF program, skipped\n' "$name"
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
    record valgrind "$passed" "$failed" "(unit tests of $dir, memcheck${skipped[*]:+; not ELF, skipped: ${skipped[*]}})"
}

# ---- main ----------------------------------------------------------------------

trap stop_servers EXIT
trap on_signal INT TERM

ensure_packages

T0=$SECONDS
if build_tree build -DCMAKE_BUILD_TYPE=RelWithDebInfo; then
    BUILD_OK=1
    ctest_pass ctest build
else
    BUILD_OK=0
    FAILURES+=("build: configure or build failed")
    record ctest 0 1 "(build/ did not build)"
fi

if [[ $QUICK == 1 ]]; then
    SUMMARY+=("  asan        skipped (SLUICE_TEST_QUICK=1)")
    SUMMARY+=("  valgrind    skipped (SLUICE_TEST_QUICK=1)")
else
    if build_tree build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_SANITIZE=ON; then
        ctest_pass asan build-asan \
            ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
            UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    else
        FAILURES+=("build-asan: configure or build failed")
        record asan 0 1 "(build-asan/ did not build)"
    fi
    if ((BUILD_OK)); then
        valgrind_pass
    else
        SUMMARY+=("  valgrind    skipped (build/ did not build)")
    fi
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
