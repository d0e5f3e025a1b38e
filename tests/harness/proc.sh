# shellcheck shell=bash
#
# tests/harness/proc.sh -- telling our own server processes from others.
# Sourced by mariadb.sh and galera.sh.
#
#   now_ms                 milliseconds since the epoch
#   is_alive PID           PID exists and has not exited (not a zombie)
#   is_ours PID DATADIR    PID is alive and is a mariadbd on DATADIR (its
#                          command line holds --datadir=DATADIR): a pid file
#                          or a recycled pid never makes us signal a
#                          stranger
#   wait_exec PID DATADIR  after `cmd &`: until PID has exec'd our mariadbd
#                          or has exited (at most 30 s). Until the forked
#                          shell execs, /proc/PID/cmdline is still bash's,
#                          and is_ours() would call a starting server gone
#                          -- seen under load as 'exited during start-up'
#                          while the server ran on.

now_ms() {
    local s ns
    read -r s ns < <(date '+%s %N')
    printf '%d\n' $((s * 1000 + 10#$ns / 1000000))
}

is_alive() {
    local state
    [[ $1 =~ ^[0-9]+$ ]] || return 1
    state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null) || return 1
    [[ -n $state && $state != Z && $state != X ]]
}

is_ours() {
    local pid=$1 data=$2 arg
    is_alive "$pid" || return 1
    while IFS= read -r -d '' arg; do
        [[ $arg == "--datadir=$data" ]] && return 0
    done <"/proc/$pid/cmdline" 2>/dev/null
    return 1
}

wait_exec() {
    local deadline=$(($(now_ms) + 30000))
    while is_alive "$1" && ! is_ours "$1" "$2"; do
        (($(now_ms) < deadline)) || return 0
        sleep 0.02
    done
    return 0
}
