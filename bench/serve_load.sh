#!/usr/bin/env bash
# Load test of `plumewatch serve`: GET /api/sites, authenticated and audited, for 30 s
# at 64 connections from wrk (a second process, loopback), against SQLite.
# Prints wrk's throughput and latency percentiles, then checks that the audit trail
# holds one record per request and that its chain verifies.
# Usage: bash bench/serve_load.sh [DURATION_S] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-30}"
conns="${2:-64}"
command -v wrk >/dev/null || { echo "serve_load: wrk missing (bash scripts/setup-server.sh --test)" >&2; exit 1; }
cargo build --release --locked --quiet -p plumewatch
bin="${CARGO_TARGET_DIR:-target}/release/plumewatch"
work=$(mktemp -d)
trap 'kill "${server_pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
db="$work/load.db"
token=$("$bin" users add bench --role viewer --db "$db" | tail -n 1)
"$bin" users grant bench gulf --db "$db"
"$bin" ingest crates/server/tests/fixtures/scan_emit_small --campaign gulf --db "$db" >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" serve --db "$db" --listen "127.0.0.1:$port" 2>"$work/serve.log" &
server_pid=$!
for _ in $(seq 100); do curl -fs -o /dev/null -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/session" && break; sleep 0.1; done
before=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from audit').fetchone()[0])" "$db")
echo "serve_load: ${duration}s, $conns connections, GET /api/sites ($(nproc) cores, SQLite WAL)"
wrk -t 2 -c "$conns" -d "${duration}s" --latency -H "Authorization: Bearer $token" \
    "http://127.0.0.1:$port/api/sites" | tee "$work/wrk.txt"
sleep 1
after=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from audit').fetchone()[0])" "$db")
requests=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
echo "serve_load: wrk completed $requests requests; audit records added: $((after - before))"
"$bin" audit verify --db "$db"
