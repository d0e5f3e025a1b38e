#!/usr/bin/env bash
#
# mariadb.sh -- a private MariaDB server for sluice's integration tests.
#
#   mariadb.sh start   DIR   fresh datadir in DIR/data, start, create the
#                            sluice_test database and user, write DIR/env
#   mariadb.sh stop    DIR   SIGTERM by pid, SIGKILL after a timeout
#   mariadb.sh kill    DIR   SIGKILL now (outage tests); leaves stale files
#                            and DIR/env (restart brings the same values)
#   mariadb.sh restart DIR   start again on the same datadir/socket/port
#   mariadb.sh status  DIR   exit 0 up and answering, 1 up but not answering,
#                            3 not running
#
# INVARIANTS
#  (M1) Only a process whose command line carries our exact
#       --datadir=DIR/data is ever signalled; nothing is found by name.
#  (M2) --no-defaults everywhere: /etc/mysql and ~/.my.cnf are never read,
#       so a system MariaDB (port 3306, /run/mysqld) is never touched.
#  (M3) The server's stdin/stdout/stderr never point at our caller's pipes
#       (ctest waits for them to close), and it runs in its own session.
#  (M4) Two DIRs never share a socket (it lives in DIR, or in a directory
#       named after DIR) nor a port (mariadbd binds it; on EADDRINUSE we
#       pick another one and try again).
#  (M5) DIR/env is written last, atomically: when it exists the server has
#       answered and the database and user exist.
#
# Layout of DIR: data/ tmp/ mysqld.sock mysqld.pid server.pid mysqld.log extra-args
# mysqld.stderr install.log port socket env .lock
#
# Tunables (environment): SLUICE_MARIADB_START_TIMEOUT (s, default 60),
# SLUICE_MARIADB_STOP_TIMEOUT (s, default 30), SLUICE_MARIADB_EXTRA_ARGS
# (more mariadbd options, whitespace-separated, e.g. a test's --ssl-cert;
# recorded in DIR/extra-args so a restart keeps them).
#
# The server runs with MariaDB's defaults (max_allowed_packet 16 MiB, ...)
# except for strict sql_mode, utf8mb4 and local-infile: tests about another
# setting pass it in SLUICE_MARIADB_EXTRA_ARGS.

set -euo pipefail

# shellcheck source=tests/harness/proc.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/proc.sh"

readonly TEST_DB=sluice_test
readonly TEST_USER=sluice
readonly TEST_PASSWORD=sluice-test-pw
readonly SQL_MODE=STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO
START_TIMEOUT=${SLUICE_MARIADB_START_TIMEOUT:-60}
STOP_TIMEOUT=${SLUICE_MARIADB_STOP_TIMEOUT:-30}

