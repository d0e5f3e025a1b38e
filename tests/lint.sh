#!/usr/bin/env bash
# tests/lint.sh SRC BUILD -- house rules a compiler cannot check:
#  * banned functions (sprintf strcpy strcat strtok atoi atol gets);
#  * journal/ includes neither sqlite3.h nor mysql.h;
#  * runtime/ (the leaf every library may use) includes nothing of the
#    journal, SQLite, MariaDB or any sluice module above it, and only
#    sl_metrics.c (the /metrics endpoint, its own target) libmicrohttpd;
#  * target/ (the MariaDB side) includes neither SQLite nor capture's or
#    replay's headers, and sluice-verify uses it, never replay's rp.h;
#  * verify and inspect include no capture header but cap_pos.h, the
#    position codec, which itself includes only the journal's header (the
#    capture benchmarks drive the engine in process and may);
#  * sluice-capture does not link MariaDB, sluice-replay does not link
#    SQLite (when those binaries exist).
set -u
src=${1:?source dir}; build=${2:?build dir}
fail=0
banned='\b(sprintf|vsprintf|strcpy|strcat|strtok|atoi|atol|gets)[[:space:]]*\('
if hits=$(grep -rnE "$banned" --include='*.c' --include='*.h' \
            "$src/journal" "$src/runtime" "$src/capture" "$src/replay" "$src/tools" \
            "$src/tests" 2>/dev/null); then
    echo "lint: banned function used (use snprintf/memcpy/strtoll):"
    echo "$hits"
    fail=1
fi
if hits=$(grep -rnE '#include[[:space:]]*[<"](sqlite3|mysql|mariadb)' \
            "$src/journal"); then
    echo "lint: journal/ must not depend on SQLite or MariaDB:"
    echo "$hits"
    fail=1
fi
if hits=$(grep -rnE '#include[[:space:]]*[<"](sqlite3|mysql|mariadb|lmdb|zstd|sluice/|jr_|cap|rp|vf)' \
            "$src/runtime"); then
    echo "lint: runtime/ is a leaf (libc only); it must not include:"
    echo "$hits"
    fail=1
fi
if hits=$(grep -rnE '#include[[:space:]]*[<"]microhttpd' "$src/runtime" |
          grep -v '/sl_metrics\.c:'); then
    echo "lint: only runtime/sl_metrics.c may use libmicrohttpd:"
    echo "$hits"
    fail=1
fi
if hits=$(grep -rnE '#include[[:space:]]*[<"](sqlite3|rp[._]|cap[._]|vf[._])' \
            "$src/target"); then
    echo "lint: target/ is the MariaDB side only; it must not include:"
    echo "$hits"
    fail=1
fi
if hits=$(grep -rnE '#include[[:space:]]*"rp[._]' "$src/tools"); then
    echo "lint: tools/ use the target library (tg.h), not replay's internals:"
    echo "$hits"
    fail=1
fi
if hits=$(grep -rnE '#include[[:space:]]*"cap[._]' "$src/tools/verify" \
            "$src/tools/inspect" |
          grep -v '#include[[:space:]]*"cap_pos\.h"'); then
    echo "lint: sluice-verify and sluice-inspect may read capture's position"
    echo "(cap_pos.h), never the capture engine's internals:"
    echo "$hits"
    fail=1
fi
if hits=$(grep -nE '#include[[:space:]]*"' "$src/capture/cap_pos.c" \
            "$src/capture/cap_pos.h" |
          grep -vE '"(cap_pos\.h|sluice/journal\.h)"'); then
    echo "lint: cap_pos (its own library, read by tools) includes only"
    echo "cap_pos.h and the journal's header:"
    echo "$hits"
    fail=1
fi
check_ldd() {   # binary, forbidden library pattern
    [ -x "$1" ] || return 0
    if ldd "$1" | grep -qiE "$2"; then
        echo "lint: $(basename "$1") links $2, which its layer must not"
        fail=1
    fi
}
check_ldd "$build/capture/sluice-capture" 'mariadb|mysql'
check_ldd "$build/replay/sluice-replay" 'sqlite'
check_ldd "$build/tools/inspect/sluice-inspect" 'sqlite|mariadb|mysql'
if [ $fail -eq 0 ]; then echo "lint: ok"; fi
exit $fail
