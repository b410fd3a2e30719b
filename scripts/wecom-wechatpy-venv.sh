#!/usr/bin/env bash
# A Python venv with wechatpy from PyPI: an independent WXBizMsgCrypt implementation that the
# WeCom callback crypto is cross-checked against (crates/connectors/tests/wecom_wechatpy.rs).
#
# Idempotent and cached: the venv lives in $QUNZHU_WECHATPY_VENV (default
# /var/cache/qunzhu-venvs/wechatpy) and is rebuilt only when missing or when the pinned
# requirements below change. Prints the venv's path on standard output.
set -euo pipefail

venv="${QUNZHU_WECHATPY_VENV:-/var/cache/qunzhu-venvs/wechatpy}"
if ! mkdir -p "$(dirname "$venv")" 2>/dev/null || [[ ! -w "$(dirname "$venv")" ]]; then
    venv="${XDG_CACHE_HOME:-$HOME/.cache}/qunzhu-venvs/wechatpy"
fi
# wechatpy (MIT) needs a crypto backend: cryptography.
requirements="wechatpy>=1.8,<3 cryptography>=3"
stamp="$venv/.qunzhu-requirements"

log() { echo "wecom-wechatpy-venv: $*" >&2; }

if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$requirements" ]] \
    && "$venv/bin/python" -c 'import wechatpy, cryptography' 2>/dev/null; then
    echo "$venv"
    exit 0
fi

python="${PYTHON:-$(command -v python3 || true)}"
if [[ -z "$python" ]]; then
    log "python3 is required for the wechatpy cross-check of the WeCom crypto"
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
