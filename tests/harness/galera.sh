#!/usr/bin/env bash
#
# galera.sh -- a private 3-node MariaDB Galera cluster on 127.0.0.1 for
# sluice's cluster tests (modelled on mariadb.sh, which runs one server).
#
#   galera.sh start   DIR      fresh cluster in DIR/n1..n3: node 1 bootstraps
#                              (--wsrep-new-cluster), 2 and 3 join by rsync
#                              SST one after the other; creates the
#                              sluice_test database and user; writes DIR/env
#   galera.sh stop    DIR      every node: SIGTERM, SIGKILL after a timeout
#   galera.sh kill    DIR N [SIG]   signal node N (default KILL; STOP/CONT
#                              freeze and thaw it); a killed node leaves its
#                              files as a crash does
#   galera.sh stopnode DIR N   graceful stop of node N (SIGTERM, waits)
#   galera.sh startnode DIR N  start node N again: mariadbd --wsrep-recover
#                              first (its last committed position), so it
#                              rejoins by IST; waits until it is Synced.
#                              When no node runs, node N bootstraps the
#                              cluster again (whole-cluster restart).
#   galera.sh wait    DIR [N]  wait until every running node is Synced
#                              (wsrep_local_state 4) and the cluster size
#                              equals the number of running nodes (or N)
#   galera.sh status  DIR      one line per node; exit 0 when all 3 Synced
#
# INVARIANTS
#  (G1) Only a process whose command line carries our exact
#       --datadir=DIR/nK/data is ever signalled; nothing is found by name.
#  (G2) --no-defaults everywhere: /etc/mysql is never read, a system
#       MariaDB is never touched.
#  (G3) Servers never hold our caller's pipes (ctest waits for them) and
#       run in their own session.
#  (G4) Ports: per node a client, gcomm, IST and SST port, 12 in one block
#       derived from DIR (so build trees differ), moved when any is taken.
#       A restarted node keeps its ports (DIR/ports).
#  (G5) DIR/env is written last, atomically, once the cluster is Synced
#       and the user exists.
#  (G6) Waits follow observed state (wsrep_local_state, cluster size,
#       process alive), with a generous deadline; no fixed sleeps.
#
# Memory is kept small for a shared 2-core machine: 32 MiB buffer pool,
# 32 MiB gcache, no performance schema.
#
# rsync SST as root: the rsync daemon the SST script starts switches to
# user 'nobody' when run by root (rsyncd.conf's default) and then cannot
# write the joiner's datadir. A wrapper named rsync, first on the SST
# script's PATH (SST method sluice_rsync: bin/wsrep_sst_sluice_rsync runs
# Debian's wsrep_sst_rsync with that PATH), adds "uid = root / gid = root"
# to the daemon's generated config.
#
# Tunables: SLUICE_GALERA_START_TIMEOUT (s per node, default 180),
# SLUICE_GALERA_STOP_TIMEOUT (s, default 60).

set -euo pipefail

# shellcheck source=tests/harness/proc.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/proc.sh"

readonly TEST_DB=sluice_test
readonly TEST_USER=sluice
readonly TEST_PASSWORD=sluice-test-pw
readonly SQL_MODE=STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO
readonly PROVIDER=/usr/lib/galera/libgalera_smm.so
readonly NODES=3
START_TIMEOUT=${SLUICE_GALERA_START_TIMEOUT:-180}
STOP_TIMEOUT=${SLUICE_GALERA_STOP_TIMEOUT:-60}