me=${0##*/}

die() {
    printf '%s: error: %s\n' "$me" "$*" >&2
    exit 1
}

note() {
    printf '%s: %s\n' "$me" "$*" >&2
}

usage() {
    printf 'usage: %s start|stop|kill|restart|status DIR\n' "$me" >&2
    exit 2
}

need() {
    command -v "$1" >/dev/null 2>&1 ||
        die "$1 not found (apt-get install ${2:-mariadb-server})"
}


log_tail() {
    local f
    for f in "$LOG" "$DIR/mysqld.stderr"; do
        if [[ -s $f ]]; then
            printf -- '--- last lines of %s ---\n' "$f" >&2
            tail -n 30 "$f" >&2
        fi
    done
}

# ---- paths ---------------------------------------------------------------

setup_paths() {
    mkdir -p "$1"
    DIR=$(cd "$1" && pwd -P)
    DATADIR=$DIR/data
    LOG=$DIR/mysqld.log
    PIDFILE=$DIR/mysqld.pid
    OURPID=$DIR/server.pid
    ENVFILE=$DIR/env
    # sun_path holds 107 bytes: a deep build tree gets its socket in a
    # short directory whose name is derived from DIR (M4).
    if ((${#DIR} + 12 <= 100)); then
        SOCKDIR=$DIR
    else
        SOCKDIR=${TMPDIR:-/tmp}/sluice-mariadb-$(printf '%s' "$DIR" | cksum | cut -d' ' -f1)
    fi
    SOCKET=$SOCKDIR/mysqld.sock
}

lock_dir() {
    exec 9>"$DIR/.lock"
    flock -w 120 9 || die "another $me is working on $DIR"
}

# ---- finding our server (M1) -----------------------------------------------


# find_pid: print the pid of our server, or nothing.
find_pid() {
    local f pid p
    for f in "$OURPID" "$PIDFILE"; do
        [[ -r $f ]] || continue
        read -r pid <"$f" 2>/dev/null || continue
        if is_ours "$pid" "$DATADIR"; then
            printf '%s\n' "$pid"
            return 0
        fi
    done
    # pid files lost (killed during start-up): look for our exact datadir.
    for p in /proc/[0-9]*; do
        pid=${p#/proc/}
        if is_ours "$pid" "$DATADIR"; then
            printf '%s\n' "$pid"
            return 0
        fi
    done
    return 0
}

# wait_gone PID SECONDS: 0 once PID is gone (or a zombie), 1 on timeout.
wait_gone() {
    local pid=$1 deadline
    deadline=$(($(now_ms) + $2 * 1000))
    while is_ours "$pid" "$DATADIR"; do
        (($(now_ms) < deadline)) || return 1
        sleep 0.1
    done
    return 0
}

clean_stale() {
    rm -f "$SOCKET" "$SOCKET.lock" "$PIDFILE" "$OURPID"
}

# ---- client ----------------------------------------------------------------

# sql_root SQL...: run statements as root over the unix socket.
sql_root() {
    mariadb --no-defaults --protocol=socket --socket="$SOCKET" -uroot \
        --connect-timeout=5 --batch --skip-column-names -e "$*"
}

# ---- start -----------------------------------------------------------------

port_is_listening() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# first_port: a port below the ephemeral range, derived from DIR so that
# the build trees of one checkout start from different candidates.
first_port() {
    local h
    h=$(printf '%s' "$DIR" | cksum | cut -d' ' -f1)
    printf '%d\n' $((20000 + h % 12000))
}

next_port() {
    local p=$1
    while :; do
        p=$((20000 + (p - 20000 + 1 + RANDOM % 97) % 12000))
        port_is_listening "$p" || break
    done
    printf '%d\n' "$p"
}

# launch PORT: start mariadbd in the background; sets LAUNCHED_PID.
launch() {
    local port=$1
    local -a args=(
        --no-defaults
        --datadir="$DATADIR"
        --tmpdir="$DIR/tmp"
        --socket="$SOCKET"
        --port="$port"
        --bind-address=127.0.0.1
        --pid-file="$PIDFILE"
        --log-error="$LOG"
        --skip-name-resolve
        --sql-mode="$SQL_MODE"
        --innodb-flush-log-at-trx-commit=1
        --innodb-buffer-pool-size=128M
        --character-set-server=utf8mb4
        --local-infile=1
        --log-warnings=2
    )
    local -a extra=()
    [[ ! -r $DIR/extra-args ]] || read -r -a extra <"$DIR/extra-args"
    args+=("${extra[@]}")
    ((EUID != 0)) || args+=(--user=root)
    mkdir -p "$DIR/tmp"
    [[ -d $SOCKDIR ]] || mkdir -m 700 "$SOCKDIR"
    # the log is kept across restarts (outage tests read it); remember
    # where this run's lines begin.
    LOG_OFFSET=0
    [[ ! -f $LOG ]] || LOG_OFFSET=$(stat -c %s "$LOG")
    # M3: own session, no inherited pipes, and not our lock fd.
    setsid mariadbd "${args[@]}" </dev/null >>"$DIR/mysqld.stderr" 2>&1 9>&- &
    LAUNCHED_PID=$!
    printf '%s\n' "$LAUNCHED_PID" >"$OURPID"
    wait_exec "$LAUNCHED_PID" "$DATADIR"
}

# wait_ready PID: 0 when the server answers, 2 when it died because the
# port was taken, 1 on any other failure (message printed).
wait_ready() {
    local pid=$1 deadline
    deadline=$(($(now_ms) + START_TIMEOUT * 1000))
    while :; do
        if sql_root 'SELECT 1' >/dev/null 2>&1; then
            return 0
        fi
        if ! is_ours "$pid" "$DATADIR"; then
            if tail -c "+$((LOG_OFFSET + 1))" "$LOG" 2>/dev/null |
                grep -q 'Bind on TCP/IP port'; then
                return 2
            fi
            note "mariadbd (pid $pid) exited during start-up"
            log_tail
            return 1
        fi
        if (($(now_ms) >= deadline)); then
            note "mariadbd (pid $pid) did not answer on $SOCKET within ${START_TIMEOUT}s"
            log_tail
            kill -KILL "$pid" 2>/dev/null || true
            return 1
        fi
        sleep 0.05
    done
}

# serve: start on the recorded port, or find a free one (M4).
serve() {
    local fixed=$1 port tries rc
    if [[ $fixed == yes ]]; then
        port=$(<"$DIR/port")
    else
        port=$(first_port)
        ! port_is_listening "$port" || port=$(next_port "$port")
    fi
    for tries in 1 2 3 4 5 6 7 8 9 10; do
        launch "$port"
        rc=0
        wait_ready "$LAUNCHED_PID" || rc=$?
        if ((rc == 0)); then
            printf '%s\n' "$port" >"$DIR/port"
            PORT=$port
            return 0
        fi
        ((rc == 2)) || return 1
        if [[ $fixed == yes ]]; then
            note "port $port (recorded in $DIR/port) is taken by another process"
            log_tail
            return 1
        fi
        note "port $port taken (attempt $tries), trying another"
        port=$(next_port "$port")
    done
    die "no free loopback port found after 10 attempts"
}

provision() {
    local host
    sql_root "
        CREATE DATABASE IF NOT EXISTS \`$TEST_DB\` CHARACTER SET utf8mb4;
        CREATE USER IF NOT EXISTS '$TEST_USER'@'localhost'
            IDENTIFIED BY '$TEST_PASSWORD';
        CREATE USER IF NOT EXISTS '$TEST_USER'@'127.0.0.1'
            IDENTIFIED BY '$TEST_PASSWORD';
        GRANT ALL PRIVILEGES ON *.* TO '$TEST_USER'@'localhost';
        GRANT ALL PRIVILEGES ON *.* TO '$TEST_USER'@'127.0.0.1';" ||
        { log_tail; die "could not create $TEST_DB and user $TEST_USER"; }
    # root (no password) stays reachable through our socket only.
    while IFS= read -r host; do
        [[ -n $host ]] || continue
        sql_root "DROP USER IF EXISTS 'root'@'$host'" ||
            die "could not drop root@$host"
    done < <(sql_root "SELECT host FROM mysql.user
                       WHERE user = 'root' AND host <> 'localhost'")
}

urlencode() {
    local LC_ALL=C s=$1 out='' c i
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        case $c in
        [A-Za-z0-9/._~-]) out+=$c ;;
        *) out+=$(printf '%%%02X' "'$c") ;;
        esac
    done
    printf '%s\n' "$out"
}

# shq VALUE: single-quoted for sh (tests/lib/testdb.c reads the same form).
shq() {
    printf "'%s'" "${1//\'/\'\\\'\'}"
}

write_env() {
    local pid url tmp
    pid=$(<"$PIDFILE")
    url="mariadb://$TEST_USER:$TEST_PASSWORD@localhost/$TEST_DB?socket=$(urlencode "$SOCKET")"
    tmp=$ENVFILE.tmp.$$
    {
        printf '# written by %s start/restart; sourceable by sh\n' "$me"
        printf 'SLUICE_TEST_MYSQL_SOCKET=%s\n' "$(shq "$SOCKET")"
        printf 'SLUICE_TEST_MYSQL_HOST=%s\n' "$(shq 127.0.0.1)"
        printf 'SLUICE_TEST_MYSQL_PORT=%s\n' "$(shq "$PORT")"
        printf 'SLUICE_TEST_MYSQL_USER=%s\n' "$(shq "$TEST_USER")"
        printf 'SLUICE_TEST_MYSQL_PASSWORD=%s\n' "$(shq "$TEST_PASSWORD")"
        printf 'SLUICE_TEST_MYSQL_DB=%s\n' "$(shq "$TEST_DB")"
        printf 'SLUICE_TEST_MYSQL_PID=%s\n' "$(shq "$pid")"
        printf 'SLUICE_TEST_MYSQL_DIR=%s\n' "$(shq "$DIR")"
        printf 'SLUICE_TEST_MYSQL_LOG=%s\n' "$(shq "$LOG")"
        printf 'SLUICE_TEST_MYSQL_URL=%s\n' "$(shq "$url")"
    } >"$tmp"
    mv -f "$tmp" "$ENVFILE"
}

# stop_server SIGNAL: stop our server if it runs; stale files go either way.
stop_server() {
    local sig=$1 pid
    pid=$(find_pid)
    if [[ -n $pid ]]; then
        kill "-$sig" "$pid" 2>/dev/null || true
        if ! wait_gone "$pid" "$STOP_TIMEOUT"; then
            note "mariadbd (pid $pid) ignored SIG$sig for ${STOP_TIMEOUT}s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            wait_gone "$pid" 10 || die "mariadbd (pid $pid) survived SIGKILL"
        fi
    fi
    STOPPED_PID=$pid
}

cmd_start() {
    local t0 reinstall=$1 what=started
    need mariadbd
    need mariadb mariadb-client
    need mariadb-install-db
    t0=$(now_ms)
    stop_server TERM
    [[ -z $STOPPED_PID ]] || note "stopped a previous server (pid $STOPPED_PID)"
    clean_stale
    rm -f "$ENVFILE"
    if [[ $reinstall == yes ]]; then
        rm -rf "$DATADIR" "$DIR/tmp" "$DIR/port" "$LOG" "$DIR/mysqld.stderr"
        printf '%s\n' "${SLUICE_MARIADB_EXTRA_ARGS:-}" >"$DIR/extra-args"
        local -a iargs=(
            --no-defaults --datadir="$DATADIR"
            --auth-root-authentication-method=normal
            --skip-test-db --skip-name-resolve
            --innodb-buffer-pool-size=128M
        )
        ((EUID != 0)) || iargs+=(--user=root)
        mariadb-install-db "${iargs[@]}" </dev/null >"$DIR/install.log" 2>&1 9>&- || {
            tail -n 30 "$DIR/install.log" >&2
            die "mariadb-install-db failed (full log: $DIR/install.log)"
        }
        serve no || die "mariadbd did not start (log: $LOG)"
    else
        [[ -d $DATADIR && -r $DIR/port ]] ||
            die "$DIR has no datadir or port: run '$me start $DIR' first"
        what=restarted
        serve yes || die "mariadbd did not restart (log: $LOG)"
    fi
    provision
    write_env
    note "$what mariadbd pid $(<"$PIDFILE") port $PORT socket $SOCKET" \
        "in $(($(now_ms) - t0)) ms"
}

cmd_stop() {
    stop_server TERM
    clean_stale
    rm -f "$ENVFILE" # M5: no env file without a server
    [[ $SOCKDIR == "$DIR" ]] || rmdir "$SOCKDIR" 2>/dev/null || true
    if [[ -n $STOPPED_PID ]]; then
        note "stopped mariadbd (pid $STOPPED_PID)"
    else
        note "no server running for $DIR"
    fi
}

cmd_kill() {
    local pid
    pid=$(find_pid)
    [[ -n $pid ]] || { note "no server running for $DIR"; return 0; }
    kill -KILL "$pid"
    wait_gone "$pid" 10 || die "mariadbd (pid $pid) survived SIGKILL"
    note "killed mariadbd (pid $pid); pid and socket files left stale"
}

cmd_status() {
    local pid port="?"
    pid=$(find_pid)
    [[ ! -r $DIR/port ]] || port=$(<"$DIR/port")
    if [[ -z $pid ]]; then
        printf 'stopped (dir %s)\n' "$DIR"
        return 3
    fi
    if sql_root 'SELECT 1' >/dev/null 2>&1; then
        printf 'running pid %s port %s socket %s\n' "$pid" "$port" "$SOCKET"
        return 0
    fi
    printf 'not answering pid %s port %s socket %s\n' "$pid" "$port" "$SOCKET"
    return 1
}

(($# == 2)) || usage
action=$1
[[ -n $2 ]] || usage
case $action in
start | stop | kill | restart | status) ;;
*) usage ;;
esac
setup_paths "$2"
lock_dir
case $action in
start) cmd_start yes ;;
restart) cmd_start no ;;
stop) cmd_stop ;;
kill) cmd_kill ;;
status) cmd_status ;;
esac
