#!/usr/bin/env bash
# Starts a throwaway Synapse (the Matrix reference homeserver, from PyPI) for the Matrix
# whole-app tests and prints the line that points the tests at it:
#
#     eval "$(scripts/synapse-test-server.sh)"
#     cargo test -p qunzhu --test matrix_app
#     eval "$QUNZHU_TEST_SYNAPSE_STOP"
#
# The venv is cached in $QUNZHU_SYNAPSE_VENV (default /var/cache/qunzhu-venvs/synapse) and
# rebuilt only when missing or when the requirement below changes. Each run generates a new
# server (server name `localhost`) in a fresh temp directory: one plain-HTTP client listener
# on 127.0.0.1 on a free port, no federation, no key servers, no presence, no URL previews,
# open registration off (users are made with the shared-secret admin API) and rate limits
# raised so a fast test never sees HTTP 429. It is for tests, never for data. Only the
# `export …` line goes to stdout; everything else goes to stderr.
set -euo pipefail

log() { echo "synapse-test-server: $*" >&2; }

venv="${QUNZHU_SYNAPSE_VENV:-/var/cache/qunzhu-venvs/synapse}"
if ! mkdir -p "$(dirname "$venv")" 2>/dev/null || [[ ! -w "$(dirname "$venv")" ]]; then
    venv="${XDG_CACHE_HOME:-$HOME/.cache}/qunzhu-venvs/synapse"
fi
requirements="matrix-synapse>=1.100,<2"
stamp="$venv/.qunzhu-requirements"

if ! [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$requirements" ]] \
    || ! "$venv/bin/python" -c 'import synapse.app.homeserver, yaml' 2>/dev/null; then
    python="${PYTHON:-$(command -v python3 || true)}"
    if [[ -z "$python" ]]; then
        log "python3 is required for the Matrix tests (Synapse)"
        exit 1
    fi
    log "creating $venv with $requirements"
    mkdir -p "$(dirname "$venv")"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    # shellcheck disable=SC2086
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check $requirements >&2
    echo "$requirements" >"$stamp"
fi

free_port() {
    "$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

DIR="$(mktemp -d /tmp/qunzhu-synapse.XXXXXX)"
SECRET="qunzhu-test-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
(cd "$DIR" && "$venv/bin/python" -m synapse.app.homeserver --server-name localhost \
    --config-path "$DIR/homeserver.yaml" --data-directory "$DIR" \
    --generate-config --report-stats=no >&2)

started=""
for _ in 1 2 3; do
    PORT="$(free_port)"
    # Load and dump the YAML: appending keys would make duplicates.
    "$venv/bin/python" - "$DIR/homeserver.yaml" "$PORT" "$SECRET" "$DIR" <<'PY'
import sys, yaml
path, port, secret, root = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
with open(path) as f:
    config = yaml.safe_load(f)
config["listeners"] = [{
    "port": port, "bind_addresses": ["127.0.0.1"], "type": "http", "tls": False,
    "x_forwarded": False, "resources": [{"names": ["client"], "compress": False}],
}]
config["public_baseurl"] = f"http://127.0.0.1:{port}/"
config["registration_shared_secret"] = secret
config["enable_registration"] = False
config["trusted_key_servers"] = []
config["suppress_key_server_warning"] = True
config["federation_domain_whitelist"] = []
config["presence"] = {"enabled": False}
config["url_preview_enabled"] = False
config["report_stats"] = False
config.pop("log_config", None)  # log to stderr, which goes to server.log
fast = {"per_second": 1000, "burst_count": 1000}
for key in ["rc_message", "rc_registration", "rc_joins_per_room", "rc_3pid_validation",
            "rc_third_party_invite", "rc_room_creation", "rc_media_create", "rc_reports"]:
    config[key] = dict(fast)
config["rc_login"] = {"address": dict(fast), "account": dict(fast), "failed_attempts": dict(fast)}
config["rc_joins"] = {"local": dict(fast), "remote": dict(fast)}
config["rc_invites"] = {"per_room": dict(fast), "per_user": dict(fast), "per_issuer": dict(fast)}
config["rc_admin_redaction"] = dict(fast)
with open(path, "w") as f:
    yaml.safe_dump(config, f)
PY
    # Every stream redirected: a server holding our stdout would keep `$(…)` of the caller
    # waiting forever. `exec`, so the recorded pid is the server's own.
    (cd "$DIR" && exec "$venv/bin/python" -m synapse.app.homeserver -c "$DIR/homeserver.yaml") \
        </dev/null >"$DIR/server.log" 2>&1 &
    echo $! >"$DIR/pid"
    for _ in $(seq 1 120); do
        if "$venv/bin/python" -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$PORT/_matrix/client/versions', timeout=1)" 2>/dev/null; then
            started=yes
            break
        fi
        if ! kill -0 "$(cat "$DIR/pid")" 2>/dev/null; then
            break
        fi
        sleep 0.25
    done
    [[ -n "$started" ]] && break
    log "Synapse did not come up on port $PORT; trying another"
    tail -n 20 "$DIR/server.log" >&2 || true
    kill "$(cat "$DIR/pid")" 2>/dev/null || true
done
[[ -n "$started" ]] || { log "could not start Synapse; see $DIR/server.log"; exit 1; }

STOP="kill $(cat "$DIR/pid"); rm -rf $DIR"
log "started Synapse (dir $DIR, log $DIR/server.log) on http://127.0.0.1:$PORT"
log "stop it with: $STOP"
echo "export QUNZHU_TEST_SYNAPSE_URL=http://127.0.0.1:$PORT QUNZHU_TEST_SYNAPSE_SECRET=$SECRET QUNZHU_TEST_SYNAPSE_STOP='$STOP'"
