#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server for the store story tests and prints the line that
# points the tests at it:
#
#     eval "$(scripts/postgres-test-server.sh)"
#     cargo test -p qunzhu-store
#
# Installs PostgreSQL from Debian when initdb/pg_ctl are missing. Each run creates a new
# cluster in a fresh temp directory (owned by the `postgres` user, since initdb refuses to run
# as root), listening on 127.0.0.1 only, on a free port, with trust auth: it is for tests,
# never for data. Only the `export …` line goes to stdout; everything else goes to stderr.
# How to stop it is logged to stderr.
set -euo pipefail

log() { echo "postgres-test-server: $*" >&2; }

find_pg_bin() {
    local dir
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v initdb)")"
        return 0
    fi
    # Debian keeps the server binaries off PATH, one directory per major version.
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

if ! PG_BIN="$(find_pg_bin)"; then
    log "PostgreSQL is not installed; installing it from Debian (apt-get)…"
    if [[ "$(id -u)" -ne 0 ]]; then
        log "need root to install PostgreSQL; run as root or install the 'postgresql' package"
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >&2
    # The package's own post-install may try to start a cluster; harmless, and not ours.
    apt-get install -y --no-install-recommends postgresql >&2
    PG_BIN="$(find_pg_bin)" || { log "installed PostgreSQL, but found no initdb/pg_ctl"; exit 1; }
fi
log "using PostgreSQL binaries in $PG_BIN"

# Run the server as an unprivileged user: `postgres` when we are root, ourselves otherwise.
if [[ "$(id -u)" -eq 0 ]]; then
    if ! id -u postgres >/dev/null 2>&1; then
        useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres >&2
    fi
    as_pg() { runuser -u postgres -- "$@"; }
    PG_USER=postgres
else
    as_pg() { "$@"; }
    PG_USER="$(id -un)"
fi

free_port() {
    local port
    for port in 5432 $(seq 55432 55532); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            # Nothing listens there; also make sure no other cluster of ours claimed it.
            if [[ ! -e "/tmp/.s.PGSQL.$port" && ! -e "/tmp/.s.PGSQL.$port.lock" ]]; then
                echo "$port"
                return 0
            fi
        fi
    done
    return 1
}

DATA_ROOT="$(mktemp -d /tmp/qunzhu-pg.XXXXXX)"
chmod 755 "$DATA_ROOT"
DATA_DIR="$DATA_ROOT/data"
mkdir -p "$DATA_DIR"
if [[ "$(id -u)" -eq 0 ]]; then chown -R postgres: "$DATA_ROOT"; fi

as_pg "$PG_BIN/initdb" -D "$DATA_DIR" -U "$PG_USER" --auth=trust --encoding=UTF8 --locale=C.UTF-8 >&2

started=""
for _ in 1 2 3 4 5; do
    PORT="$(free_port)" || { log "no free port between 55432 and 55532"; exit 1; }
    # Sockets go into the cluster's own directory so parallel clusters never collide.
    if as_pg "$PG_BIN/pg_ctl" -D "$DATA_DIR" -l "$DATA_ROOT/server.log" -w -t 30 \
        -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DATA_ROOT -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >&2; then
        started=yes
        break
    fi
    log "start on port $PORT failed (raced for the port?); trying another"
    tail -n 5 "$DATA_ROOT/server.log" >&2 || true
done
[[ -n "$started" ]] || { log "could not start PostgreSQL; see $DATA_ROOT/server.log"; exit 1; }

log "started PostgreSQL (data $DATA_DIR, log $DATA_ROOT/server.log) on 127.0.0.1:$PORT"
STOP="$PG_BIN/pg_ctl -D $DATA_DIR stop"
if [[ "$(id -u)" -eq 0 ]]; then STOP="runuser -u postgres -- $STOP"; fi
log "stop it with: $STOP"
echo "export QUNZHU_TEST_POSTGRES_URL=postgres://$PG_USER@127.0.0.1:$PORT/postgres"
