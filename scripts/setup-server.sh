#!/usr/bin/env bash
# Installs what `plumewatch serve` and its tests need on a fresh Debian machine:
# - the web viewer's npm dependencies (MapLibre GL JS, pmtiles), installed from the committed
#   lock file with `npm ci`; the server build embeds them and fails without them;
# - with --test: Debian's postgresql (initdb/pg_ctl for the PostgreSQL test cluster),
#   chromium and chromium-driver (the browser test), wrk (bench/serve_load.sh).
# Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
if [ "${1:-}" = "--test" ]; then
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
    command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
    command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
    command -v wrk >/dev/null 2>&1 || need_apt+=(wrk)
fi
if [ "${#need_apt[@]}" -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "setup-server: installing Debian packages: ${need_apt[*]}" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -f crates/server/web/node_modules/maplibre-gl/dist/maplibre-gl.js ] \
    || [ ! -f crates/server/web/node_modules/pmtiles/dist/pmtiles.js ] \
    || [ crates/server/web/package-lock.json -nt crates/server/web/node_modules/.package-lock.json ]; then
    echo "setup-server: npm ci (crates/server/web)" >&2
    (cd crates/server/web && npm ci --no-audit --no-fund --ignore-scripts)
fi
