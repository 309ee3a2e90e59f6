#!/usr/bin/env bash
# Load test of the issuing service on its embedded default (SQLite), as
# recorded in docs/performance.md:
#   1. new awards, as fast as 32 connections can push them (sustained rate);
#   2. new awards at a fixed 500 per second (latency, p99);
#   3. repeats of existing record ids, as fast as possible;
# then the server's peak resident memory. Everything runs on loopback and
# stops by itself. Usage: scripts/loadtest.sh [seconds-per-phase]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_PHASE="${1:-20}"

cargo build --release --quiet --bin zegel --example loadtest
LOAD="${CARGO_TARGET_DIR:-$PWD/target}/release/examples/loadtest"
source scripts/lib.sh
start_server
define_achievement

run() { "$LOAD" --url "$URL" --token "$TOKEN" --course-code MC-DATA-26 --prefix run "$@"; }

echo "warm-up"
run --mode new --seconds 3 --concurrency 8 > /dev/null
echo "1. new awards, 32 connections, ${SECONDS_PER_PHASE}s"
run --mode new --seconds "$SECONDS_PER_PHASE" --concurrency 32
echo "2. new awards at 500/s, ${SECONDS_PER_PHASE}s"
run --mode rate --rate 500 --seconds "$SECONDS_PER_PHASE"
echo "3. repeats of existing record ids, 32 connections, ${SECONDS_PER_PHASE}s"
run --mode repeat --seconds "$SECONDS_PER_PHASE" --concurrency 32
echo "4. server memory"
grep -E 'VmHWM|VmRSS' "/proc/$SERVER_PID/status"
curl -fsS "$URL/metrics" | grep -E '^zegel_awards_(issued|repeated)_total|^zegel_(signing|storage)_duration_seconds_(sum|count)'
