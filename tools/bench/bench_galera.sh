#!/usr/bin/env bash
#
# bench_galera.sh -- sluice-replay into a 3-node Galera cluster vs into a
# standalone MariaDB with the same settings (32 MiB buffer pool, ROW
# binlog format, flush at commit), same run, same journals:
#
#   snapshot   one table of ROWS rows (LOAD DATA LOCAL, one group)
#   steady     TXNS source transactions of 3 changes each, replayed as the
#              groups capture made of them
#   fragments  the snapshot into the cluster with ws_fragment=0 (one write
#              set), the default 16 MiB and 1 MiB fragments: write-set
#              bytes (wsrep_replicated_bytes) and write sets/fragments
#
# Prints seconds per run and the cluster/standalone ratio. Uses the build
# in BUILD (default build/) and temporary servers under .bench/galera
# (tests/harness/galera.sh, tests/harness/mariadb.sh).
#
#   tools/bench/bench_galera.sh [ROWS] [TXNS]
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd -P)
BUILD=${BUILD:-$ROOT/build}
ROWS=${1:-200000}
TXNS=${2:-20000}
W=$ROOT/.bench/galera
CAP=$BUILD/capture/sluice-capture
REP=$BUILD/replay/sluice-replay
G=$ROOT/tests/harness/galera.sh
M=$ROOT/tests/harness/mariadb.sh

mkdir -p "$W"
cleanup() {
    bash "$G" stop "$W/cluster" >/dev/null 2>&1 || true
    bash "$M" stop "$W/single" >/dev/null 2>&1 || true
}
trap cleanup EXIT

[[ -x $CAP && -x $REP ]] || { echo "build first: cmake --build $BUILD" >&2; exit 1; }
echo "starting a 3-node cluster and a standalone server ..."
bash "$G" start "$W/cluster" 2>&1 | tail -n 1
SLUICE_MARIADB_EXTRA_ARGS="--innodb-buffer-pool-size=32M --binlog-format=ROW --log-bin=$W/single/binlog --innodb-autoinc-lock-mode=2" \
    bash "$M" start "$W/single" 2>&1 | tail -n 1
# shellcheck disable=SC1091
. "$W/cluster/env"
GURL="mariadb://sluice@$SLUICE_GALERA_HOSTS"
# shellcheck disable=SC1091
SOCK=$(. "$W/single/env" && printf '%s' "$SLUICE_TEST_MYSQL_SOCKET")
SURL="mariadb://sluice@localhost"
export SLUICE_TARGET_PASSWORD=$SLUICE_GALERA_PASSWORD

gsql() { mariadb --no-defaults -uroot --socket="$SLUICE_GALERA_SOCKET1" -N -e "$*"; }
ssql() { mariadb --no-defaults -uroot --socket="$SOCK" -N -e "$*"; }
now() { date +%s.%N; }

# journals
rm -rf "$W/snap" "$W/steady"
mkdir -p "$W/snap" "$W/steady"
sqlite3 "$W/snap/src.db" "CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER, b TEXT, c REAL);
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < $ROWS)
INSERT INTO t SELECT x, x * 7, printf('row %d %s', x, hex(randomblob(16))), x / 3.0 FROM n;"
"$CAP" --source "$W/snap/src.db" --journal "$W/snap/j" --once >/dev/null 2>&1
sqlite3 "$W/steady/src.db" "CREATE TABLE acct(id INTEGER PRIMARY KEY, bal INTEGER);
CREATE TABLE ev(id INTEGER PRIMARY KEY, a INTEGER, note TEXT);
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 100)
INSERT INTO acct SELECT x, 1000 FROM n;"
"$CAP" --source "$W/steady/src.db" --journal "$W/steady/j" >"$W/steady/cap.log" 2>&1 &
CPID=$!
sleep 1
python3 - "$W/steady/src.db" "$TXNS" <<'EOF'
import sqlite3, sys, random
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=5)
r = random.Random(1)
for i in range(int(sys.argv[2])):
    a, b, x = r.randint(1, 100), r.randint(1, 100), r.randint(1, 50)
    db.execute("BEGIN IMMEDIATE")
    db.execute("UPDATE acct SET bal = bal - ? WHERE id = ?", (x, a))
    db.execute("UPDATE acct SET bal = bal + ? WHERE id = ?", (x, b))
    db.execute("INSERT INTO ev(a, note) VALUES (?, 'move')", (a,))
    db.execute("COMMIT")
EOF
sleep 2
kill -TERM "$CPID"
wait "$CPID" || true

# run NAME JOURNAL URL: seconds of one sluice-replay --once
run() {
    local t0 t1
    t0=$(now)
    "$REP" --journal "$2" --target "$3" --replica "$1" --once >"$W/$1.log" 2>&1 ||
        { tail -n 5 "$W/$1.log" >&2; exit 1; }
    t1=$(now)
    echo "$t1 - $t0" | bc
}

wsbytes() { gsql "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_REPLICATED_BYTES'"; }
wscount() { gsql "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_REPLICATED'"; }

for d in snap_s snap_g snap_g0 snap_g1 steady_s steady_g; do
    gsql "DROP DATABASE IF EXISTS $d; CREATE DATABASE $d"
    ssql "DROP DATABASE IF EXISTS $d; CREATE DATABASE $d"
done
s_snap=$(run snap_s "$W/snap/j" "$SURL/snap_s?socket=$SOCK")
b0=$(wsbytes) c0=$(wscount)
g_snap=$(run snap_g "$W/snap/j" "$GURL/snap_g")
b1=$(wsbytes) c1=$(wscount)
g_snap0=$(run snap_g0 "$W/snap/j" "$GURL/snap_g0?ws_fragment=0")
b2=$(wsbytes) c2=$(wscount)
g_snap1=$(run snap_g1 "$W/snap/j" "$GURL/snap_g1?ws_fragment=1048576")
b3=$(wsbytes) c3=$(wscount)
s_steady=$(run steady_s "$W/steady/j" "$SURL/steady_s?socket=$SOCK")
g_steady=$(run steady_g "$W/steady/j" "$GURL/steady_g")
groups=$(grep -o 'groups=[0-9]*' "$W/steady_g.log" | tail -n 1)

printf '\n%-34s %10s %10s %8s\n' "run" "single s" "cluster s" "ratio"
printf '%-34s %10.2f %10.2f %8.2f\n' "snapshot $ROWS rows" "$s_snap" "$g_snap" "$(echo "$g_snap / $s_snap" | bc -l)"
printf '%-34s %10.2f %10.2f %8.2f\n' "steady $TXNS txns ($groups)" "$s_steady" "$g_steady" "$(echo "$g_steady / $s_steady" | bc -l)"
printf '\nsnapshot write sets into the cluster:\n'
printf '  ws_fragment=16777216 (default): %s s, %s bytes replicated in %s write sets/fragments\n' \
    "$g_snap" "$((b1 - b0))" "$((c1 - c0))"
printf '  ws_fragment=0 (one write set):  %s s, %s bytes replicated in %s write sets\n' \
    "$g_snap0" "$((b2 - b1))" "$((c2 - c1))"
printf '  ws_fragment=1048576:            %s s, %s bytes replicated in %s write sets/fragments\n' \
    "$g_snap1" "$((b3 - b2))" "$((c3 - c2))"
