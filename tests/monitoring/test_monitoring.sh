#!/usr/bin/env bash
#
# test_monitoring.sh -- tools/monitoring/ against real sluice processes.
#
#   test_monitoring.sh rules SRC          promtool check rules + test rules
#   test_monitoring.sh live  SRC BUILD    capture + replay with --metrics
#                                         against the private MariaDB
#                                         (BUILD/mariadb/env): every
#                                         exposition passes promtool check
#                                         metrics, and every metric the
#                                         dashboard and the alert rules name
#                                         is one sluice exports
#
# Waits on what it observes (log lines, metric values), with limits that
# are limits, not expectations.
set -euo pipefail

mode=${1:?usage: test_monitoring.sh rules|live SRC [BUILD]}
src=${2:?source dir}
mon=$src/tools/monitoring
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

command -v promtool >/dev/null ||
    fail "promtool not found (Debian package prometheus, see tools/lib/packages.sh)"

if [[ $mode == rules ]]; then
    promtool check rules "$mon/sluice-alerts.yml"
    (cd "$mon" && promtool test rules sluice-alerts.test.yml)
    # every alert has a unit test
    for a in $(sed -n 's/^ *- alert: *//p' "$mon/sluice-alerts.yml"); do
        grep -q "alertname: $a\$" "$mon/sluice-alerts.test.yml" ||
            fail "alert $a has no test in sluice-alerts.test.yml"
    done
    echo "rules: ok"
    exit 0
fi

build=${3:?build dir}
# shellcheck disable=SC1091
. "$build/mariadb/env"
work=$(mktemp -d /tmp/sluice-mon.XXXXXX)
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# wait_for SECONDS WHAT CMD...: poll CMD until it succeeds
wait_for() {
    local limit=$1 what=$2 t0=$SECONDS
    shift 2
    until "$@"; do
        ((SECONDS - t0 < limit)) || fail "$what not seen within ${limit}s"
        sleep 0.1
    done
}
port_of() { sed -n 's/.*event=[a-z]*\.metrics .*port=\([0-9]*\).*/\1/p' "$1" | head -1; }

sqlite3 "$work/app.db" "CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT, price REAL);
  INSERT INTO items(name, price) VALUES ('a', 1.5), ('b', 2.5);"
"$build/capture/sluice-capture" --source "$work/app.db" --journal "$work/j" \
    --metrics 127.0.0.1:0 2>"$work/capture.log" &
pids+=($!)
wait_for 60 "capture's metrics port" grep -q 'event=capture.metrics' "$work/capture.log"
export SLUICE_TARGET_PASSWORD=$SLUICE_TEST_MYSQL_PASSWORD
"$build/replay/sluice-replay" --journal "$work/j" --replica mon \
    --target "mariadb://$SLUICE_TEST_MYSQL_USER@localhost/$SLUICE_TEST_MYSQL_DB?socket=$SLUICE_TEST_MYSQL_SOCKET" \
    --map items=mon_items --metrics 127.0.0.1:0 2>"$work/replay.log" &
pids+=($!)
wait_for 60 "replay's metrics port" grep -q 'event=replay.metrics' "$work/replay.log"
cport=$(port_of "$work/capture.log")
rport=$(port_of "$work/replay.log")
sqlite3 "$work/app.db" "INSERT INTO items(name, price) VALUES ('c', 3.5); UPDATE items SET price = 9 WHERE id = 1;"
applied() {
    curl -sf "http://127.0.0.1:$rport/metrics" >"$work/replay.prom" &&
        grep -q '^sluice_replay_records_total{.*} [1-9]' "$work/replay.prom" &&
        grep -q '^sluice_replay_lag_records{.*} 0$' "$work/replay.prom" &&
        curl -sf "http://127.0.0.1:$cport/metrics" >"$work/capture.prom" &&
        grep -q '^sluice_end_to_end_lag_seconds{db="j",replica="mon"}' "$work/capture.prom"
}
wait_for 120 "replay applying the changes" applied
"$build/tools/inspect/sluice-inspect" "$work/j" metrics >"$work/inspect.prom"

for f in capture replay inspect; do
    out=$(promtool check metrics <"$work/$f.prom" 2>&1) ||
        fail "promtool check metrics on $f's exposition: $out"
    [[ -z $out ]] || fail "promtool check metrics on $f's exposition: $out"
done
echo "expositions: promtool check metrics clean"

# Names sluice exports: every family of the live expositions.
cat "$work"/*.prom | sed -n 's/^# TYPE \([^ ]*\) .*/\1/p' | sort -u >"$work/exported"
# Names queried by the dashboard and the rules: sluice_*/process_* tokens;
# a histogram's _bucket/_sum/_count belong to its family.
{
    jq -r '.. | objects | .expr? // empty' "$mon/sluice-dashboard.json"
    sed -n 's/^ *expr: *//p' "$mon/sluice-alerts.yml"
} | grep -oE '\b(sluice|process)_[a-z0-9_]+' |
    sed -E 's/_(bucket|sum|count)$//' | sort -u >"$work/queried"
[[ $(wc -l <"$work/queried") -ge 10 ]] || fail "found almost no metric in the dashboard: the extraction is broken"
missing=$(comm -23 "$work/queried" "$work/exported")
[[ -z $missing ]] || fail "the dashboard or the rules query metrics sluice does not export: $missing"
# the check itself catches a name sluice does not export
if printf 'sluice_no_such_metric\n' | comm -23 - "$work/exported" | grep -q .; then :; else
    fail "the cross-check would not catch an unknown name"
fi
echo "dashboard and rules: $(wc -l <"$work/queried") metrics, all exported"
# the dashboard's JSON is what Grafana imports: panels with targets
jq -e '.panels | length >= 8 and all(.targets | length >= 1)' "$mon/sluice-dashboard.json" >/dev/null ||
    fail "dashboard JSON has no panels with targets"
echo "live: ok"
