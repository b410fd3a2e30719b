#!/usr/bin/env bash
# A cached Python venv with pinned PyPI packages, for the tests that check qunzhu against a
# real Python implementation. Used by the per-purpose scripts (onebot-nonebot-venv.sh,
# wecom-wechatpy-venv.sh):
#
#   python-venv.sh NAME VENV_DIR "REQUIREMENTS" "IMPORTS" "PURPOSE"
#
# Idempotent: the venv in VENV_DIR (empty: /var/cache/qunzhu-venvs/NAME, or the user cache
# when that is not writable) is rebuilt only when missing, when it cannot import IMPORTS, or
# when REQUIREMENTS change. Prints the venv's path on standard output; logs go to stderr.
set -euo pipefail

name="$1" venv="$2" requirements="$3" imports="$4" purpose="$5"
venv="${venv:-/var/cache/qunzhu-venvs/$name}"
if ! mkdir -p "$(dirname "$venv")" 2>/dev/null || [[ ! -w "$(dirname "$venv")" ]]; then
    venv="${XDG_CACHE_HOME:-$HOME/.cache}/qunzhu-venvs/$name"
fi
stamp="$venv/.qunzhu-requirements"

log() { echo "python-venv ($name): $*" >&2; }

if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$requirements" ]] \
    && "$venv/bin/python" -c "import $imports" 2>/dev/null; then
    echo "$venv"
    exit 0
fi

python="${PYTHON:-$(command -v python3 || true)}"
if [[ -z "$python" ]]; then
    log "python3 is required for $purpose"
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
