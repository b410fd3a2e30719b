#!/usr/bin/env bash
# A Python venv with NoneBot2 (FastAPI driver) and nonebot-adapter-onebot from PyPI: the real
# OneBot v11 application the OneBot test peer is checked against (crates/connectors/tests/nonebot.rs).
# Cached in $QUNZHU_NONEBOT_VENV (default /var/cache/qunzhu-venvs/nonebot); see
# python-venv.sh. Prints the venv's path on standard output.
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/python-venv.sh" nonebot "${QUNZHU_NONEBOT_VENV:-}" \
    "nonebot2[fastapi]>=2.3,<3 nonebot-adapter-onebot>=2.4,<3" \
    "nonebot, nonebot.adapters.onebot.v11, fastapi, uvicorn" \
    "the NoneBot check of the OneBot peer"
