#!/usr/bin/env bash
# A Python venv with wechatpy from PyPI: an independent WXBizMsgCrypt implementation that the
# WeCom callback crypto is cross-checked against (crates/connectors/tests/wecom_wechatpy.rs).
# Cached in $QUNZHU_WECHATPY_VENV (default /var/cache/qunzhu-venvs/wechatpy); see
# python-venv.sh. Prints the venv's path on standard output.
set -euo pipefail
# wechatpy (MIT) needs a crypto backend: cryptography.
exec bash "$(dirname "${BASH_SOURCE[0]}")/python-venv.sh" wechatpy "${QUNZHU_WECHATPY_VENV:-}" \
    "wechatpy>=1.8,<3 cryptography>=3" "wechatpy, cryptography" \
    "the wechatpy cross-check of the WeCom crypto"
