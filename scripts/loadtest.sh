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
ZEGEL="$PWD/target/release/zegel"
LOAD="$PWD/target/release/examples/loadtest"

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
    if [[ -n "$SERVER_PID" ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export ZEGEL_LISTEN="127.0.0.1:$PORT"
export DATABASE_URL="sqlite:$WORK/zegel.db"
export ZEGEL_KEYS_DIR="$WORK/keys"
export ZEGEL_INSTITUTION_BRIN="21PB"
export ZEGEL_ISSUER_NAME="Universiteit van Voorbeeldstad"
export ZEGEL_LOG="warn"
URL="http://127.0.0.1:$PORT"

"$ZEGEL" serve > "$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do curl -fsS "$URL/ready" > /dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "$URL/ready" > /dev/null

TOKEN="$("$ZEGEL" clients create --name loadtest --scopes admin --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
curl -fsS -X POST "$URL/api/v1/achievements" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{
  "type": "micro_credential", "name": "Data Literacy for Professionals",
  "description": "Werken met open data in beleid en bestuur.", "criteria": "De eindopdracht is met een voldoende beoordeeld.",
  "learning_outcomes": ["Analyseert open data", "Onderbouwt beleidsadvies met data"], "ects": 5, "eqf_level": 6, "nlqf_level": "6",
  "assessment_type": ["written_exam", "professional_product"], "participation_type": ["blended"],
  "identity_checked": true, "assessment_supervised": true,
  "quality_assurance": {"name": "NVAO accreditation", "url": "https://example.org/qa", "description": "Geaccrediteerde opleiding."},
  "language": "nl", "course_codes": ["MC-DATA-26"], "edubadges_badgeclass": "vqjqdus9RwGVlcvJ7KtDcQ"}' > /dev/null

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
