#!/usr/bin/env bash
# A Python venv with NoneBot2 (FastAPI driver) and nonebot-adapter-onebot from PyPI: the real
# OneBot v11 application the OneBot test peer is checked against (crates/connectors/tests/nonebot.rs).
#
# Idempotent and cached: the venv lives in $QUNZHU_NONEBOT_VENV (default
# /var/cache/qunzhu-venvs/nonebot) and is rebuilt only when missing or when the pinned
# requirements below change. Prints the venv's path on standard output.
set -euo pipefail

venv="${QUNZHU_NONEBOT_VENV:-/var/cache/qunzhu-venvs/nonebot}"
if ! mkdir -p "$(dirname "$venv")" 2>/dev/null || [[ ! -w "$(dirname "$venv")" ]]; then
    venv="${XDG_CACHE_HOME:-$HOME/.cache}/qunzhu-venvs/nonebot"
fi
requirements="nonebot2[fastapi]>=2.3,<3 nonebot-adapter-onebot>=2.4,<3"
stamp="$venv/.qunzhu-requirements"

log() { echo "onebot-nonebot-venv: $*" >&2; }

if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$requirements" ]] \
    && "$venv/bin/python" -c 'import nonebot, nonebot.adapters.onebot.v11, fastapi, uvicorn' 2>/dev/null; then
    echo "$venv"
    exit 0
fi

python="${PYTHON:-$(command -v python3 || true)}"
if [[ -z "$python" ]]; then
    log "python3 is required for the NoneBot check of the OneBot peer"
    exit 1
fi
log "creating $venv with $requirements"
mkdir -p "$(dirname "$venv")"
rm -rf "$venv"
"$python" -m venv "$venv"
# shellcheck disable=SC2086 # the requirements are separate words on purpose
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check $requirements >&2
echo "$requirements" >"$stamp"
log "ready"
echo "$venv"
