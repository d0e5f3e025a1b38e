#!/usr/bin/env bash
#
# test_systemd.sh SRC BUILD -- tools/systemd/ units pass systemd-analyze
# verify (with ExecStart pointing at the built binaries: verify checks
# that they exist), carry the hardening README promises, and score as
# well exposed as `systemd-analyze security` allows us (threshold 20 of 100, shown as 2.0,
# "OK"). Any warning verify prints fails the test.
set -euo pipefail
src=${1:?source dir}
build=${2:?build dir}
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
command -v systemd-analyze >/dev/null ||
    fail "systemd-analyze not found (Debian package systemd)"
work=$(mktemp -d /tmp/sluice-systemd.XXXXXX)
trap 'rm -rf "$work"' EXIT

for f in "$src"/tools/systemd/*.service; do
    sed -e "s#/usr/local/bin/sluice-capture#$build/capture/sluice-capture#" \
        -e "s#/usr/local/bin/sluice-replay#$build/replay/sluice-replay#" \
        "$f" >"$work/${f##*/}"
done
# an instance of the template, as systemctl would start it
cp "$work/sluice-replay@.service" "$work/sluice-replay@reporting.service"
units=("$work/sluice-capture.service" "$work/sluice-replay@reporting.service")

verify() {
    local out
    out=$(cd "$work" && systemd-analyze verify --man=no "$@" 2>&1) ||
        { printf '%s\n' "$out"; return 1; }
    [[ -z $out ]] || { printf '%s\n' "$out"; return 1; }
}
verify "${units[@]}" || fail "systemd-analyze verify"

# the verify step itself catches a broken unit
sed 's/^ProtectSystem=/ProtectSystm=/' "$work/sluice-capture.service" >"$work/broken.service"
if verify "$work/broken.service" >/dev/null; then
    fail "verify did not notice an unknown key: the check is blind"
fi

for u in "${units[@]}"; do
    for want in 'ProtectSystem=strict' 'NoNewPrivileges=yes' 'User=sluice' \
                'Restart=on-failure' 'ReadWritePaths=/'; do
        grep -q "^$want" "$u" || fail "${u##*/} lacks $want"
    done
    grep -q -- '--metrics' "$u" || fail "${u##*/} serves no metrics"
    if grep -qiE 'password=|PASSWORD=[^ ]' "$u"; then
        fail "${u##*/} carries a password"
    fi
    (cd "$work" && systemd-analyze security --offline=yes --threshold=20 \
        "${u##*/}" >/dev/null) || fail "${u##*/}: systemd-analyze security above 2.0"
done
grep -q '^After=.*mariadb.service' "$work/sluice-replay@reporting.service" ||
    fail "replay is not ordered after mariadb.service"
grep -q '^LoadCredential=' "$work/sluice-replay@reporting.service" ||
    fail "replay does not take its password as a credential"
echo "systemd units: ok"
