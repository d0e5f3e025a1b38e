#!/usr/bin/env bash
# tests/version.sh BUILD_DIR VERSION -- every program's --version prints
# the version of CMake's project() (one source, no copies to forget).
set -u
build=$1 want=$2 fail=0
for bin in capture/sluice-capture replay/sluice-replay \
           tools/inspect/sluice-inspect tools/verify/sluice-verify; do
    out=$("$build/$bin" --version 2>&1)
    rc=$?
    name=${bin##*/}
    case "$out" in
        "$name $want"|"$name $want "*) ;;
        *) echo "FAIL $bin --version printed '$out', not '$name $want ...'"
           fail=1 ;;
    esac
    if [ "$rc" -ne 0 ]; then
        echo "FAIL $bin --version exited $rc"
        fail=1
    fi
done
[ "$fail" -eq 0 ] && echo "ok: every program reports $want"
exit "$fail"
