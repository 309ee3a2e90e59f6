#!/usr/bin/env bash
# Push benchmark, as recorded in docs/performance.md: `zegel push run`
# against the Edubadges test double answering in 20 ms, on SQLite.
#   1. AWARDS pending awards, default settings (4 requests in flight, bundles of up to 100);
#   2. AWARDS awards one per request (ZEGEL_PUSH_BUNDLE_SIZE=1), 8 in flight: the worst case;
#   3. an Edubadges outage of OUTAGE seconds (503 to everything) with AWARDS waiting:
#      the worker's memory during it, then the delivery once Edubadges is back.
# Each phase issues its awards first (`zegel serve` with the worker off),
# then runs the worker alone. Everything runs on loopback and stops by itself.
# Usage: scripts/pushtest.sh [awards] [outage-seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
AWARDS="${1:-10000}"
OUTAGE="${2:-60}"

cargo build --release --quiet --bin zegel --example loadtest --example pushtest
LOAD="${CARGO_TARGET_DIR:-$PWD/target}/release/examples/loadtest"
PUSH="${CARGO_TARGET_DIR:-$PWD/target}/release/examples/pushtest"
source scripts/lib.sh
export ZEGEL_PUSH_WORKER=false
start_server
define_achievement
stop_server

# Issues AWARDS new awards (record ids with prefix $1), with no worker running.
issue() {
    start_server
    "$LOAD" --url "$URL" --token "$TOKEN" --course-code MC-DATA-26 --prefix "$1" \
        --mode new --count "$AWARDS" --seconds 3600 --concurrency 32 > /dev/null
    stop_server
}

echo "1. $AWARDS awards, double at 20 ms, default settings"
issue phase1
"$PUSH" --zegel "$ZEGEL" --awards "$AWARDS" --latency-ms 20

echo "2. $AWARDS awards, one per request, 8 in flight"
issue phase2
ZEGEL_PUSH_BUNDLE_SIZE=1 ZEGEL_PUSH_CONCURRENCY=8 "$PUSH" --zegel "$ZEGEL" --awards "$AWARDS" --latency-ms 20

echo "3. $AWARDS awards through an outage of ${OUTAGE}s"
issue phase3
ZEGEL_PUSH_RETRY_MAX_SECS=5 "$PUSH" --zegel "$ZEGEL" --awards "$AWARDS" --latency-ms 20 --outage-secs "$OUTAGE"
