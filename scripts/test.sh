#!/usr/bin/env bash
# The one test command for qunzhu (README, CI): `bash scripts/test.sh`.
#
# 1. Uses the shared build cache /var/cache/qunzhu-target unless CARGO_TARGET_DIR is set.
# 2. Makes sure the tools exist: clippy, cargo-nextest (installed with cargo when missing;
#    falls back to `cargo test` if that fails).
# 3. Starts a throwaway PostgreSQL (scripts/postgres-test-server.sh installs it from Debian
#    when missing) for the store story tests, unless QUNZHU_TEST_POSTGRES_URL is already set;
#    stops it on exit, whatever happens. QUNZHU_SKIP_POSTGRES=1 skips it (local runs only).
#    Makes the NoneBot2 venv (scripts/onebot-nonebot-venv.sh, cached) that checks the OneBot
#    test peer against a real OneBot application. QUNZHU_SKIP_NONEBOT=1 skips it (local runs only).
#    Starts a throwaway Synapse (scripts/synapse-test-server.sh, cached venv) for the Matrix
#    whole-app tests unless QUNZHU_TEST_SYNAPSE_URL is set; stops it on exit.
#    QUNZHU_SKIP_SYNAPSE=1 skips it (local runs only).
#    Makes the wechatpy venv (scripts/wecom-wechatpy-venv.sh, cached) that the WeCom callback
#    crypto is cross-checked against. QUNZHU_SKIP_WECHATPY=1 skips it (local runs only).
# 4. Runs every test of the workspace (unit, integration, property, store stories, whole-app,
#    CLI), the doc tests, the browser tests in tests/browser (headless Chromium from Debian,
#    playwright-core from npm; QUNZHU_SKIP_BROWSER=1 skips them locally), then clippy with
#    warnings as errors.
#
# Extra arguments go to `cargo nextest run`, e.g. `bash scripts/test.sh -p qunzhu`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
started_at=$SECONDS

log() { echo "test.sh: $*" >&2; }

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/qunzhu-target}"
if ! mkdir -p "$CARGO_TARGET_DIR" 2>/dev/null || [[ ! -w "$CARGO_TARGET_DIR" ]]; then
    log "cannot write to $CARGO_TARGET_DIR; building in ./target instead"
    export CARGO_TARGET_DIR="$PWD/target"
fi
if [[ "${CI:-}" == "true" ]]; then
    export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
fi
log "build cache: $CARGO_TARGET_DIR"
# CI rebuilds from fresh clones: incremental state only piles up there, so it is off, and a
# cache grown past 60 GB (stale test binaries of many commits) is emptied before building.
if [[ "${CI:-}" == "true" ]]; then
    export CARGO_INCREMENTAL=0
    cache_kb="$(du -sk "$CARGO_TARGET_DIR" 2>/dev/null | cut -f1 || echo 0)"
    if (( ${cache_kb:-0} > 60 * 1024 * 1024 )); then
        log "build cache is $((cache_kb / 1024 / 1024)) GB; emptying it (the next build is a cold one)"
        rm -rf "${CARGO_TARGET_DIR:?}/debug" "${CARGO_TARGET_DIR:?}/release"
    fi
fi

# --- tools -------------------------------------------------------------------------------
if ! command -v cargo >/dev/null 2>&1; then
    log "Rust is required (cargo not found): install it from https://rustup.rs"
    exit 1
fi
if ! cargo clippy --version >/dev/null 2>&1; then
    log "installing clippy"
    rustup component add clippy
fi
runner=nextest
if ! cargo nextest --version >/dev/null 2>&1; then
    log "cargo-nextest is missing; installing it"
    if ! cargo install --locked cargo-nextest; then
        log "could not install cargo-nextest; running the tests with cargo test"
        runner=test
    fi
fi