me=${0##*/}

die() {
    printf '%s: error: %s\n' "$me" "$*" >&2
    exit 1
}

note() {
    printf '%s: %s\n' "$me" "$*" >&2
}

usage() {
    printf 'usage: %s start|stop|wait|status DIR | kill DIR N [SIG] | stopnode|startnode DIR N\n' "$me" >&2
    exit 2
}

need() {
    command -v "$1" >/dev/null 2>&1 || die "$1 not found (apt-get install $2)"
}


# ---- paths and ports -------------------------------------------------------

setup_paths() {
    mkdir -p "$1"
    DIR=$(cd "$1" && pwd -P)
    ENVFILE=$DIR/env
    if ((${#DIR} + 20 <= 100)); then
        SOCKBASE=$DIR
    else
        SOCKBASE=${TMPDIR:-/tmp}/sluice-galera-$(printf '%s' "$DIR" | cksum | cut -d' ' -f1)
    fi
}

node_paths() {
    local n=$1
    NDIR=$DIR/n$n
    DATADIR=$NDIR/data
    LOG=$NDIR/mysqld.log
    PIDFILE=$NDIR/mysqld.pid
    OURPID=$NDIR/server.pid
    SOCKET=$SOCKBASE/n$n.sock
}

lock_dir() {
    exec 9>"$DIR/.lock"
    flock -w 300 9 || die "another $me is working on $DIR"
}

port_is_listening() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# choose_ports: BASE such that BASE..BASE+11 are all free (G4).
choose_ports() {
    local h base p ok
    h=$(printf '%s-galera' "$DIR" | cksum | cut -d' ' -f1)
    base=$((20000 + (h % 1000) * 12))
    for _ in $(seq 1 50); do
        ok=1
        for ((p = base; p < base + 12; p++)); do
            if port_is_listening "$p"; then
                ok=0
                break
            fi
        done
        if ((ok)); then
            printf '%s\n' "$base" >"$DIR/ports"
            return 0
        fi
        base=$((20000 + ((base - 20000) / 12 + 1 + RANDOM % 50) % 1000 * 12))
    done
    die "no free block of 12 loopback ports found"
}

# port KIND N: client|gcomm|ist|sst port of node N.
port() {
    local base off
    base=$(<"$DIR/ports")
    case $1 in
    client) off=0 ;; gcomm) off=1 ;; ist) off=2 ;; sst) off=3 ;;
    esac
    printf '%d\n' $((base + ($2 - 1) * 4 + off))
}

# ---- finding our servers (G1) ----------------------------------------------


