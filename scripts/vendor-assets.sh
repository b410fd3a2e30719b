#!/usr/bin/env bash
# Refreshes the dashboard's vendored browser libraries in crates/server/assets/vendor/ from
# npm, at the pinned versions below. The files are committed: the binary embeds them and
# serves them itself, so neither a build nor a running server fetches anything from the
# internet (CDNs are blocked for many of our users). Run by hand when upgrading.
#
#   htmx.org  — 0BSD          — progressive enhancement (search, pagination)
#   echarts   — Apache-2.0    — charts on the group pages
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
HTMX_VERSION=2.0.11
ECHARTS_VERSION=5.6.0
out=crates/server/assets/vendor
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "htmx.org@$HTMX_VERSION" "echarts@$ECHARTS_VERSION" >/dev/null)
mkdir -p "$work/htmx" "$work/echarts"
tar xzf "$work/htmx.org-$HTMX_VERSION.tgz" -C "$work/htmx"
tar xzf "$work/echarts-$ECHARTS_VERSION.tgz" -C "$work/echarts"
cp "$work/htmx/package/dist/htmx.min.js" "$out/htmx.min.js"
cp "$work/htmx/package/LICENSE" "$out/LICENSE.htmx"
cp "$work/echarts/package/dist/echarts.min.js" "$out/echarts.min.js"
cp "$work/echarts/package/LICENSE" "$out/LICENSE.echarts"
echo "vendored htmx $HTMX_VERSION and echarts $ECHARTS_VERSION into $out" >&2
