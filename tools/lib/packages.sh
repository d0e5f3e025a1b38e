# shellcheck shell=bash
#
# tools/lib/packages.sh -- the Debian packages sluice needs, and installing
# the missing ones. Sourced by tools/test.sh and tools/demo.sh.
#
#   SLUICE_PACKAGES_BUILD   compiler, CMake and the libraries sluice links
#   SLUICE_PACKAGES_RUN     MariaDB server and client, the sqlite3 shell
#   SLUICE_PACKAGES_TEST    what tools/test.sh needs beyond those: Criterion,
#                           valgrind, clang and its libFuzzer/sanitizer
#                           runtimes (tests/fuzz), openssl (TLS tests),
#                           galera-4, rsync and iproute2 (the 3-node
#                           Galera cluster of tests/harness/galera.sh:
#                           provider, rsync SST, the SST script's `ss`)
#   sluice_ensure_packages PROG PKG...
#       Installs those of PKG... that dpkg does not report as installed,
#       with apt-get update + apt-get install -y (root only). Not root:
#       prints the sudo command and returns 1. No dpkg-query (not Debian):
#       says so and returns 0 (the build will name what is missing).
#       apt-get failing returns 1.

# shellcheck disable=SC2034 # used by the scripts that source this file
SLUICE_PACKAGES_BUILD=(build-essential cmake pkg-config libsqlite3-dev
    libmariadb-dev liblmdb-dev libzstd-dev libmicrohttpd-dev)
# shellcheck disable=SC2034
SLUICE_PACKAGES_RUN=(mariadb-server mariadb-client sqlite3)
# shellcheck disable=SC2034
SLUICE_PACKAGES_TEST=(libcriterion-dev valgrind clang libclang-rt-dev openssl
    galera-4 rsync iproute2 prometheus systemd curl jq)

sluice_ensure_packages() {
    local prog=$1 p
    local -a missing=()
    shift
    if ! command -v dpkg-query >/dev/null 2>&1; then
        printf '%s: dpkg-query not found: not checking packages (need: %s)\n' \
            "$prog" "$*" >&2
        return 0
    fi
    for p in "$@"; do
        [[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null) == ii* ]] ||
            missing+=("$p")
    done
    ((${#missing[@]} == 0)) && return 0
    if ((EUID != 0)); then
        printf '%s: missing packages: %s\n' "$prog" "${missing[*]}" >&2
        printf 'install them with:\n  sudo apt-get update && sudo apt-get install -y %s\n' \
            "${missing[*]}" >&2
        return 1
    fi
    printf '%s: installing %s\n' "$prog" "${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get update -q </dev/null ||
        ! apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null; then
        printf '%s: apt-get failed\n' "$prog" >&2
        return 1
    fi
    return 0
}