# --- PostgreSQL for the store story tests ------------------------------------------------
pg_stop=""
pg_log=""
synapse_stop=""
cleanup() {
    local status=$?
    if [[ -n "$synapse_stop" ]]; then
        log "stopping the test Synapse"
        eval "$synapse_stop" >/dev/null 2>&1 || log "could not stop Synapse with: $synapse_stop"
    fi
    if [[ -n "$pg_stop" ]]; then
        log "stopping the test PostgreSQL"
        eval "$pg_stop" >/dev/null 2>&1 || log "could not stop PostgreSQL with: $pg_stop"
    fi
    [[ -n "$pg_log" ]] && rm -f "$pg_log"
    log "finished in $((SECONDS - started_at))s with status $status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -n "${QUNZHU_TEST_POSTGRES_URL:-}" ]]; then
    log "using the PostgreSQL at QUNZHU_TEST_POSTGRES_URL"
elif [[ "${QUNZHU_SKIP_POSTGRES:-}" == "1" && "${CI:-}" != "true" ]]; then
    log "QUNZHU_SKIP_POSTGRES=1: the PostgreSQL store tests will not run"
else
    pg_log="$(mktemp)"
    if ! exports="$(bash scripts/postgres-test-server.sh 2>"$pg_log")"; then
        cat "$pg_log" >&2
        log "could not start PostgreSQL for the store tests (see above)"
        exit 1
    fi
    cat "$pg_log" >&2
    eval "$exports"
    # The server script says how to stop what it started; prefer a variable if it sets one.
    pg_stop="${QUNZHU_TEST_POSTGRES_STOP:-$(sed -n 's/^postgres-test-server: stop it with: //p' "$pg_log" | tail -n 1)}"
    if [[ -z "$pg_stop" ]]; then
        log "warning: do not know how to stop the test PostgreSQL; it keeps running"
    fi
    if [[ -z "${QUNZHU_TEST_POSTGRES_URL:-}" ]]; then
        log "scripts/postgres-test-server.sh did not export QUNZHU_TEST_POSTGRES_URL"
        exit 1
    fi
    export QUNZHU_TEST_POSTGRES_URL
    log "PostgreSQL for tests: $QUNZHU_TEST_POSTGRES_URL"
fi

# --- NoneBot2 for the OneBot peer check ---------------------------------------------------
if [[ "${QUNZHU_SKIP_NONEBOT:-}" == "1" && "${CI:-}" != "true" ]]; then
    log "QUNZHU_SKIP_NONEBOT=1: the NoneBot check of the OneBot peer will be skipped"
else
    if ! QUNZHU_NONEBOT_VENV="$(bash scripts/onebot-nonebot-venv.sh)"; then
        log "could not make the NoneBot venv (see above)"
        exit 1
    fi
    export QUNZHU_NONEBOT_VENV
    log "NoneBot venv: $QUNZHU_NONEBOT_VENV"
fi

# --- wechatpy for the WeCom crypto cross-check -------------------------------------------
if [[ "${QUNZHU_SKIP_WECHATPY:-}" == "1" && "${CI:-}" != "true" ]]; then
    log "QUNZHU_SKIP_WECHATPY=1: the wechatpy cross-check of the WeCom crypto will be skipped"
else
    if ! QUNZHU_WECHATPY_VENV="$(bash scripts/wecom-wechatpy-venv.sh)"; then
        log "could not make the wechatpy venv (see above)"
        exit 1
    fi
    export QUNZHU_WECHATPY_VENV
    log "wechatpy venv: $QUNZHU_WECHATPY_VENV"
fi

# --- Synapse for the Matrix tests -------------------------------------------------------
if [[ -n "${QUNZHU_TEST_SYNAPSE_URL:-}" ]]; then
    log "using the Synapse at QUNZHU_TEST_SYNAPSE_URL"
elif [[ "${QUNZHU_SKIP_SYNAPSE:-}" == "1" && "${CI:-}" != "true" ]]; then
    log "QUNZHU_SKIP_SYNAPSE=1: the Matrix tests will be skipped"
else
    if ! exports="$(bash scripts/synapse-test-server.sh)"; then
        log "could not start Synapse for the Matrix tests (see above)"
        exit 1
    fi
    eval "$exports"
    synapse_stop="${QUNZHU_TEST_SYNAPSE_STOP:-}"
    if [[ -z "${QUNZHU_TEST_SYNAPSE_URL:-}" ]]; then
        log "scripts/synapse-test-server.sh did not export QUNZHU_TEST_SYNAPSE_URL"
        exit 1
    fi
    export QUNZHU_TEST_SYNAPSE_URL QUNZHU_TEST_SYNAPSE_SECRET
    log "Synapse for tests: $QUNZHU_TEST_SYNAPSE_URL"
fi

# --- tests and lints ---------------------------------------------------------------------
if [[ "$runner" == "nextest" ]]; then
    log "cargo nextest run --workspace --all-targets $*"
    cargo nextest run --workspace --all-targets --no-fail-fast "$@"
else
    log "cargo test --workspace --all-targets"
    cargo test --workspace --all-targets --no-fail-fast
fi
log "doc tests"
cargo test --workspace --doc
run_browser_tests() {
    local dir=tests/browser chromium
    if ! command -v npm >/dev/null 2>&1; then
        log "Node.js (npm) is required for the browser tests"
        return 1
    fi
    chromium="${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}"
    if [[ -z "$chromium" ]]; then
        if [[ "$(id -u)" -ne 0 ]]; then
            log "the browser tests need Chromium: install Debian's 'chromium' package (or set CHROMIUM)"
            return 1
        fi
        log "installing Chromium from Debian (apt-get)"
        DEBIAN_FRONTEND=noninteractive apt-get update >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >&2
        chromium="$(command -v chromium)"
    fi
    if [[ ! -f "$dir/node_modules/.package-lock.json" || "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]]; then
        (cd "$dir" && npm ci --no-audit --no-fund)
    fi
    cargo build -p qunzhu --bin qunzhu
    (cd "$dir" && QUNZHU_BIN="$CARGO_TARGET_DIR/debug/qunzhu" CHROMIUM="$chromium" npm test)
}
if [[ -f tests/browser/package.json ]]; then
    if [[ "${QUNZHU_SKIP_BROWSER:-}" == "1" && "${CI:-}" != "true" ]]; then
        log "QUNZHU_SKIP_BROWSER=1: the browser tests will not run"
    else
        log "browser tests (headless Chromium)"
        run_browser_tests
    fi
fi
log "clippy"
cargo clippy --workspace --all-targets -- -D warnings
log "all tests and lints passed"