# find_pid N: pid of node N's mariadbd, or nothing.
find_pid() {
    local pid f p
    node_paths "$1"
    for f in "$OURPID" "$PIDFILE"; do
        [[ -r $f ]] || continue
        read -r pid <"$f" 2>/dev/null || continue
        if is_ours "$pid" "$DATADIR"; then
            printf '%s\n' "$pid"
            return 0
        fi
    done
    for p in /proc/[0-9]*; do
        pid=${p#/proc/}
        if is_ours "$pid" "$DATADIR"; then
            printf '%s\n' "$pid"
            return 0
        fi
    done
    return 0
}

wait_gone() {
    local pid=$1 data=$2 deadline
    deadline=$(($(now_ms) + $3 * 1000))
    while is_ours "$pid" "$data"; do
        (($(now_ms) < deadline)) || return 1
        sleep 0.1
    done
    return 0
}

# ---- client ----------------------------------------------------------------

# sql N SQL: as root over node N's socket.
sql() {
    local n=$1
    shift
    mariadb --no-defaults --protocol=socket --socket="$SOCKBASE/n$n.sock" -uroot \
        --connect-timeout=5 --batch --skip-column-names -e "$*"
}

# wsrep_state N: "STATE SIZE" of node N, or nothing when it does not answer.
wsrep_state() {
    sql "$1" "SELECT
        (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS
          WHERE VARIABLE_NAME = 'WSREP_LOCAL_STATE'),
        (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS
          WHERE VARIABLE_NAME = 'WSREP_CLUSTER_SIZE')" 2>/dev/null | tr '\t' ' '
}

# ---- launching ---------------------------------------------------------------

write_rsync_wrapper() {
    mkdir -p "$DIR/bin"
    cat >"$DIR/bin/rsync.tmp" <<'EOF'
#!/bin/sh
# galera.sh: keep root's uid in the SST rsync daemon (see galera.sh)
conf=
prev=
for a in "$@"; do
    case $a in
    --config=*) conf=${a#--config=} ;;
    esac
    [ "$prev" = --config ] && conf=$a
    prev=$a
done
if [ -n "$conf" ] && [ -f "$conf" ] && [ "$(id -u)" = 0 ] &&
    ! grep -q '^uid = root' "$conf"; then
    { printf 'uid = root\ngid = root\n'; cat "$conf"; } >"$conf.tmp" &&
        mv -f "$conf.tmp" "$conf"
fi
exec /usr/bin/rsync "$@"
EOF
    chmod +x "$DIR/bin/rsync.tmp"
    mv -f "$DIR/bin/rsync.tmp" "$DIR/bin/rsync"
    # mariadbd puts its own bin directory first on the SST script's PATH,
    # where Debian's rsync is: an SST method of our own name puts the
    # wrapper back in front.
    # shellcheck disable=SC2016 # $PATH and "$@" belong to the script
    printf '#!/bin/sh\nPATH=%s/bin:$PATH\nexport PATH\nexec /usr/bin/wsrep_sst_rsync "$@"\n' \
        "$(shq "$DIR")" >"$DIR/bin/wsrep_sst_sluice_rsync.tmp"
    chmod +x "$DIR/bin/wsrep_sst_sluice_rsync.tmp"
    mv -f "$DIR/bin/wsrep_sst_sluice_rsync.tmp" "$DIR/bin/wsrep_sst_sluice_rsync"
}

# node_args N: the mariadbd arguments of node N (one per line).
node_args() {
    local n=$1 i addr=""
    node_paths "$n"
    for ((i = 1; i <= NODES; i++)); do
        addr+="${addr:+,}127.0.0.1:$(port gcomm "$i")"
    done
    printf '%s\n' \
        --no-defaults \
        --datadir="$DATADIR" \
        --tmpdir="$NDIR/tmp" \
        --socket="$SOCKET" \
        --port="$(port client "$n")" \
        --bind-address=127.0.0.1 \
        --pid-file="$PIDFILE" \
        --log-error="$LOG" \
        --skip-name-resolve \
        --sql-mode="$SQL_MODE" \
        --character-set-server=utf8mb4 \
        --local-infile=1 \
        --innodb-buffer-pool-size=32M \
        --innodb-log-file-size=48M \
        --innodb-flush-log-at-trx-commit=1 \
        --innodb-autoinc-lock-mode=2 \
        --performance-schema=OFF \
        --binlog-format=ROW \
        --default-storage-engine=InnoDB \
        --wsrep-on=ON \
        --wsrep-provider="$PROVIDER" \
        --wsrep-cluster-name=sluice_test \
        --wsrep-cluster-address="gcomm://$addr" \
        --wsrep-node-name="n$n" \
        --wsrep-node-address="127.0.0.1:$(port gcomm "$n")" \
        --wsrep-node-incoming-address="127.0.0.1:$(port client "$n")" \
        --wsrep-sst-method=sluice_rsync \
        --wsrep-sst-receive-address="127.0.0.1:$(port sst "$n")" \
        --wsrep-provider-options="gmcast.listen_addr=tcp://127.0.0.1:$(port gcomm "$n");ist.recv_addr=127.0.0.1:$(port ist "$n");gcache.size=32M;gcache.page_size=32M" \
        --log-warnings=2
    ((EUID != 0)) || printf '%s\n' --user=root
}

# launch N [EXTRA...]: start node N in the background.
launch() {
    local n=$1
    shift
    local -a args
    node_paths "$n"
    mapfile -t args < <(node_args "$n")
    args+=("$@")
    mkdir -p "$NDIR/tmp" "$DATADIR"
    [[ -d $SOCKBASE ]] || mkdir -m 700 "$SOCKBASE"
    rm -f "$SOCKET" "$SOCKET.lock" "$PIDFILE"
    # G3: own session, no inherited pipes, not our lock fd
    PATH="$DIR/bin:$PATH" setsid mariadbd "${args[@]}" </dev/null \
        >>"$NDIR/mysqld.stderr" 2>&1 9>&- &
    printf '%s\n' "$!" >"$OURPID"
    LAUNCHED_PID=$!
    # Until the forked shell has exec'd mariadbd, /proc/PID/cmdline is
    # still bash's: is_ours() would call the starting node gone (seen
    # under load: 'node N exited during start-up' while it ran on).
    wait_exec "$LAUNCHED_PID" "$DATADIR"
}


log_tail() {
    local f=$1
    [[ -s $f ]] || return 0
    printf -- '--- last lines of %s ---\n' "$f" >&2
    tail -n 40 "$f" >&2
}

# wait_synced N PID: 0 once node N answers with wsrep_local_state 4.
wait_synced() {
    local n=$1 pid=$2 deadline st
    node_paths "$n"
    deadline=$(($(now_ms) + START_TIMEOUT * 1000))
    while :; do
        st=$(wsrep_state "$n")
        [[ ${st%% *} == 4 ]] && return 0
        if ! is_ours "$pid" "$DATADIR"; then
            note "node $n (pid $pid) exited during start-up"
            log_tail "$LOG"
            return 1
        fi
        if (($(now_ms) >= deadline)); then
            note "node $n (pid $pid) not Synced within ${START_TIMEOUT}s (state: ${st:-no answer})"
            log_tail "$LOG"
            return 1
        fi
        sleep 0.2
    done
}

# recover N: print node N's last committed position (uuid:seqno), from
# grastate.dat when it was stopped cleanly, else from mariadbd --wsrep-recover.
recover() {
    local n=$1 uuid seqno rlog pos
    node_paths "$n"
    uuid=$(sed -n 's/^uuid:[[:space:]]*//p' "$DATADIR/grastate.dat" 2>/dev/null || true)
    seqno=$(sed -n 's/^seqno:[[:space:]]*//p' "$DATADIR/grastate.dat" 2>/dev/null || true)
    if [[ -n $uuid && -n $seqno && $seqno != -1 ]]; then
        printf '%s:%s\n' "$uuid" "$seqno"
        return 0
    fi
    local -a args
    mapfile -t args < <(node_args "$n")
    rlog=$NDIR/recover.log
    rm -f "$rlog"
    # --log-error must point at our file for the position line
    mariadbd "${args[@]}" --log-error="$rlog" --wsrep-recover </dev/null \
        >>"$NDIR/mysqld.stderr" 2>&1 9>&- || true
    pos=$(sed -n 's/.*WSREP: Recovered position: *\([^ ]*\).*/\1/p' "$rlog" | tail -n 1)
    printf '%s\n' "$pos"
}

# ---- commands ----------------------------------------------------------------

stop_node() {
    local n=$1 sig=$2 pid
    node_paths "$n"
    pid=$(find_pid "$n")
    [[ -n $pid ]] || return 0
    kill "-$sig" "$pid" 2>/dev/null || true
    kill -CONT "$pid" 2>/dev/null || true # a frozen node must see SIGTERM
    if ! wait_gone "$pid" "$DATADIR" "$STOP_TIMEOUT"; then
        note "node $n (pid $pid) ignored SIG$sig for ${STOP_TIMEOUT}s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        wait_gone "$pid" "$DATADIR" 10 || die "node $n (pid $pid) survived SIGKILL"
    fi
}

running_nodes() {
    local n c=0
    for ((n = 1; n <= NODES; n++)); do
        [[ -z $(find_pid "$n") ]] || c=$((c + 1))
    done
    printf '%d\n' "$c"
}

provision() {
    sql 1 "
        CREATE DATABASE IF NOT EXISTS \`$TEST_DB\` CHARACTER SET utf8mb4;
        CREATE USER IF NOT EXISTS '$TEST_USER'@'localhost'
            IDENTIFIED BY '$TEST_PASSWORD';
        CREATE USER IF NOT EXISTS '$TEST_USER'@'127.0.0.1'
            IDENTIFIED BY '$TEST_PASSWORD';
        GRANT ALL PRIVILEGES ON *.* TO '$TEST_USER'@'localhost';
        GRANT ALL PRIVILEGES ON *.* TO '$TEST_USER'@'127.0.0.1';" ||
        die "could not create $TEST_DB and user $TEST_USER on node 1"
}

shq() {
    printf "'%s'" "${1//\'/\'\\\'\'}"
}

write_env() {
    local tmp n hosts=""
    for ((n = 1; n <= NODES; n++)); do
        hosts+="${hosts:+,}127.0.0.1:$(port client "$n")"
    done
    tmp=$ENVFILE.tmp.$$
    {
        printf '# written by %s start; sourceable by sh\n' "$me"
        printf 'SLUICE_GALERA_DIR=%s\n' "$(shq "$DIR")"
        printf 'SLUICE_GALERA_USER=%s\n' "$(shq "$TEST_USER")"
        printf 'SLUICE_GALERA_PASSWORD=%s\n' "$(shq "$TEST_PASSWORD")"
        printf 'SLUICE_GALERA_DB=%s\n' "$(shq "$TEST_DB")"
        printf 'SLUICE_GALERA_HOSTS=%s\n' "$(shq "$hosts")"
        for ((n = 1; n <= NODES; n++)); do
            printf 'SLUICE_GALERA_PORT%d=%s\n' "$n" "$(port client "$n")"
            printf 'SLUICE_GALERA_SOCKET%d=%s\n' "$n" "$(shq "$SOCKBASE/n$n.sock")"
        done
    } >"$tmp"
    mv -f "$tmp" "$ENVFILE"
}

cmd_start() {
    local t0 n
    need mariadbd mariadb-server
    need mariadb mariadb-client
    need mariadb-install-db mariadb-server
    need rsync rsync
    [[ -r $PROVIDER ]] || die "$PROVIDER not found (apt-get install galera-4)"
    t0=$(now_ms)
    for ((n = NODES; n >= 1; n--)); do stop_node "$n" TERM; done
    rm -f "$ENVFILE"
    for ((n = 1; n <= NODES; n++)); do
        node_paths "$n"
        rm -rf "$NDIR"
        mkdir -p "$NDIR"
    done
    choose_ports
    write_rsync_wrapper
    node_paths 1
    mkdir -p "$DATADIR"
    local -a iargs=(--no-defaults --datadir="$DATADIR"
        --auth-root-authentication-method=normal --skip-test-db
        --skip-name-resolve --innodb-buffer-pool-size=32M
        --innodb-log-file-size=48M)
    ((EUID != 0)) || iargs+=(--user=root)
    mariadb-install-db "${iargs[@]}" </dev/null >"$NDIR/install.log" 2>&1 9>&- || {
        tail -n 30 "$NDIR/install.log" >&2
        die "mariadb-install-db failed (log: $NDIR/install.log)"
    }
    launch 1 --wsrep-new-cluster
    wait_synced 1 "$LAUNCHED_PID" || die "node 1 did not bootstrap the cluster"
    provision
    # Seed the joiners with node 1's cleanly stopped datadir: they then
    # hold the cluster's state (grastate uuid:seqno) and join without a
    # state transfer (an rsync SST costs a minute on a loaded 2-core box).
    # Rejoins after a kill use IST, or rsync SST when gcache lacks the gap.
    stop_node 1 TERM
    for ((n = 2; n <= NODES; n++)); do
        cp -a "$DIR/n1/data" "$DIR/n$n/data.tmp"
        rm -f "$DIR/n$n/data.tmp/gvwstate.dat" "$DIR/n$n/data.tmp/galera.cache"
        sed -i 's/^safe_to_bootstrap:.*/safe_to_bootstrap: 0/' "$DIR/n$n/data.tmp/grastate.dat"
        rm -rf "$DIR/n$n/data"
        mv "$DIR/n$n/data.tmp" "$DIR/n$n/data"
    done
    launch 1 --wsrep-new-cluster
    wait_synced 1 "$LAUNCHED_PID" || die "node 1 did not bootstrap the cluster again"
    local -a pids=()
    for ((n = 2; n <= NODES; n++)); do
        launch "$n"
        pids[n]=$LAUNCHED_PID
    done
    for ((n = 2; n <= NODES; n++)); do
        wait_synced "$n" "${pids[n]}" || die "node $n did not join"
    done
    cmd_wait "$NODES"
    write_env
    note "started a $NODES-node cluster (client ports $(port client 1)-$(port client "$NODES")) in $(($(now_ms) - t0)) ms"
}

cmd_stop() {
    local n
    for ((n = NODES; n >= 1; n--)); do
        stop_node "$n" TERM
    done
    rm -f "$ENVFILE"
    for ((n = 1; n <= NODES; n++)); do
        rm -f "$SOCKBASE/n$n.sock" "$SOCKBASE/n$n.sock.lock"
    done
    [[ $SOCKBASE == "$DIR" ]] || rmdir "$SOCKBASE" 2>/dev/null || true
    note "stopped the cluster in $DIR"
}

cmd_kill() {
    local n=$1 sig=${2:-KILL} pid
    node_paths "$n"
    pid=$(find_pid "$n")
    [[ -n $pid ]] || { note "node $n is not running"; return 0; }
    kill "-$sig" "$pid"
    if [[ $sig == KILL || $sig == 9 ]]; then
        wait_gone "$pid" "$DATADIR" 10 || die "node $n (pid $pid) survived SIGKILL"
    fi
    note "sent SIG$sig to node $n (pid $pid)"
}

cmd_stopnode() {
    stop_node "$1" TERM
    note "stopped node $1"
}

cmd_startnode() {
    local n=$1 pos t0 alive
    [[ -r $DIR/ports ]] || die "$DIR has no cluster: run '$me start $DIR' first"
    [[ -z $(find_pid "$n") ]] || { note "node $n runs already"; return 0; }
    t0=$(now_ms)
    alive=$(running_nodes)
    pos=$(recover "$n")
    node_paths "$n"
    [[ -n $pos ]] || { log_tail "$NDIR/recover.log"; die "node $n: no position from --wsrep-recover"; }
    if ((alive == 0)); then
        # whole-cluster restart: this node bootstraps a new primary
        sed -i 's/^safe_to_bootstrap:.*/safe_to_bootstrap: 1/' "$DATADIR/grastate.dat" 2>/dev/null || true
        launch "$n" --wsrep-start-position="$pos" --wsrep-new-cluster
    else
        launch "$n" --wsrep-start-position="$pos"
    fi
    wait_synced "$n" "$LAUNCHED_PID" || die "node $n did not rejoin"
    note "node $n rejoined from $pos in $(($(now_ms) - t0)) ms"
}

# cmd_wait [N]: every running node Synced, cluster size = running (or N).
cmd_wait() {
    local want=${1:-} deadline n st ok alive
    deadline=$(($(now_ms) + START_TIMEOUT * 1000))
    while :; do
        alive=$(running_nodes)
        ok=1
        for ((n = 1; n <= NODES; n++)); do
            [[ -n $(find_pid "$n") ]] || continue
            st=$(wsrep_state "$n")
            if [[ $st != "4 ${want:-$alive}" ]]; then
                ok=0
                break
            fi
        done
        ((ok)) && return 0
        (($(now_ms) < deadline)) || die "cluster not settled within ${START_TIMEOUT}s (node $n: ${st:-no answer})"
        sleep 0.2
    done
}

cmd_status() {
    local n pid st all=0
    for ((n = 1; n <= NODES; n++)); do
        pid=$(find_pid "$n")
        if [[ -z $pid ]]; then
            printf 'node %d stopped\n' "$n"
            all=1
            continue
        fi
        st=$(wsrep_state "$n")
        printf 'node %d pid %s state/size %s\n' "$n" "$pid" "${st:-no answer}"
        [[ ${st%% *} == 4 ]] || all=1
    done
    return "$all"
}

(($# >= 2)) || usage
action=$1
[[ -n $2 ]] || usage
setup_paths "$2"
case $action in
start | stop | status)
    (($# == 2)) || usage
    ;;
wait)
    (($# <= 3)) || usage
    ;;
kill | stopnode | startnode)
    (($# >= 3)) || usage
    [[ $3 =~ ^[1-3]$ ]] || die "node must be 1, 2 or 3"
    ;;
*) usage ;;
esac
[[ $action == status || $action == kill || -r $DIR/ports || $action == start ]] ||
    [[ $action == stop ]] || die "$DIR has no cluster"
lock_dir
case $action in
start) cmd_start ;;
stop)
    if [[ -r $DIR/ports ]]; then cmd_stop; else note "no cluster in $DIR"; fi
    ;;
kill) cmd_kill "$3" "${4:-KILL}" ;;
stopnode) cmd_stopnode "$3" ;;
startnode) cmd_startnode "$3" ;;
wait) cmd_wait "${3:-}" ;;
status) cmd_status ;;
esac
