# Shared by the benchmark scripts: a release build of zegel on a fresh
# SQLite database in $WORK, on a free loopback port. Source it, then call
# start_server / define_achievement / stop_server.
ZEGEL="${CARGO_TARGET_DIR:-$PWD/target}/release/zegel"
WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
    stop_server
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

start_server() {
    "$ZEGEL" serve >> "$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 100); do curl -fsS "$URL/ready" > /dev/null 2>&1 && break; sleep 0.1; done
    curl -fsS "$URL/ready" > /dev/null
}

stop_server() {
    if [[ -n "$SERVER_PID" ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    SERVER_PID=""
}

# Creates an admin client (TOKEN) and the microcredential with course code MC-DATA-26.
define_achievement() {
    TOKEN="$("$ZEGEL" clients create --name benchmark --scopes admin --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
    curl -fsS -X POST "$URL/api/v1/achievements" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{
  "type": "micro_credential", "name": "Data Literacy for Professionals",
  "description": "Werken met open data in beleid en bestuur.", "criteria": "De eindopdracht is met een voldoende beoordeeld.",
  "learning_outcomes": ["Analyseert open data", "Onderbouwt beleidsadvies met data"], "ects": 5, "eqf_level": 6, "nlqf_level": "6",
  "assessment_type": ["written_exam", "professional_product"], "participation_type": ["blended"],
  "identity_checked": true, "assessment_supervised": true,
  "quality_assurance": {"name": "NVAO accreditation", "url": "https://example.org/qa", "description": "Geaccrediteerde opleiding."},
  "language": "nl", "course_codes": ["MC-DATA-26"], "edubadges_badgeclass": "vqjqdus9RwGVlcvJ7KtDcQ"}' > /dev/null
}
