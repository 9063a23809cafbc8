#!/usr/bin/env bash
# Installs what plumewatch needs on a fresh Debian machine and builds it (release).
# - GDAL 3.6 development files from Debian (libgdal-dev) when pkg-config cannot find GDAL.
# - The Rust workspace, built with the versions pinned in Cargo.lock.
# - With --test: also Debian's chromium, which a test uses to render the HTML report.
# - scripts/setup-server.sh: npm ci for the embedded viewer; with --test PostgreSQL,
#   chromium-driver and wrk for the server's tests.
# Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
if [ "${1:-}" = "--test" ]; then
    command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
fi
pkg-config --exists gdal 2>/dev/null || need_apt+=(libgdal-dev)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
if [ "${#need_apt[@]}" -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "setup: installing Debian packages: ${need_apt[*]}" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "setup: cargo not found: install the Rust toolchain (rustup) first" >&2
    exit 1
fi
# The server crate (part of the binary) embeds the web viewer's npm dependencies;
# with --test also PostgreSQL, chromium-driver and wrk for its tests.
bash scripts/setup-server.sh "${1:-}"
cargo build --release --locked --quiet -p plumewatch
